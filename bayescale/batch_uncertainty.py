"""Bootstrap and NUTS over many curves from one long table: the batch level of uncertainty.

:func:`bootstrap_groups` and :func:`nuts_groups` take the same long table and group columns as
:func:`bayescale.batch.fit_groups`, which they call first (maximum likelihood under the noise
model, every group its own curve). Then:

* the bootstrap turns every (curve, resample) pair into one more "curve" of the batch fitter:
  the curve's padded points with weights multiplied by its resample counts, started at the
  curve's own optimum. The compiled, chunked, device-sharded
  :func:`~bayescale.fit.batch.fit_chunks` therefore refits every resample of every curve, a
  few thousand lanes per compiled call, with memory bounded by the chunk;
* NUTS runs :func:`~bayescale.infer.batch_nuts.sample_nuts_batch` on every shape bucket: each
  curve has its own chains, step size and mass matrix, started at its own optimum.

Both return a :class:`BatchDraws`: fit-space draws with a leading curve axis and one tidy row
per curve (group keys, status, message, the maximum-likelihood parameters, posterior or
bootstrap mean, sd and 5/50/95% quantiles of every natural parameter, and the sampler's
diagnostics). A curve that could not be fitted is not resampled or sampled; it keeps its
fit status and message and never affects another curve.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale._jax import enable_x64
from bayescale.batch import BatchFit, fit_groups, progress_bar
from bayescale.fit.batch import curve_mesh, default_chunk_size, fit_chunks, lanes_for
from bayescale.fit.bootstrap import resample_counts
from bayescale.fit.multistart import CONVERGED, STATUS, FitConfig
from bayescale.infer.batch_nuts import FAILED, OK, WARNING, sample_nuts_batch
from bayescale.infer.nuts import NutsConfig
from bayescale.laws import Law, to_natural
from bayescale.likelihood import Data, Noise, as_noise

QUANTILES = (0.05, 0.5, 0.95)
#: Names of :func:`~bayescale.infer.batch_nuts.sample_nuts_batch`'s per-curve status codes.
SAMPLER_STATUS = {OK: "ok", WARNING: "warning", FAILED: "failed"}


class BatchDraws(NamedTuple):
    """Bootstrap or posterior draws of many curves.

    Attributes
    ----------
    table
        One row per curve: the group keys, ``n_points``, ``status`` and ``message`` (the fit's
        and the sampler's), the maximum-likelihood natural parameters, then for every natural
        parameter ``<name>_mean``, ``_sd``, ``_q05``, ``_q50``, ``_q95``, and diagnostics:
        ``converged_frac`` (bootstrap: share of resamples whose refit converged) or
        ``sampler_status`` (``ok``, ``warning``, ``failed``, ``not_sampled``), ``max_rhat``,
        ``min_ess``, ``divergences`` (NUTS). ``status`` is the maximum-likelihood fit's.
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)`` (the bootstrap has one "chain");
        NaN for curves that were not sampled.
    names
        Fit-space names of the last axis of ``theta``.
    method
        ``"bootstrap"`` or ``"nuts"``.
    fit
        The batch maximum-likelihood fit the draws started from.
    seconds
        Wall time, the fit and compilation included.
    """

    table: pd.DataFrame
    theta: np.ndarray
    names: tuple[str, ...]
    method: str
    fit: BatchFit
    seconds: float


def _sampleable(fit: BatchFit) -> np.ndarray:
    """Curves whose fit has finite parameters (the others keep their fit status)."""
    return np.all(np.isfinite(fit.theta), axis=1)


def summary_table(fit: BatchFit, theta: np.ndarray, extra: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per-curve table: the fit's table plus draw summaries of every natural parameter.

    Parameters
    ----------
    fit
        The batch fit.
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)``.
    extra
        Further per-curve columns (diagnostics), appended in order.

    Returns
    -------
    pandas.DataFrame
    """
    law: Law = fit.law
    flat = theta.reshape(theta.shape[0], -1, theta.shape[-1])
    p = law.n_params
    nat = np.concatenate([to_natural(law, flat[..., :p]), flat[..., p:]], axis=-1)
    names = law.natural_names + ("log_sigma",)
    table = fit.table.drop(columns=["n_near_best", "grad_norm"]).copy()
    ok = np.any(np.all(np.isfinite(nat), axis=-1), axis=1)
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        v = nat[..., j]
        mean = np.full(len(v), np.nan)
        sd = np.full(len(v), np.nan)
        qs = np.full((len(QUANTILES), len(v)), np.nan)
        if ok.any():
            mean[ok] = np.nanmean(v[ok], axis=1)
            sd[ok] = np.nanstd(v[ok], axis=1, ddof=1)
            qs[:, ok] = np.nanquantile(v[ok], QUANTILES, axis=1)
        cols[f"{name}_mean"], cols[f"{name}_sd"] = mean, sd
        for q, row in zip(QUANTILES, qs, strict=True):
            cols[f"{name}_q{round(100 * q):02d}"] = row
    table = pd.concat([table, pd.DataFrame(cols, index=table.index)], axis=1)
    for k, v in extra.items():
        table[k] = v
    return table


