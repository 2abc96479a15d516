"""Chinchilla grid fit: bayescale (all 4,500 Hoffmann starts, one compiled call) versus the
baseline a user would otherwise run, scipy L-BFGS-B from each start with jitted JAX
gradients (Epoch's method, per start), in one run. Prints the per-start ratio.

Usage: python benchmarks/bench_grid_fit.py [--scipy-starts 300] [--repeats 3]
"""

from __future__ import annotations

import os

# One BLAS thread for the scipy baseline: on 2 cores OpenBLAS threads fight JAX's and make each
# L-BFGS-B iteration ~20x slower, which would flatter bayescale.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

import bayescale as bs
from bayescale import as_data as to_data
from bayescale import enable_x64
from bayescale.data import load_example, prepare
from bayescale.laws import grid_starts
from bayescale.likelihood import Loss, objective
from bayescale.optimize.multistart import FitConfig, fit_multistart


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scipy-starts", type=int, default=300, help="random subset for scipy")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--no-full", action="store_true", help="skip the every-start-to-convergence run"
    )
    args = ap.parse_args()
    law = bs.get_law("chinchilla")
    prep = prepare(load_example("chinchilla"), law.inputs, drop_top_losses=5)
    loss = Loss("huber", 1e-3)
    grid = grid_starts(law, "hoffmann")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    with enable_x64():
        data = to_data(prep)
        starts = jnp.asarray(grid)
        rows = []
        configs = [("explore 20 / polish 16 (default)", FitConfig())]
        if not args.no_full:
            configs.append(("full: every start to convergence", FitConfig(explore_steps=0)))
        for label, cfg in configs:
            t = time.perf_counter()
            fit_multistart.lower(starts, data, law, loss, cfg).compile()
            compile_s = time.perf_counter() - t
            times = []
            for _ in range(args.repeats if cfg.explore_steps else 1):
                t = time.perf_counter()
                res = fit_multistart(starts, data, law, loss, cfg)
                res.objective.block_until_ready()
                times.append(time.perf_counter() - t)
            rows.append((label, compile_s, min(times), float(res.objective)))

        # baseline: scipy L-BFGS-B per start, jitted JAX value-and-grad (compiled once)
        vg = jax.jit(jax.value_and_grad(lambda th, d: objective(law, th, d, loss)))
        vg(starts[0], data)[0].block_until_ready()

        def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = vg(jnp.asarray(th), data)
            return float(v), np.asarray(g)

        sub = np.random.default_rng(0).choice(len(grid), args.scipy_starts, replace=False)
        t = time.perf_counter()
        best = np.inf
        for i in sub:
            r = minimize(fun, grid[i], jac=True, method="L-BFGS-B")
            best = min(best, r.fun)
        scipy_per_start = (time.perf_counter() - t) / len(sub)

    print(f"\n{'method':<38} {'compile s':>9} {'run s':>8} {'ms/start':>9} {'objective':>13}")
    for label, c, r, obj in rows:
        print(f"{label:<38} {c:9.2f} {r:8.3f} {1e3 * r / len(grid):9.4f} {obj:13.6e}")
    print(
        f"{'scipy L-BFGS-B + JAX grad (' + str(len(sub)) + ' starts)':<38} {'-':>9} "
        f"{scipy_per_start * len(sub):8.2f} {1e3 * scipy_per_start:9.4f} {best:13.6e}"
    )
    for label, _, r, _ in rows:
        print(
            f"per-start speed-up, {label}: {scipy_per_start / (r / len(grid)):.0f}x "
            f"(all 4,500 starts in {r:.2f} s after compilation)"
        )


if __name__ == "__main__":
    main()
