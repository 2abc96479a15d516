"""``bayescale fit --group ... --distributed``: one batch over several processes (a cluster).

Every process runs the same command line; each fits its share of the curves and the records
are gathered (:func:`~bayescale.workflows.distributed.distribute`); process 0 alone prints and
writes ``--out``. Under SLURM (``srun``) or Open MPI (``mpirun``) JAX finds the coordinator,
the number of processes and each one's index itself; elsewhere give ``--coordinator``,
``--num-processes`` and ``--process-id`` (or set ``JAX_COORDINATOR_ADDRESS`` for the first).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pandas as pd

from bayescale.cli.options import UsageError
from bayescale.workflows.distributed import distribute, start_processes


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    """Register ``--distributed`` and the runtime's settings on ``p``."""
    g = p.add_argument_group("several processes (with --group; one process per node)")
    g.add_argument(
        "--distributed",
        action="store_true",
        help="split the curves across the processes of JAX's distributed runtime and gather one "
        "table; run the same command in every process (e.g. under srun); process 0 writes --out",
    )
    g.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="address of process 0 (default: detected under SLURM or Open MPI, or "
        "$JAX_COORDINATOR_ADDRESS)",
    )
    g.add_argument("--num-processes", type=int, metavar="N", help="processes in the run")
    g.add_argument("--process-id", type=int, metavar="I", help="this process, 0 .. N - 1")


def join_cluster(args: argparse.Namespace) -> int:
    """Join the runtime when ``--distributed`` asks for it (before any JAX work).

    Parameters
    ----------
    args
        Parsed options with ``--distributed``, ``--coordinator``, ``--num-processes``,
        ``--process-id`` and ``--group``.

    Returns
    -------
    int
        This process's index (0 without ``--distributed``).

    Raises
    ------
    UsageError
        For ``--distributed`` without ``--group``, or runtime settings without
        ``--distributed``.
    """
    settings = (args.coordinator, args.num_processes, args.process_id)
    if not args.distributed:
        if any(v is not None for v in settings):
            raise UsageError("--coordinator, --num-processes and --process-id need --distributed")
        return 0
    if not args.group:
        raise UsageError("--distributed splits the curves of a batch: add --group COLUMN")
    rank, _ = start_processes(*settings)
    return rank


def run_batch(args: argparse.Namespace, fn: Callable[[pd.DataFrame], Any], table: Any) -> Any:
    """``fn(table)``, or with ``--distributed`` every process's share gathered."""
    return distribute(fn, table, group=args.group) if args.distributed else fn(table)
