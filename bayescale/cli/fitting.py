"""``bayescale fit`` (one curve, or every group of a table with ``--group``) and ``laws``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial

import numpy as np
import pandas as pd

from bayescale.cli.checks import (
    check_output,
    check_resampling_columns,
    check_resources,
    check_uncertainty_options,
    check_x,
)
from bayescale.cli.cluster import add_cluster_options, join_cluster, run_batch
from bayescale.cli.options import (
    NOISE_SLOPE_HELP,
    STRATEGIES,
    add_data_options,
    add_overwrite_option,
    add_resampling_options,
    fit_config,
    fit_options,
    noise_model,
    nuts_config,
    resampling,
)
from bayescale.data.health import constant
from bayescale.data.io import DataError, read_table
from bayescale.laws.registry import get_law, list_laws
from bayescale.likelihood import Loss
from bayescale.optimize.multistart import FitConfig
from bayescale.results.atomic import atomic_dir
from bayescale.results.records import BatchFit, Draws, Fit
from bayescale.results.store import save_fit
from bayescale.results.summaries import start_arrays, start_status_counts
from bayescale.workflows.approximation import laplace
from bayescale.workflows.fitting import fit, fit_groups
from bayescale.workflows.posteriors import posterior_groups
from bayescale.workflows.uncertainty import bootstrap, bootstrap_groups, nuts, nuts_groups

EXAMPLES_FIT = """examples:
  bayescale fit example:chinchilla --law chinchilla --drop-top-losses 5 --starts hoffmann --json
  bayescale fit runs.csv --law chinchilla --col N="Model Size" --col C="Training FLOP"
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --protocol besiroglu2024
  bayescale fit curve.csv --law power --x step --starts 256 --seed 1 --out fit_dir
  bayescale fit sweep.csv --law power --x C --group family --group task --out fits
  bayescale fit sweep.csv --law power --x C --group family --method nuts --draws 500 --out fits
  bayescale fit curve.csv --law power --x C --noise-slope --method bootstrap --block-size 5
