"""Command line: ``bayescale fit | laws | replicate | report | allocate | critique | predict |
extrapolate | compare | backtest``.

Exit codes: 0 success, 2 bad input (one readable line on stderr), 1 internal error (one line;
``--debug``, accepted anywhere on the line, shows the traceback), 130 / 143 interrupted by
SIGINT / SIGTERM (one line; partial output removed); see :mod:`~bayescale.cli.guard`. The
commands live in
:mod:`~bayescale.cli.fitting`, :mod:`~bayescale.cli.replication`, :mod:`~bayescale.cli.saved`,
:mod:`~bayescale.cli.prediction`, :mod:`~bayescale.cli.evaluation` and
:mod:`~bayescale.cli.backtesting`; what they share in :mod:`~bayescale.cli.options`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bayescale.cli.backtesting import add_backtest_command
from bayescale.cli.evaluation import add_evaluation_commands
from bayescale.cli.fitting import add_fit_commands
from bayescale.cli.guard import run_command
from bayescale.cli.options import OneLineParser
from bayescale.cli.prediction import add_predict_command
from bayescale.cli.replication import add_replicate_command
from bayescale.cli.saved import add_saved_commands


def build_parser() -> argparse.ArgumentParser:
    """The ``bayescale`` argument parser with every command."""
    parser = OneLineParser(
        prog="bayescale",
        description="Fit neural scaling laws with honest uncertainty.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_fit_commands(sub)
    add_replicate_command(sub)
    add_saved_commands(sub)
    add_predict_command(sub)
    add_evaluation_commands(sub)
    add_backtest_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 2 bad input, 1 internal error, 130 / 143 interrupted (SIGINT / SIGTERM).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.command_line = " ".join(["bayescale", *argv])
    if args.command is None:
        parser.print_help()
        return 2
    return run_command(args, debug)


__all__ = ["build_parser", "main"]
