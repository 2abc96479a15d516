"""What the commands share: the usage error, the option groups, and their settings builders.

Command modules import this module, never :mod:`bayescale.cli` itself.
"""

from __future__ import annotations

import argparse

from bayescale.data.columns import parse_column_mapping
from bayescale.infer.types import NutsConfig
from bayescale.optimize.multistart import FitConfig


class UsageError(ValueError):
    """Bad command-line input (exit code 2)."""


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
        x=args.x,
        flops_per_token=args.flops_per_token,
        drop_top_losses=args.drop_top_losses,
    )


def fit_config(args: argparse.Namespace) -> FitConfig:
    """The optimiser settings ``--strategy`` asks for (explore/polish, or every start in full)."""
    return FitConfig() if args.strategy == "explore" else FitConfig(explore_steps=0)


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
