"""The batch paths of the bootstrap and NUTS: every curve of a batch fit its own draws.

Every curve draws from its own stream, :func:`curve_seeds`, keyed by its group values, so
adding or removing a curve never changes another curve's draws. A curve that could not be
fitted is not resampled or sampled; it keeps its fit status and message.

* :func:`bootstrap_batch` turns every (curve, resample) pair into one lane of the batch fitter:
  the curve's padded points with weights multiplied by its resample counts, started at the
  curve's own optimum, a few thousand lanes per compiled call through
  :func:`bayescale.lanes.run_in_chunks`;
* :func:`nuts_batch` runs :func:`~bayescale.infer.sampling.sample_nuts_batch` on every shape
  bucket: each curve has its own chains, step size and mass matrix.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jax
import numpy as np
import pandas as pd

from bayescale._progress import reporter
from bayescale.infer.sampling import sample_nuts_batch
from bayescale.infer.types import NutsConfig
from bayescale.lanes import curve_mesh, default_chunk_size, lanes_for, run_in_chunks
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise, fit_names
from bayescale.optimize.curves import fit_curves
from bayescale.optimize.resampling import bootstrap_counts
from bayescale.results.records import BatchDraws, BatchFit, Fit
from bayescale.results.summaries import curve_summary_table
from bayescale.status import CONVERGED, NAMES, SAMPLER_NAMES


def curve_seeds(seed: int, keys: pd.DataFrame) -> np.ndarray:
    """One seed per curve, from ``seed`` and the curve's group values (its identity).

    Parameters
    ----------
    seed
        The run's seed.
    keys
        One row per curve: its group values (:attr:`bayescale.data.groups.Curves.keys`).

    Returns
    -------
    numpy.ndarray
        ``(n_curves,)`` integers in ``[0, 2**31)``; a curve's seed does not depend on the
        other curves.
    """
    out = np.empty(len(keys), dtype=np.int64)
    for i, row in enumerate(keys.itertuples(index=False)):
        text = repr((int(seed), *(str(v) for v in row)))
        out[i] = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") >> 1
    return out


def require_noise(fit: Fit | BatchFit, what: str) -> Noise:
    """The fit's noise model; ``ValueError`` (saying how to refit) for a plain loss."""
    if not isinstance(fit.objective, Noise):
        raise ValueError(
            f"{what} needs a fit with a noise model (maximum likelihood with a free scale); this "
            f"fit minimised the {fit.objective.kind} loss. Refit with loss=Noise('huber') "
            "(CLI: --noise huber)"
        )
    return fit.objective


def sampleable(fit: BatchFit) -> np.ndarray:
    """Curves whose fit has finite parameters (the others keep their fit status)."""
    return np.all(np.isfinite(fit.theta), axis=1)


