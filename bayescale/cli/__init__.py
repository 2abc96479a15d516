"""Command line: ``bayescale fit | laws | replicate | report | allocate | critique | extrapolate |
compare``.

Exit codes: 0 success, 2 bad input (one readable line on stderr), 1 internal error (one line;
``--debug``, accepted anywhere on the line, shows the traceback). The commands live in
:mod:`~bayescale.cli.fitting`, :mod:`~bayescale.cli.replication`, :mod:`~bayescale.cli.saved` and
:mod:`~bayescale.cli.evaluation`; what they share in :mod:`~bayescale.cli.options`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bayescale.cli.evaluation import add_evaluation_commands
from bayescale.cli.fitting import add_fit_commands
from bayescale.cli.replication import add_replicate_command
from bayescale.cli.saved import add_saved_commands


def build_parser() -> argparse.ArgumentParser:
    """The ``bayescale`` argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="bayescale",
        description="Fit neural scaling laws with honest uncertainty.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_fit_commands(sub)
    add_replicate_command(sub)
    add_saved_commands(sub)
    add_evaluation_commands(sub)
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
        0 success, 2 bad input, 1 internal error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.command_line = " ".join(["bayescale", *argv])
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, KeyError) as err:  # DataError and UsageError are ValueErrors
        if debug:
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"bayescale: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `bayescale laws | head`
        return 0
    except Exception as err:  # noqa: BLE001 - one line unless --debug
        if debug:
            raise
        print(
            f"bayescale: internal error: {type(err).__name__}: {err} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


__all__ = ["build_parser", "main"]
