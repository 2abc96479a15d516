"""Commands that judge laws on data: ``extrapolate`` (held-out points) and ``compare``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayescale.cli.options import (
    UsageError,
    add_data_options,
    add_evaluation_options,
    nuts_config,
)
from bayescale.data.columns import parse_column_mapping
from bayescale.results.store import save_fit
from bayescale.workflows.comparison import compare
from bayescale.workflows.extrapolation import extrapolate, parse_holdout

EXAMPLES_EXTRAPOLATE = """examples:
  bayescale extrapolate example:chinchilla --law chinchilla --drop-top-losses 5 \\
      --holdout-above C=1e21 --method bootstrap --resamples 1000
  bayescale extrapolate runs.csv --law power --x step --holdout-above step=50000 \\
      --method nuts --json --out extrap_dir

Rows whose COLUMN exceeds VALUE are held out; the law is fitted to the rest. COLUMN is N, D,
C (derived as k N D when absent), step, or any numeric column of the table.
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
    )
    add_data_options(p)
    add_evaluation_options(p, "bootstrap")
    p.add_argument(
        "--out", metavar="DIR", help="write extrapolation.json, holdout.csv and fit/ to DIR"
    )
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
    p.set_defaults(func=cmd_compare)


def evaluation_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`extrapolate` / :func:`compare` from the parsed options."""
    if args.resamples < 2 or min(args.chains, args.warmup, args.draws) < 1:
        raise UsageError("--resamples must be >= 2 and --chains, --warmup, --draws >= 1")
    return {
        "method": args.method,
        "noise": args.noise,
        "delta": args.delta,
        "prob": args.prob,
        "starts": args.starts,
        "seed": args.seed,
        "columns": parse_column_mapping(args.col),
        "x": args.x,
        "flops_per_token": args.flops_per_token,
        "drop_top_losses": args.drop_top_losses,
        "n_resamples": args.resamples,
        "nuts_config": nuts_config(args),
    }


def cmd_extrapolate(args: argparse.Namespace) -> int:
    """``bayescale extrapolate``."""
    if not args.holdout_above:
        raise UsageError("extrapolate needs --holdout-above COLUMN=VALUE, e.g. C=1e21")
    holdout = parse_holdout(args.holdout_above)
    ex = extrapolate(args.data, args.law, holdout_above=holdout, **evaluation_options(args))
    summary = ex.to_dict()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "extrapolation.json").write_text(json.dumps(summary, indent=2) + "\n")
        ex.holdout.to_csv(out / "holdout.csv", index=False)
        save_fit(ex.fit, out / "fit")
    if args.json:
        print(json.dumps(summary))
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
        print(f"wrote {args.out}/extrapolation.json, holdout.csv, fit/")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``bayescale compare``."""
    laws = args.law or []
    if len(laws) < 2:
        raise UsageError(f"compare needs two or more laws (--law A --law B), got {laws}")
    holdout = parse_holdout(args.holdout_above) if args.holdout_above else None
    c = compare(args.data, laws, holdout_above=holdout, **evaluation_options(args))
    summary = c.to_dict()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
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