def _resample_block(block: tuple, r: int, n_dev: int, law: Law, blocks: tuple) -> tuple:
    """Curves of a block, each repeated once per resample with counted weights (host side)."""
    seeds, theta, data = block
    w = np.asarray(data.weight)
    weight = np.zeros((len(seeds), r, w.shape[1]))
    for i, (wi, s) in enumerate(zip(w, seeds, strict=True)):
        real = np.flatnonzero(wi > 0)
        x = {k: np.asarray(v[i])[real] for k, v in data.x.items()}
        counts, _ = bootstrap_counts(law, x, r, int(s), block_size=blocks[0], block_by=blocks[1])
        weight[i][:, real] = wi[real] * counts
    lanes = len(seeds) * r
    idx = np.arange(-(-lanes // n_dev) * n_dev) % lanes  # pad to the mesh size

    def rep(a: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(a), r, axis=0)[idx]

    flat = Data(
        {k: rep(v) for k, v in data.x.items()},
        rep(data.log_y),
        weight.reshape(lanes, -1)[idx],
    )
    return rep(theta)[:, None, :], flat


def bootstrap_batch(
    fit: BatchFit,
    r: int,
    seed: int,
    chunk: int | None,
    progress: object,
    blocks: tuple = (None, None),
) -> BatchDraws:
    """The bootstrap of every curve of a batch (see :func:`bayescale.bootstrap`); ``blocks``
    is ``(block_size, block_by)`` of a moving-block bootstrap of every curve."""
    t0 = time.perf_counter()
    noise = require_noise(fit, "a batch bootstrap")
    k, usable = blocks[0], sampleable(fit)
    if k is not None and np.any(short := usable & (fit.curves.n_points <= k)):
        raise ValueError(
            f"block_size {k} needs curves of more than {k} points; {int(short.sum())} curves "
            f"have fewer (the shortest {int(fit.curves.n_points[usable].min())})"
        )
    if isinstance(blocks[1], np.ndarray):
        raise ValueError("a batch block bootstrap takes block_by as a name (or None), not values")
    n, n_par = fit.theta.shape
    theta = np.full((n, 1, r, n_par), np.nan)
    conv = np.full(n, np.nan)
    seeds = curve_seeds(seed, fit.curves.keys)
    mesh = curve_mesh()
    run_mesh = mesh if mesh.size > 1 else None

    def call(block: tuple, _: object) -> object:
        starts, flat = block
        out = fit_curves(starts, flat, fit.law, noise, fit.config, run_mesh)
        return jax.tree.map(lambda a: np.asarray(a)[: k * r].reshape((k, r) + a.shape[1:]), out)

    with reporter(progress, int(usable.sum()), "bootstrap", "curve") as update:
        for b in fit.curves.buckets:
            todo = b.curves[usable[b.curves]]
            if todo.size == 0:
                continue
            rows = np.searchsorted(b.curves, todo)
            lanes = int(chunk or default_chunk_size(1, b.length, mesh.size))
            k = max(1, lanes_for(len(todo) * r, lanes, mesh.size) // r)
            sub = Data({c: v[rows] for c, v in b.data.x.items()}, b.data.log_y[rows],
                       b.data.weight[rows])  # fmt: skip
            out = run_in_chunks(
                call,
                (seeds[todo], fit.theta[todo], sub),
                lanes=k,
                prepare=lambda blk: _resample_block(blk, r, mesh.size, fit.law, blocks),
                progress=update,
                mesh=curve_mesh(jax.local_devices()[:1]),
            )
            theta[todo, 0] = out.theta
            conv[todo] = np.mean(out.status == CONVERGED, axis=1)
    table = curve_summary_table(fit, theta, {"converged_frac": conv})
    low = usable & (conv < 0.9)
    table.loc[low, "message"] = [
        f"{m}; only {c:.0%} of bootstrap refits converged ({NAMES[CONVERGED]})"
        for m, c in zip(table.loc[low, "message"], conv[low], strict=True)
    ]
    names = fit_names(fit.law, noise)
    return BatchDraws(table, theta, names, "bootstrap", fit, time.perf_counter() - t0)


def nuts_batch(
    fit: BatchFit, config: NutsConfig, priors: Any, chunk_size: int | None, progress: object
) -> BatchDraws:
    """NUTS for every curve of a batch (see :func:`bayescale.nuts`)."""
    t0 = time.perf_counter()
    noise = require_noise(fit, "a batch NUTS")
    n, n_par = fit.theta.shape
    chains, draws = int(config.num_chains), int(config.num_samples)
    theta = np.full((n, chains, draws, n_par), np.nan)
    rhat, ess, div = np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1)
    usable = sampleable(fit)
    sampler = np.where(usable, SAMPLER_NAMES[0], SAMPLER_NAMES[-1]).astype(object)
    notes = list(fit.table["message"])
    seeds = curve_seeds(config.seed, fit.curves.keys)
    with reporter(progress, int(usable.sum()), "nuts", "curve") as update:
        for b in fit.curves.buckets:
            todo = b.curves[usable[b.curves]]
            if todo.size == 0:
                continue
            rows = np.searchsorted(b.curves, todo)
            sub = Data({k: v[rows] for k, v in b.data.x.items()}, b.data.log_y[rows],
                       b.data.weight[rows])  # fmt: skip
            out = sample_nuts_batch(
                fit.law, sub, noise, init_theta=fit.theta[todo], config=config, priors=priors,
                seeds=seeds[todo], chunk_size=chunk_size, progress=update,
            )  # fmt: skip
            theta[todo] = out.theta
            rhat[todo] = np.nanmax(out.rhat, axis=1)
            ess[todo] = np.nanmin(out.ess, axis=1)
            div[todo] = out.divergences
            for i, s, m in zip(todo, out.status, out.messages, strict=True):
                sampler[i] = SAMPLER_NAMES[int(s)]
                if m:
                    notes[i] = m if notes[i] == NAMES[CONVERGED] else f"{notes[i]}; {m}"
    extra = {"sampler_status": sampler, "max_rhat": rhat, "min_ess": ess, "divergences": div}
    table = curve_summary_table(fit, theta, extra)
    table["message"] = notes
    names = fit_names(fit.law, noise)
    return BatchDraws(table, theta, names, "nuts", fit, time.perf_counter() - t0)
