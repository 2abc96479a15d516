"""One curve with very many points: multi-start on a subsample, polish on every point.

A multi-start fit evaluates every start on every point at every step, so its cost grows as
starts x points x steps: 200,000 points x 16 starts took 86 s on 2 CPU cores, and 2,000,000
did not finish in 50 minutes. Most of that work only decides which basin each start falls into,
which a random subsample decides as well. :func:`fit_points` therefore

1. runs the multi-start scheme on a random subsample of ``FitConfig.subsample`` points (a
   fixed seed, so the same table gives the same fit): every start explores, and the
   :data:`SUBSAMPLE_POLISH` best are polished;
2. evaluates every start's end point on *every* point, and runs the best on to convergence on
   every point (the next best if a run stalls; :data:`FULL_ATTEMPTS`); the objective is summed
   in chunks of :data:`~bayescale.likelihood.evaluation.POINT_CHUNK` points, so memory stays
   bounded.

The reported optimum is therefore a converged optimum of the whole data's objective; the starts
not polished on the whole data keep status ``screened``. A curve of at most
``FitConfig.subsample`` points goes straight to
:func:`~bayescale.optimize.multistart.fit_multistart`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.lanes import fit_bytes, require_memory
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Objective, objective
from bayescale.likelihood.evaluation import POINT_CHUNK
from bayescale.optimize.multistart import (
    NEAR_BEST_RTOL,
    FitConfig,
    MultiStartResult,
    fit_multistart,
)
from bayescale.status import CONVERGED, SCREENED

#: Most starts run on to convergence on every point, one at a time, best first: a BFGS run on
#: a Huber objective can stall at the optimum without meeting its termination test, and a run
#: from the next start (another path into the same basin) then usually converges.
FULL_ATTEMPTS = 4
#: BFGS steps of one attempt (a converging run from a subsample optimum takes about 100).
ATTEMPT_STEPS = 300
#: Loosest termination tolerance of a run on every point (``rtol`` and ``atol`` of the run are
#: at least this): a sum over millions of points resolves the parameters to about the square
#: root of its rounding error, so BFGS runs with 1e-10 stalled on 3 of 4 starts at 2,000,000
#: points; the parameters' standard errors there are ~1e-4 relative.
POLISH_TOL = 1e-8
#: Starts polished on the subsample after exploration (at most; fewer if ``config.polish`` is
#: smaller): the subsample only has to place the best starts in their basins.
SUBSAMPLE_POLISH = 4
#: Seed of the subsample (fixed: the same table gives the same fit).
SUBSAMPLE_SEED = 0


def points_fit_bytes(n_starts: int, n_points: int, n_params: int, config: FitConfig) -> float:
    """Peak bytes of :func:`fit_points` on one curve: every start on at most
    ``config.subsample`` points, one start on a chunk of every point, and the curve itself.

    Parameters
    ----------
    n_starts, n_points, n_params
        Starts, points of the curve, fitted parameters.
    config
        The optimiser settings (``subsample``).

    Returns
    -------
    float
        Estimated bytes.
    """
    seen = n_points if config.subsample <= 0 else min(n_points, config.subsample)
    polish = fit_bytes(1, min(n_points, POINT_CHUNK), n_params) if seen < n_points else 0.0
    return fit_bytes(n_starts, seen, n_params) + polish + 8.0 * 8 * n_points


def subsample(data: Data, size: int, seed: int = SUBSAMPLE_SEED) -> Data:
    """A random subsample of ``size`` points of one curve (host arrays), in table order.

    The weights are scaled by ``n / size`` so that the subsample's objective estimates the
    whole curve's; the minimiser is unchanged by the scale.

    Parameters
    ----------
    data
        One curve, ``(n,)`` fields, ``n > size``.
    size
        Points to keep.
    seed
        Seed of the choice.

    Returns
    -------
    Data
        ``(size,)`` fields as numpy arrays.
    """
    n = int(np.shape(data.log_y)[-1])
    rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    return Data(
        {k: np.asarray(v)[rows] for k, v in data.x.items()},
        np.asarray(data.log_y)[rows],
        np.asarray(data.weight)[rows] * (n / size),
    )


def near_best(f: np.ndarray | float, best: float) -> np.ndarray:
    """Whether ``f`` is within :data:`~bayescale.optimize.multistart.NEAR_BEST_RTOL` of
    ``best`` (the rule of :func:`~bayescale.optimize.multistart.minimise_starts`)."""
    return np.asarray(f) <= best + NEAR_BEST_RTOL * abs(best)


@partial(jax.jit, static_argnames=("law", "obj"))
def start_objectives(ends: jax.Array, data: Data, law: Law, obj: Objective) -> jax.Array:
    """The objective on every point at each start's end point, ``(S,)`` (``inf`` if not finite)."""
    f = jax.vmap(lambda th: objective(law, th, data, obj))(ends)
    return jnp.where(jnp.isfinite(f), f, jnp.inf)


