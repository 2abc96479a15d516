"""A batch of curves backtested and forecast in one call: ``bayescale.extrapolate(...,
group=..., calibrate=True)`` on simulated power-law curves, timed after compilation.

Every curve is its own curve: 4 backtest cutoffs per curve (every (curve, cutoff) pair one lane
of one batch fit and one batch bootstrap), then the forecast of each curve's held-out points
(the last quarter of its points) with pooled calibration.

Usage: python benchmarks/bench_backtest_batch.py [--curves 100] [--points 24] [--resamples 100]
                                                  [--full-config]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np
import pandas as pd

import bayescale as bs

#: The large-batch settings of ``bayescale.fit_groups``'s docstring.
FAST = bs.FitConfig(polish=4, max_steps=300, restarts=0)


def curves(n_curves: int, n_points: int, seed: int) -> pd.DataFrame:
    """Power-law curves ``L = E + A x^-alpha`` with 1-2% log-normal noise, on one x grid."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e7, 1e10, n_points)
    e = 1.7 * np.exp(rng.normal(0, 0.05, (n_curves, 1)))
    a = 200 * np.exp(rng.normal(0, 0.2, (n_curves, 1)))
    alpha = 0.3 + rng.normal(0, 0.02, (n_curves, 1))
    noise = rng.uniform(0.01, 0.02, (n_curves, 1)) * rng.normal(size=(n_curves, n_points))
    loss = (e + a * x**-alpha) * np.exp(noise)
    return pd.DataFrame({"curve": np.repeat(np.arange(n_curves), n_points),
                         "N": np.tile(x, n_curves), "loss": loss.ravel()})  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--curves", type=int, default=100)
    ap.add_argument("--points", type=int, default=24)
    ap.add_argument("--resamples", type=int, default=100)
    ap.add_argument(
        "--full-config",
        action="store_true",
        help="default optimiser settings (1,000 steps, one restart)",
    )
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__}, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    cap = float(np.geomspace(1e7, 1e10, args.points)[int(0.75 * args.points) - 1]) * 1.001
    kw = dict(law="power", group="curve", holdout_above=("N", cap), calibrate=True,
              n_resamples=args.resamples,
              config=bs.FitConfig() if args.full_config else FAST)  # fmt: skip
    for label, seed in (("first call (compiles)", 0), ("second call (other data)", 1)):
        df = curves(args.curves, args.points, seed)
        t0 = time.perf_counter()
        ex = bs.extrapolate(df, **kw)
        dt = time.perf_counter() - t0
        s = ex.curves[ex.curves["law"] == "power"]
        bt = ex.backtest
        print(f"{label}: {dt:.1f} s; {len(bt.lanes)} backtest lanes, {len(bt.points)} backtest "
              f"points, {len(ex.holdout)} held-out points; coverage of 90% intervals: "
              f"calibrated {ex.points['covered'].mean():.3f}, uncalibrated "
              f"{ex.points['raw_covered'].mean():.3f}; {len(s)} curves")  # fmt: skip


if __name__ == "__main__":
    main()
