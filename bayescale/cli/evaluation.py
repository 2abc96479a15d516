"""Commands that judge laws on data: ``extrapolate`` (held-out points) and ``compare``."""

from __future__ import annotations

import argparse
import json

from bayescale.cli.backtesting import print_forecast, write_forecast
from bayescale.cli.checks import check_output, check_resources, check_x
from bayescale.cli.options import (
    UsageError,
    add_data_options,
    add_evaluation_options,
    add_overwrite_option,
    noise_model,
    nuts_config,
)
from bayescale.data.columns import parse_column_mapping
from bayescale.data.io import read_table
from bayescale.results.atomic import atomic_dir
from bayescale.workflows.comparison import compare
from bayescale.workflows.extrapolation import extrapolate, parse_holdout
from bayescale.workflows.forecasting import POINT_COLUMNS

EXAMPLES_EXTRAPOLATE = """examples:
  bayescale extrapolate example:chinchilla --law chinchilla --drop-top-losses 5 \\
      --holdout-above C=1e21 --method bootstrap --resamples 1000
  bayescale extrapolate example:chinchilla --law chinchilla --law kaplan \\
      --holdout-above C=1e21 --calibrate --out forecast
  bayescale extrapolate sweep.csv --law power --x step --group run --test-column held \\
      --calibrate --level 0.8 --out forecast

Rows whose COLUMN exceeds VALUE are held out (or the rows --test-column marks 1/true); the
laws are fitted to the rest. COLUMN is N, D, C (derived as k N D when absent), step, or any
numeric column of the table. Several --law are stacked into an "average" law with weights
from a backtest of the training rows; --calibrate widens the intervals by the error growth
that backtest measured, assuming it continues beyond the data. --out writes points.csv (one
row per held-out point and law), scores.csv (per curve and law) and summary.json.
"""
EXAMPLES_COMPARE = """examples:
  bayescale compare example:chinchilla --law chinchilla --law kaplan --drop-top-losses 5
  bayescale compare example:chinchilla --law chinchilla --law power --x C \\
      --drop-top-losses 5 --holdout-above C=1e21 --method bootstrap --json

Verdict: with NUTS draws (the default), PSIS-LOO elpd differences from arviz.compare: strong
preference above 4 standard errors, moderate above 2, none below 2 se or below 4 elpd.
Without NUTS, the held-out log predictive density (given --holdout-above) or AIC decides.
"""


