"""Batch engine: many simulated Chinchilla curves fitted at once with ``fit_groups``, versus
the loop a user would otherwise run (scipy L-BFGS-B per start, jitted JAX value_and_grad, the
same starts), and peak memory as the number of curves grows. One run prints everything.

Curves: ``--points`` points each; N log-uniform on [7e7, 1.6e10], tokens per parameter
log-uniform on [1, 300]; per-curve parameters jittered around E=1.69, A=406.4, B=410.7,
alpha=0.34, beta=0.28; multiplicative log-normal noise with sigma in [0.01, 0.02]. Starts: 64
points evenly spaced through the 4,500-point Hoffmann grid (the same for every curve).

Usage::

    python benchmarks/bench_batch.py                       # 10,000 curves, memory 1k/10k
    python benchmarks/bench_batch.py --curves 1000 --memory-sizes 1000,3000
    python benchmarks/bench_batch.py --memory-sizes 1000,10000,100000
    python benchmarks/bench_batch.py --config default      # FitConfig() as is
"""

from __future__ import annotations

# ruff: noqa: E402
import os

# scipy's OpenBLAS threads spin against JAX's on a small machine (20x slower L-BFGS-B
# iterations on 2 cores); one BLAS thread gives the baseline its best speed.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from _curves import chinchilla_curves, starts_64

CONFIGS = {
    # FitConfig() unchanged: 20 explore steps, polish 16 to <= 1000 steps, 1 restart.
    "default": {},
    # Cheaper polish for large batches (see bayescale.fit_groups).
    "batch": {"polish": 4, "max_steps": 300, "restarts": 0},
}


def simulate(n_curves: int, n_points: int, seed: int = 0) -> pd.DataFrame:
    """Long table of ``n_curves`` jittered Chinchilla curves, ``n_points`` points each."""
    n, d, loss = chinchilla_curves(n_curves, n_points, seed)
    curve = np.repeat(np.arange(n_curves), n_points)
    return pd.DataFrame({"curve": curve, "N": n.ravel(), "D": d.ravel(), "loss": loss.ravel()})


def make_config(name: str, args: argparse.Namespace):
    from bayescale.optimize.multistart import FitConfig

    cfg = FitConfig(**CONFIGS[name])
    over = {k: getattr(args, k) for k in ("max_steps", "polish", "restarts", "explore_steps")}
    return cfg._replace(**{k: v for k, v in over.items() if v is not None})


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB.

    ``VmHWM`` from ``/proc/self/status`` where it exists: ``getrusage``'s ``ru_maxrss`` is
    inherited from the parent across fork and exec, so a child would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def child(args: argparse.Namespace) -> None:
    """Fit ``--rss-child`` curves in this process and print a JSON line with peak RSS."""
    from bayescale import fit_groups

    df = simulate(args.rss_child, args.points, seed=1)
    before = peak_rss_mb()
    t = time.perf_counter()
    out = fit_groups(
        df,
        "chinchilla",
        group="curve",
        starts=starts_64(),
        config=make_config(args.config, args),
        chunk_size=args.chunk_size,
    )
    print(
        json.dumps(
            {
                "curves": args.rss_child,
                "seconds": time.perf_counter() - t,
                "rss_before_mb": before,
                "peak_rss_mb": peak_rss_mb(),
                "lanes": [b.lanes for b in out.buckets],
                "converged": float(np.mean(out.table["status"] == "converged")),
            }
        )
    )


