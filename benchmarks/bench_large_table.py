"""One curve with millions of points: time and peak memory of ``bs.fit`` (16 starts, Huber
loss), against what a user would otherwise run, in one run.

Rows: Chinchilla's law (E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), N log-uniform on
[1e7, 1e10], D on [1e9, 1e12], 1% multiplicative log-normal noise. Each configuration runs in
a fresh process, so that its peak RSS (``ru_maxrss``) is its own:

* ``bayescale``: ``bs.fit(table, "chinchilla", starts=16)``: the default two-stage scheme
  (every start on a 20,000-point subsample, then the best run on to convergence on every point,
  the objective summed in 262,144-point chunks);
* ``every point``: the same with ``FitConfig(subsample=0)``: every start on every point (what
  bayescale did before), at ``--baseline-rows``;
* ``scipy``: scipy L-BFGS-B from the same 16 starts with jitted JAX value-and-gradient of the
  same objective on every point (Epoch's method, per start), at ``--baseline-rows``.

Usage::

    python benchmarks/bench_large_table.py                       # 2,000,000 rows
    python benchmarks/bench_large_table.py --rows 200000 --baseline-rows 200000
"""

from __future__ import annotations

import os

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

TRUE = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}


def table(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` simulated Chinchilla rows."""
    rng = np.random.default_rng(seed)
    size, tokens = 10 ** rng.uniform(7, 10, n), 10 ** rng.uniform(9, 12, n)
    loss = TRUE["E"] + TRUE["A"] / size ** TRUE["alpha"] + TRUE["B"] / tokens ** TRUE["beta"]
    return pd.DataFrame({"N": size, "D": tokens, "loss": loss * np.exp(0.01 * rng.normal(size=n))})


def run_bayescale(n: int, subsample: int | None) -> dict:
    import bayescale as bs

    df = table(n)
    config = bs.FitConfig() if subsample is None else bs.FitConfig(subsample=subsample)
    t, c = time.perf_counter(), time.process_time()
    fit = bs.fit(df, "chinchilla", starts=16, config=config)
    return {
        "seconds": time.perf_counter() - t,
        "cpu_seconds": time.process_time() - c,
        "status": fit.status,
        "objective": float(fit.result.objective),
        "params": {k: round(float(v), 5) for k, v in fit.params.items()},
    }


def run_scipy(n: int) -> dict:
    import jax
    import jax.numpy as jnp
    from scipy.optimize import minimize

    import bayescale as bs
    from bayescale.laws import get_law
    from bayescale.likelihood import Loss, objective
    from bayescale.workflows.fitting import resolve_starts

    df = table(n)
    law, obj = get_law("chinchilla"), Loss("huber", 1e-3)
    starts, _ = resolve_starts(law, 16, 0, obj)
    with bs.enable_x64():
        data = bs.Data(
            {"N": jnp.asarray(df["N"].to_numpy()), "D": jnp.asarray(df["D"].to_numpy())},
            jnp.log(jnp.asarray(df["loss"].to_numpy())),
            jnp.ones(n),
        )
        vg = jax.jit(jax.value_and_grad(lambda th: objective(law, th, data, obj) / 1e-3))
        vg(jnp.asarray(starts[0]))  # compile outside the timing

        def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = vg(jnp.asarray(th))
            return float(v), np.asarray(g, dtype=np.float64)

        t, c = time.perf_counter(), time.process_time()
        best = min((minimize(fun, s, jac=True, method="L-BFGS-B") for s in starts),
                   key=lambda r: r.fun)  # fmt: skip
    natural = np.round(np.r_[np.exp(best.x[:3]), best.x[3:]], 5)
    return {
        "seconds": time.perf_counter() - t,
        "cpu_seconds": time.process_time() - c,
        "status": "converged" if best.success else str(best.message),
        "objective": float(best.fun) * 1e-3,
        "params": dict(zip(("A", "B", "E", "alpha", "beta"), natural.tolist(), strict=True)),
    }


def child(kind: str, n: int) -> None:
    out = run_scipy(n) if kind == "scipy" else run_bayescale(n, 0 if kind == "full" else None)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(json.dumps(out))


def spawn(kind: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--rows", str(n)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--baseline-rows", type=int, default=200_000)
    ap.add_argument("--child", choices=("default", "full", "scipy"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs; python {platform.python_version()}"
    )
    results = {
        f"bayescale @ {args.rows:,}": spawn("default", args.rows),
        f"bayescale @ {args.baseline_rows:,}": spawn("default", args.baseline_rows),
        f"every point @ {args.baseline_rows:,}": spawn("full", args.baseline_rows),
        f"scipy @ {args.baseline_rows:,}": spawn("scipy", args.baseline_rows),
    }
    for name, r in results.items():
        print(f"{name:>26}: {r['seconds']:7.1f} s wall, {r['cpu_seconds']:7.1f} CPU-s, "
              f"peak RSS {r['peak_rss_gb']:.2f} GB, {r['status']}, objective "
              f"{r['objective']:.6g}, {r['params']}")  # fmt: skip
    ours = results[f"bayescale @ {args.baseline_rows:,}"]["seconds"]
    for other in ("every point", "scipy"):
        ratio = results[f"{other} @ {args.baseline_rows:,}"]["seconds"] / ours
        print(f"{other} / bayescale at {args.baseline_rows:,} rows: {ratio:.1f}x")


if __name__ == "__main__":
    main()
