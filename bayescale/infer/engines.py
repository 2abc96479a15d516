"""A converged posterior per curve: importance sampling where it holds, NUTS where it does not.

:func:`sample_posterior_batch` runs one of three engines over a batch of curves:

* ``"auto"`` (default): every curve through the Laplace + adaptive importance sampler
  (:func:`bayescale.infer.psis.sample_importance_batch`: lanes in lock-step, no Markov chains);
  the curves whose Pareto ``k`` exceeds :data:`~bayescale.infer.psis.PARETO_K_MAX` (or whose
  weights are all zero) go on to NUTS in fit space
  (:func:`~bayescale.infer.sampling.sample_nuts_batch` with ``space="fit"``), started at the
  mode the importance sampler found;
* ``"laplace"``: the importance sampler alone (curves with ``k > 0.7`` keep their draws and a
  warning);
* ``"nuts"``: NUTS alone, as :func:`~bayescale.infer.sampling.sample_nuts_batch`.

Every curve reports which engine produced its draws and that engine's diagnostics: Pareto
``k`` and the weights' effective sample size, or R-hat, bulk ESS and divergences.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np

from bayescale._jax import x64
from bayescale.infer.model import Prior
from bayescale.infer.psis import PARETO_K_MAX, sample_importance_batch
from bayescale.infer.sampling import DEFAULT_CHUNK as NUTS_CHUNK
from bayescale.infer.sampling import sample_nuts_batch
from bayescale.infer.types import BatchPosteriorResult, ImportanceConfig, NutsConfig
from bayescale.lanes import lanes_for
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise
from bayescale.status import ENGINE_LAPLACE_PSIS, ENGINE_NONE, ENGINE_NUTS

#: Engines of :func:`sample_posterior_batch`.
ENGINES = ("auto", "laplace", "nuts")


@x64
def sample_posterior_batch(
    law: Law,
    data: Data,
    noise: Noise,
    *,
    init_theta: np.ndarray,
    config: NutsConfig = NutsConfig(max_tree_depth=8),
    importance: ImportanceConfig = ImportanceConfig(),
    engine: str = "auto",
    priors: Mapping[str, Prior] | None = None,
    seeds: np.ndarray | None = None,
    chunk_size: int | None = None,
    progress: bool | Callable[[int], object] = False,
) -> BatchPosteriorResult:
    """The posterior of every curve, by importance sampling or NUTS, chosen per curve.

    Parameters
    ----------
    law
        The scaling law.
    data
        Curves padded to a common length, ``(curve, n)`` arrays, weight 0 marking padding.
    noise
        The noise density; adds ``log_sigma``.
    init_theta
        Start per curve in fit space, ``(curve, P + 1)``: normally the maximum-likelihood fit.
    config
        NUTS settings; ``num_chains x num_samples`` is also the number of equally weighted
        draws the importance sampler returns per curve, and ``config.seed`` seeds curve ``i``
        with ``seed + i`` unless ``seeds`` is given.
    importance
        Settings of the importance sampler.
    engine
        ``"auto"``, ``"laplace"`` or ``"nuts"`` (see the module docstring).
    priors
        Overrides of the default priors, keyed by fit-space name.
    seeds
        Seed per curve, ``(curve,)`` integers; a curve's draws depend on its seed only.
    chunk_size
        Curves per compiled call of either engine (default: each engine's own).
    progress
        ``True`` for a bar over curves per engine, or a callable given the curves finished
        (by the first engine that ran on them).

    Returns
    -------
    BatchPosteriorResult

    Raises
    ------
    ValueError
        On an unknown engine, or inputs that the engines reject.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    start = time.perf_counter()
    n = np.asarray(data.log_y).shape[0]
    seeds = int(config.seed) + np.arange(n) if seeds is None else np.asarray(seeds)
    nuts_kw = {"config": config, "priors": priors, "chunk_size": chunk_size, "progress": progress}
    if engine == "nuts":
        res = sample_nuts_batch(law, data, noise, init_theta=init_theta, seeds=seeds, **nuts_kw)
        drawn = np.any(np.isfinite(res.theta), axis=(1, 2, 3))
        used = np.where(drawn, ENGINE_NUTS, ENGINE_NONE).astype(object)
        return BatchPosteriorResult(
            res.theta, res.names, used, np.full(n, np.nan), res.rhat, res.ess, res.divergences,
            res.status, res.messages, time.perf_counter() - start,
        )  # fmt: skip
    imp = sample_importance_batch(
        law, data, noise, init_theta=init_theta, num_chains=config.num_chains,
        num_samples=config.num_samples, config=importance, priors=priors, seeds=seeds,
        chunk_size=chunk_size, progress=progress,
    )  # fmt: skip
    n_par = len(imp.names)
    sampled = np.isfinite(imp.pareto_k)
    used = np.where(sampled, ENGINE_LAPLACE_PSIS, ENGINE_NONE).astype(object)
    theta, status, messages = imp.theta.copy(), imp.status.copy(), list(imp.messages)
    rhat = np.full((n, n_par), np.nan)
    ess = np.repeat(imp.ess[:, None], n_par, axis=1)
    divergences = np.where(sampled, 0, -1).astype(np.int64)
    redo = np.all(np.isfinite(imp.mode), axis=1) & ~(imp.pareto_k <= PARETO_K_MAX)
    if engine == "auto" and redo.any():
        idx = np.flatnonzero(redo)
        sub = Data({k: np.asarray(v)[idx] for k, v in data.x.items()},
                   np.asarray(data.log_y)[idx], np.asarray(data.weight)[idx])  # fmt: skip
        # A callable counts curves once (at their importance pass); a bar of its own is fine.
        # Few curves: powers of two, so that batches with 3 or 4 such curves share a sampler.
        nuts_kw["progress"] = progress is True
        nuts_kw["chunk_size"] = lanes_for(idx.size, chunk_size or NUTS_CHUNK)
        res = sample_nuts_batch(
            law, sub, noise, init_theta=imp.mode[idx], seeds=seeds[idx], space="fit", **nuts_kw
        )
        theta[idx], rhat[idx], ess[idx] = res.theta, res.rhat, res.ess
        divergences[idx], status[idx], used[idx] = res.divergences, res.status, ENGINE_NUTS
        for j, i in enumerate(idx):
            messages[i] = res.messages[j]
    return BatchPosteriorResult(
        theta, imp.names, used, imp.pareto_k, rhat, ess, divergences, status, tuple(messages),
        time.perf_counter() - start,
    )  # fmt: skip
