"""Host memory of a very large batch: ``--curves`` (default 1,000,000) ten-point ``power`` curves
(a power law with a floor) simulated as one long table and fitted with ``fit_groups``; prints wall
time, CPU time and peak resident memory, one JSON line last.

By default a batch keeps a summary of each curve's starts (``BatchFit.result`` a
``StartSummary``); ``--keep-starts`` keeps every start's parameters, objective, status and steps
(``MultiStartResult``), whose host memory grows with curves x starts: compare the two at a size
where both fit.

Curves: N log-uniform on [1e7, 1e10], ``--points`` per curve; per-curve E, A, alpha jittered
around 1.7, 200, 0.3; multiplicative log-normal noise, sigma 1-2%. Group key: an integer column.

Usage::

    python benchmarks/bench_million.py                          # 1,000,000 curves, summaries
    python benchmarks/bench_million.py --curves 100000 --keep-starts
    python benchmarks/bench_million.py --curves 10000 --starts default   # the 180-start grid

Peak RSS is ``VmHWM`` from ``/proc/self/status`` (``ru_maxrss`` is printed too; run the script
from a shell, since ``ru_maxrss`` survives ``exec`` and would report a larger parent's peak).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import numpy as np
import pandas as pd

#: The large-batch settings of ``bayescale.fit_groups``'s notes.
BATCH = {"polish": 4, "max_steps": 300, "restarts": 0}


def simulate(n_curves: int, n_points: int, seed: int = 0) -> pd.DataFrame:
    """Long table: ``curve`` (int), ``N``, ``loss``; ``n_points`` rows per curve."""
    rng = np.random.default_rng(seed)
    shape = (n_curves, n_points)
    x = np.exp(rng.uniform(np.log(1e7), np.log(1e10), shape))
    e = 1.7 * np.exp(rng.normal(0.0, 0.05, (n_curves, 1)))
    a = 200.0 * np.exp(rng.normal(0.0, 0.2, (n_curves, 1)))
    alpha = 0.3 + rng.normal(0.0, 0.02, (n_curves, 1))
    sigma = rng.uniform(0.01, 0.02, (n_curves, 1))
    loss = (e + a * x**-alpha) * np.exp(sigma * rng.normal(size=shape))
    curve = np.repeat(np.arange(n_curves, dtype=np.int64), n_points)
    return pd.DataFrame({"curve": curve, "N": x.ravel(), "loss": loss.ravel()})


def rss_mb(field: str = "VmHWM") -> float:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--curves", type=int, default=1_000_000)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--starts", default="16", help="random starts, or a grid name (default)")
    ap.add_argument("--keep-starts", action="store_true", help="keep every start's result")
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import jax

    import bayescale as bs

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, "
        f"jax {jax.__version__} on {jax.devices()[0].platform} x{len(jax.devices())}",
        flush=True,
    )
    t_sim = time.perf_counter()
    df = simulate(args.curves, args.points, args.seed)
    sim_s = time.perf_counter() - t_sim
    before = rss_mb("VmRSS")
    print(f"table: {len(df):,} rows, {before:.0f} MB RSS after simulating ({sim_s:.1f} s)")
    config = bs.FitConfig(**BATCH)
    wall, cpu = time.perf_counter(), time.process_time()
    out = bs.fit_groups(
        df,
        "power",
        group="curve",
        loss="squared",
        starts=args.starts,
        config=config,
        chunk_size=args.chunk_size,
        keep_starts=args.keep_starts,
        progress=True,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    status = out.table["status"].value_counts().to_dict()
    true_alpha = 0.3
    err = np.abs(out.table["alpha"].to_numpy() - true_alpha)
    rec = {
        "curves": args.curves,
        "points": args.points,
        "starts": out.starts["n"],
        "keep_starts": args.keep_starts,
        "result": type(out.result).__name__,
        "buckets": [list(b) for b in out.buckets],
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "ms_per_curve": round(1e3 * wall / args.curves, 3),
        "rss_before_fit_mb": round(before, 0),
        "peak_rss_mb": round(rss_mb(), 0),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "status": status,
        "median_abs_alpha_error": float(np.nanmedian(err)),
        "load_average": os.getloadavg(),
    }
    print(
        f"fit_groups: {wall:.1f} s wall, {cpu:.1f} s CPU ({rec['ms_per_curve']} ms/curve), "
        f"peak RSS {rec['peak_rss_mb']:.0f} MB (ru_maxrss {rec['ru_maxrss_mb']:.0f} MB); "
        f"status {status}"
    )
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
