"""The four real-data examples at full settings; prints the numbers docs/real-data.md records.

Run from the repository root (the data sets live in ../shared/data; see each SOURCE.md)::

    .venv/bin/python examples/real_data.py [--root ../shared/data] [--resamples 1000]

1. Gadre et al. (2024): the over-training law fitted to the small runs, predicting the 1.4B
   and 6.9B models' C4 eval loss (relative error, new-run interval coverage).
2. Gemstones (McLeish et al. 2025): Approach 3 (Chinchilla law, summed Huber, 4,500-point
   grid) on the constant-LR checkpoints, against the published fit; point vs cluster
   bootstrap (whole runs resampled).
3. LAION (Nezhurina et al. 2025): power_shifted per family (CLIP, MaMMUT) on the ADE20K
   error front, and the probability that MaMMUT's curve is below CLIP's at larger compute.
4. Tissue et al.'s learning-rate annealing law on Gemstones checkpoint curves with their
   cooldown runs: in-sample error, and a fit on the first 13,200 steps predicting the rest.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.data.public import (
    GADRE_DATASETS,
    GADRE_SMALL,
    gadre_fit_runs,
    gemstones_annealing,
    load_gadre,
    load_gemstones,
    load_laion_segmentation,
    pareto_bins,
)
from bayescale.predict.posterior import predict_log_loss

#: Resamples per compiled bootstrap chunk. The refit retries at most 64 stalled resamples per
#: chunk, so chunks of 200 leave far fewer unconverged refits than one chunk of 1,000.
CHUNK = 200


def q90(v: np.ndarray) -> tuple[float, float]:
    """The central 90% interval of a sample."""
    lo, hi = np.quantile(np.asarray(v), [0.05, 0.95])
    return float(lo), float(hi)


def gadre(root: Path, resamples: int) -> None:
    """Example 1: over-training law, small runs -> the 1.4B and 6.9B models."""
    g = load_gadre(root)
    large = g["N"] > 1e9
    print("\n== 1. Gadre et al.: over-training law, C4 eval loss, hold out N > 1e9 ==")
    runs = {"paper's 5 runs": gadre_fit_runs(g), "all small runs": g["model"].isin(GADRE_SMALL)}
    settings = [
        ("paper's 5 runs", "huber", "point"),
        ("paper's 5 runs", "gaussian", "point"),
        ("all small runs", "huber", "bootstrap"),
    ]
    for name in GADRE_DATASETS:
        for fit_runs, noise, method in settings:
            table = g[(g["dataset"] == name) & (runs[fit_runs] | large)].reset_index(drop=True)
            t0 = time.perf_counter()
            ex = bs.extrapolate(
                table, "overtraining", holdout_above=("N", 1e9), method=method, noise=noise,
                n_resamples=resamples,
            )  # fmt: skip
            p = ex.fit.params
            print(
                f"{name:12s} {fit_runs} ({ex.scores['n_train']} pts), {noise} noise, {method}: "
                f"E={p['E']:.4f} a={p['a']:.1f} b={p['b']:.1f} eta={p['eta']:.4f}  "
                f"[{time.perf_counter() - t0:.1f}s]"
            )
            for _, r in ex.holdout.iterrows():
                band = f"  90% [{r['lower']:.3f}, {r['upper']:.3f}] " if method != "point" else ""
                print(
                    f"    {table.loc[r['row'], 'run']:30s} loss {r['loss']:.4f} "
                    f"pred {r['predicted']:.4f} rel.err {100 * r['rel_error']:+.2f}%{band}"
                )
            if method != "point":
                print(f"    coverage {ex.scores['coverage']:.2f}, lpd {ex.scores['lpd_sum']:.2f}")


def gemstones(root: Path, resamples: int) -> None:
    """Example 2: Approach 3 on the checkpoints, published fit, point vs cluster bootstrap."""
    print("\n== 2. Gemstones: Approach 3 (chinchilla, Huber delta 1e-3, 4,500 starts) ==")
    pub_dir = root / "gemstones" / "parameters_delta-3"
    for variant in ("hot", "cool_end"):
        df = load_gemstones(root, variant)
        t0 = time.perf_counter()
        f = bs.fit(df, "chinchilla", loss="huber", delta=1e-3, starts="hoffmann")
        pub = json.loads(
            (pub_dir / f"approach_3_parameters_grid_search_0_{variant}.json").read_text()
        )
        (alpha, beta), (a, b) = pub["exponents"]["0"], pub["coefficients"]["0"]
        th = f.theta
        print(f"{variant} ({len(df)} checkpoints, {df['run'].nunique()} runs) "
              f"[{time.perf_counter() - t0:.1f}s]")  # fmt: skip
        print(f"    ours:      a={th['a']:.4f} b={th['b']:.4f} e={th['e']:.5f} "
              f"alpha={th['alpha']:.5f} beta={th['beta']:.5f} objective {float(f.result.objective):.10f}")  # fmt: skip  # noqa: E501
        print(f"    published: a={a:.4f} b={b:.4f} e={pub['irreducible_error']['0']:.5f} "
              f"alpha={alpha:.5f} beta={beta:.5f} objective {pub['loss']['0']:.10f}")  # fmt: skip  # noqa: E501
        if variant != "hot":
            continue
        for label, groups in (("point", None), ("cluster by run", df["run"].to_numpy())):
            t0 = time.perf_counter()
            d = bs.bootstrap(f, resamples, seed=0, chunk=CHUNK, groups=groups)
            nat = {**bs.natural_draws(f, d), **bs.derived_draws(f, d)}
            conv = d.diagnostics["status_counts"]["converged"]
            print(f"    {label} bootstrap, {resamples} resamples ({conv} converged) "
                  f"[{time.perf_counter() - t0:.1f}s]:")  # fmt: skip
            for k in ("alpha", "beta", "E", "a"):
                lo, hi = q90(nat[k])
                print(f"        {k:5s} 90% [{lo:.4f}, {hi:.4f}]  width {hi - lo:.4f}")


def laion(root: Path, resamples: int) -> None:
    """Example 3: power_shifted per family and P(MaMMUT's curve below CLIP's)."""
    print("\n== 3. LAION: power_shifted on the ADE20K error front (x = training GFLOPs) ==")
    data = load_laion_segmentation(root)
    law = bs.get_law("power_shifted")
    draws = {}
    for family, t in data.groupby("family"):
        t = t[pareto_bins(t["C"].to_numpy(), t["loss"].to_numpy())]
        t0 = time.perf_counter()
        f = bs.fit(t, "power_shifted", x="C", loss=bs.Noise("huber", 1e-3))
        d = bs.bootstrap(f, resamples, seed=0, chunk=CHUNK)
        draws[family] = d
        p, nat = f.params, bs.natural_draws(f, d)
        conv = d.diagnostics["status_counts"]["converged"]
        print(f"{family:6s} {len(t)} front points of {len(data[data['family'] == family])}, "
              f"C {t['C'].min():.3g}-{t['C'].max():.3g} [{time.perf_counter() - t0:.1f}s, "
              f"{conv}/{resamples} refits converged]")  # fmt: skip
        for k in ("A", "x0", "alpha", "E"):
            lo, hi = q90(nat[k])
            print(f"    {k:5s} {p[k]:.4g}  90% [{lo:.4g}, {hi:.4g}]")
    for c in (1e11, 1e12, 1e13, 1e14):
        err = {
            k: np.exp(predict_log_loss(law, d.flat(), {"x": [c]})[:, 0]) for k, d in draws.items()
        }
        prob = float(np.mean(err["mammut"][:, None] < err["clip"][None, :]))
        bands = "  ".join(
            f"{k} {np.median(v):.4f} [{q90(v)[0]:.4f}, {q90(v)[1]:.4f}]" for k, v in err.items()
        )
        print(f"    C = {c:.0e} GFLOPs: error {bands}  P(MaMMUT below CLIP) = {prob:.3f}")


def lr_annealing(root: Path, resamples: int) -> None:
    """Example 4: learning-rate annealing law on checkpoint curves with cooldowns."""
    print("\n== 4. lr_annealing on Gemstones curves (constant LR + cooldown ends) ==")
    law = bs.get_law("lr_annealing")
    for run in ("256x23", "1024x28", "2048x27"):
        t = gemstones_annealing(root, run)
        cool = (t["kind"] == "cooldown").to_numpy()
        t0 = time.perf_counter()
        f = bs.fit(t, "lr_annealing")
        pred = np.exp(predict_log_loss(law, f.result.theta, {"S1": t["S1"], "S2": t["S2"]})[0])
        rel = np.abs(pred / t["loss"].to_numpy() - 1)
        p = f.params
        print(f"{run} ({len(t)} points: {(~cool).sum()} constant, {cool.sum()} cooldown ends) "
              f"[{time.perf_counter() - t0:.1f}s]")  # fmt: skip
        print(f"    L0={p['L0']:.4f} A={p['A']:.4g} alpha={p['alpha']:.4f} C={p['C']:.4g}; "
              f"C*S2 of the longest cooldown {p['C'] * t['S2'].max():.4f}")  # fmt: skip
        print(f"    in-sample |rel.err| mean {100 * rel.mean():.2f}%, cooldown ends "
              f"{100 * rel[cool].mean():.2f}%, max {100 * rel.max():.2f}% "
              f"(step {t['step'].iloc[int(np.argmax(rel))]})")  # fmt: skip
        t0 = time.perf_counter()
        ex = bs.extrapolate(t, "lr_annealing", holdout_above=("step", 13200), n_resamples=resamples)
        h = ex.holdout.assign(kind=t.loc[ex.holdout["row"], "kind"].to_numpy())
        s = ex.scores
        print(f"    fit on steps <= 13200 ({s['n_train']} pts), predict {s['n_holdout']} later: "
              f"mean |rel.err| {100 * s['mean_abs_rel_error']:.2f}%, max "
              f"{100 * s['max_abs_rel_error']:.2f}%, 90% coverage {s['coverage']:.2f} "
              f"[{time.perf_counter() - t0:.1f}s]")  # fmt: skip
        for kind, part in h.groupby("kind"):
            print(f"        {kind:8s} n={len(part):2d} mean |rel.err| "
                  f"{100 * part['rel_error'].abs().mean():.2f}%, coverage "
                  f"{part['covered'].mean():.2f}")  # fmt: skip


def main() -> None:
    """Run the four examples and print their numbers."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path("../shared/data"))
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    t0 = time.perf_counter()
    for example in (gadre, gemstones, laion, lr_annealing):
        example(args.root, args.resamples)
    print(f"\ntotal {time.perf_counter() - t0:.0f}s, bayescale {bs.__version__}")


if __name__ == "__main__":
    main()
