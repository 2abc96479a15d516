"""Checks every command makes before any compute: options that apply, outputs that can be
written, and memory enough for the run it asks for.

* :func:`check_x` - ``--x`` given to laws that have no ``x`` input is a usage error;
* :func:`check_uncertainty_options`, :func:`check_resampling_columns` - the bootstrap, NUTS and
  Laplace options of ``fit``, checked before the point fit runs;
* :func:`check_output` - ``--out`` that is a file (or, for a report, a folder), or a non-empty
  folder without ``--overwrite``;
* :func:`check_resources` - the memory a fit, bootstrap or NUTS run of the requested size
  needs, from the shapes alone (:mod:`bayescale.lanes`), refused with one line that names a
  setting that fits.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pandas as pd

from bayescale.cli.options import (
    UsageError,
    check_resampling_options,
    noise_model,
    nuts_config,
)
from bayescale.infer.validate import check_config
from bayescale.lanes import bootstrap_bytes, fit_bytes, nuts_bytes, require_memory
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law, grid_starts
from bayescale.optimize.multistart import FitConfig
from bayescale.optimize.points import points_fit_bytes
from bayescale.predict.protocols import get_protocol
from bayescale.results.atomic import check_target

#: Noise parameters a likelihood may add to a law's own (log sigma and its slope).
NOISE_PARAMS = 2


def check_x(args: argparse.Namespace, laws: Sequence[str | Law]) -> None:
    """``--x`` applies only to laws with an ``x`` input; given to none of ``laws``, it is a
    usage error (the option would be silently ignored)."""
    if getattr(args, "x", None) is None:
        return
    resolved = [get_law(law) for law in laws]
    if not any("x" in law.inputs for law in resolved):
        names = ", ".join(f"{law.name} ({', '.join(law.inputs)})" for law in resolved)
        raise UsageError(
            f"--x {args.x} chooses the variable of a one-input law (inputs: x), but the law "
            f"here has no x input: {names}; drop --x, or use --col to map its inputs"
        )


def check_uncertainty_options(args: argparse.Namespace) -> None:
    """Bootstrap, NUTS and Laplace options, checked before any fit runs."""
    if args.method == "bootstrap" and args.resamples is not None and args.resamples < 2:
        raise UsageError(f"--resamples must be >= 2, got {args.resamples}")
    for option, value in (("--boot-objective", args.boot_objective), ("--protocol", args.protocol)):
        if value is not None and args.method != "bootstrap":
            raise UsageError(f"{option} goes with --method bootstrap, not --method {args.method}")
        if value is not None and args.group:
            raise UsageError(f"{option} is for single fits; a batch bootstrap refits likelihoods")
    given = check_resampling_options(args)
    if args.protocol is not None:
        get_protocol(args.protocol)  # unknown name: exit 2 before any work
        given += [o for o, v in (("--resamples", args.resamples), ("--boot-objective",
                  args.boot_objective), ("--cluster", args.cluster)) if v is not None]  # fmt: skip
        if given or args.boot_starts:
            raise UsageError(
                f"--protocol {args.protocol} sets the resamples, seed, resampling, starts and "
                f"refit objective; drop {', '.join(given or ['--boot-starts'])}"
            )
    if args.method == "auto" and not args.group:
        raise UsageError("--method auto picks an engine per curve: add --group (one curve: nuts)")
    if args.method in ("nuts", "auto") and (min(args.chains, args.draws) < 1 or args.warmup < 0):
        raise UsageError("--chains and --draws must be >= 1 and --warmup >= 0")
    if args.method in ("nuts", "auto"):
        check_config(noise_model(args), nuts_config(args))  # e.g. --target-accept 1.5
    if args.boot_starts < 0:
        raise UsageError(f"--boot-starts must be >= 0, got {args.boot_starts}")
    if args.robust and args.method != "laplace":
        raise UsageError("--robust goes with --method laplace")
    if args.group and args.method == "laplace":
        raise UsageError("--method laplace is for single fits; with --group use bootstrap or nuts")
    if args.group and (args.cluster or args.compute_bins):
        raise UsageError(
            "--cluster and --compute-bins are for single fits; with --group every curve is "
            "resampled (--block-size works with --group)"
        )


def check_resampling_columns(args: argparse.Namespace, table: pd.DataFrame) -> None:
    """``--cluster`` and ``--block-by`` columns present, ``--block-size`` below the number of
    rows: checked on the table before the point fit runs."""
    law = get_law(args.law)
    inputs = {*law.inputs, *(("C",) if {"N", "D"} <= {*law.inputs} else ())}
    for option, allowed in (("cluster", set()), ("block_by", inputs)):
        name = getattr(args, option, None)
        if name is not None and name not in table.columns and name not in allowed:
            raise UsageError(
                f"--{option.replace('_', '-')} column {name!r} is not in the table (nor a law "
                f"input); the table has columns {list(table.columns)}"
            )
    size = getattr(args, "block_size", None)
    if size is not None and size >= len(table) - args.drop_top_losses:
        raise UsageError(
            f"--block-size {size} must be smaller than the number of points "
            f"({len(table) - args.drop_top_losses})"
        )


def check_output(args: argparse.Namespace, kind: str = "folder") -> None:
    """``--out`` must be writable as a ``kind`` (see
    :func:`~bayescale.results.atomic.check_target`); checked before any work."""
    if getattr(args, "out", None):
        check_target(args.out, overwrite=getattr(args, "overwrite", False), kind=kind)


def start_count(law: Law, starts: str) -> int:
    """How many starts ``--starts`` asks for: a number, or the size of a named grid."""
    text = str(starts).strip()
    if text.isdigit():
        return int(text)
    try:
        return int(grid_starts(law, text).shape[0])
    except (KeyError, ValueError) as err:
        raise UsageError(str(err.args[0] if err.args else err)) from err


def curve_sizes(table: pd.DataFrame, group: Sequence[str] | None) -> tuple[int, int]:
    """``(largest curve's rows, number of curves)`` of a table split by ``group``."""
    if not group or not all(g in table.columns for g in group):
        return len(table), 1
    sizes = table.groupby(list(group), dropna=False, observed=True).size()
    return int(sizes.max()) if len(sizes) else 0, int(len(sizes))


def check_resources(
    args: argparse.Namespace,
    laws: Sequence[str | Law],
    table: pd.DataFrame,
    group: Sequence[str] | None = None,
) -> None:
    """Refuse, before any compute, a run that would not fit in memory.

    Parameters
    ----------
    args
        Parsed options: ``--starts`` and, where the command has them, ``--method``,
        ``--resamples``, ``--boot-starts``, ``--chains``, ``--draws``.
    laws
        The laws to be fitted.
    table
        The table they are fitted to.
    group
        Group columns (one curve per group), if any.

    Raises
    ------
    bayescale.lanes.ResourceError
        With the estimate, the limit and a setting that fits.
    """
    resolved = [get_law(law) for law in laws]
    n, n_curves = curve_sizes(table, group)
    p = max(law.n_params for law in resolved) + NOISE_PARAMS
    starts = max(start_count(law, getattr(args, "starts", "default")) for law in resolved)
    # one curve: every start on a subsample of a long curve; a batch: every start, every point
    one = n_curves == 1
    need = points_fit_bytes(starts, n, p, FitConfig()) if one else fit_bytes(starts, n, p)
    require_memory(
        need,
        f"--starts {args.starts} ({starts:,} starts) on {n:,} points",
        "--starts",
        per_unit=points_fit_bytes(1, n, p, FitConfig()) if one else fit_bytes(1, n, p),
    )
    method = getattr(args, "method", "point")
    if method == "bootstrap":
        r = getattr(args, "resamples", None) or 4000
        extra = getattr(args, "boot_starts", 0) or 0
        fixed, per = bootstrap_bytes(r, n, p, n_starts=1 + extra)
        per *= n_curves
        require_memory(
            fixed + r * per,
            f"--resamples {r:,} on {n:,} points" + (f" x {n_curves:,} curves" * (n_curves > 1)),
            "--resamples",
            per_unit=per,
            fixed=fixed,
        )
    if method in ("nuts", "auto"):
        chains, draws = args.chains, args.draws
        per = nuts_bytes(n, p) * chains * n_curves
        require_memory(
            draws * per,
            f"--draws {draws:,} x --chains {chains} on {n:,} points",
            "--draws",
            per_unit=per,
        )
