"""Batched NUTS over many Chinchilla curves (``sample_nuts_batch``): time, ESS per second,
R-hat pass rate, and the time extrapolated to the issue's target of 1,000 curves x 4 chains x
500 warmup x 500 draws.

Curves: ``--points`` points each; N log-uniform on [7e7, 1.6e10], tokens per parameter
log-uniform on [1, 300]; per-curve parameters jittered around E=1.69, A=406.4, B=410.7,
alpha=0.34, beta=0.28; multiplicative log-normal noise with sigma in [0.01, 0.02]. Starts:
each curve's maximum-likelihood fit under Gaussian noise (``fit_bucket``: a ``vmap`` over
curves of the multi-start core, 64 Hoffmann-grid starts plus a ``log_sigma`` column).

The batched sampler is compiled ahead (``lower().compile()`` on one chunk's arguments), so the
timed run excludes compilation.

Usage::

    python benchmarks/bench_batch_nuts.py --curves 64           # ~2 min on 2 CPU cores
    python benchmarks/bench_batch_nuts.py --curves 1000         # the target (~25 min there)
    python benchmarks/bench_batch_nuts.py --curves 64 --chunk-size 4 --target-accept 0.99

Measured on 2 shared CPU cores (64 curves, 4 chains x 500 + 500, max_tree_depth 8): 1.35 s
per curve in chunks of 16 (the default), 1.24 s in chunks of 4, 1.96 s in chunks of 64;
median min-ESS 240, R-hat < 1.01 for 25% of curves and < 1.05 for 89% (30-point curves
identify the Chinchilla law weakly); extrapolated 1,000 curves: 23 min.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from _curves import chinchilla_curves, starts_64

from bayescale import enable_x64
from bayescale.infer import NutsConfig
from bayescale.infer.chains import compiled_run_curves
from bayescale.infer.model import resolve_priors
from bayescale.infer.sampling import DEFAULT_CHUNK, sample_nuts_batch
from bayescale.infer.types import RunSettings
from bayescale.laws import get_law
from bayescale.likelihood import Data, Noise
from bayescale.optimize.multistart import FitConfig
from bayescale.status import SAMPLER_FAILED as FAILED
from bayescale.status import SAMPLER_OK as OK
from bayescale.workflows.fitting import fit_bucket


def simulate(n_curves: int, n_points: int, seed: int = 0) -> Data:
    """``n_curves`` jittered Chinchilla curves as ``(curve, point)`` arrays."""
    n, d, loss = chinchilla_curves(n_curves, n_points, seed)
    return Data({"N": n, "D": d}, np.log(loss), np.ones(loss.shape))


def fit_inits(data: Data, noise: Noise) -> tuple[np.ndarray, float]:
    """Per-curve maximum-likelihood fits (fit space + log_sigma) and the seconds they took."""
    law = get_law("chinchilla")
    grid = starts_64()
    starts = np.concatenate([grid, np.full((len(grid), 1), math.log(0.015))], axis=1)
    t = time.perf_counter()
    with enable_x64():
        res = fit_bucket(starts, data, law, noise, FitConfig(polish=4, max_steps=300), 256)
    return np.asarray(res.theta), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--curves", type=int, default=64)
    ap.add_argument("--points", type=int, default=30)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--max-tree-depth", type=int, default=8)
    ap.add_argument("--target-accept", type=float, default=0.9)
    ap.add_argument("--chunk-size", type=int, default=None, help="default: the library's")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} on "
        f"{jax.devices()[0].platform} x{len(jax.devices())}"
    )
    law, noise = get_law("chinchilla"), Noise("gaussian")
    data = simulate(args.curves, args.points, args.seed)
    init, fit_s = fit_inits(data, noise)
    print(f"init: {args.curves} ML fits (64 starts each) in {fit_s:.1f} s, compile included")

    cfg = NutsConfig(
        num_chains=args.chains,
        num_warmup=args.warmup,
        num_samples=args.draws,
        max_tree_depth=args.max_tree_depth,
        target_accept=args.target_accept,
        seed=args.seed,
    )
    chunk = args.chunk_size or min(DEFAULT_CHUNK, args.curves)
    print(
        f"NUTS: {args.curves} curves x {args.points} points, {args.chains} chains x "
        f"{args.warmup} warmup x {args.draws} draws, max_tree_depth {args.max_tree_depth}, "
        f"target_accept {args.target_accept}, "
        f"chunk {chunk} curves"
    )

    # Compile ahead of the timed run: the same arguments sample_nuts_batch passes per chunk.
    run = RunSettings(
        args.warmup, args.draws, cfg.target_accept, args.max_tree_depth, True, "fisher"
    )
    t = time.perf_counter()
    with enable_x64():
        block = jax.tree_util.tree_map(lambda a: jnp.asarray(a[:chunk]), data)
        compiled_run_curves.lower(
            jnp.arange(chunk, dtype=jnp.int64), jnp.asarray(init[:chunk]), block, law=law,
            noise=noise, priors=resolve_priors(law, noise), run=run, num_chains=args.chains,
        ).compile()  # fmt: skip
    compile_s = time.perf_counter() - t
    kw = {"config": cfg, "chunk_size": chunk}

    wall, cpu = time.perf_counter(), time.process_time()
    res = sample_nuts_batch(law, data, noise, init_theta=init, progress=True, **kw)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    n = args.curves
    ok = res.status != FAILED
    max_rhat = np.nanmax(res.rhat, axis=1)
    min_ess = np.nanmin(res.ess, axis=1)
    iters = args.chains * (args.warmup + args.draws)
    print(
        f"compile: {compile_s:.1f} s (once per chunk shape and settings); compiled samplers "
        f"after the run: {compiled_run_curves._cache_size()} (1 = the timed run did not recompile)"
    )
    print(
        f"run: {wall:.1f} s wall, {cpu:.1f} s CPU (all threads) for {n} curves: "
        f"{wall / n:.3f} s/curve wall, {cpu / n:.3f} s/curve CPU "
        f"({1e3 * wall / n / iters:.3f} ms per chain-iteration)"
    )
    print(
        f"ESS: min-over-parameters bulk ESS per curve median {np.median(min_ess[ok]):.0f} "
        f"(p10 {np.percentile(min_ess[ok], 10):.0f}); "
        f"{np.sum(min_ess[ok]) / wall:.1f} ESS/s over all curves (worst parameter), "
        f"{np.median(min_ess[ok]) / (wall / n):.1f} ESS/s per curve (median)"
    )
    print(
        f"R-hat < 1.01: {np.mean(max_rhat < 1.01):.0%} of curves, < 1.05: "
        f"{np.mean(max_rhat < 1.05):.0%}; curves with divergences "
        f"{np.mean(res.divergences > 0):.0%}; status ok/warning/failed "
        f"{np.sum(res.status == OK)}/{np.sum(res.status == 1)}/{np.sum(res.status == FAILED)}"
    )
    print(
        f"EXTRAPOLATED to 1,000 curves (same settings, this machine): "
        f"{1000 * wall / n / 60:.1f} min wall ({1000 * cpu / n / 60:.1f} min CPU) + "
        f"{compile_s:.0f} s compile"
    )


if __name__ == "__main__":
    main()
