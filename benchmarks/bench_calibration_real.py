"""Calibrated extrapolation intervals on real data with held-out larger runs, and on simulated
curves from a law other than the one fitted.

For every data set: fit the law below a hold-out rule (the larger runs held out), forecast
the held-out points with the bootstrap's new-run intervals (50%, 80%, 90%), and backtest the
training rows (``bayescale.extrapolate(..., calibrate=True)`` does both). Then score the
held-out points three ways:

* **uncalibrated** - the bootstrap's intervals;
* **own** - calibrated by the data set's own backtest, pooled over its curves (what
  ``--calibrate`` does);
* **leave-one-data-set-out (LODO)** - calibrated by the error model fitted to the pooled
  backtest points of every *other* data set (the data set's own points never inform it).

Pooled over all held-out points: coverage against nominal and the mean interval score (log
scale; lower is better). Also times ``chinchilla`` + ``kaplan`` with ``--calibrate`` on the
Chinchilla hold-out (C > 1e21, 23 runs).

Usage: python benchmarks/bench_calibration_real.py [--root ../shared/data] [--resamples 200]
                                                   [--cache DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.data.public import load_gadre, load_gemstones, load_laion_segmentation, pareto_bins
from bayescale.predict.calibration import calibrated_interval, inflation, reach
from bayescale.predict.scores import interval_score, level_name
from bayescale.results.forecasts import calibrate_points

LEVELS = (0.5, 0.8, 0.9)
ISOFLOPS = (  # one of each pair of duplicated experiments (same runs, other extraction / loss)
    "epochai_chinchilla__massivetext__chinchilla",
    "llama_3__raw_loss",
    "marin_202603__comma__llama_2",
    "marin_202603__dclm__llama_2",
    "marin_202603__nemotron__llama_2",
    "misfitting__fineweb_c4__transformer",
)


def simulated(seed: int = 0, n_curves: int = 20, n_points: int = 24) -> pd.DataFrame:
    """Curves from a smoothly broken power law (Caballero et al.), to be fitted by ``power``."""
    rng = np.random.default_rng(seed)
    frames = []
    for g in range(n_curves):
        x = np.geomspace(1e6, 1e10, n_points) * np.exp(rng.normal(0, 0.05, n_points))
        a, b, c0 = 1.7 * np.exp(rng.normal(0, 0.1)), 60 * np.exp(rng.normal(0, 0.3)), 0.25
        d1, c1, f1 = 10 ** rng.uniform(7.5, 9.5), rng.uniform(-0.15, 0.2), 0.5
        y = a + b * x**-c0 * (1 + (x / d1) ** (1 / f1)) ** (-c1 * f1)
        loss = y * np.exp(rng.normal(0, rng.uniform(0.005, 0.015), n_points))
        frames.append(pd.DataFrame({"curve": g, "N": x, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


def datasets(root: Path) -> dict[str, dict]:
    """Name -> keyword arguments of ``bs.extrapolate`` (table, law, rule, group, x)."""
    out = {
        "chinchilla": dict(
            data="example:chinchilla",
            law="chinchilla",
            drop_top_losses=5,
            holdout_above=("C", 1e21),
        ),
        "simulated": dict(
            data=simulated(), law="power", x="N", group="curve", holdout_above=("N", 10**9.2)
        ),
    }
    if (root / "gadre_overtraining").exists():
        out["gadre"] = dict(
            data=load_gadre(root), law="overtraining", group="dataset", holdout_above=("N", 1e9)
        )
    if (root / "laion_clip_mammut").exists():
        seg = load_laion_segmentation(root)
        front = [
            d[pareto_bins(d["C"].to_numpy(), d["loss"].to_numpy())]
            for _, d in seg.groupby("family")
        ]
        out["laion"] = dict(
            data=pd.concat(front, ignore_index=True),
            law="power_shifted",
            x="C",
            group="family",
            holdout_above=("C", 1e11),
        )
    if (root / "gemstones").exists():
        out["gemstones"] = dict(
            data=load_gemstones(root, "hot"), law="chinchilla", holdout_above=("N", 1.5e9)
        )
    iso = root / "isoflops_openathena" / "data" / "isoflops" / "transform" / "isoflops.csv"
    if iso.exists():
        t = pd.read_csv(iso)
        t = t[~t["outlier"] & t["experiment"].isin(ISOFLOPS)]
        t = t.rename(columns={"params": "N", "tokens": "D", "budget": "C"})[
            ["experiment", "N", "D", "C", "loss"]
        ].reset_index(drop=True)
        t["test"] = t["C"] == t.groupby("experiment")["C"].transform("max")
        out["isoflops"] = dict(
            data=t, law="chinchilla", group="experiment", test_column="test", by="C"
        )
    return out


def run(name: str, spec: dict, resamples: int, cache: Path | None) -> tuple:
    """``(held-out points, backtest points, seconds)`` of one data set (cached as parquet)."""
    if cache is not None and (cache / f"{name}_points.parquet").exists():
        pts = pd.read_parquet(cache / f"{name}_points.parquet")
        bt = pd.read_parquet(cache / f"{name}_backtest.parquet")
        return pts, bt, float("nan")
    t0 = time.perf_counter()
    ex = bs.extrapolate(calibrate=True, n_resamples=resamples, seed=0, **spec)
    seconds = time.perf_counter() - t0
    keep = ["law", "distance", "span", "reach", "n_train", "observed", "pred_median", "fitted"]
    pts = ex.points[
        [
            *keep,
            *(
                c
                for c in ex.points.columns
                if c.startswith(("raw_", "lower_", "upper_", "covered_", "interval_score_"))
            ),
        ]
    ]
    bt = ex.backtest.points
    bt = bt[[*keep, *(f"{s}_{level_name(p)}" for s in ("lower", "upper") for p in LEVELS)]]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        pts.to_parquet(cache / f"{name}_points.parquet")
        bt.to_parquet(cache / f"{name}_backtest.parquet")
    return pts, bt, seconds


def calibrated(points: dict, backtests: dict, own: bool) -> pd.DataFrame:
    """Every data set's held-out points calibrated by its own backtest (what ``calibrate=True``
    does), or by the other data sets' backtests (leave one data set out; each data set weighs
    as much as any other: its points weighted 1 / n)."""
    frames = []
    for name, pts in points.items():
        src = [backtests[name]] if own else [b for k, b in backtests.items() if k != name]
        weight = np.concatenate([np.full(len(b), 1.0 / len(b)) for b in src])
        cal = calibrate_points(pd.concat(src, ignore_index=True), LEVELS, weight=weight)
        out = pts[["law", "distance", "observed", "pred_median", "fitted"]].copy()
        y, m = np.log(pts["observed"]), np.log(pts["pred_median"])
        for p in LEVELS:
            n = level_name(p)
            k, _ = inflation(cal, pts["reach"], p)
            lo, hi = calibrated_interval(
                m, np.log(pts[f"raw_lower_{n}"]), np.log(pts[f"raw_upper_{n}"]), k
            )
            out[f"covered_{n}"] = (np.log(lo) <= y) & (y <= np.log(hi))
            out[f"interval_score_{n}"] = interval_score(y, np.log(lo), np.log(hi), p)
        frames.append(out.assign(dataset=name))
    return pd.concat(frames, ignore_index=True)


def of(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one data set."""
    return df[df["dataset"] == name]


