"""What the commands share: the usage error, the option groups, and their settings builders.

Command modules import this module, never :mod:`bayescale.cli` itself.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

import numpy as np
import pandas as pd

from bayescale.data.columns import parse_column_mapping
from bayescale.data.io import DataError
from bayescale.infer.types import NutsConfig
from bayescale.likelihood import Noise
from bayescale.optimize.dependence import compute_bins, ordering
from bayescale.optimize.multistart import FitConfig
from bayescale.results.records import Fit

#: Help of ``--noise-slope`` (``fit``, ``extrapolate``, ``compare``, ``backtest``).
NOISE_SLOPE_HELP = (
    "let the noise scale vary with log10 compute (or a one-input law's x): one more parameter, "
    "sigma_slope, the change of log sigma per decade; new-run intervals beyond the data widen "
    "or narrow with it"
)


class UsageError(ValueError):
    """Bad command-line input (exit code 2)."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on standard error (exit code 2), like
    every other bad input: ``bayescale: error: ... (see bayescale fit --help)``."""

    def error(self, message: str) -> NoReturn:
        """Print one line and exit 2."""
        self.exit(2, f"bayescale: error: {message} (see `{self.prog} --help`)\n")


def add_data_options(p: argparse.ArgumentParser) -> None:
    """The table and its columns: ``data``, ``--law``, ``--col``, ``--x``, ``--flops-per-token``,
    ``--drop-top-losses``."""
    p.add_argument("data", help="CSV/TSV/parquet path, or example:chinchilla")
    p.add_argument("--law", default="chinchilla", help="registered law (see `bayescale laws`)")
    p.add_argument(
        "--col",
        action="append",
        default=[],
        metavar="NAME=COLUMN",
        help="map a file column to a law input (N, D, C, step, M, S1, ...) or loss (repeatable)",
    )
    p.add_argument(
        "--x",
        default=None,
        help="variable of one-input laws (inputs: x): N (default), D, C or step; an error with "
        "laws that have no x input",
    )
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
    return dict(
        delta=args.delta,
        starts=args.starts,
        seed=args.seed,
        columns=parse_column_mapping(args.col),
        x=args.x or "N",
        flops_per_token=args.flops_per_token,
        drop_top_losses=args.drop_top_losses,
    )


def add_overwrite_option(p: argparse.ArgumentParser) -> None:
    """``--overwrite``: replace an existing non-empty ``--out`` folder whole (never mixed)."""
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing non-empty --out folder whole (without it, such a folder is "
        "refused; new results are never mixed with old files)",
    )


def noise_model(args: argparse.Namespace) -> Noise:
    """The :class:`~bayescale.likelihood.Noise` of ``--noise`` (default huber), ``--delta`` and
    ``--noise-slope``."""
    return Noise(args.noise or "huber", args.delta, hetero=bool(args.noise_slope))


def add_resampling_options(u: argparse._ArgumentGroup) -> None:
    """How ``fit --method bootstrap`` resamples: ``--cluster``, ``--compute-bins``,
    ``--block-size``, ``--block-by``."""
    u.add_argument("--cluster", metavar="COLUMN", help="cluster bootstrap: resample whole groups")
    u.add_argument(
        "--compute-bins",
        type=int,
        metavar="B",
        help="cluster bootstrap over B equal-width bins of log10 compute (or of --block-by)",
    )
    u.add_argument(
        "--block-size",
        type=int,
        metavar="K",
        help="moving-block bootstrap: resamples made of runs of K neighbours along compute (or "
        "--block-by), for residuals correlated along it (the point bootstrap is then too narrow)",
    )
    u.add_argument(
        "--block-by",
        metavar="COLUMN",
        help="what --block-size and --compute-bins run along: C (default; a one-input law: its "
        "x), a law input, or a table column",
    )


def check_resampling_options(args: argparse.Namespace) -> list[str]:
    """Check the options of :func:`add_resampling_options`; return the block options given."""
    blocks = {"--block-size": args.block_size, "--block-by": args.block_by,
              "--compute-bins": args.compute_bins}  # fmt: skip
    given = [o for o, v in blocks.items() if v is not None]
    if given and args.method != "bootstrap":
        raise UsageError(f"{given[0]} goes with --method bootstrap, not --method {args.method}")
    if sum(v is not None for v in (args.block_size, args.cluster, args.compute_bins)) > 1:
        raise UsageError(
            "choose one of --block-size (runs of neighbours), --cluster, --compute-bins"
        )
    if args.block_by is not None and args.block_size is None and args.compute_bins is None:
        raise UsageError("--block-by goes with --block-size or --compute-bins")
    if (args.block_size or 1) < 1 or (args.compute_bins or 2) < 2:
        raise UsageError("--block-size must be >= 1 and --compute-bins >= 2")
    return given


def resampling(args: argparse.Namespace, f: Fit, table: pd.DataFrame) -> dict:
    """``groups``, ``block_size`` and ``block_by`` of the bootstrap from ``--cluster``,
    ``--compute-bins``, ``--block-size`` and ``--block-by`` (a law input, ``C``, or a column)."""

    def column(option: str, name: str) -> np.ndarray:
        if name not in table.columns:
            raise DataError(
                f"{option} column {name!r} is not in the table (nor a law input); the table has "
                f"columns {list(table.columns)}"
            )
        return table.loc[f.data.rows, name].to_numpy()

    by, law = args.block_by, f.law
    if by is not None and by not in law.inputs and not (by == "C" and {"N", "D"} <= {*law.inputs}):
        by = column("--block-by", by).astype(float)
    groups = column("--cluster", args.cluster) if args.cluster else None
    if args.compute_bins is not None:
        values = (
            by
            if isinstance(by, np.ndarray)
            else ordering(law, f.data.x, by, f.data.flops_per_token)
        )
        groups, by = compute_bins(values, args.compute_bins), None
    return {"groups": groups, "block_size": args.block_size, "block_by": by}


#: ``--strategy`` choices and the optimiser settings each stands for.
STRATEGIES = {
    "explore": FitConfig(),
    "explore-bfgs": FitConfig(explore_optimizer="bfgs"),
    "full": FitConfig(explore_steps=0),
}


def fit_config(args: argparse.Namespace) -> FitConfig:
    """The optimiser settings ``--strategy`` asks for: explore/polish (adam or BFGS steps in the
    explore stage), or every start in full."""
    return STRATEGIES[args.strategy]


def nuts_config(args: argparse.Namespace, **settings: object) -> NutsConfig:
    """:class:`~bayescale.infer.types.NutsConfig` from ``--chains``, ``--warmup``, ``--draws``,
    ``--seed`` (and ``--target-accept`` where the command has it), plus ``settings``."""
    fields = {
        "num_chains": args.chains,
        "num_warmup": args.warmup,
        "num_samples": args.draws,
        "seed": args.seed,
    }
    if getattr(args, "target_accept", None) is not None:
        fields["target_accept"] = args.target_accept
    return NutsConfig(**{**fields, **settings})


def add_evaluation_options(p: argparse.ArgumentParser, method: str) -> None:
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
    p.add_argument("--noise-slope", action="store_true", help=NOISE_SLOPE_HELP)
    p.add_argument(
        "--level",
        "--prob",
        dest="prob",
        type=float,
        default=0.9,
        help="central probability of the held-out intervals (default 0.9)",
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