def scipy_fit(value_and_grad, starts: np.ndarray, data: tuple) -> tuple[float, np.ndarray, float]:
    """Best of scipy L-BFGS-B from every start; returns (objective, theta, seconds)."""
    from scipy.optimize import minimize

    t = time.perf_counter()
    best = (np.inf, None)
    for s in starts:
        r = minimize(value_and_grad, s, args=data, jac=True, method="L-BFGS-B")
        if np.isfinite(r.fun) and r.fun < best[0]:
            best = (float(r.fun), r.x)
    return best[0], best[1], time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--curves", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=30)
    ap.add_argument("--scipy-curves", type=int, default=20)
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="batch")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--polish", type=int, default=None)
    ap.add_argument("--restarts", type=int, default=None)
    ap.add_argument("--explore-steps", type=int, default=None)
    ap.add_argument("--memory-sizes", default="1000,10000", help="comma list; '' skips")
    ap.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        return child(args)

    import jax
    import jax.numpy as jnp

    from bayescale import enable_x64, fit_groups
    from bayescale.data.groups import bucket_length
    from bayescale.lanes import curve_mesh, default_chunk_size, lanes_for
    from bayescale.laws import get_law
    from bayescale.likelihood import Data, Loss, objective, objective_scale
    from bayescale.optimize.curves import fit_curves

    law, loss, cfg = get_law("chinchilla"), Loss("huber", 1e-3), make_config(args.config, args)
    starts = starts_64()
    df = simulate(args.curves, args.points)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} on {jax.devices()[0].platform} x{len(jax.devices())}"
    )
    print(f"curves {args.curves} x {args.points} points x {len(starts)} starts; config {cfg}")

    # Compile the chunk shape ahead of time (jit's cache keeps it, so fit_groups runs only).
    length = bucket_length(args.points)
    with enable_x64():
        mesh = curve_mesh()
        chunk = args.chunk_size or default_chunk_size(len(starts), length, mesh.size)
        lanes = lanes_for(args.curves, chunk, mesh.size)
        shape = (lanes, length)
        dummy = Data({k: jnp.ones(shape) for k in law.inputs}, jnp.zeros(shape), jnp.ones(shape))
        t = time.perf_counter()
        fit_curves.lower(
            jnp.asarray(starts), dummy, law, loss, cfg, mesh if mesh.size > 1 else None
        ).compile()
        compile_s = time.perf_counter() - t

    t = time.perf_counter()
    out = fit_groups(df, law, group="curve", starts=starts, config=cfg, chunk_size=args.chunk_size)
    run_s = time.perf_counter() - t
    total_s = run_s + compile_s
    status = out.table["status"].value_counts().to_dict()
    per_curve = run_s / args.curves
    print(f"buckets: {[tuple(b) for b in out.buckets]}")
    print(
        f"compile {compile_s:.1f} s (once per bucket shape); fit_groups run {run_s:.1f} s, "
        f"{1e3 * per_curve:.2f} ms/curve; status {status}"
    )

    # scipy L-BFGS-B over the same starts, on a sample of the same curves.
    k = min(args.scipy_curves, args.curves)
    sample = np.random.default_rng(2).choice(args.curves, k, replace=False)
    scale = objective_scale(loss)
    with enable_x64():

        @jax.jit
        def vg(theta, n, d, log_y):
            data = Data({"N": n, "D": d}, log_y, jnp.ones_like(log_y))
            return jax.value_and_grad(lambda th: objective(law, th, data, loss) / scale)(theta)

        def value_and_grad(theta, n, d, log_y):
            v, g = vg(jnp.asarray(theta), n, d, log_y)
            return float(v), np.asarray(g, dtype=np.float64)

        gaps, dparams, secs = [], [], []
        for i in sample:
            rows = df[df["curve"] == i]
            data = tuple(jnp.asarray(rows[c].to_numpy()) for c in ("N", "D"))
            data += (jnp.log(jnp.asarray(rows["loss"].to_numpy())),)
            value_and_grad(starts[0], *data)  # compile outside the timing
            f, theta, s = scipy_fit(value_and_grad, starts, data)
            secs.append(s)
            mine = float(out.result.objective[i]) / scale
            gaps.append((mine - f) / abs(f))
            dparams.append(np.max(np.abs(out.result.theta[i] - theta)))
    gaps = np.array(gaps)
    scipy_per_curve = float(np.mean(secs))
    print(
        f"scipy L-BFGS-B (jitted value_and_grad, same {len(starts)} starts), {k} curves: "
        f"{scipy_per_curve:.3f} s/curve"
    )
    print(
        f"speed-up per curve: {scipy_per_curve / per_curve:.0f}x (run only), "
        f"{scipy_per_curve * args.curves / total_s:.0f}x (compile included)"
    )
    print(
        f"agreement with scipy: objective rel gap (batch - scipy) median {np.median(gaps):.1e}, "
        f"max {gaps.max():.1e}; within 1e-6 or better: {np.mean(gaps <= 1e-6):.0%}; "
        f"max |theta diff| median {np.median(dparams):.1e}"
    )

    sizes = [int(s) for s in args.memory_sizes.split(",") if s.strip()]
    if sizes:
        print("peak RSS by number of curves (separate processes):")
    for n in sizes:
        cmd = [sys.executable, __file__, "--rss-child", str(n), "--points", str(args.points)]
        cmd += ["--config", args.config]
        for name in ("chunk_size", "max_steps", "polish", "restarts", "explore_steps"):
            if getattr(args, name) is not None:
                cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rec = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"  {n:>7} curves: peak RSS {rec['peak_rss_mb']:.0f} MB (before fit "
            f"{rec['rss_before_mb']:.0f} MB), {rec['seconds']:.1f} s with compile, "
            f"lanes {rec['lanes']}, "
            f"converged {rec['converged']:.1%}"
        )


if __name__ == "__main__":
    main()