def polish_points(
    first: MultiStartResult, data: Data, law: Law, obj: Objective, config: FitConfig
) -> MultiStartResult:
    """Run the best end points of the subsample stage on to convergence on every point.

    Starts are tried one at a time, best first (by the objective on every point), until one
    converges at the lowest objective seen, at most :data:`FULL_ATTEMPTS` of them, each for at
    most :data:`ATTEMPT_STEPS` BFGS steps with tolerances of at least :data:`POLISH_TOL` (one
    compiled call each; same shapes never retrace).

    Parameters
    ----------
    first
        The subsample stage's result (host or device arrays).
    data
        Every point of the curve.
    law, obj, config
        The law, the objective and the optimiser settings.

    Returns
    -------
    MultiStartResult
        Numpy arrays: objectives of every start on every point; the polished starts' end
        points, status and steps replace theirs; the best is a converged polished start
        within ``NEAR_BEST_RTOL`` of the lowest objective where there is one, else the lowest;
        the others keep status ``screened``.
    """
    ends = np.array(first.start_theta)
    f = np.array(start_objectives(jnp.asarray(ends), data, law, obj))
    status = np.where(np.asarray(first.start_status) == CONVERGED, SCREENED, first.start_status)
    steps = np.array(first.start_steps)
    tol = max(config.rtol, POLISH_TOL)
    one = config._replace(explore_steps=0, restarts=0, rtol=tol, atol=max(config.atol, tol),
                          max_steps=min(config.max_steps, ATTEMPT_STEPS))  # fmt: skip
    runs: dict[int, MultiStartResult] = {}
    for i in np.argsort(f, kind="stable")[: min(FULL_ATTEMPTS, len(f))]:
        run = MultiStartResult(
            *map(np.asarray, fit_multistart(ends[i : i + 1], data, law, obj, one))
        )
        ends[i], f[i], status[i] = run.theta, run.objective, run.status
        steps[i] += int(run.start_steps[0])
        runs[int(i)] = run
        if run.status == CONVERGED and near_best(run.objective, f.min()):
            break
    # as in minimise_starts: a converged start within NEAR_BEST_RTOL of the lowest objective
    # is reported, else the lowest
    done = [i for i, r in runs.items() if r.status == CONVERGED and near_best(f[i], f.min())]
    run = runs[done[0] if done else min(runs, key=lambda i: f[i])]
    near = near_best(f, run.objective)
    return run._replace(
        start_theta=ends,
        start_objective=f,
        start_status=status.astype(np.int32),
        start_steps=steps,
        n_near_best=np.asarray(near.sum(), np.int32),
    )


def fit_points(
    starts: jax.Array, data: Data, law: Law, obj: Objective, config: FitConfig = FitConfig()
) -> MultiStartResult:
    """Multi-start fit of one curve of any length (see the module docstring).

    Parameters
    ----------
    starts
        Start points in fit space, ``(S, P)``.
    data
        The curve's arrays, ``(n,)`` fields.
    law, obj, config
        The law, the objective and the optimiser settings; ``config.subsample`` sets when the
        two-stage scheme is used.

    Returns
    -------
    MultiStartResult
        As from :func:`~bayescale.optimize.multistart.fit_multistart`.

    Raises
    ------
    bayescale.ResourceError
        Before any compute, when the fit would not fit in memory.
    """
    n = int(np.shape(data.log_y)[-1])
    n_starts, n_params = np.shape(starts)
    require_memory(
        points_fit_bytes(n_starts, n, n_params, config),
        f"a fit of {n_starts:,} starts on {n:,} points",
        "starts",
        per_unit=points_fit_bytes(1, n, n_params, config),
    )
    if config.subsample <= 0 or n <= config.subsample:
        return fit_multistart(starts, data, law, obj, config)
    stage = config._replace(polish=min(config.polish, SUBSAMPLE_POLISH))
    first = fit_multistart(starts, subsample(data, config.subsample), law, obj, stage)
    return polish_points(first, data, law, obj, config)
