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
from bayescale.likelihood import Loss, Noise, as_noise, check_objective, fit_names, natural_names
from bayescale.optimize.multistart import FitConfig
from bayescale.optimize.resampling import (
    bootstrap_counts,
    bootstrap_fit,
    bootstrap_starts,
    loss_refit_config,
)
from bayescale.predict.protocols import bootstrap_settings
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
    n_resamples: int | None = None,
    *,
    seed: int | None = None,
    grid_starts_per_resample: int = 0,
    groups: np.ndarray | None = None,
    block_size: int | None = None,
    block_by: str | np.ndarray | None = None,
    refit: Loss | None = None,
    start: np.ndarray | str | None = None,
    resample_scheme: str | None = None,
    protocol: str | None = None,
    config: FitConfig | None = None,
    chunk: int | None = None,
    progress: bool | Callable[[int], object] = False,
) -> Draws | BatchDraws:
    """Nonparametric bootstrap of a fit: every resample refitted, in compiled chunks.

    By default every resample refits the fit's own objective (for a maximum-likelihood fit,
    its likelihood) from the fit's optimum: the bootstrap of the estimator the critique tests.

    Parameters
    ----------
    fit
        The full-data fit, one curve or a batch; refits use its optimiser settings.
    n_resamples
        Resamples (per curve); default 4,000 (or the protocol's).
    seed
        Seed of the resampling (and of the choice of extra grid starts); default 0 (or the
        protocol's). A batch seeds every curve with
        :func:`~bayescale.workflows.batching.curve_seeds`.
    grid_starts_per_resample
        Extra starts per resample, drawn from the law's default grid (one curve only).
    groups
        Group label per fitted point for a cluster bootstrap (whole runs, or bins of compute
        from :func:`~bayescale.optimize.dependence.compute_bins`, resampled; one curve).
    block_size, block_by
        A moving-block bootstrap: resamples made of runs of ``block_size`` neighbours along
        ``block_by`` (:func:`~bayescale.optimize.dependence.ordering`: default ``C``, else
        ``N * D``, else a one-input law's input; or a law input's name, or one value per point
        of one curve), for residuals correlated along compute, where the point bootstrap is
        too narrow. Recorded in ``Draws.settings`` (``resampling``, ``block_size``, ...).
    refit
        A :class:`~bayescale.likelihood.Loss` every resample minimises instead of the fit's
        objective (e.g. ``Loss("huber", 1e-3)``, Besiroglu et al.'s refits); its draws have
        the law's parameters only, no ``log_sigma``. Such refits get more, shorter restarts
        (:func:`~bayescale.optimize.resampling.loss_refit_config`).
    start
        The common start of every refit: a fit-space vector of the law's parameters or a
        reference name (e.g. ``"hoffmann2022_unrounded"``); default the fit's optimum.
    resample_scheme
        ``"default"`` or ``"numpy_legacy"`` (Epoch's stream; see
        :func:`~bayescale.optimize.resampling.resample_counts`).
    protocol
        A named protocol (:func:`~bayescale.predict.protocols.list_protocols`) that sets
        ``n_resamples``, ``seed``, ``resample_scheme``, ``refit`` and ``start`` (leave those
        unset); ``"besiroglu2024"`` is Epoch AI's bootstrap. Recorded in
        ``Draws.settings["protocol"]``, where the critique reads it.
    config
        Optimiser settings of the refits (default: the fit's, adjusted as above under
        ``refit``).
    chunk
        Refits per compiled call, bounding memory (default 1000 for one curve, else from
        free memory).
    progress
        ``True`` for a progress bar, or a callable given the resamples (one curve) or curves
        (batch) just finished.

    Returns
    -------
    Draws or BatchDraws
        ``theta`` of shape ``(1, n_resamples, P)``, or ``(curve, 1, n_resamples, P)``; the
        diagnostics count the refits that did not converge (``n_unconverged``).

    Raises
    ------
    ValueError
        For ``n_resamples < 1``, a bad ``chunk``, ``start`` or ``resample_scheme``, settings
        that contradict the protocol, options a batch does not take, or a bad block bootstrap
        (``block_size`` outside ``1 .. n - 1``, with ``groups``, ``block_by`` alone).
    KeyError
        On an unknown protocol or reference.
    """
    if chunk is not None and int(chunk) < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if isinstance(fit, BatchFit):
        one_curve = (groups, refit, start, resample_scheme, protocol, config)
        if grid_starts_per_resample or any(v is not None for v in one_curve):
            raise ValueError(
                "a batch bootstrap refits every curve's own objective from its optimum: it "
                "takes none of grid_starts_per_resample, groups, refit, start, "
                "resample_scheme, protocol, config (bootstrap one curve for those)"
            )
        r = 4000 if n_resamples is None else int(n_resamples)
        if r < 1:
            raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
        return bootstrap_batch(fit, r, int(seed or 0), chunk, progress, (block_size, block_by))
    if protocol is not None and (grid_starts_per_resample or groups is not None or block_size):
        raise ValueError(f"protocol {protocol!r} sets one start per refit and point resampling")
    t0 = time.perf_counter()
    law = fit.law
    plan = bootstrap_settings(
        law, protocol, n_resamples=n_resamples, seed=seed, resample_scheme=resample_scheme,
        refit=refit, start=start,
    )  # fmt: skip
    r, seed = plan.n_resamples, plan.seed
    counts_, drawn = bootstrap_counts(
        law, fit.data.x, r, seed, groups=groups, scheme=plan.resample_scheme,
        block_size=block_size, block_by=block_by, flops_per_token=fit.data.flops_per_token,
    )  # fmt: skip
    obj = fit.objective if plan.refit is None else check_objective(plan.refit)
    noise = fit.result.theta[law.n_params :] if isinstance(obj, Noise) else np.zeros(0)
    theta0 = fit.result.theta[: law.n_params] if plan.start is None else plan.start
    extra = None
    if grid_starts_per_resample:
        g = grid_starts(law)
        pick = np.random.default_rng(seed + 1).choice(len(g), grid_starts_per_resample, False)
        extra = np.concatenate([g[pick], np.repeat(noise[None], len(pick), 0)], 1)
    starts = jnp.asarray(bootstrap_starts(np.concatenate([theta0, noise]), extra))
    if config is None:
        config = fit.config if plan.refit is None else loss_refit_config(fit.config)
    data = as_data(fit.data)

    def call(block: np.ndarray, _: object) -> object:
        c = jnp.asarray(block, dtype=data.log_y.dtype)
        return bootstrap_fit(c, starts, data, law, obj, config)

    lanes = max(1, min(int(chunk or 1000), r))
    with reporter(progress, r, "bootstrap", "resample") as update:
        res = run_in_chunks(
            call, counts_, lanes=lanes, mesh=curve_mesh(jax.local_devices()[:1]), progress=update
        )
    status = np.asarray(res.status)
    bad = {NAMES[s]: int(np.sum(status == s)) for s in sorted(set(status.tolist()) - {CONVERGED})}
    warnings = ()
    if bad:
        detail = ", ".join(f"{k}: {v}" for k, v in bad.items())
        warnings = (
            f"{sum(bad.values())} of {r} bootstrap refits did not converge ({detail}); "
            "they are kept, flagged in Draws.status",
        )
    return Draws(
        method="bootstrap",
        theta=np.asarray(res.theta)[None],
        names=fit_names(law, obj),
        status=status[None],
        diagnostics={
            "status_counts": counts(status),
            "n_unconverged": int(np.sum(status != CONVERGED)),
            "cluster": groups is not None,
            "n_groups": drawn["n_groups"],
        },
        warnings=warnings,
        settings={
            "n_resamples": r,
            "seed": seed,
            "resample_scheme": plan.resample_scheme,
            **{k: drawn[k] for k in ("resampling", "block_size", "block_by")},
            "protocol": plan.protocol,
            "starts_per_resample": int(starts.shape[0]),
            "warm_start": plan.start_label,
            "start": [float(v) for v in theta0],
            "objective": {"type": type(obj).__name__, **obj._asdict()},
            "refit": "likelihood" if isinstance(obj, Noise) else "loss",
            "restarts": int(config.restarts),
            "max_steps": int(config.max_steps),
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
    block_size: int | None = None,
    block_by: str | None = None,
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
    n_resamples, seed, block_size, block_by
        Resamples per curve, the seed (each curve's stream from
        :func:`~bayescale.workflows.batching.curve_seeds`) and a block bootstrap's settings.
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
    blocks = {"block_size": block_size, "block_by": block_by}
    out = bootstrap(fit, n_resamples, seed=seed, chunk=chunk_size, progress=progress, **blocks)
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
