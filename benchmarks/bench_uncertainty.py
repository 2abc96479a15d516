"""Uncertainty on the Chinchilla data: a 4,000-resample bootstrap (one compiled call per
chunk of resamples) versus a scipy loop of the same refits (BFGS from the same warm start,
jitted JAX gradients: what Epoch did, per resample), in one run; then NUTS 4 chains x 1,000
warmup x 1,000 draws, timed after compilation.

Usage: python benchmarks/bench_uncertainty.py [--resamples 4000] [--scipy-resamples 100]
                                              [--no-nuts]
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
from bayescale import bootstrap, derived_draws, enable_x64, natural_draws, nuts
from bayescale.likelihood import Noise, objective
from bayescale.optimize.resampling import resample_counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resamples", type=int, default=4000)
    ap.add_argument("--scipy-resamples", type=int, default=100)
    ap.add_argument("--no-nuts", action="store_true")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} on "
        f"{jax.devices()[0].platform}"
    )
    noise = Noise("huber", 1e-3)
    fit = bs.fit(
        "example:chinchilla", "chinchilla", loss=noise, starts="hoffmann", drop_top_losses=5
    )
    law = bs.get_law("chinchilla")

    bootstrap(fit, 1000, seed=0)  # compile (chunk shape 1000)
    t = time.perf_counter()
    d = bootstrap(fit, args.resamples, seed=42)
    boot_s = time.perf_counter() - t
    nat, a = natural_draws(fit, d), derived_draws(fit, d)["a"]
    print(
        f"\nbayescale bootstrap: {args.resamples} refits in {boot_s:.2f} s after compilation "
        f"({1e3 * boot_s / args.resamples:.2f} ms/refit); converged "
        f"{d.diagnostics['status_counts']['converged']}/{args.resamples}"
    )
    print(
        f"  SE E {np.std(nat['E'], ddof=1):.4f}  alpha {np.std(nat['alpha'], ddof=1):.4f}  "
        f"beta {np.std(nat['beta'], ddof=1):.4f}  a {np.mean(a):.4f} +- {np.std(a, ddof=1):.4f}"
    )

    counts = resample_counts(len(fit.data.loss), args.scipy_resamples, seed=42)
    with enable_x64():
        data = to_data(fit.data)
        vg = jax.jit(
            jax.value_and_grad(lambda th, w: objective(law, th, data._replace(weight=w), noise))
        )
        vg(jnp.asarray(fit.result.theta), data.weight)[0].block_until_ready()
        t = time.perf_counter()
        for c in counts:
            w = jnp.asarray(c, dtype=jnp.float64)
            minimize(
                lambda th, w=w: tuple(map(np.asarray, vg(jnp.asarray(th), w))),
                fit.result.theta,
                jac=True,
                method="BFGS",
            )
        scipy_per = (time.perf_counter() - t) / len(counts)
    print(
        f"scipy BFGS loop ({len(counts)} refits): {1e3 * scipy_per:.2f} ms/refit -> "
        f"{scipy_per * args.resamples:.1f} s for {args.resamples}"
    )
    print(f"per-refit speed-up: {scipy_per / (boot_s / args.resamples):.1f}x")

    if not args.no_nuts:
        from bayescale import NutsConfig

        cfg = NutsConfig(num_chains=4, num_warmup=1000, num_samples=1000)
        t = time.perf_counter()
        nuts(fit, cfg._replace(seed=1))  # same static sizes: compiles; a new seed does not
        first = time.perf_counter() - t
        t = time.perf_counter()
        post = nuts(fit, cfg)
        s = time.perf_counter() - t
        print(f"\nNUTS first call (compile + sample): {first:.1f} s")
        ess = post.diagnostics["ess_bulk"]
        print(
            f"\nNUTS 4 x 1000 warmup x 1000 draws: {s:.1f} s after compilation; "
            f"max R-hat {max(post.diagnostics['rhat'].values()):.4f}, min bulk ESS "
            f"{min(ess.values()):.0f} ({min(ess.values()) / s:.0f} ESS/s), divergences "
            f"{post.diagnostics['divergences']}"
        )


if __name__ == "__main__":
    main()