def _flat_resamples(bdata: Data, rows: np.ndarray, n_resamples: int, seeds: np.ndarray) -> Data:
    """Curves ``rows`` of a bucket, each repeated once per resample with counted weights."""
    w = np.asarray(bdata.weight)[rows]
    counts = np.zeros((len(rows), n_resamples, w.shape[1]))
    for i, (wi, seed) in enumerate(zip(w, seeds, strict=True)):
        real = np.flatnonzero(wi > 0)
        counts[i][:, real] = resample_counts(real.size, n_resamples, int(seed))
    rep = lambda a: np.repeat(np.asarray(a)[rows], n_resamples, axis=0)  # noqa: E731
    return Data(
        x={k: rep(v) for k, v in bdata.x.items()},
        log_y=rep(bdata.log_y),
        weight=(w[:, None, :] * counts).reshape(-1, w.shape[1]),
    )


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
    """Nonparametric bootstrap of every curve of a long table, all refits batched.

    Parameters
    ----------
    data
        A DataFrame or a path, one row per point.
    law
        Registered law name or a :class:`~bayescale.laws.Law`.
    group
        Column(s) whose distinct values define the curves.
    noise, delta
        Noise model (maximum likelihood with a free scale), e.g. ``"huber"`` with ``delta``.
    n_resamples
        Resamples per curve. Curve ``i`` (its row in the table) draws its resamples with seed
        ``seed + i``, so its draws do not depend on the other curves.
    seed
        Base seed of the resampling (and of random starts of the initial fit).
    chunk_size
        Refits (curve x resample lanes) per compiled call; default from free memory.
    config
        Optimiser settings of the initial fit and of every refit.
    progress
        Show a tqdm bar over curves.
    **fit_options
        Passed to :func:`bayescale.batch.fit_groups` (``starts``, ``columns``, ``x``,
        ``flops_per_token``, ``drop_top_losses``, ``min_length``, ``devices``).

    Returns
    -------
    BatchDraws
        ``theta`` is ``(curve, 1, n_resamples, P + 1)``.

    Raises
    ------
    DataError
        For problems with the table as a whole, before any computation.
    ValueError
        For ``n_resamples < 1``, a bad ``chunk_size`` or an objective without a noise model.
    """
    t0 = time.perf_counter()
    noise = as_noise(noise, delta, "a batch bootstrap or NUTS")
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    fit = fit_groups(
        data, law, group=group, loss=noise, seed=seed, config=config, progress=False,
        **fit_options,
    )  # fmt: skip
    n, r, n_par = fit.theta.shape[0], int(n_resamples), fit.theta.shape[1]
    theta = np.full((n, 1, r, n_par), np.nan)
    conv = np.full(n, np.nan)
    usable = _sampleable(fit)
    mesh = curve_mesh(fit_options.get("devices"))
    bar = progress_bar(progress, int(usable.sum()), "bootstrap")
    try:
        with enable_x64():
            for b in fit.curves.buckets:
                todo = b.curves[usable[b.curves]]
                lanes = int(chunk_size or default_chunk_size(1, b.length, mesh.size))
                lanes = lanes_for(len(todo) * r, lanes, mesh.size)
                per_call = max(1, lanes // r)
                for lo in range(0, len(todo), per_call):
                    ids = todo[lo : lo + per_call]
                    rows = np.searchsorted(b.curves, ids)
                    flat = _flat_resamples(b.data, rows, r, seed + ids)
                    starts = np.repeat(fit.theta[ids], r, axis=0)[:, None, :]
                    out = fit_chunks(starts, flat, fit.law, noise, config, lanes, mesh)
                    theta[ids, 0] = out.theta.reshape(len(ids), r, n_par)
                    conv[ids] = np.mean(out.status.reshape(len(ids), r) == CONVERGED, axis=1)
                    if bar is not None:
                        bar.update(len(ids))
    finally:
        if bar is not None:
            bar.close()
    table = summary_table(fit, theta, {"converged_frac": conv})
    low = usable & (conv < 0.9)
    table.loc[low, "message"] = [
        f"{m}; only {c:.0%} of bootstrap refits converged ({STATUS[CONVERGED]})"
        for m, c in zip(table.loc[low, "message"], conv[low], strict=True)
    ]
    names = fit.law.param_names + ("log_sigma",)
    return BatchDraws(table, theta, names, "bootstrap", fit, time.perf_counter() - t0)


def nuts_groups(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    group: Hashable | Sequence[Hashable],
    noise: Noise | str = "huber",
    delta: float = 1e-3,
    nuts_config: NutsConfig = NutsConfig(max_tree_depth=8),
    chunk_size: int | None = None,
    config: FitConfig = FitConfig(),
    progress: bool = False,
    **fit_options: Any,
) -> BatchDraws:
    """NUTS posterior of every curve of a long table, each curve its own adapted chains.

    Parameters
    ----------
    data
        A DataFrame or a path, one row per point.
    law
        Registered law name or a :class:`~bayescale.laws.Law`.
    group
        Column(s) whose distinct values define the curves.
    noise, delta
        Noise model with a free scale, e.g. ``"huber"`` with ``delta``.
    nuts_config
        Chains, warmup, draws and sampler settings shared by every curve (see
        :func:`~bayescale.infer.batch_nuts.sample_nuts_batch`; the curve at position ``j`` of
        its shape bucket is seeded ``nuts_config.seed + j``).
    chunk_size
        Curves per compiled sampler call (default 16).
    config
        Optimiser settings of the initial maximum-likelihood fit.
    progress
        Show a tqdm bar over curves.
    **fit_options
        Passed to :func:`bayescale.batch.fit_groups` (``starts``, ``seed``, ``columns``, ``x``,
        ``flops_per_token``, ``drop_top_losses``, ``min_length``, ``devices``).

    Returns
    -------
    BatchDraws
        ``theta`` is ``(curve, chain, draw, P + 1)``; the table has ``sampler_status``,
        ``max_rhat``, ``min_ess``, ``divergences`` and the sampler's plain-language warnings
        appended to ``message``.

    Raises
    ------
    DataError
        For problems with the table as a whole, before any computation.
    ValueError
        For sampler settings :func:`~bayescale.infer.nuts.sample_nuts` rejects.
    """
    t0 = time.perf_counter()
    noise = as_noise(noise, delta, "a batch bootstrap or NUTS")
    fit = fit_groups(data, law, group=group, loss=noise, config=config, **fit_options)
    n, n_par = fit.theta.shape
    chains, draws = int(nuts_config.num_chains), int(nuts_config.num_samples)
    theta = np.full((n, chains, draws, n_par), np.nan)
    rhat, ess, div = np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1)
    usable = _sampleable(fit)
    sampler = np.where(usable, "ok", "not_sampled").astype(object)
    notes = list(fit.table["message"])
    bar = progress_bar(progress, int(usable.sum()), "nuts")
    try:
        for b in fit.curves.buckets:
            todo = b.curves[usable[b.curves]]
            if todo.size == 0:
                continue
            rows = np.searchsorted(b.curves, todo)
            sub = Data({k: v[rows] for k, v in b.data.x.items()}, b.data.log_y[rows],
                       b.data.weight[rows])  # fmt: skip
            out = sample_nuts_batch(
                fit.law, sub, noise, init_theta=fit.theta[todo], config=nuts_config,
                chunk_size=chunk_size, progress=None if bar is None else bar.update,
            )  # fmt: skip
            theta[todo] = out.theta
            rhat[todo] = np.nanmax(out.rhat, axis=1)
            ess[todo] = np.nanmin(out.ess, axis=1)
            div[todo] = out.divergences
            for i, s, m in zip(todo, out.status, out.messages, strict=True):
                sampler[i] = SAMPLER_STATUS[int(s)]
                if m:
                    notes[i] = m if notes[i] == STATUS[CONVERGED] else f"{notes[i]}; {m}"
    finally:
        if bar is not None:
            bar.close()
    extra = {"sampler_status": sampler, "max_rhat": rhat, "min_ess": ess, "divergences": div}
    table = summary_table(fit, theta, extra)
    table["message"] = notes
    names = fit.law.param_names + ("log_sigma",)
    return BatchDraws(table, theta, names, "nuts", fit, time.perf_counter() - t0)


__all__ = ["BatchDraws", "bootstrap_groups", "nuts_groups", "summary_table"]
