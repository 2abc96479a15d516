"""``bayescale predict``: the loss a saved fit predicts at new points, as CSV or JSON.

The command is :meth:`bayescale.Fit.predict` on the loaded fit, so the two agree exactly on
the same draws and points.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from bayescale.cli.options import UsageError
from bayescale.data.io import read_table
from bayescale.predict.posterior import KINDS
from bayescale.results.store import load_fit
from bayescale.results.summaries import to_json
from bayescale.results.views import input_names

EXAMPLES_PREDICT = """examples:
  bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --out fit_dir
  bayescale predict fit_dir --at N=7e10,D=1.4e12
  bayescale predict fit_dir --at N=7e10,D=1.4e12 --at N=4e11,D=8e12 --kind new_run --json
  bayescale predict fit_dir --points points.csv --level 0.8 --out predictions.csv

Columns: the inputs, median, lower and upper (the central --level interval over the fit's
draws; a point fit gives its prediction as the median and no interval for --kind mean) and
extrapolated (true beyond the data's range or its largest run). --kind mean is the law's
curve; new_run adds the noise model: where one new training run's loss will fall.
"""


def add_predict_command(sub: argparse._SubParsersAction) -> None:
    """Register ``predict`` on the CLI's subparsers."""
    p = sub.add_parser(
        "predict",
        help="predicted loss of a saved fit at new points (median and interval), CSV or JSON",
        description="Predict the loss at new points from a saved fit and its draws: the "
        "median and a central interval per point, flagged where it extrapolates.",
        epilog=EXAMPLES_PREDICT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("fit_dir", help="directory written by `bayescale fit --out`")
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE,...",
        help="one point: every input of the law, e.g. N=7e10,D=1.4e12 (repeatable)",
    )
    p.add_argument("--points", metavar="FILE", help="CSV/TSV/parquet with a column per input")
    p.add_argument(
        "--kind",
        choices=list(KINDS),
        default="mean",
        help="mean: the law's curve (parameter uncertainty); new_run: one new run's loss, "
        "noise included (default mean)",
    )
    p.add_argument(
        "--level", type=float, default=0.9, help="probability of the interval (default 0.9)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of new_run's noise draws")
    p.add_argument("--json", action="store_true", help="JSON instead of CSV")
    p.add_argument("--out", metavar="FILE", help="write here (.json writes JSON) not to stdout")
    p.set_defaults(func=cmd_predict)


def parse_at(items: list[str]) -> dict[str, list[float]]:
    """``--at`` values as input name -> values, one per ``--at``.

    Raises
    ------
    UsageError
        On a pair without ``=``, an empty name, a value that is not a number, a name given
        twice in one ``--at``, or ``--at`` values naming different inputs.
    """
    rows = []
    for item in items:
        row: dict[str, float] = {}
        for pair in item.split(","):
            name, eq, value = (s.strip() for s in pair.partition("="))
            if not eq or not name or not value:
                raise UsageError(
                    f"--at {item!r}: expected NAME=VALUE pairs separated by commas, "
                    "e.g. --at N=7e10,D=1.4e12"
                )
            try:
                number = float(value)
            except ValueError:
                raise UsageError(f"--at {item!r}: {value!r} is not a number") from None
            if not math.isfinite(number):
                raise UsageError(f"--at {item!r}: {name} must be finite, got {value}")
            if name in row:
                raise UsageError(f"--at {item!r}: {name} is given twice")
            row[name] = number
        if rows and set(row) != set(rows[0]):
            raise UsageError(
                f"every --at must name the same inputs: {sorted(rows[0])} then {sorted(row)}"
            )
        rows.append(row)
    return {k: [r[k] for r in rows] for k in (rows[0] if rows else {})}


def cmd_predict(args: argparse.Namespace) -> int:
    """``bayescale predict``."""
    if not args.at and not args.points:
        raise UsageError("give the points: --at N=7e10,D=1.4e12 (repeatable) or --points FILE")
    at = parse_at(args.at)
    fit = load_fit(args.fit_dir)
    names = input_names(fit.law, fit.data)
    unknown = sorted(k for k in at if k not in names and k not in names.values())
    if unknown:
        raise UsageError(
            f"--at: unknown input(s) {unknown} for law {fit.law.name!r}, whose inputs are "
            f"{list(names)}"
        )
    points: dict | pd.DataFrame = at
    if args.points:
        table = read_table(args.points)
        if at:
            table = pd.concat([pd.DataFrame(at), table], ignore_index=True)
        points = table
    try:
        out = fit.predict(points, kind=args.kind, level=args.level, seed=args.seed)
    except ValueError as err:
        raise UsageError(f"{'--points' if args.points else '--at'}: {err}") from err
    as_json = args.json or (args.out is not None and str(args.out).endswith(".json"))
    if as_json:
        text = json.dumps(
            to_json(
                {
                    "fit_dir": str(args.fit_dir),
                    "law": fit.law.name,
                    "kind": args.kind,
                    "level": args.level,
                    "draws": None if fit.draws is None else fit.draws.method,
                    "n_draws": out.attrs["draws"],
                    "points": out.to_dict(orient="records"),
                }
            )
        )
    else:
        text = out.to_csv(index=False)
    if args.out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    Path(args.out).write_text(text if text.endswith("\n") else text + "\n")
    far = int(out["extrapolated"].sum())
    print(
        f"wrote {args.out}: {len(out)} points, kind {args.kind}, {100 * args.level:g}% "
        f"intervals; {far} extrapolated beyond the data"
    )
    return 0
