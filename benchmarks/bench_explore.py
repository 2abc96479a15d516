"""Explore stage of the multi-start fit: optimistix BFGS against a first-order optax optimiser
(and, with ``--float32``, both explored in float32), in one run; prints the time ratios.

Two sizes, as issue 15 asks:

* one fit of Epoch's 240 Chinchilla points from the 4,500-point Hoffmann grid
  (``bs.fit("example:chinchilla", "chinchilla", starts="hoffmann", drop_top_losses=5)``),
  ``FitConfig()`` otherwise: time after compilation (best of ``--repeats``) and E, A, B,
  alpha, beta to 4 significant digits;
* ``--curves`` simulated 30-point curves x 64 starts with ``fit_groups`` (the generator and
  the ``batch`` config of ``bench_batch.py``: polish 4, max_steps 300, no restart; or with
  ``--batch-config default`` the ``FitConfig()`` defaults), compiled
  ahead of time: run time and the share of curves whose optimum (objective, and the five
  parameters to 4 significant digits) matches the BFGS-explored one.

Usage::

    python benchmarks/bench_explore.py                       # 10,000 curves
    python benchmarks/bench_explore.py --curves 1000 --float32
    python benchmarks/bench_explore.py --curves 0            # Chinchilla only
    python benchmarks/bench_explore.py --batch-config default  # fit_groups' own defaults
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from _curves import starts_64
from bench_batch import simulate

PARAMS = ("E", "A", "B", "alpha", "beta")
#: The large-batch settings of ``bench_batch.py`` (``--batch-config large``).
LARGE_BATCH = {"polish": 4, "max_steps": 300, "restarts": 0}


def configs(args: argparse.Namespace, **base) -> dict:
    """Named FitConfigs under comparison (``base`` overrides every one)."""
    from bayescale import FitConfig

    optax_spec = (args.optimizer, args.lr)
    out = {
        "bfgs": FitConfig(explore_optimizer="bfgs", **base),
        "optax": FitConfig(explore_optimizer=optax_spec, explore_steps=args.optax_steps, **base),
    }
    if args.float32:
        out["bfgs_f32"] = out["bfgs"]._replace(explore_dtype="float32")
        out["optax_f32"] = out["optax"]._replace(explore_dtype="float32")
    return out


def sig4(v: float) -> float:
    """``v`` rounded to 4 significant digits."""
    return float(f"{float(v):.4g}")


def chinchilla(args: argparse.Namespace) -> dict:
    """The 4,500-start Chinchilla fit under each config."""
    import bayescale as bs

    out = {}
    for name, cfg in configs(args).items():

        def run(cfg=cfg):
            return bs.fit(
                "example:chinchilla",
                "chinchilla",
                starts="hoffmann",
                drop_top_losses=5,
                config=cfg,
            )

        t = time.perf_counter()
        run()
        first = time.perf_counter() - t
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fit = run()
            times.append(time.perf_counter() - t)
        p = dict(fit.params)
        out[name] = {
            "first_call_s": round(first, 3),
            "run_s": round(min(times), 3),
            "run_s_all": [round(x, 3) for x in times],
            "params_4sf": {k: sig4(p[k]) for k in PARAMS},
            "objective": float(fit.result.objective),
            "max_start_steps": int(np.max(fit.result.start_steps)),
        }
        print(name, json.dumps(out[name]), flush=True)
    ref = out["bfgs"]
    for row in out.values():
        row["same_optimum_4sf"] = row["params_4sf"] == ref["params_4sf"]
        row["time_ratio_vs_bfgs"] = round(row["run_s"] / ref["run_s"], 3)
    return out


def batch(args: argparse.Namespace) -> dict:
    """``--curves`` simulated curves x 64 starts with ``fit_groups`` under each config."""
    import jax.numpy as jnp

    from bayescale import enable_x64, fit_groups
    from bayescale.data.groups import bucket_length
    from bayescale.lanes import curve_mesh, default_chunk_size, lanes_for
    from bayescale.laws import get_law
    from bayescale.likelihood import Data, Loss
    from bayescale.optimize.curves import fit_curves

    law, loss, starts = get_law("chinchilla"), Loss("huber", 1e-3), starts_64()
    df = simulate(args.curves, 30)
    out, tables = {}, {}
    base = {} if args.batch_config == "default" else LARGE_BATCH
    for name, cfg in configs(args, **base).items():
        with enable_x64():
            mesh = curve_mesh()
            length = bucket_length(30)
            chunk = default_chunk_size(len(starts), length, mesh.size)
            shape = (lanes_for(args.curves, chunk, mesh.size), length)
            dummy = Data(
                {k: jnp.ones(shape) for k in law.inputs}, jnp.zeros(shape), jnp.ones(shape)
            )
            t = time.perf_counter()
            m = mesh if mesh.size > 1 else None
            fit_curves.lower(jnp.asarray(starts), dummy, law, loss, cfg, m).compile()
            compile_s = time.perf_counter() - t
        t = time.perf_counter()
        res = fit_groups(df, law, group="curve", starts=starts, config=cfg)
        run_s = time.perf_counter() - t
        tables[name] = res.table.sort_values("curve").reset_index(drop=True)
        out[name] = {
            "compile_s": round(compile_s, 2),
            "run_s": round(run_s, 2),
            "ms_per_curve": round(1e3 * run_s / args.curves, 3),
            "converged_share": float(np.mean(tables[name]["status"] == "converged")),
        }
        print(name, json.dumps(out[name]), flush=True)
    ref = tables["bfgs"]
    for name, tab in tables.items():
        same = np.ones(len(ref), bool)
        for k in PARAMS:
            a, b = ref[k].to_numpy(), tab[k].to_numpy()
            same &= np.isclose(a, b, rtol=5e-4, atol=0)
        d_obj = (tab["objective"].to_numpy() - ref["objective"].to_numpy()) / np.abs(
            ref["objective"].to_numpy()
        )
        out[name]["same_params_4sf_share"] = float(np.mean(same))
        out[name]["worse_objective_share"] = float(np.mean(d_obj > 1e-6))
        out[name]["better_objective_share"] = float(np.mean(d_obj < -1e-6))
        out[name]["time_ratio_vs_bfgs"] = round(out[name]["run_s"] / out["bfgs"]["run_s"], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curves", type=int, default=10_000, help="0 skips the batch part")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--optimizer", default="adam", help="optax constructor name")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--optax-steps", type=int, default=20)
    ap.add_argument("--float32", action="store_true", help="also explore in float32")
    ap.add_argument(
        "--batch-config",
        choices=("large", "default"),
        default="large",
        help="batch part: bench_batch.py's large-batch settings or FitConfig() defaults",
    )
    args = ap.parse_args()
    import jax

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}; explore optax: "
        f"{args.optimizer} lr {args.lr}, {args.optax_steps} steps; BFGS: explore_optimizer='bfgs'"
    )
    report = {"chinchilla_4500_starts": chinchilla(args)}
    if args.curves:
        report[f"batch_{args.curves}_curves_x64_{args.batch_config}"] = batch(args)
    print(json.dumps(report, indent=1))
    for part, rows in report.items():
        ratios = {k: v["time_ratio_vs_bfgs"] for k, v in rows.items()}
        print(f"{part}: run-time ratio to BFGS exploration {ratios}")


if __name__ == "__main__":
    main()
