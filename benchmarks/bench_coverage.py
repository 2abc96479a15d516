"""Coverage of the truth by 90% intervals over many simulated data sets, for every engine.

Two designs, each with ``--sets`` data sets (default 500) fitted as one batch:

* ``power``: a well-specified case - 32 points of ``L = E + A x^-alpha`` (E 1.7, A 200,
  alpha 0.3, x from 1e6 to 1e10) with Gaussian noise of 0.02 on the log loss, fitted under
  Gaussian noise;
* ``chinchilla``: Chinchilla's geometry and Huber-type noise - the (N, D) of every 8th of the
  240 bundled points (30 points), the law at Besiroglu et al.'s MLE, and Laplace residuals of
  scale 0.0047 (the fitted Huber density, whose sigma collapses to 4.7e-6 with delta 1e-3),
  fitted under the Huber noise model (delta 1e-3).

Engines: the bootstrap (likelihood refits, ``--resamples``, batched: every (set, resample)
pair one lane), NUTS (batched per-set chains, ``--nuts-sets`` of the sets), the Laplace
approximation (inverse Fisher information) and the robust sandwich (one call per set). For each
engine and parameter the script prints the share of sets whose central 90% interval covers
the truth and the median interval SD over the spread of the point estimates across sets
(1.4826 times their median absolute deviation; 1 for a calibrated engine - medians, because a
few sets identify E poorly and their SDs would dominate a mean), plus the time.

Usage::

    python benchmarks/bench_coverage.py                  # 500 sets per design (~15 min)
    python benchmarks/bench_coverage.py --sets 100 --nuts-sets 50
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

PARAMS = {"power": ("E", "alpha"), "chinchilla": ("E", "alpha", "beta")}


def power_design(sets: int, seed: int) -> tuple[pd.DataFrame, dict, dict]:
    """32-point power-law sets with Gaussian log noise; returns (table, truth, fit options)."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e6, 1e10, 32)
    loss = (1.7 + 200 * x**-0.3) * np.exp(rng.normal(0, 0.02, (sets, x.size)))
    df = pd.DataFrame({"set": np.repeat(np.arange(sets), x.size), "N": np.tile(x, sets),
                       "loss": loss.ravel()})  # fmt: skip
    opts = {"law": "power", "loss": bs.Noise("gaussian"), "starts": "default"}
    return df, {"E": 1.7, "alpha": 0.3}, opts


def chinchilla_design(sets: int, seed: int) -> tuple[pd.DataFrame, dict, dict]:
    """30-point Chinchilla-geometry sets with Laplace residuals at the fitted Huber scale."""
    mle = bs.fit("example:chinchilla", "chinchilla", loss=bs.Noise("huber", 1e-3),
                 starts="hoffmann", drop_top_losses=5)  # fmt: skip
    theta = mle.result.theta
    x = {k: v[::8] for k, v in mle.data.x.items()}
    mean = np.asarray(bs.predictive(mle.law, theta, x, kind="mean").draws[0])
    rng = np.random.default_rng(seed)
    scale = float(np.exp(theta[-1])) / 1e-3
    loss = mean[None, :] * np.exp(rng.laplace(0.0, scale, (sets, mean.size)))
    df = pd.DataFrame({"set": np.repeat(np.arange(sets), mean.size), "N": np.tile(x["N"], sets),
                       "D": np.tile(x["D"], sets), "loss": loss.ravel()})  # fmt: skip
    starts = np.vstack(
        [theta[:5], np.random.default_rng(0).uniform([0, 0, -1, 0, 0], [25, 25, 1, 2, 2], (15, 5))]
    )
    truth = dict(
        zip(("A", "B", "E", "alpha", "beta"), map(float, mle.result.params[:5]), strict=True)
    )
    opts = {"law": "chinchilla", "loss": bs.Noise("huber", 1e-3), "starts": starts,
            "config": bs.FitConfig(polish=8)}  # fmt: skip
    return df, truth, opts