def add_evaluation_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``extrapolate`` and ``compare`` on the CLI's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "extrapolate",
        help="fit below a cap, score the predictions on the held-out points above it",
        description="Held-out extrapolation: fit a law to the rows with COLUMN <= VALUE, then "
        "score its predictions on the rows above: relative error, new-run interval coverage "
        "and log predictive density.",
        epilog=EXAMPLES_EXTRAPOLATE,
        formatter_class=fmt,
        conflict_handler="resolve",
    )
    add_data_options(p)
    add_evaluation_options(p, "bootstrap")
    add_forecast_options(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write points.csv, scores.csv, summary.json (and for one curve extrapolation.json, "
        "holdout.csv, fit/) to DIR",
    )
    add_overwrite_option(p)
    p.set_defaults(func=cmd_extrapolate)

    p = sub.add_parser(
        "compare",
        help="compare laws on the same data: PSIS-LOO, held-out error, a verdict",
        description="Fit two or more laws to the same rows and say which is preferred and how "
        "strongly: PSIS-LOO from NUTS draws, AIC, and held-out extrapolation scores.",
        epilog=EXAMPLES_COMPARE,
        formatter_class=fmt,
        conflict_handler="resolve",
    )
    add_data_options(p)
    p.add_argument(
        "--law",
        action="append",
        default=None,
        help="a registered law to compare (repeat: at least two)",
    )
    add_evaluation_options(p, "nuts")
    p.add_argument("--out", metavar="DIR", help="write comparison.json and comparison.csv to DIR")
    add_overwrite_option(p)
    p.set_defaults(func=cmd_compare)


def add_forecast_options(p: argparse.ArgumentParser) -> None:
    """``extrapolate``'s options beyond ``compare``'s: laws, groups, test column, calibration."""
    p.add_argument(
        "--law",
        action="append",
        default=None,
        help="a registered law (repeat: several laws are stacked)",
    )
    p.add_argument(
        "--group",
        action="append",
        default=None,
        metavar="COLUMN",
        help="column whose values define curves, each fitted on its own",
    )
    p.add_argument(
        "--test-column",
        metavar="COLUMN",
        help="hold out the rows where COLUMN is 1/true (instead of --holdout-above)",
    )
    p.add_argument(
        "--by",
        metavar="COLUMN",
        help="distance variable with --test-column (default x, or C for N, D laws)",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="calibrate the intervals by a backtest of the training rows",
    )
    p.add_argument(
        "--per-curve",
        action="store_true",
        help="calibration and stacking weights per curve (default: pooled)",
    )
    p.add_argument(
        "--cutoffs",
        type=int,
        default=4,
        metavar="K",
        help="cutoffs per curve of that backtest (default 4)",
    )


def evaluation_options(args: argparse.Namespace, laws: list[str]) -> dict:
    """Keyword arguments of :func:`extrapolate` / :func:`compare` from the parsed options,
    every option, output and the memory the run needs checked first."""
    if args.resamples < 2 or min(args.chains, args.warmup, args.draws) < 1:
        raise UsageError("--resamples must be >= 2 and --chains, --warmup, --draws >= 1")
    if not 0.0 < args.prob < 1.0:
        raise UsageError(f"--level must be strictly between 0 and 1, got {args.prob}")
    check_x(args, laws)
    check_output(args)
    check_resources(args, laws, read_table(args.data), getattr(args, "group", None))
    return {
        "method": args.method,
        "noise": noise_model(args),
        "prob": args.prob,
        "starts": args.starts,
        "seed": args.seed,
        "columns": parse_column_mapping(args.col),
        "x": args.x or "N",
        "flops_per_token": args.flops_per_token,
        "drop_top_losses": args.drop_top_losses,
        "n_resamples": args.resamples,
        "nuts_config": nuts_config(args),
    }


def cmd_extrapolate(args: argparse.Namespace) -> int:
    """``bayescale extrapolate``."""
    if bool(args.holdout_above) == bool(args.test_column):
        raise UsageError(
            "extrapolate needs --holdout-above COLUMN=VALUE (e.g. C=1e21) or --test-column "
            "COLUMN, not both"
        )
    if args.cutoffs < 1:
        raise UsageError(f"--cutoffs must be >= 1, got {args.cutoffs}")
    holdout = parse_holdout(args.holdout_above) if args.holdout_above else None
    laws = args.law or ["chinchilla"]
    ex = extrapolate(
        args.data,
        laws if len(laws) > 1 else laws[0],
        holdout_above=holdout,
        test_column=args.test_column,
        group=args.group,
        by=args.by,
        calibrate=args.calibrate,
        pooled=not args.per_curve,
        cutoffs=args.cutoffs,
        **evaluation_options(args, laws),
    )
    summary = ex.to_dict()
    names = []
    if args.out:
        with atomic_dir(args.out, overwrite=args.overwrite) as out:
            names = write_forecast(ex, out, summary, ex.column)
    if args.json:
        print(json.dumps(summary))
        return 0
    if len(laws) > 1 or args.group or args.calibrate or args.test_column:
        print_forecast(ex)
        cols = [*ex.summary["group"], ex.column, "distance", *POINT_COLUMNS[:-1]]
        view = ex.points[ex.points["law"] == ex.points["law"].iloc[-1]][cols]
        print(view.head(20).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if len(view) > 20:
            print(f"  ... {len(view) - 20} more rows (--json or --out for all)")
        if args.out:
            print(f"wrote {args.out}/" + ", ".join(names))
        return 0
    s = ex.scores
    n_draws = summary["fit"]["draws"]["n_draws"] if ex.fit.draws is not None else 0
    how = f"{ex.method}, {n_draws} draws" if n_draws else "point fit, plug-in noise"
    print(
        f"law {ex.fit.law.name}: fitted to {s['n_train']} points with {ex.column} <= {ex.cap:g}; "
        f"{s['n_holdout']} held out ({how})"
    )
    print(
        f"  relative error of the point prediction: mean {s['mean_abs_rel_error']:.2%}, "
        f"median {s['median_abs_rel_error']:.2%}, max {s['max_abs_rel_error']:.2%} "
        f"(mean signed {s['mean_rel_error']:+.2%})"
    )
    n_cov = int(ex.holdout["covered"].sum())
    print(
        f"  {s['prob']:.0%} new-run interval covers {n_cov} of {s['n_holdout']} "
        f"({s['coverage']:.0%})"
    )
    print(f"  log predictive density: sum {s['lpd_sum']:.2f}, mean {s['lpd_mean']:.3f} per point")
    cols = [c for c in ex.holdout.columns if c not in ("lpd",)]
    print(ex.holdout[cols].head(20).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if len(ex.holdout) > 20:
        print(f"  ... {len(ex.holdout) - 20} more rows (--json or --out for all)")
    for w in summary["warnings"]:
        print(f"  warning: {w}")
    if args.out:
        print(f"wrote {args.out}/" + ", ".join(names))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``bayescale compare``."""
    laws = args.law or []
    if len(laws) < 2:
        raise UsageError(f"compare needs two or more laws (--law A --law B), got {laws}")
    holdout = parse_holdout(args.holdout_above) if args.holdout_above else None
    c = compare(args.data, laws, holdout_above=holdout, **evaluation_options(args, laws))
    summary = c.to_dict()
    if args.out:
        with atomic_dir(args.out, overwrite=args.overwrite) as out:
            (out / "comparison.json").write_text(json.dumps(summary, indent=2) + "\n")
            c.table.to_csv(out / "comparison.csv")
    if args.json:
        print(json.dumps(summary))
        return 0
    print(c.verdict)
    print(c.table.T.to_string(float_format=lambda v: f"{v:.4g}"))
    for w in c.warnings:
        print(f"  warning: {w}")
    if args.out:
        print(f"wrote {args.out}/comparison.json, comparison.csv")
    return 0