"""


def add_fit_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``fit`` and ``laws`` on the CLI's subparsers."""
    p = sub.add_parser(
        "fit",
        help="fit a law by vectorised multi-start BFGS",
        description="Fit a scaling law to a table of runs by vectorised multi-start BFGS.",
        epilog=EXAMPLES_FIT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_options(p)
    p.add_argument("--loss", default="huber", choices=["huber", "squared"], help="objective")
    p.add_argument("--delta", type=float, default=1e-3, help="Huber delta on log-loss residuals")
    p.add_argument(
        "--starts",
        default="default",
        help="start grid name (default, hoffmann, ...) or a number of random starts",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for random starts")
    p.add_argument(
        "--strategy",
        default="explore",
        choices=list(STRATEGIES),
        help="explore: every start takes 20 adam steps, the best 16 run to convergence by "
        "BFGS (default); explore-bfgs: the same with 20 BFGS steps (the default before adam); "
        "full: every start runs to convergence by BFGS",
    )
    u = p.add_argument_group("uncertainty (--method bootstrap | nuts | laplace)")
    u.add_argument(
        "--method",
        default="point",
        choices=["point", "bootstrap", "nuts", "laplace", "auto"],
        help="point: the fit alone; bootstrap: refit resamples; nuts: NumPyro NUTS posterior; "
        "laplace: fast approximate normal draws at the optimum (4,000; see --robust); auto "
        "(with --group): each curve's posterior by importance sampling, or NUTS where its "
        "Pareto k > 0.7 (the table's engine column)",
    )
    u.add_argument(
        "--noise",
        choices=["huber", "laplace", "student_t", "gaussian"],
        help="fit by maximum likelihood under this noise model with a free scale (default for "
        "bootstrap and nuts: huber with --delta, Besiroglu et al.'s set-up)",
    )
    u.add_argument("--noise-slope", action="store_true", help=NOISE_SLOPE_HELP)
    u.add_argument(
        "--resamples", type=int, help="bootstrap resamples (default 4000, or the protocol's)"
    )
    u.add_argument(
        "--boot-starts",
        type=int,
        default=0,
        metavar="K",
        help="extra grid starts per resample besides the warm start (default 0)",
    )
    u.add_argument(
        "--boot-objective",
        choices=["likelihood", "loss"],
        help="what every bootstrap resample refits: the fit's likelihood (default: the "
        "bootstrap of the estimator the critique tests) or the summed --loss with --delta "
        "(Besiroglu et al.'s refits; no sigma in the draws)",
    )
    u.add_argument(
        "--protocol",
        metavar="NAME",
        help="a published bootstrap protocol: besiroglu2024 (Epoch AI: 4,000 resamples, seed "
        "42, numpy's legacy resampling, summed-Huber refits from Hoffmann's unrounded values); "
        "recorded in the saved fit, where `bayescale critique` reads it",
    )
    add_resampling_options(u)
    u.add_argument("--chains", type=int, default=4, help="NUTS chains")
    u.add_argument("--warmup", type=int, default=1000, help="NUTS warmup iterations per chain")
    u.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    u.add_argument("--target-accept", type=float, default=0.9, help="NUTS target acceptance")
    u.add_argument(
        "--robust",
        action="store_true",
        help="--method laplace: the sandwich covariance of the estimating equations (assumes "
        "independent points) instead of the inverse Fisher information (assumes the noise model)",
    )
    u.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--group",
        action="append",
        metavar="COLUMN",
        help="fit every group of this column (repeatable) as its own curve, in one batch "
        "(with --method bootstrap or nuts: draws per curve); writes curves.csv to --out",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        help="batch fits: curves (point, nuts) or curve x resample refits (bootstrap) per "
        "compiled call; default from free memory",
    )
    p.add_argument(
        "--table-format",
        choices=["csv", "parquet"],
        default="csv",
        help="format of the per-curve table written to --out with --group (default csv)",
    )
    p.add_argument(
        "--keep-starts",
        action="store_true",
        help="with --group: keep every start's result (memory grows with curves x starts) and "
        "write starts.npz to --out; by default each curve keeps a summary of its starts",
    )
    add_cluster_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write fit.json, starts.csv, arrays (and draws, posterior.nc) to DIR (a new or "
        "empty folder, or --overwrite); written whole or not at all",
    )
    add_overwrite_option(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser(
        "laws",
        help="list the registered laws and their parameters",
        description="List the registered laws with their parameters, inputs and start grids.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_laws)


def cmd_fit(args: argparse.Namespace) -> int:
    """``bayescale fit``."""
    rank = join_cluster(args)  # before any JAX work
    config = fit_config(args)
    check_uncertainty_options(args)
    check_x(args, [args.law])
    check_output(args)
    if args.group:
        return cmd_fit_groups(args, config, rank)
    t0 = time.perf_counter()
    loss = args.loss
    if args.noise or args.noise_slope or args.method != "point":
        loss = noise_model(args)
    table = read_table(args.data)
    check_resampling_columns(args, table)
    check_resources(args, [args.law], table)
    f = fit(table, args.law, loss=loss, config=config, **fit_options(args))
    if args.method != "point" and constant(f.data.loss):
        raise DataError(
            f"every point has the same loss ({f.data.loss[0]:g}): the law is not identified, "
            f"so --method {args.method} has nothing to measure; check the loss column"
        )
    f = f._replace(draws=draws_for(args, f, table))
    summary = f.to_dict()
    warn(summary.get("warnings", f.data.warnings))
    if args.out:
        save_fit(f, args.out, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(summary))
        return 0
    s = summary["starts"]
    print(
        f"law {f.law.name}: {summary['n_points']} points, {s['n']} starts "
        f"({s['converged']} converged, {s['near_best']} within 1e-6 of the best)"
    )
    for k, v in summary["params"].items():
        print(f"  {k:>8} = {v:.6g}")
    print(
        f"  objective {summary['objective']:.6g} ({f.objective.kind}), "
        f"status {summary['status']}, {time.perf_counter() - t0:.1f} s"
    )
    if f.draws is not None:
        d = summary["draws"]
        label = d["method"]
        if d["settings"].get("approximate"):
            label += f" ({d['settings']['covariance']}, approximate)"
        print(f"{label}: {d['n_draws']} draws in {d['seconds']:.1f} s (mean, sd, 5% / 50% / 95%)")
        for k, v in {**d["params"], **d["derived"]}.items():
            print(
                f"  {k:>8}  {v['mean']:.5g}  sd {v['sd']:.3g}  "
                f"[{v['q05']:.5g}, {v['q50']:.5g}, {v['q95']:.5g}]"
            )
        for w in d["warnings"]:
            print(f"  warning: {w}")
    if args.out:
        print(f"wrote {args.out}/fit.json, starts.csv, arrays.npz")
    return 0


def warn(warnings: object) -> None:
    """Print data-health warnings on standard error, one line each."""
    for w in warnings:
        print(f"bayescale: warning: {w}", file=sys.stderr)


def draws_for(args: argparse.Namespace, f: Fit, table: pd.DataFrame) -> Draws | None:
    """Bootstrap, NUTS or Laplace draws for the CLI's ``--method``, with a progress bar."""
    progress = not args.no_progress and not args.json
    if args.method == "bootstrap":
        return bootstrap(
            f,
            args.resamples,
            seed=None if args.protocol else args.seed,
            grid_starts_per_resample=args.boot_starts,
            **resampling(args, f, table),
            refit=Loss(args.loss, args.delta) if args.boot_objective == "loss" else None,
            protocol=args.protocol,
            progress=progress,
        )
    if args.method == "nuts":
        return nuts(f, nuts_config(args), progress=progress)
    if args.method == "laplace":
        return laplace(f, robust=args.robust, seed=args.seed)
    return None


def cmd_fit_groups(args: argparse.Namespace, config: FitConfig, rank: int = 0) -> int:
    """``bayescale fit --group``: one curve per group, one batch (point, bootstrap or NUTS).

    Parameters
    ----------
    args
        Parsed ``bayescale fit`` arguments with ``args.group`` set.
    config
        Optimiser settings.
    rank
        This process's index with ``--distributed`` (only process 0 prints and writes).

    Returns
    -------
    int
        Exit code 0.
    """

    table = read_table(args.data)
    check_resources(args, [args.law], table, args.group)
    common = dict(
        fit_options(args),
        group=args.group,
        config=config,
        chunk_size=args.chunk_size,
        progress=not args.no_progress and not args.json and rank == 0,
        keep_starts=args.keep_starts,
    )
    if args.method == "point":
        loss = noise_model(args) if args.noise or args.noise_slope else args.loss
        run = partial(fit_groups, law=args.law, loss=loss, **common)
    else:
        noise = noise_model(args)
        if args.method == "bootstrap":
            run = partial(
                bootstrap_groups, law=args.law, noise=noise, n_resamples=args.resamples or 4000,
                block_size=args.block_size, block_by=args.block_by, **common,
            )  # fmt: skip
        elif args.method == "auto":
            cfg = nuts_config(args, max_tree_depth=8)
            run = partial(posterior_groups, law=args.law, noise=noise, nuts_config=cfg, **common)
        else:
            cfg = nuts_config(args, max_tree_depth=8)
            run = partial(nuts_groups, law=args.law, noise=noise, nuts_config=cfg, **common)
    res = run_batch(args, run, table)
    if rank:
        return 0  # process 0 prints and writes the gathered table
    batch = res if isinstance(res, BatchFit) else res.fit
    curves = batch.curves
    table = res.table
    counts = table["status"].value_counts().to_dict()
    summary = {
        "law": args.law,
        "method": args.method,
        "n_curves": int(len(table)),
        "status_counts": counts,
        "starts": start_status_counts(batch.result),
        "seconds": round(float(res.seconds), 3),
    }
    if "sampler_status" in table:
        summary["sampler_status_counts"] = table["sampler_status"].value_counts().to_dict()
    summary["warnings"] = list(curves.warnings)
    warn(summary["warnings"])
    name = f"curves.{args.table_format}"
    if args.out:
        with atomic_dir(args.out, overwrite=args.overwrite) as out:
            if args.table_format == "parquet":
                table.to_parquet(out / name, index=False)
            else:
                table.to_csv(out / name, index=False)
            (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
            if args.keep_starts:
                np.savez(out / "starts.npz", **start_arrays(batch))
    if args.json:
        print(json.dumps(summary, default=str))
        return 0
    print(
        f"law {args.law}, {args.method}: {len(table)} curves in {res.seconds:.1f} s; status: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    law = get_law(args.law)
    shown = [*map(str, args.group), "status", *law.natural_names]
    shown += [c for c in ("converged_frac", "engine", "sampler_status", "max_rhat") if c in table]
    print(table[shown].head(10).to_string(index=False))
    if len(table) > 10:
        print(f"... {len(table) - 10} more curves")
    if args.out:
        print(f"wrote {args.out}/{name} and summary.json")
    return 0


def cmd_laws(args: argparse.Namespace) -> int:
    """``bayescale laws``."""
    laws = [get_law(n) for n in list_laws()]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": law.name,
                        "inputs": list(law.inputs),
                        "params": [p._asdict() for p in law.params],
                        "grids": list(law.grid_names),
                        "doc": law.doc,
                    }
                    for law in laws
                ]
            )
        )
        return 0
    for law in laws:
        print(f"{law.name}  inputs: {', '.join(law.inputs)}")
        print(f"    {law.doc}")
        for p in law.params:
            tr = f"{p.label} = exp({p.name})" if p.transform == "exp" else p.name
            print(
                f"    {p.name:>10}  {tr:<16} starts in [{p.lower:g}, {p.upper:g}], prior {p.prior}"
            )
        print(f"    start grids: {', '.join(law.grid_names)}")
    return 0
