"""``bayescale replicate``: the main job, a published analysis replicated on bundled data."""

from __future__ import annotations

import argparse
import json
import sys

from bayescale.cli.checks import check_output, check_resources
from bayescale.cli.options import UsageError, add_overwrite_option
from bayescale.data.io import read_table
from bayescale.workflows.replication import (
    REPLICATIONS,
    ReplicationSettings,
    replicate,
    summary_lines,
)


def add_replicate_command(sub: argparse._SubParsersAction) -> None:
    """Register ``replicate`` on the CLI's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "replicate",
        help="the main job: replicate a published analysis on bundled data",
        description="Replicate Besiroglu et al. (2024) on the bundled Chinchilla data: the "
        "Hoffmann-grid fit, the MLE-Huber bootstrap, NUTS, the critique against hoffmann2022 "
        "and the report, all written to --out.",
        epilog="example:\n  bayescale replicate chinchilla --out replication\n",
        formatter_class=fmt,
    )
    p.add_argument("name", help="replication to run: chinchilla")
    p.add_argument(
        "--out",
        default="replication",
        metavar="DIR",
        help="output folder (new or empty, or --overwrite), written whole or not at all",
    )
    add_overwrite_option(p)
    p.add_argument("--resamples", type=int, default=4000, help="bootstrap resamples")
    p.add_argument("--chains", type=int, default=4, help="NUTS chains")
    p.add_argument("--warmup", type=int, default=1000, help="NUTS warmup per chain")
    p.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    p.add_argument("--seed", type=int, default=42, help="seed (bootstrap and NUTS)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_replicate)


def cmd_replicate(args: argparse.Namespace) -> int:
    """``bayescale replicate``."""
    if args.resamples < 2 or min(args.chains, args.warmup, args.draws) < 1:
        raise UsageError("--resamples must be >= 2 and --chains, --warmup, --draws >= 1")
    if args.name not in REPLICATIONS:
        raise UsageError(f"unknown replication {args.name!r}; available: {list(REPLICATIONS)}")
    check_output(args)
    table = read_table(f"example:{args.name}")
    for method in ("bootstrap", "nuts"):
        planned = argparse.Namespace(**{**vars(args), "method": method, "starts": "hoffmann"})
        check_resources(planned, [args.name], table)
    settings = ReplicationSettings(args.resamples, args.chains, args.warmup, args.draws, args.seed)
    log = (lambda line: print(line, file=sys.stderr)) if args.json else print
    s = replicate(
        args.name,
        args.out,
        settings,
        log=log,
        progress=not args.no_progress and sys.stderr.isatty(),
        command=args.command_line,
        overwrite=args.overwrite,
    )
    if args.json:
        print(json.dumps(s, default=float))
        return 0
    print()
    for line in summary_lines(s):
        print(line)
    print(f"({s['seconds']:.0f} s; everything is in {args.out}/)")
    return 0