def score(intervals: dict[str, np.ndarray], sds: dict[str, np.ndarray], point: pd.DataFrame,
          truth: dict, names: tuple[str, ...]) -> dict:  # fmt: skip
    """Coverage and (median) SD ratio per parameter; ``intervals[name]`` is ``(sets, 2)``."""
    out = {}
    for name in names:
        lo, hi = intervals[name][:, 0], intervals[name][:, 1]
        ok = np.isfinite(lo) & np.isfinite(hi)
        cover = float(np.mean((lo[ok] <= truth[name]) & (truth[name] <= hi[ok])))
        est = point[name].to_numpy()
        spread = 1.4826 * np.median(np.abs(est - np.median(est)))
        ratio = float(np.median(sds[name][ok]) / spread)
        out[name] = (cover, ratio, int(ok.sum()))
    return out


def batch_summary(table: pd.DataFrame, names: tuple[str, ...]) -> tuple[dict, dict]:
    """90% intervals and SDs from a BatchDraws table."""
    ints = {n: table[[f"{n}_q05", f"{n}_q95"]].to_numpy() for n in names}
    return ints, {n: table[f"{n}_sd"].to_numpy() for n in names}


def laplace_summary(df: pd.DataFrame, opts: dict, names: tuple[str, ...], robust: bool) -> tuple:
    """90% intervals and SDs of the Laplace (or sandwich) draws, set by set."""
    ints = {n: [] for n in names}
    sds = {n: [] for n in names}
    kw = {k: v for k, v in opts.items() if k != "law"}
    for _, part in df.groupby("set", sort=True):
        f = bs.fit(part, opts["law"], **kw)
        nat = bs.natural_draws(f, bs.laplace(f, robust=robust, n_draws=2000, seed=0))
        for n in names:
            ints[n].append(np.quantile(nat[n], [0.05, 0.95]))
            sds[n].append(np.std(nat[n], ddof=1))
    return {n: np.array(v) for n, v in ints.items()}, {n: np.array(v) for n, v in sds.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=500)
    ap.add_argument("--nuts-sets", type=int, default=500)
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--designs", default="power,chinchilla")
    ap.add_argument("--engines", default="bootstrap,nuts,laplace,sandwich")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} on "
        f"{jax.devices()[0].platform}; {args.sets} sets per design, {args.resamples} resamples"
    )
    engines = args.engines.split(",")
    rows = []
    for design in args.designs.split(","):
        make = power_design if design == "power" else chinchilla_design
        df, truth, opts = make(args.sets, args.seed)
        names = PARAMS[design]
        t = time.perf_counter()
        kw = {k: v for k, v in opts.items() if k != "law"}
        fit = bs.fit_groups(df, opts["law"], group="set", **kw)
        print(f"{design}: batch fit {time.perf_counter() - t:.1f} s, "
              f"{fit.table['status'].value_counts().to_dict()}")  # fmt: skip
        point = fit.table
        for engine in engines:
            t = time.perf_counter()
            if engine == "bootstrap":
                ints, sds = batch_summary(bs.bootstrap(fit, args.resamples, seed=1).table, names)
            elif engine == "nuts":
                sub = df[df["set"] < args.nuts_sets]
                f = bs.fit_groups(sub, opts["law"], group="set", **kw)
                cfg = bs.NutsConfig(num_chains=2, num_warmup=300, num_samples=300,
                                    max_tree_depth=8, target_accept=0.95, seed=1)  # fmt: skip
                post = bs.nuts(f, cfg, chunk_size=8)
                ints, sds = batch_summary(post.table, names)
                point = f.table
            else:
                ints, sds = laplace_summary(df, opts, names, robust=engine == "sandwich")
                point = fit.table
            secs = time.perf_counter() - t
            res = score(ints, sds, point, truth, names)
            for name, (cover, ratio, n) in res.items():
                rows.append((design, engine, name, n, cover, ratio, secs))
                print(f"  {engine:>9} {name:>5}: coverage {cover:.3f} of {n}, "
                      f"SD ratio {ratio:.2f} ({secs:.0f} s)", flush=True)  # fmt: skip
            point = fit.table
    print("\n| design | engine | parameter | sets | 90% coverage | SD ratio | seconds |")
    print("|---|---|---|---|---|---|---|")
    for d, e, n, k, c, r, s in rows:
        print(f"| {d} | {e} | {n} | {k} | {c:.3f} | {r:.2f} | {s:.0f} |")


if __name__ == "__main__":
    main()
