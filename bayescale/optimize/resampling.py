"""Nonparametric bootstrap: every resample refitted in one compiled call.

A resample is a vector of point weights (how many times each point was drawn), so a
resample is the same :class:`~bayescale.likelihood.Data` with ``weight`` multiplied by the
counts: the one likelihood and the multi-start fitter are reused unchanged under
``jax.vmap`` over resamples. Each resample starts from the full-data optimum (a warm start)
plus any extra starts (a few grid points), and keeps the best.

Resamples run in chunks through the one host runner,
:func:`bayescale.lanes.run_in_chunks` (the resample axis is its lane axis).

A cluster bootstrap resamples whole groups (e.g. all checkpoints of one run, or one bin of
compute: :func:`~bayescale.optimize.dependence.compute_bins`) with replacement; every point of
a drawn group gets that group's count. A moving-block bootstrap (``block_size``;
:mod:`bayescale.optimize.dependence`) keeps neighbours together along an ordering (compute, or
a one-input law's ``x``): residuals correlated along it (checkpoints of one run, a shared data
mix or tuning budget) make the independent bootstrap too narrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.lanes import require_memory
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Objective, scale_variable_name
from bayescale.optimize.dependence import block_counts, ordering
from bayescale.optimize.multistart import (
    NEAR_BEST_RTOL,
    FitConfig,
    MultiStartResult,
    minimise_starts,
)
from bayescale.status import CONVERGED

#: Resampling schemes of :func:`resample_counts`.
SCHEMES = ("default", "numpy_legacy")
#: Scale of the move of a stalled refit's restart point (second restart round on).
RESTART_JITTER = 1e-3
#: Restart rounds of refits under a ``Loss`` (at least): on Chinchilla's 4,000 Huber-loss
#: refits of Besiroglu et al.'s resamples, 253 stall after one round, 25 after two, 3 after
#: three and none after four.
LOSS_REFIT_RESTARTS = 4
#: BFGS steps per round of refits under a ``Loss`` (at most): a stalled refit spends them all,
#: while converged ones take 80 steps (median; 99%: 584 over the rounds) there.
LOSS_REFIT_MAX_STEPS = 250


def resample_counts(
    n_points: int,
    n_resamples: int,
    seed: int = 0,
    groups: np.ndarray | None = None,
    scheme: str = "default",
    block_size: int | None = None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap counts per point, ``(n_resamples, n_points)``.

    Parameters
    ----------
    n_points
        Number of data points.
    n_resamples
        Number of bootstrap resamples.
    seed
        Seed of the numpy generator that draws them (host side, reproducible).
    groups
        Optional group label per point; if given, whole groups are resampled (cluster
        bootstrap) and every point of a group gets the group's count.
    scheme
        ``"default"``: one ``np.random.default_rng(seed)`` draws every resample at once.
        ``"numpy_legacy"``: numpy's legacy generator, ``np.random.RandomState(seed)``, draws
        ``choice(n, size=n, replace=True)`` once per resample, in order - the stream of
        ``np.random.seed(seed)`` then ``np.random.choice(indices, size=n, replace=True)`` per
        resample, as in Besiroglu et al.'s notebook, with draw ``k`` the ``k``-th point (or
        group) in order.
    block_size
        A moving-block bootstrap (Kunsch 1989;
        :func:`~bayescale.optimize.dependence.block_counts`) instead: the points sorted by
        ``order``, each resample made of ``ceil(n / block_size)`` runs of ``block_size``
        neighbours, each run starting at a position drawn uniformly from
        ``0 .. n - block_size``, truncated to ``n`` points. ``1`` is the point bootstrap's
        distribution; points near either end are drawn a little less often (the moving-block
        bootstrap's edge effect).
    order
        The values points are sorted by for blocks (stable sort; default: their order).

    Returns
    -------
    numpy.ndarray
        Integer counts; each row sums to ``n_points`` (point and block bootstrap) or to the
        number of points in the drawn groups (cluster bootstrap).

    Raises
    ------
    ValueError
        For ``n_resamples < 1``, an unknown ``scheme``, bad ``groups``, a ``block_size``
        outside ``1 .. n_points - 1``, blocks with groups or the legacy scheme, or an
        ``order`` without one value per point.
    """
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown resample_scheme {scheme!r}; choose one of {SCHEMES}")
    if block_size is not None or order is not None:
        if groups is not None or scheme != "default":
            raise ValueError(
                "a block bootstrap resamples runs of neighbours: it takes neither groups (a "
                "cluster bootstrap; use one or the other) nor resample_scheme='numpy_legacy'"
            )
        return block_counts(n_points, n_resamples, 1 if block_size is None else block_size,
                            seed, order)  # fmt: skip
    code = None
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_points,):
            raise ValueError(
                f"groups must have one label per point ({n_points}), got {groups.shape}"
            )
        labels, code = np.unique(groups, return_inverse=True)
        if len(labels) < 2:
            raise ValueError("a cluster bootstrap needs at least 2 groups; got 1")
    n_items, r = (n_points if code is None else int(code.max()) + 1), int(n_resamples)
    if scheme == "default":
        idx = np.random.default_rng(seed).integers(0, n_items, size=(r, n_items))
    else:
        legacy = np.random.RandomState(seed)  # noqa: NPY002 - Epoch's stream, on purpose
        idx = np.stack([legacy.choice(n_items, size=n_items, replace=True) for _ in range(r)])
    counts = np.zeros((r, n_items), dtype=np.int64)
    np.add.at(counts, (np.arange(r)[:, None], idx), 1)
    return counts if code is None else counts[:, code]


