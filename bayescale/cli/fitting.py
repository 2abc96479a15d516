"""``bayescale fit`` (one curve, or every group of a table with ``--group``) and ``laws``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from bayescale.cli.options import (
    UsageError,
    add_data_options,
    fit_config,
    fit_options,
    nuts_config,
)
from bayescale.data.io import DataError, read_table
from bayescale.laws.registry import get_law, list_laws
from bayescale.likelihood import Noise
from bayescale.optimize.multistart import FitConfig
from bayescale.results.records import Draws, Fit
from bayescale.results.store import save_fit
from bayescale.workflows.fitting import fit, fit_groups
from bayescale.workflows.uncertainty import bootstrap, bootstrap_groups, nuts, nuts_groups

EXAMPLES_FIT = """examples:
  bayescale fit example:chinchilla --law chinchilla --drop-top-losses 5 --starts hoffmann --json
  bayescale fit runs.csv --law chinchilla --col N="Model Size" --col C="Training FLOP"
  bayescale fit curve.csv --law power --x step --starts 256 --seed 1 --out fit_dir
  bayescale fit sweep.csv --law power --x C --group family --group task --out fits
  bayescale fit sweep.csv --law power --x C --group family --method nuts --draws 500 --out fits
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
        choices=["explore", "full"],
        help="explore: every start takes 20 BFGS steps, the best 16 run to convergence "
        "(default); full: every start runs to convergence",
    )
    u = p.add_argument_group("uncertainty (--method bootstrap | nuts)")
    u.add_argument(
        "--method",
        default="point",
        choices=["point", "bootstrap", "nuts"],
        help="point: the fit alone; bootstrap: refit resamples; nuts: NumPyro NUTS posterior",
    )
    u.add_argument(
        "--noise",
        choices=["huber", "laplace", "student_t", "gaussian"],
        help="fit by maximum likelihood under this noise model with a free scale (default for "
        "bootstrap and nuts: huber with --delta, Besiroglu et al.'s set-up)",
    )
    u.add_argument("--resamples", type=int, default=4000, help="bootstrap resamples")
    u.add_argument(
        "--boot-starts",
        type=int,
        default=0,
        metavar="K",
        help="extra grid starts per resample besides the warm start (default 0)",
    )
    u.add_argument("--cluster", metavar="COLUMN", help="cluster bootstrap: resample whole groups")
    u.add_argument("--chains", type=int, default=4, help="NUTS chains")
    u.add_argument("--warmup", type=int, default=1000, help="NUTS warmup iterations per chain")
    u.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    u.add_argument("--target-accept", type=float, default=0.9, help="NUTS target acceptance")
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
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write fit.json, starts.csv, arrays (and draws, posterior.nc) to DIR",
    )
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
    config = fit_config(args)
    check_uncertainty_options(args)
    if args.group:
        return cmd_fit_groups(args, config)
    t0 = time.perf_counter()
    loss = args.loss
    if args.noise or args.method != "point":
        loss = Noise(args.noise or "huber", args.delta)
    table = read_table(args.data)
    f = fit(table, args.law, loss=loss, config=config, **fit_options(args))
    f = f._replace(draws=draws_for(args, f, table))
    summary = f.to_dict()
    if args.out:
        save_fit(f, args.out)
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
        print(
            f"{d['method']}: {d['n_draws']} draws in {d['seconds']:.1f} s "
            "(mean, sd, 5% / 50% / 95%)"
        )
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


def draws_for(args: argparse.Namespace, f: Fit, table: pd.DataFrame) -> Draws | None:
    """Bootstrap or NUTS draws for the CLI's ``--method``, with a progress bar."""
    progress = not args.no_progress and not args.json
    if args.method == "bootstrap":
        groups = None
        if args.cluster:
            if args.cluster not in table.columns:
                raise DataError(
                    f"--cluster column {args.cluster!r} is not in the table; the "
                    f"table has columns {list(table.columns)}"
                )
            groups = table.loc[f.data.rows, args.cluster].to_numpy()
        return bootstrap(
            f,
            args.resamples,
            seed=args.seed,
            grid_starts_per_resample=args.boot_starts,
            groups=groups,
            progress=progress,
        )
    if args.method == "nuts":
        return nuts(f, nuts_config(args), progress=progress)
    return None


def check_uncertainty_options(args: argparse.Namespace) -> None:
    """Bootstrap and NUTS options, checked before any fit runs."""
    if args.method == "bootstrap" and args.resamples < 2:
        raise UsageError(f"--resamples must be >= 2, got {args.resamples}")
    if args.method == "nuts" and (min(args.chains, args.draws) < 1 or args.warmup < 0):
        raise UsageError("--chains and --draws must be >= 1 and --warmup >= 0")
    if args.group and args.cluster:
        raise UsageError("--cluster is for single fits; with --group every curve is resampled")


def cmd_fit_groups(args: argparse.Namespace, config: FitConfig) -> int:
    """``bayescale fit --group``: one curve per group, one batch (point, bootstrap or NUTS).

    Parameters
    ----------
    args
        Parsed ``bayescale fit`` arguments with ``args.group`` set.
    config
        Optimiser settings.

    Returns
    -------
    int
        Exit code 0.
    """

    common = dict(
        fit_options(args),
        group=args.group,
        config=config,
        chunk_size=args.chunk_size,
        progress=not args.no_progress and not args.json,
    )
    if args.method == "point":
        res = fit_groups(args.data, args.law, loss=args.loss, **common)
    else:
        noise = args.noise or "huber"
        if args.method == "bootstrap":
            res = bootstrap_groups(
                args.data, args.law, noise=noise, n_resamples=args.resamples, **common
            )
        else:
            cfg = nuts_config(args, max_tree_depth=8)
            res = nuts_groups(args.data, args.law, noise=noise, nuts_config=cfg, **common)
    table = res.table
    counts = table["status"].value_counts().to_dict()
    summary = {
        "law": args.law,
        "method": args.method,
        "n_curves": int(len(table)),
        "status_counts": counts,
        "seconds": round(float(res.seconds), 3),
    }
    if "sampler_status" in table:
        summary["sampler_status_counts"] = table["sampler_status"].value_counts().to_dict()
    name = f"curves.{args.table_format}"
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if args.table_format == "parquet":
            table.to_parquet(out / name, index=False)
        else:
            table.to_csv(out / name, index=False)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(summary, default=str))
        return 0
    print(
        f"law {args.law}, {args.method}: {len(table)} curves in {res.seconds:.1f} s; status: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    law = get_law(args.law)
    shown = [*map(str, args.group), "status", *law.natural_names]
    shown += [c for c in ("converged_frac", "sampler_status", "max_rhat") if c in table]
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
