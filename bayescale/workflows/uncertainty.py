"""The one-call level for uncertainty: bootstrap and NUTS draws of one fit or of a batch.

:func:`bootstrap` and :func:`nuts` take a :class:`~bayescale.results.records.Fit` (one curve)
and return :class:`~bayescale.results.records.Draws`, or a
:class:`~bayescale.results.records.BatchFit` (many curves) and return
:class:`~bayescale.results.records.BatchDraws`; :func:`bootstrap_groups` and
:func:`nuts_groups` fit a long table first. Both engines run through the one host runner,
:func:`bayescale.lanes.run_in_chunks`:

* the bootstrap is the fitter under reweighting: a resample is the curve's points with
  weights multiplied by how often each was drawn, refitted from the full-data optimum. For
  one curve the resamples are the lanes; for a batch every (curve, resample) pair is a lane,
  a few thousand per compiled call;
* NUTS runs every curve's own chains, step size and mass matrix, from its own optimum.

Seeds. One fit uses ``seed`` as given. In a batch, every curve draws from its own stream,
:func:`~bayescale.workflows.batching.curve_seeds`, keyed by its group values: adding or
removing a curve never changes another curve's draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import x64
from bayescale._progress import reporter
from bayescale.data.preparation import as_data
from bayescale.infer.model import Prior
from bayescale.infer.sampling import sample_nuts
from bayescale.infer.types import NutsConfig
from bayescale.lanes import curve_mesh, run_in_chunks
from bayescale.laws.spec import Law, grid_starts
from bayescale.likelihood import Noise, as_noise, fit_names, natural_names
from bayescale.optimize.multistart import FitConfig
from bayescale.optimize.resampling import bootstrap_fit, bootstrap_starts, resample_counts
from bayescale.results.records import BatchDraws, BatchFit, Draws, Fit
from bayescale.status import CONVERGED, NAMES, counts
from bayescale.workflows.batching import bootstrap_batch, nuts_batch, require_noise
from bayescale.workflows.fitting import fit_groups

#: Default NUTS settings of a batch: every iteration of a chunk costs its deepest tree.
BATCH_NUTS = NutsConfig(max_tree_depth=8)


# ----------------------------------------------------------------------------- bootstrap


@x64
def bootstrap(
    fit: Fit | BatchFit,
    n_resamples: int = 4000,
    *,
    seed: int = 0,
    grid_starts_per_resample: int = 0,
    groups: np.ndarray | None = None,
    chunk: int | None = None,
    progress: bool | Callable[[int], object] = False,
) -> Draws | BatchDraws:
    """Nonparametric bootstrap of a fit: every resample refitted, in compiled chunks.

    Parameters
    ----------
    fit
        The full-data fit (each resample starts from its optimum, a warm start), one curve or
        a batch; refits use its optimiser settings.
    n_resamples
        Resamples (per curve).
    seed
        Seed of the resampling (and of the choice of extra grid starts). A batch seeds every
        curve with :func:`~bayescale.workflows.batching.curve_seeds`.
    grid_starts_per_resample
        Extra starts per resample, drawn from the law's default grid (one curve only).
    groups
        Group label per fitted point for a cluster bootstrap (whole runs resampled; one curve).
    chunk
        Refits per compiled call, bounding memory (default 1000 for one curve, else from
        free memory).
    progress
        ``True`` for a progress bar, or a callable given the resamples (one curve) or curves
        (batch) just finished.

    Returns
    -------
    Draws or BatchDraws
        ``theta`` of shape ``(1, n_resamples, P)``, or ``(curve, 1, n_resamples, P)``.

    Raises
    ------
    ValueError
        For ``n_resamples < 1``, a bad ``chunk``, or options a batch does not take.
    """
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if chunk is not None and int(chunk) < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if isinstance(fit, BatchFit):
        if grid_starts_per_resample or groups is not None:
            raise ValueError("a batch bootstrap takes neither extra grid starts nor groups")
        return bootstrap_batch(fit, int(n_resamples), int(seed), chunk, progress)
    t0 = time.perf_counter()
    law = fit.law
    counts_ = resample_counts(len(fit.data.loss), n_resamples, seed, groups)
    extra = None
    if grid_starts_per_resample:
        g = grid_starts(law)
        pick = np.random.default_rng(seed + 1).choice(len(g), grid_starts_per_resample, False)
        extra = g[pick]
        noise = fit.result.theta[law.n_params :]
        extra = np.concatenate([extra, np.repeat(noise[None], len(extra), 0)], 1)
    starts = jnp.asarray(bootstrap_starts(fit.result.theta, extra))
    data = as_data(fit.data)

    def call(block: np.ndarray, _: object) -> object:
        c = jnp.asarray(block, dtype=data.log_y.dtype)
        return bootstrap_fit(c, starts, data, law, fit.objective, fit.config)

    lanes = max(1, min(int(chunk or 1000), int(n_resamples)))
    with reporter(progress, n_resamples, "bootstrap", "resample") as update:
        res = run_in_chunks(
            call, counts_, lanes=lanes, mesh=curve_mesh(jax.local_devices()[:1]), progress=update
        )
    status = np.asarray(res.status)
    bad = {NAMES[s]: int(np.sum(status == s)) for s in sorted(set(status.tolist()) - {CONVERGED})}
    warnings = ()
    if bad:
        detail = ", ".join(f"{k}: {v}" for k, v in bad.items())
        warnings = (
            f"{sum(bad.values())} of {n_resamples} bootstrap refits did not converge ({detail}); "
            "they are kept, flagged in Draws.status",
        )
    return Draws(
        method="bootstrap",
        theta=np.asarray(res.theta)[None],
        names=fit_names(law, fit.objective),
        status=status[None],
        diagnostics={
            "status_counts": counts(status),
            "cluster": groups is not None,
            "n_groups": int(len(np.unique(groups))) if groups is not None else None,
        },
        warnings=warnings,
        settings={
            "n_resamples": int(n_resamples),
            "seed": int(seed),
            "starts_per_resample": int(starts.shape[0]),
            "warm_start": "full-data optimum",
            "objective": {"type": type(fit.objective).__name__, **fit.objective._asdict()},
        },
        seconds=time.perf_counter() - t0,
    )


# ----------------------------------------------------------------------------- NUTS


@x64
def nuts(
    fit: Fit | BatchFit,
    config: NutsConfig | None = None,
    priors: dict[str, Prior] | None = None,
    *,
    chunk_size: int | None = None,
    progress: bool | Callable[[int], object] = False,
) -> Draws | BatchDraws:
    """NumPyro NUTS posterior for a fit's law and noise model, started at its optimum.

    Parameters
    ----------
    fit
        A fit with a :class:`~bayescale.likelihood.Noise` objective (its optimum initialises
        the chains and preconditions the mass matrix), one curve or a batch.
    config
        :class:`~bayescale.infer.types.NutsConfig` (chains, warmup, draws, seed, ...); a
        batch defaults to :data:`BATCH_NUTS` and seeds every curve with
        :func:`~bayescale.workflows.batching.curve_seeds`.
    priors
        Overrides of the default priors, by fit-space parameter name.
    chunk_size
        Curves per compiled sampler call (a batch; default 16).
    progress
        ``True`` for a progress bar (iterations for one curve, curves for a batch), or a
        callable given the units just finished.

    Returns
    -------
    Draws or BatchDraws
        ``theta`` of shape ``(chains, draws, P)`` with the arviz InferenceData attached, or
        ``(curve, chains, draws, P)`` with a per-curve table.
    """
    if isinstance(fit, BatchFit):
        return nuts_batch(fit, config or BATCH_NUTS, priors, chunk_size, progress)
    noise = require_noise(fit, "NUTS")
    config = config or NutsConfig()
    t0 = time.perf_counter()
    res = sample_nuts(
        fit.law,
        as_data(fit.data),
        noise,
        init_theta=fit.result.theta,
        config=config,
        priors=priors,
        progress=progress,
    )
    labels = natural_names(fit.law, noise)
    diverging = np.asarray(res.idata.sample_stats["diverging"].values).astype(np.int32)
    return Draws(
        method="nuts",
        theta=np.asarray(res.theta),
        names=tuple(res.names),
        status=diverging,
        diagnostics={
            "rhat": dict(zip(labels, map(float, res.rhat), strict=True)),
            "ess_bulk": dict(zip(labels, map(float, res.ess), strict=True)),
            "divergences": int(res.divergences),
        },
        warnings=tuple(res.warnings),
        settings={**config._asdict(), "noise": noise._asdict(), "priors": priors or "default"},
        seconds=time.perf_counter() - t0,
        idata=res.idata,
    )


# ----------------------------------------------------------------------------- conveniences


def bootstrap_groups(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    group: Hashable | Sequence[Hashable],
    noise: Noise | str = "huber",
    delta: float = 1e-3,
    n_resamples: int = 1000,
    seed: int = 0,
    chunk_size: int | None = None,
    config: FitConfig = FitConfig(),
    progress: bool = False,
    **fit_options: Any,
) -> BatchDraws:
    """Fit every curve of a long table under a noise model, then bootstrap every curve.

    Parameters
    ----------
    data, law, group
        As for :func:`~bayescale.workflows.fitting.fit_groups`.
    noise, delta
        Noise model (maximum likelihood with a free scale), e.g. ``"huber"`` with ``delta``.
    n_resamples, seed
        Resamples per curve and the seed (each curve's stream from
        :func:`~bayescale.workflows.batching.curve_seeds`).
    chunk_size
        Refits (curve x resample lanes) per compiled call; default from free memory.
    config
        Optimiser settings of the fit and of every refit.
    progress
        Show a progress bar over curves.
    **fit_options
        Passed to :func:`~bayescale.workflows.fitting.fit_groups`.

    Returns
    -------
    BatchDraws
        ``theta`` is ``(curve, 1, n_resamples, P + 1)``.
    """
    noise = as_noise(noise, delta, "a batch bootstrap or NUTS")
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    fit = fit_groups(data, law, group=group, loss=noise, seed=seed, config=config, **fit_options)
    out = bootstrap(fit, n_resamples, seed=seed, chunk=chunk_size, progress=progress)
    return out._replace(seconds=out.seconds + fit.seconds)


def nuts_groups(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    group: Hashable | Sequence[Hashable],
    noise: Noise | str = "huber",
    delta: float = 1e-3,
    nuts_config: NutsConfig = BATCH_NUTS,
    chunk_size: int | None = None,
    config: FitConfig = FitConfig(),
    progress: bool = False,
    **fit_options: Any,
) -> BatchDraws:
    """Fit every curve of a long table under a noise model, then sample every curve with NUTS.

    Parameters
    ----------
    data, law, group
        As for :func:`~bayescale.workflows.fitting.fit_groups`.
    noise, delta
        Noise model with a free scale, e.g. ``"huber"`` with ``delta``.
    nuts_config
        Chains, warmup, draws and sampler settings shared by every curve; each curve's chains
        are seeded by :func:`~bayescale.workflows.batching.curve_seeds` from ``nuts_config.seed``.
    chunk_size
        Curves per compiled sampler call (default 16).
    config
        Optimiser settings of the initial maximum-likelihood fit.
    progress
        Show a progress bar over curves.
    **fit_options
        Passed to :func:`~bayescale.workflows.fitting.fit_groups`.

    Returns
    -------
    BatchDraws
        ``theta`` is ``(curve, chain, draw, P + 1)``; the table has ``sampler_status``,
        ``max_rhat``, ``min_ess``, ``divergences`` and the sampler's warnings in ``message``.
    """
    noise = as_noise(noise, delta, "a batch bootstrap or NUTS")
    fit = fit_groups(data, law, group=group, loss=noise, config=config, **fit_options)
    out = nuts(fit, nuts_config, chunk_size=chunk_size, progress=progress)
    return out._replace(seconds=out.seconds + fit.seconds)