def bootstrap_counts(
    law: Law,
    x: Mapping[str, np.ndarray],
    n_resamples: int,
    seed: int = 0,
    *,
    groups: np.ndarray | None = None,
    scheme: str = "default",
    block_size: int | None = None,
    block_by: str | np.ndarray | None = None,
    flops_per_token: float = 6.0,
) -> tuple[np.ndarray, dict]:
    """Counts of one curve's resamples and a JSON-ready record of how they were drawn.

    Parameters
    ----------
    law, x
        The law and its inputs at the curve's points (host arrays).
    n_resamples, seed, groups, scheme
        As for :func:`resample_counts`.
    block_size
        A moving-block bootstrap with blocks of this many neighbours along ``block_by``.
    block_by
        What blocks run along: a name for :func:`ordering` (default the law's scale
        variable) or one value per point.
    flops_per_token
        ``k`` in ``C = k N D`` (``block_by="C"`` for a law of ``N`` and ``D``).

    Returns
    -------
    tuple
        ``(n_resamples, n)`` counts, and ``resampling`` (``"points"``, ``"clusters"`` or
        ``"blocks"``), ``n_groups``, ``block_size`` and ``block_by``.

    Raises
    ------
    ValueError
        As :func:`resample_counts`, and for ``block_by`` without ``block_size``.
    bayescale.ResourceError
        Before drawing, when the counts (and the draws kept per resample) would not fit in
        memory.
    """
    n = len(next(iter(x.values())))
    per = 8.0 * (n + 4 * 8 + 4)  # one resample's counts and its refit's record
    require_memory(per * n_resamples, f"{n_resamples:,} resamples of {n:,} points",
                   "n_resamples", per_unit=per)  # fmt: skip
    info = {"resampling": "points", "n_groups": None, "block_size": None, "block_by": None}
    if block_size is None:
        if block_by is not None:
            raise ValueError("block_by orders the blocks of a block bootstrap: set block_size")
        counts = resample_counts(n, n_resamples, seed, groups, scheme)
        if groups is not None:
            info.update(resampling="clusters", n_groups=len(np.unique(np.asarray(groups))))
        return counts, info
    if isinstance(block_by, str) or block_by is None:
        order = ordering(law, x, block_by, flops_per_token)
        label = block_by or scale_variable_name(law)
    else:
        order, label = np.asarray(block_by), "values"
    counts = resample_counts(n, n_resamples, seed, groups, scheme, block_size, order)
    info.update(resampling="blocks", block_size=int(block_size), block_by=label)
    return counts, info


