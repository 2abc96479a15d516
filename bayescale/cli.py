"""Command line: ``bayescale fit | laws | replicate | report | allocate | critique | extrapolate |
compare``.

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
  bayescale fit sweep.csv --law power --x C --group family --group task --out fits
  bayescale fit sweep.csv --law power --x C --group family --method nuts --draws 500 --out fits
"""


class UsageError(ValueError):
    """Bad command-line input (exit code 2).

    A ``ValueError``, so :func:`main` maps it to exit code 2 even when this module also runs as
    ``__main__`` (``python -m bayescale.cli``) and a command module imported a second copy.
    """


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="CSV/TSV/parquet path, or example:chinchilla")
    p.add_argument("--law", default="chinchilla", help="registered law (see `bayescale laws`)")
    p.add_argument(
        "--col",
        action="append",
        default=[],
        metavar="NAME=COLUMN",
        help="map a file column to a law input (N, D, C, step, M, S1, ...) or loss (repeatable)",
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
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "laws",
        help="list the registered laws and their parameters",
        description="List the registered laws with their parameters, inputs and start grids.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_laws)

    from bayescale.commands import add_commands
    from bayescale.commands_eval import add_eval_commands

    add_commands(sub)
    add_eval_commands(sub)
    return parser


def fit_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`bayescale.fit` that ``fit``'s options set.

    Parameters
    ----------
    args
        Parsed arguments of a command with the data options and ``--delta``, ``--starts``,
        ``--seed``.

    Returns
    -------
    dict
        ``delta``, ``starts``, ``seed``, ``columns``, ``x``, ``flops_per_token``,
        ``drop_top_losses``.
    """
    from bayescale.data import parse_column_mapping

    return dict(
        delta=args.delta,
        starts=args.starts,
        seed=args.seed,
        columns=parse_column_mapping(args.col),
        x=args.x,
        flops_per_token=args.flops_per_token,
        drop_top_losses=args.drop_top_losses,
    )


def _cmd_fit(args: argparse.Namespace) -> int:
    import bayescale as bs
    from bayescale.data.store import save_fit

    config = bs.FitConfig() if args.strategy == "explore" else bs.FitConfig(explore_steps=0)
    if args.group:
        from bayescale.commands_batch import cmd_fit_groups

        return cmd_fit_groups(args, config)
    t0 = time.perf_counter()
    loss = args.loss
    if args.noise or args.method != "point":
        loss = bs.Noise(args.noise or "huber", args.delta)
    table = bs.read_table(args.data)
    f = bs.fit(table, args.law, loss=loss, config=config, **fit_options(args))
    f = f._replace(draws=_draws(args, f, table))
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


def _draws(args: argparse.Namespace, f, table):
    """Bootstrap or NUTS draws for the CLI's --method, with a progress bar."""
    from bayescale.data import DataError
    from bayescale.uncertainty import bootstrap, nuts

    if args.method == "bootstrap":
        groups = None
        if args.cluster:
            if args.cluster not in table.columns:
                raise DataError(
                    f"--cluster column {args.cluster!r} is not in the table; the "
                    f"table has columns {list(table.columns)}"
                )
            groups = table.loc[f.data.rows, args.cluster].to_numpy()
        bar = _progress(args, args.resamples, "bootstrap")
        try:
            return bootstrap(
                f,
                args.resamples,
                seed=args.seed,
                grid_starts_per_resample=args.boot_starts,
                groups=groups,
                progress=(lambda k: bar.update(k - bar.n)) if bar else None,
            )
        finally:
            if bar:
                bar.close()
    if args.method == "nuts":
        from bayescale.infer.nuts import NutsConfig

        cfg = NutsConfig(
            num_chains=args.chains,
            num_warmup=args.warmup,
            num_samples=args.draws,
            target_accept=args.target_accept,
            seed=args.seed,
            progress_bar=not args.no_progress and not args.json,
        )
        return nuts(f, cfg)
    return None


def _progress(args: argparse.Namespace, total: int, desc: str):
    if args.no_progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="resample", file=sys.stderr, leave=False)


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
