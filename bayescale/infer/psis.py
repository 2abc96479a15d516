"""The host boundary of the importance sampler: PSIS, resampling, per-curve status.

:func:`sample_importance_batch` checks its inputs, runs the compiled core of
:mod:`bayescale.infer.importance` in fixed-size chunks through
:func:`bayescale.lanes.run_in_chunks`, smooths every curve's log weights with Pareto-smoothed
importance sampling (arviz's ``psislw``, :func:`pareto_smooth`) and resamples them into equally
weighted draws shaped like NUTS's ``(curve, chain, draw, P + 1)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import x64
from bayescale._progress import reporter
from bayescale.infer.idata import import_arviz
from bayescale.infer.importance import compiled_importance_curves
from bayescale.infer.model import Prior, resolve_priors
from bayescale.infer.sampling import batch_starts
from bayescale.infer.types import BatchImportanceResult, ImportanceConfig, ImportanceOutput
from bayescale.infer.validate import check_data
from bayescale.lanes import curve_mesh, lanes_for, run_in_chunks
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise, check_objective, fit_names
from bayescale.status import SAMPLER_FAILED, SAMPLER_OK, SAMPLER_WARNING

#: Largest Pareto ``k`` at which importance-sampling estimates are trusted (Vehtari et al.
#: 2024: ``min(1 - 1/log10(S), 0.7)``, which is 0.7 from S = 2,200 draws on).
PARETO_K_MAX = 0.7
#: Curvatures of the Newton steps and the first proposal (:class:`ImportanceConfig`).
CURVATURES = ("auto", "fisher", "hessian")
#: Default number of curves per compiled call of :func:`sample_importance_batch`.
DEFAULT_CHUNK = 64
#: Added to the Pareto-k warning when the Newton steps did not reach a proper mode.
NOT_A_MODE = (
    "; the curvature at the mode found is not positive definite, so the parameters may be "
    "poorly identified by these data"
)


def pareto_smooth(log_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSIS of every row: arviz's ``psislw`` (samples on the last axis).

    Returns
    -------
    tuple
        Smoothed, normalised log weights (the shape of ``log_weight``) and ``k`` per row.
    """
    log_w, k = import_arviz().psislw(np.asarray(log_weight, dtype=np.float64))
    return np.asarray(log_w), np.asarray(k, dtype=np.float64)


