"""``bayescale backtest``, and the files and lines of a forecast (``extrapolate`` grown).

``backtest`` fits below several cutoffs of every curve and scores the predictions above them
(:func:`bayescale.workflows.backtesting.backtest`); :func:`write_forecast` and
:func:`print_forecast` serve ``extrapolate`` with several laws, groups or ``--calibrate``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bayescale.cli.checks import check_output, check_resources, check_x
from bayescale.cli.options import (
    NOISE_SLOPE_HELP,
    STRATEGIES,
    UsageError,
    add_data_options,
    add_overwrite_option,
    fit_config,
    fit_options,
    noise_model,
)
from bayescale.data.io import read_table
from bayescale.predict.scores import level_name
from bayescale.report.forecast_figures import backtest_figure
from bayescale.results.atomic import atomic_dir
from bayescale.results.forecasts import Backtest
from bayescale.results.store import save_fit
from bayescale.workflows.backtesting import LEVELS, backtest
from bayescale.workflows.forecasting import points_view

EXAMPLES = """examples:
  bayescale backtest example:chinchilla --law chinchilla --law kaplan --drop-top-losses 5
  bayescale backtest sweep.csv --law power --x step --group run --cutoffs 3 --out bt

Every curve is cut at --cutoffs values of --by (training shares 40% to 80% of its points) or at
the --cutoff values given; every (curve, cutoff) pair is one more lane of one batch fit and one
batch bootstrap per law. Held-out points are scored by their distance, log10(x / largest
training x). --out writes points.csv, lanes.csv, coverage.csv, distance.csv, scores.csv,
summary.json and backtest.png.
"""


def add_backtest_command(sub: argparse._SubParsersAction) -> None:
    """Register ``backtest`` on the CLI's subparsers."""
    p = sub.add_parser(
        "backtest",
        help="rolling-origin backtest: fit below cutoffs, score the points above, by distance",
        description="Backtest extrapolation inside the data: fit every law below several "
        "cutoffs of every curve (one batch), predict the points above, and report coverage "
        "against nominal, error against distance, interval score and CRPS.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve",
    )
    add_data_options(p)
    p.add_argument("--law", action="append", default=None, help="a law (repeat for several)")
    p.add_argument(
        "--group",
        action="append",
        default=None,
        metavar="COLUMN",
        help="column whose values define the curves (repeatable)",
    )
    p.add_argument(
        "--by",
        default=None,
        metavar="COLUMN",
        help="variable of cutoffs and distances (default x, or C for laws of N, D)",
    )
    p.add_argument("--cutoffs", type=int, default=4, metavar="K", help="cutoffs per curve")
    p.add_argument(
        "--cutoff",
        type=float,
        action="append",
        default=None,
        metavar="VALUE",
        help="explicit cutoff value, the same for every curve (repeatable)",
    )
    p.add_argument(
        "--levels",
        default=",".join(f"{v:g}" for v in LEVELS),
        help="nominal levels of the intervals, comma-separated (default 0.5,0.8,0.9)",
    )
    p.add_argument(
        "--per-curve",
        action="store_true",
        help="stacking weights and calibration per curve (default: pooled)",
    )
    p.add_argument("--method", default="bootstrap", choices=["bootstrap", "nuts", "point"])
    p.add_argument(
        "--noise", default="huber", choices=["huber", "laplace", "student_t", "gaussian"]
    )
    p.add_argument("--delta", type=float, default=1e-3, help="Huber delta (default 1e-3)")
    p.add_argument("--noise-slope", action="store_true", help=NOISE_SLOPE_HELP)
    p.add_argument("--resamples", type=int, default=200, help="bootstrap resamples per lane")
    p.add_argument("--starts", default="default", help="start grid name or number of starts")
    p.add_argument(
        "--strategy",
        default="explore",
        choices=list(STRATEGIES),
        help="optimiser strategy (as for fit)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", metavar="DIR", help="write the tables, summary.json, backtest.png")
    add_overwrite_option(p)
    p.set_defaults(func=cmd_backtest)


def parse_levels(text: str) -> tuple[float, ...]:
    """``"0.5,0.8,0.9"`` as floats; :class:`UsageError` on anything else."""
    try:
        levels = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        levels = ()
    if not levels or not all(0.0 < v < 1.0 for v in levels):
        raise UsageError(f"--levels must be probabilities in (0, 1), e.g. 0.5,0.9; got {text!r}")
    return levels


def cmd_backtest(args: argparse.Namespace) -> int:
    """``bayescale backtest``."""
    if args.resamples < 2:
        raise UsageError("--resamples must be >= 2")
    if args.cutoff is None and args.cutoffs < 1:
        raise UsageError(f"--cutoffs must be >= 1, got {args.cutoffs}")
    laws = args.law or ["chinchilla"]
    levels = parse_levels(args.levels)
    check_x(args, laws)
    check_output(args)
    check_resources(args, laws, read_table(args.data), args.group)
    bt = backtest(
        args.data,
        laws,
        by=args.by,
        cutoffs=args.cutoff if args.cutoff else args.cutoffs,
        group=args.group,
        method=args.method,
        levels=levels,
        pooled=not args.per_curve,
        noise=noise_model(args),
        n_resamples=args.resamples,
        config=fit_config(args),
        **fit_options(args),
    )
    summary = bt.to_dict()
    if args.out:
        with atomic_dir(args.out, overwrite=args.overwrite) as out:
            write_backtest(bt, out, summary)
    if args.json:
        print(json.dumps(summary))
        return 0
    print_backtest(bt)
    if args.out:
        print(
            f"wrote {args.out}/points.csv, lanes.csv, coverage.csv, distance.csv, scores.csv, "
            "summary.json, backtest.png"
        )
    return 0