def refit_resamples(
    counts: jax.Array,
    starts: jax.Array,
    data: Data,
    law: Law,
    obj: Objective,
    config: FitConfig = FitConfig(),
    retry: int | None = None,
) -> MultiStartResult:
    """Refit every resample (pure). ``counts`` is ``(R, n)``; ``starts`` is ``(S, P)``.

    Resamples whose best start stalled are restarted (``config.restarts`` rounds), up to
    ``retry`` of them per call (default ``max(64, R // 4)``: with a fixed 64, a hard law left
    148 of 1,000 CLIP refits unconverged in one call against 15 in calls of 200); any left over
    keep their status code. The first round restarts from where they stopped (a fresh Hessian
    approximation); later rounds from there moved by ``RESTART_JITTER (1 + |theta|)`` times a
    fixed normal draw, because a refit whose line search stalls at rounding level (steps
    rejected, no Cauchy termination, though its gradient is as small as a converged one's)
    stalls again from the same point: on Chinchilla's Huber-loss refits 253 of 4,000 stall
    and a restart from a moved point certifies about 85% of those per round, at the same
    optimum (objectives equal to 1e-14, parameters to 1e-7). A converged refit is never
    replaced; a stalled one by a lower objective or by a converged restart within
    ``NEAR_BEST_RTOL`` of its objective.
    Returns a :class:`MultiStartResult` whose fields have a leading resample axis.
    """

    first = config._replace(restarts=0)

    def one(c: jax.Array, s: jax.Array, cfg: FitConfig) -> MultiStartResult:
        return minimise_starts(s, data._replace(weight=data.weight * c), law, obj, cfg)

    res = jax.vmap(lambda c: one(c, starts, first))(counts)
    # Restart stalled resamples, compacted into a fixed number of lanes so the restart costs a
    # few dozen lanes, not all of them.
    k = min(max(64, counts.shape[0] // 4) if retry is None else retry, counts.shape[0])
    for round_ in range(config.restarts):
        _, idx = jax.lax.top_k((res.status != CONVERGED).astype(jnp.int32), k)
        theta = res.theta[idx]
        if round_ > 0:
            z = jax.random.normal(jax.random.key(round_), theta.shape, theta.dtype)
            theta = theta + RESTART_JITTER * (1.0 + jnp.abs(theta)) * z
        again = jax.vmap(lambda c, th: one(c, th[None], first))(counts[idx], theta)
        # Only stalled refits are replaced (a converged one, restarted at a kink of a
        # Huber-type objective, may wander to max_steps a hair lower), by a lower objective or
        # by a converged restart that reached the same optimum (within NEAR_BEST_RTOL).
        old = res.objective[idx]
        tie = again.objective <= old + NEAR_BEST_RTOL * jnp.abs(old)
        better = (res.status[idx] != CONVERGED) & (
            (again.objective <= old) | (tie & (again.status == CONVERGED))
        )
        res = jax.tree.map(
            lambda a, b, idx=idx, better=better: a.at[idx].set(
                jnp.where(better.reshape((-1,) + (1,) * (b.ndim - 1)), b, a[idx])
            ),
            res,
            again._replace(
                start_theta=res.start_theta[idx].at[:, 0].set(again.theta),
                start_objective=res.start_objective[idx].at[:, 0].set(again.objective),
                start_status=res.start_status[idx].at[:, 0].set(again.status),
                start_steps=res.start_steps[idx].at[:, 0].add(again.start_steps[:, 0]),
                n_near_best=res.n_near_best[idx],
            ),
        )
    return res


@partial(jax.jit, static_argnames=("law", "obj", "config"))
def bootstrap_fit(
    counts: jax.Array,
    starts: jax.Array,
    data: Data,
    law: Law,
    obj: Objective,
    config: FitConfig = FitConfig(),
) -> MultiStartResult:
    """Compiled :func:`refit_resamples` (same shapes never retrace)."""
    return refit_resamples(counts, starts, data, law, obj, config)


def loss_refit_config(config: FitConfig) -> FitConfig:
    """Settings of refits under a :class:`~bayescale.likelihood.Loss`: ``config`` with at
    least :data:`LOSS_REFIT_RESTARTS` restart rounds of at most :data:`LOSS_REFIT_MAX_STEPS`
    steps (a summed Huber loss stalls at rounding level more often than a likelihood; on
    Chinchilla this halves the time of 4,000 refits and leaves none unconverged)."""
    return config._replace(
        restarts=max(config.restarts, LOSS_REFIT_RESTARTS),
        max_steps=min(config.max_steps, LOSS_REFIT_MAX_STEPS),
    )


def bootstrap_starts(theta_hat: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Warm start at the full-data optimum, followed by optional extra starts ``(K, P)``."""
    theta_hat = np.asarray(theta_hat, dtype=np.float64)[None, :]
    if extra is None or len(extra) == 0:
        return theta_hat
    return np.concatenate([theta_hat, np.asarray(extra, dtype=np.float64)], axis=0)