def systematic_resample(weight: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn by systematic resampling of normalised ``weight``, shuffled."""
    edges = np.cumsum(weight)
    edges /= edges[-1]
    idx = np.searchsorted(edges, (rng.random() + np.arange(n)) / n)
    return rng.permutation(np.minimum(idx, len(weight) - 1))


@x64
def sample_importance_batch(
    law: Law,
    data: Data,
    noise: Noise,
    *,
    init_theta: np.ndarray,
    num_chains: int = 4,
    num_samples: int = 1000,
    config: ImportanceConfig = ImportanceConfig(),
    priors: Mapping[str, Prior] | None = None,
    seeds: np.ndarray | None = None,
    chunk_size: int | None = None,
    progress: bool | Callable[[int], object] = False,
) -> BatchImportanceResult:
    """The posterior of every curve by Laplace + adaptive importance sampling, vectorised.

    Parameters
    ----------
    law
        The scaling law.
    data
        Curves padded to a common length, ``(curve, n)`` arrays, weight 0 marking padding.
    noise
        The noise density; adds ``log_sigma``.
    init_theta
        Start per curve in fit space, ``(curve, P + 1)``: normally the maximum-likelihood
        fit. A curve with a non-finite start or unusable data is not sampled.
    num_chains, num_samples
        Shape of the equally weighted draws returned per curve (as NUTS's chains x draws).
    config
        Sampler settings, shared by every curve.
    priors
        Overrides of the default priors, keyed by fit-space name.
    seeds
        Seed per curve, ``(curve,)`` integers (default ``i``); a curve's draws depend on its
        seed only.
    chunk_size
        Curves per compiled call (default 64; fewer curves use the next power of two,
        :func:`~bayescale.lanes.lanes_for`, so that small batches reuse compiled shapes).
    progress
        ``True`` for a bar over curves, or a callable given the curves finished per chunk.

    Returns
    -------
    BatchImportanceResult

    Raises
    ------
    ValueError
        On settings out of range, data without a ``(curve, point)`` layout, or an
        ``init_theta`` or ``seeds`` of the wrong shape.
    """
    if not isinstance(noise, Noise):
        raise ValueError("importance sampling needs a Noise density (a likelihood)")
    check_objective(noise)
    ok = config.num_draws >= 100 and config.adapt_draws >= 100 and config.rounds >= 0
    ok = ok and config.df >= 1 and config.scale > 0 and config.newton_steps >= 0
    if not ok or config.curvature not in CURVATURES:
        raise ValueError(
            "ImportanceConfig needs num_draws and adapt_draws >= 100, rounds >= 0, df >= 1, "
            f"scale > 0, newton_steps >= 0 and curvature in {CURVATURES}; got {config}"
        )
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if int(num_chains) < 1 or int(num_samples) < 1:
        raise ValueError(
            f"num_chains and num_samples must be >= 1, got {num_chains}, {num_samples}"
        )
    names = fit_names(law, noise)
    prior_t = resolve_priors(law, noise, priors)
    data_np = check_data(law, data, batch=True)
    n, n_par = data_np.log_y.shape[0], len(names)
    seeds = np.arange(n) if seeds is None else np.asarray(seeds)
    if seeds.shape != (n,) or not np.issubdtype(seeds.dtype, np.integer):
        raise ValueError(f"seeds must be ({n},) integers, one per curve; got {seeds.shape}")
    theta0, notes, usable = batch_starts(np.array(init_theta, dtype=np.float64), prior_t, data_np)
    chains, draws = int(num_chains), int(num_samples)
    theta = np.full((n, chains, draws, n_par), np.nan)
    pareto_k, ess, mode = np.full(n, np.nan), np.full(n, np.nan), np.full((n, n_par), np.nan)
    status = np.where(usable, SAMPLER_OK, SAMPLER_FAILED).astype(np.int64)

    start = time.perf_counter()
    todo = np.flatnonzero(usable)
    if todo.size:
        size = lanes_for(todo.size, DEFAULT_CHUNK if chunk_size is None else int(chunk_size))
        sub = Data({k: v[todo] for k, v in data_np.x.items()}, data_np.log_y[todo],
                   data_np.weight[todo])  # fmt: skip

        def call(block: tuple, _: object) -> ImportanceOutput:
            s, th0, d = block
            return compiled_importance_curves(
                jnp.asarray(s), jnp.asarray(th0), jax.tree.map(jnp.asarray, d), law=law,
                noise=noise, priors=prior_t, config=config,
            )  # fmt: skip

        with reporter(progress, todo.size, "laplace+psis", "curve") as update:
            out = run_in_chunks(
                call, (seeds[todo].astype(np.int64), theta0[todo], sub), lanes=size,
                mesh=curve_mesh(jax.local_devices()[:1]), progress=update,
            )  # fmt: skip
        finite = np.any(np.isfinite(out.log_weight), axis=1)
        log_w = np.where(finite[:, None], out.log_weight, 0.0)
        smooth, k = pareto_smooth(log_w)
        mode[todo] = out.mode
        for j, i in enumerate(todo):
            if not finite[j]:
                notes[i].append("sampling failed: no proposal draw has a finite log posterior")
                status[i] = SAMPLER_FAILED
                continue
            w = np.exp(smooth[j] - np.max(smooth[j]))
            w /= w.sum()
            pareto_k[i], ess[i] = k[j], 1.0 / np.sum(w**2)
            pick = systematic_resample(w, chains * draws, np.random.default_rng(int(seeds[i])))
            theta[i] = out.theta[j][pick].reshape(chains, draws, n_par)
            if not k[j] <= PARETO_K_MAX:
                why = "" if out.mode_ok[j] else NOT_A_MODE
                notes[i].append(
                    f"Pareto k = {k[j]:.2f} > {PARETO_K_MAX}: the importance weights are "
                    f"unreliable (the posterior has mass the proposal misses{why}); sample this "
                    "curve with NUTS"
                )
            status[i] = SAMPLER_WARNING if notes[i] else SAMPLER_OK
    return BatchImportanceResult(
        theta=theta,
        names=names,
        pareto_k=pareto_k,
        ess=ess,
        mode=mode,
        status=status,
        messages=tuple("; ".join(m) for m in notes),
        seconds=time.perf_counter() - start,
    )
