"""Command line: ``bayescale fit | laws``.

Exit codes: 0 success, 2 bad input (one readable line on stderr), 1 internal error (one line;
``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

EXAMPLES_FIT = """examples:
  bayescale fit example:chinchilla --law chinchilla --drop-top-losses 5 --starts hoffmann --json
  bayescale fit runs.csv --law chinchilla --col N="Model Size" --col C="Training FLOP"
  bayescale fit curve.csv --law power --x step --starts 256 --seed 1 --out fit_dir
"""


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="CSV/TSV/parquet path, or example:chinchilla")
    p.add_argument("--law", default="chinchilla", help="registered law (see `bayescale laws`)")
    p.add_argument(
        "--col",
        action="append",
        default=[],
        metavar="NAME=COLUMN",
        help="map a file column to a canonical name N, D, C, step or loss (repeatable)",
    )
    p.add_argument("--x", default="N", help="variable of one-variable laws: N, D, C or step")
    p.add_argument(
        "--flops-per-token",
        type=float,
        default=6.0,
        help="k in C = k N D, used to derive a missing one of N, D, C (default 6)",
    )
    p.add_argument(
        "--drop-top-losses",
        type=int,
        default=0,
        metavar="K",
        help="drop the K highest-loss rows (Epoch AI's filter; recorded in the result)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayescale",
        description="Fit neural scaling laws with honest uncertainty.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "fit",
        help="fit a law by vectorised multi-start BFGS",
        description="Fit a scaling law to a table of runs by vectorised multi-start BFGS.",
        epilog=EXAMPLES_FIT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_options(p)
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
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", metavar="DIR", help="write fit.json, starts.csv and arrays to DIR")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "laws",
        help="list the registered laws and their parameters",
        description="List the registered laws with their parameters, inputs and start grids.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_laws)
    return parser


def _cmd_fit(args: argparse.Namespace) -> int:
    import bayescale as bs
    from bayescale.data import parse_column_mapping
    from bayescale.data.store import save_fit

    config = bs.FitConfig() if args.strategy == "explore" else bs.FitConfig(explore_steps=0)
    t0 = time.perf_counter()
    f = bs.fit(
        args.data,
        args.law,
        loss=args.loss,
        delta=args.delta,
        starts=args.starts,
        seed=args.seed,
        columns=parse_column_mapping(args.col),
        x=args.x,
        flops_per_token=args.flops_per_token,
        drop_top_losses=args.drop_top_losses,
        config=config,
    )
    summary = f.to_dict()
    if args.out:
        save_fit(f, args.out)
    if args.json:
        print(json.dumps(summary))
        return 0
    s = summary["starts"]
    print(
        f"law {f.law}: {summary['n_points']} points, {s['n']} starts "
        f"({s['converged']} converged, {s['near_best']} within 1e-6 of the best)"
    )
    for k, v in summary["params"].items():
        print(f"  {k:>8} = {v:.6g}")
    print(
        f"  objective {summary['objective']:.6g} ({f.objective.kind}), "
        f"status {summary['status']}, {time.perf_counter() - t0:.1f} s"
    )
    if args.out:
        print(f"wrote {args.out}/fit.json, starts.csv, arrays.npz")
    return 0


def _cmd_laws(args: argparse.Namespace) -> int:
    from bayescale.laws import get_law, list_laws

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from bayescale.data import DataError

    try:
        return args.func(args)
    except (DataError, UsageError, ValueError, KeyError) as err:
        if args.debug:
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"bayescale: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `bayescale laws | head`
        return 0
    except Exception as err:  # noqa: BLE001 - one line unless --debug
        if args.debug:
            raise
        print(
            f"bayescale: internal error: {type(err).__name__}: {err} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
