"""CLI commands that judge laws on data: ``extrapolate`` (held-out points) and ``compare``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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


def _add_fit_options(p: argparse.ArgumentParser, method: str) -> None:
    """Options shared by ``extrapolate`` and ``compare``: noise, starts, draws."""
    p.add_argument(
        "--holdout-above",
        metavar="COLUMN=VALUE",
        help="hold out the rows with COLUMN > VALUE and score the law's predictions there",
    )
    p.add_argument(
        "--method",
        default=method,
        choices=["point", "bootstrap", "nuts"],
        help=f"draws behind intervals and LOO (default {method}); point: the fit alone",
    )
    p.add_argument(
        "--noise",
        default="huber",
        choices=["huber", "laplace", "student_t", "gaussian"],
        help="noise model of the maximum-likelihood fits (default huber, with --delta)",
    )
    p.add_argument("--delta", type=float, default=1e-3, help="Huber delta (default 1e-3)")
    p.add_argument(
        "--prob", type=float, default=0.9, help="central probability of the held-out intervals"
    )
    p.add_argument(
        "--starts", default="default", help="start grid name or a number of random starts"
    )
    p.add_argument("--seed", type=int, default=0, help="seed (starts, bootstrap, NUTS)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--chains", type=int, default=4, help="NUTS chains")
    p.add_argument("--warmup", type=int, default=1000, help="NUTS warmup per chain")
    p.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_eval_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``extrapolate`` and ``compare`` on the CLI's subparsers."""
    from bayescale.cli import _add_data_options

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
    _add_data_options(p)
    _add_fit_options(p, "bootstrap")
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
    _add_data_options(p)
    p.add_argument(
        "--law",
        action="append",
        default=None,
        help="a registered law to compare (repeat: at least two)",
    )
    _add_fit_options(p, "nuts")
    p.add_argument("--out", metavar="DIR", help="write comparison.json and comparison.csv to DIR")
    p.set_defaults(func=cmd_compare)


def _common(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`extrapolate` / :func:`compare` from the parsed options."""
    from bayescale.data import DataError, parse_column_mapping
    from bayescale.infer.nuts import NutsConfig

    if args.resamples < 2 or min(args.chains, args.warmup, args.draws) < 1:
        raise DataError("--resamples must be >= 2 and --chains, --warmup, --draws >= 1")
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
        "nuts_config": NutsConfig(
            num_chains=args.chains,
            num_warmup=args.warmup,
            num_samples=args.draws,
            seed=args.seed,
        ),
    }


def cmd_extrapolate(args: argparse.Namespace) -> int:
    """``bayescale extrapolate``."""
    from bayescale.data import DataError
    from bayescale.predict.extrapolate import extrapolate, parse_holdout

    if not args.holdout_above:
        raise DataError("extrapolate needs --holdout-above COLUMN=VALUE, e.g. C=1e21")
    holdout = parse_holdout(args.holdout_above)
    ex = extrapolate(args.data, args.law, holdout_above=holdout, **_common(args))
    summary = ex.to_dict()
    if args.out:
        from bayescale.data.store import save_fit

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
        f"law {ex.fit.law}: fitted to {s['n_train']} points with {ex.column} <= {ex.cap:g}; "
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
    from bayescale.data import DataError
    from bayescale.predict.compare import compare
    from bayescale.predict.extrapolate import parse_holdout

    laws = args.law or []
    if len(laws) < 2:
        raise DataError(f"compare needs two or more laws (--law A --law B), got {laws}")
    holdout = parse_holdout(args.holdout_above) if args.holdout_above else None
    c = compare(args.data, laws, holdout_above=holdout, **_common(args))
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