def write_backtest(bt: Backtest, out: Path, summary: dict) -> None:
    """The backtest's tables, summary and figure under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    bt.points.to_csv(out / "points.csv", index=False)
    bt.lanes.to_csv(out / "lanes.csv", index=False)
    bt.coverage.to_csv(out / "coverage.csv", index=False)
    bt.by_distance.to_csv(out / "distance.csv", index=False)
    bt.scores.to_csv(out / "scores.csv", index=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "backtest.png").write_bytes(backtest_figure(bt.coverage, bt.by_distance))


def print_backtest(bt: Backtest) -> None:
    """The backtest in a few lines: lanes, coverage, error by distance, scores, weights."""
    laws = [n for n in bt.points["law"].unique()]
    n_pts = int((bt.points["law"] == laws[0]).sum())
    print(
        f"backtest of {', '.join(laws)} on {bt.column}: {len(bt.lanes)} lanes "
        f"({len(bt.keys)} curve(s) x cutoffs), {n_pts} held-out points, {bt.method}"
    )
    print("coverage against nominal [range of a calibrated interval, 95%]:")
    for law, g in bt.coverage.groupby("law", sort=False):
        cells = [
            f"{r.nominal:.0%}: {r.coverage:.0%} [{r.range_low:.0%}-{r.range_high:.0%}]"
            for r in g.itertuples()
        ]
        print(f"  {law:<12} " + ", ".join(cells))
    print("median |log error| (~ relative error) against distance (decades beyond the data):")
    for law, g in bt.by_distance.groupby("law", sort=False):
        cells = [f"{r.distance:.2f}: {r.median_abs_error:.2%}" for r in g.itertuples()]
        print(f"  {law:<12} " + ", ".join(cells))
    top = level_name(max(bt.levels))
    pooled = bt.scores[[c for c in bt.keys.columns if c in bt.scores]].isna().all(axis=1)
    for r in bt.scores[pooled].itertuples():
        s = r._asdict()
        print(
            f"  {s['law']:<12} interval score ({top}%) {s[f'interval_score_{top}']:.4f}, "
            f"CRPS {s['crps']:.4f}, mean |rel. error| {s['mean_abs_rel_error']:.2%}"
        )
    if bt.weights is not None and len(bt.weights) == 1:
        w = bt.weights.iloc[0]
        print("stacking weights: " + ", ".join(f"{k} {v:.2f}" for k, v in w.items()))
    for name, cal in bt.calibration.items():
        if np.ndim(cal.n_points) == 0 and cal.ok[-1]:
            k0, rate = np.exp(cal.intercept[-1]), np.exp(cal.slope[-1])
            print(
                f"  calibration of {name} ({top}%): x{k0:.2f} at the data, growing x{rate:.2f} "
                "per unit of reach (distance / span of the training data)"
            )
    for note in bt.notes:
        print(f"  note: {note}")


def write_forecast(ex: object, out: Path, summary: dict, column: str) -> list[str]:
    """``points.csv``, ``scores.csv``, ``summary.json`` of a forecast, and more; the names."""
    out.mkdir(parents=True, exist_ok=True)
    points_view(ex.points, summary["forecast"]["group"], column).to_csv(
        out / "points.csv", index=False
    )
    ex.curves.to_csv(out / "scores.csv", index=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    names = ["points.csv", "scores.csv", "summary.json"]
    if ex.backtest is not None:
        (out / "backtest.png").write_bytes(
            backtest_figure(ex.backtest.coverage, ex.backtest.by_distance)
        )
        names.append("backtest.png")
    if hasattr(ex.fit, "data"):
        (out / "extrapolation.json").write_text(json.dumps(ex.to_dict(), indent=2) + "\n")
        ex.holdout.to_csv(out / "holdout.csv", index=False)
        save_fit(ex.fit, out / "fit")
        names += ["extrapolation.json", "holdout.csv", "fit/"]
    return names


def print_forecast(ex: object) -> None:
    """Several laws, groups or a calibration: one line per law, then the points."""
    s = ex.summary
    rule = s["holdout"]
    what = (
        f"{rule['column']} > {rule['cap']:g}"
        if "cap" in rule
        else f"test column {rule['test_column']!r}, distances in {rule['by']}"
    )
    print(
        f"{', '.join(s['laws'])}: {s['n_curves']} curve(s), {s['n_train']} training points, "
        f"{s['n_holdout']} held out ({what}; {s['method']})"
    )
    if s["weights"] is not None and len(s["weights"]) == 1:
        w = {k: v for k, v in s["weights"][0].items() if k != "index"}
        print("  stacking weights (backtest): " + ", ".join(f"{k} {v:.2f}" for k, v in w.items()))
    cal = s["calibrated"]
    if cal:
        print(f"  intervals calibrated by a backtest of the training points; {s['assumption']}")
    for r in s["scores"]:
        cov = f"{r['coverage']:.0%}" + (f" (uncalibrated {r['raw_coverage']:.0%})" if cal else "")
        print(
            f"  {r['law']:<12} {s['level']:.0%} interval covers {cov} of {r['n_holdout']}; "
            f"mean |rel. error| {r['mean_abs_rel_error']:.2%}; interval score "
            f"{r['interval_score']:.4f}"
        )
    for note in s["notes"]:
        print(f"  note: {note}")


__all__ = [
    "add_backtest_command",
    "cmd_backtest",
    "parse_levels",
    "print_backtest",
    "print_forecast",
    "write_backtest",
    "write_forecast",
]