def table(points: dict, own: pd.DataFrame, lodo: pd.DataFrame) -> pd.DataFrame:
    """Per data set and pooled: coverage and mean interval score, three ways."""
    rows = []
    allp = pd.concat([p.assign(dataset=k) for k, p in points.items()], ignore_index=True)
    for name, g in [*allp.groupby("dataset", sort=False), ("pooled", allp)]:
        o, lg = (own, lodo) if name == "pooled" else (of(own, name), of(lodo, name))
        row = {"data set": name, "n": len(g)}
        for p in LEVELS:
            n = level_name(p)
            row[f"raw {n}%"] = g[f"raw_covered_{n}"].mean()
            row[f"own {n}%"] = o[f"covered_{n}"].mean()
            row[f"lodo {n}%"] = lg[f"covered_{n}"].mean()
        for p in (0.5, 0.9):
            n = level_name(p)
            row[f"IS{n} raw"] = g[f"raw_interval_score_{n}"].mean()
            row[f"IS{n} own"] = o[f"interval_score_{n}"].mean()
            row[f"IS{n} lodo"] = lg[f"interval_score_{n}"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default="../shared/data")
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--cache", default=None, help="folder to cache per-data-set results in")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--no-target", action="store_true", help="skip chinchilla + kaplan")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__}, "
        f"load {os.getloadavg()[0]:.1f}; bootstrap {args.resamples} resamples, "
        f"backtest 4 cutoffs per curve"
    )
    cache = Path(args.cache) if args.cache else None
    points, backtests = {}, {}
    for name, spec in datasets(Path(args.root)).items():
        if args.only and name not in args.only:
            continue
        pts, bt, sec = run(name, spec, args.resamples, cache)
        law = spec["law"]
        points[name], backtests[name] = pts[pts["law"] == law], bt[bt["law"] == law]
        print(
            f"{name}: {len(points[name])} held-out points, {len(backtests[name])} backtest "
            f"points, {sec:.0f} s"
        )
    for name, pts in points.items():  # caches written before the reach column existed
        if "reach" not in pts:
            points[name] = pts.assign(reach=reach(pts["distance"], pts["span"]))
            backtests[name] = backtests[name].assign(
                reach=reach(backtests[name]["distance"], backtests[name]["span"])
            )
    own, lodo = calibrated(points, backtests, True), calibrated(points, backtests, False)
    pd.set_option("display.width", 250)
    print(table(points, own, lodo).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not args.no_target:
        t0 = time.perf_counter()
        ex = bs.extrapolate(
            "example:chinchilla",
            ["chinchilla", "kaplan"],
            drop_top_losses=5,
            holdout_above="C=1e21",
            calibrate=True,
        )
        print(f"chinchilla + kaplan, --calibrate, 1000 resamples: {time.perf_counter() - t0:.0f} s")
        print(
            ex.curves[
                [
                    "law",
                    "n_holdout",
                    "coverage",
                    "raw_coverage",
                    "interval_score",
                    "raw_interval_score",
                    "mean_abs_rel_error",
                ]
            ].to_string(index=False)
        )
        print("weights:", ex.summary["weights"])


if __name__ == "__main__":
    main()
