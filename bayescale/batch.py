"""The one-call batch level: many curves from one long table, every group its own fit.

:func:`fit_groups` splits a table by one or more group columns
(:func:`bayescale.data.groups.split_groups`), pads the curves into a few shape buckets, fits
every bucket in fixed-size chunks of curves x starts with one compiled call per bucket
(:func:`bayescale.fit.batch.fit_chunks`, split across all local devices), and returns a
:class:`BatchFit` with one tidy table row per curve.

Failure isolation: problems with the table as a whole raise
:class:`~bayescale.data.DataError` before anything is computed; a curve that cannot be fitted
(fewer points than parameters, e.g. after filters, or a constant loss) is flagged in its own
row and not fitted, and a curve whose fit ends non-finite gets status ``non_finite``; neither
affects any other curve, because every curve runs in its own lanes of the vectorised
optimiser. See :mod:`bayescale.fit.batch` for running on several hosts.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale._jax import enable_x64
from bayescale.api import resolve_starts
from bayescale.data import read_table
from bayescale.data.groups import Curves, curves_table, split_groups
from bayescale.fit.batch import (
    CURVE_STATUS,
    curve_mesh,
    default_chunk_size,
    fit_chunks,
    lanes_for,
)
from bayescale.fit.multistart import NON_FINITE, FitConfig, MultiStartResult
from bayescale.laws import Law, get_law
from bayescale.likelihood import Loss, Noise, check_objective, extra_names, n_extra


class BucketInfo(NamedTuple):
    """How one shape bucket was run.

    Attributes
    ----------
    length
        Padded points per curve.
    n_curves
        Curves fitted in the bucket.
    lanes
        Curves per compiled call (the compiled shape; the last chunk is padded to it).
    n_chunks
        Compiled calls made.
    """

    length: int
    n_curves: int
    lanes: int
    n_chunks: int


class BatchFit(NamedTuple):
    """Fits of many curves (plain values, numpy arrays and a DataFrame).

    Attributes
    ----------
    table
        One row per curve: group keys, ``n_points``, natural parameters (plus noise
        parameters), ``objective``, ``status`` (a name from
        :data:`~bayescale.fit.batch.CURVE_STATUS`), ``message``, ``n_near_best``,
        ``grad_norm``. Parameters are NaN for curves that were not fitted or whose fit ended
        non-finite.
    theta
        Best parameters in fit space, ``(n_curves, P)``.
    result
        :class:`~bayescale.fit.multistart.MultiStartResult` with a leading curve axis (numpy).
        Curves that were not fitted hold NaN parameters and objectives, 0 steps, and their
        curve status code in ``status`` and ``start_status``. For fitted curves ``status`` is
        the best start's code, as in a single fit (a converged start when one ties the best
        objective; see :class:`~bayescale.fit.multistart.MultiStartResult`), and the table's
        ``status`` is its name.
    law
        The law fitted.
    objective
        The :class:`~bayescale.likelihood.Loss` or :class:`~bayescale.likelihood.Noise`.
    starts
        Description of the starts (as in :class:`~bayescale.api.Fit`), with ``"n"``.
    config
        Optimiser settings.
    buckets
        One :class:`BucketInfo` per shape bucket; each distinct ``(length, lanes)`` compiled
        once (unless already compiled earlier in the process).
    seconds
        Wall time, compilation included.
    curves
        The split table (:class:`~bayescale.data.groups.Curves`): keys, row-to-curve map,
        per-curve filters, validation record.
    """

    table: pd.DataFrame
    theta: np.ndarray
    result: MultiStartResult
    law: Law
    objective: Loss | Noise
    starts: dict
    config: FitConfig
    buckets: tuple[BucketInfo, ...]
    seconds: float
    curves: Curves

    @property
    def n_compiled_shapes(self) -> int:
        """Number of distinct compiled chunk shapes this fit used."""
        return len({(b.length, b.lanes) for b in self.buckets})


def _empty_result(n: int, n_starts: int, n_par: int, status: np.ndarray) -> MultiStartResult:
    nan = np.full((n, n_par), np.nan)
    return MultiStartResult(
        theta=nan,
        params=nan.copy(),
        objective=np.full(n, np.nan),
        start_theta=np.full((n, n_starts, n_par), np.nan),
        start_objective=np.full((n, n_starts), np.nan),
        start_status=np.repeat(status[:, None], n_starts, axis=1).astype(np.int32),
        start_steps=np.zeros((n, n_starts), dtype=np.int32),
        n_near_best=np.zeros(n, dtype=np.int32),
        grad_norm=np.full(n, np.nan),
        status=status.astype(np.int32),
    )


def progress_bar(enabled: bool, total: int, desc: str = "fit_groups") -> Any:
    """A tqdm bar over ``total`` curves, or ``None`` when not ``enabled``."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError as err:  # pragma: no cover - tqdm is installed with the test extra
        raise ImportError("progress=True needs tqdm: pip install tqdm") from err
    return tqdm(total=total, desc=desc, unit="curve")


def fit_groups(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    group: Hashable | Sequence[Hashable],
    loss: Loss | Noise | str = "huber",
    delta: float = 1e-3,
    starts: str | int | np.ndarray = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    config: FitConfig = FitConfig(),
    chunk_size: int | None = None,
    min_length: int = 8,
    devices: Sequence[Any] | None = None,
    progress: bool = False,
) -> BatchFit:
    """Fit one law to every group of a long table, every group its own curve.

    Parameters
    ----------
    data
        A DataFrame or a path (``.csv``, ``.tsv``, ``.parquet``), one row per point.
    law
        Registered law name or a :class:`~bayescale.laws.Law`.
    group
        Column name, or list of names, whose distinct values define the curves.
    loss, delta, starts, seed, columns, x, flops_per_token, config
        As for :func:`bayescale.fit`; the same starts are used for every curve.
    drop_top_losses
        Per curve, drop its ``K`` highest losses (Epoch AI's rule); 0 drops nothing.
    chunk_size
        Curves per compiled call; default from free memory
        (:func:`~bayescale.fit.batch.default_chunk_size`). Rounded up to a multiple of the
        device count. Fewer curves than this run in one call of the next power of two.
    min_length
        Smallest padded curve length; curves are padded to the next power of two above it.
        Raising it merges buckets (fewer compilations, more padding).
    devices
        Devices to split every chunk over (default: all local devices).
    progress
        Show a tqdm progress bar (curves done, updated after every chunk).

    Returns
    -------
    BatchFit
        The per-curve table, parameters and diagnostics.

    Raises
    ------
    DataError
        For problems with the table as a whole (missing or bad columns, non-positive or
        non-finite values, a bad group column), before any computation.

    Notes
    -----
    Cost. A chunk runs as long as its slowest start: under ``vmap`` every step is taken by all
    lanes until the last one stops. With a Huber loss some starts stall at the loss's kinks
    and run to ``config.max_steps``, and a restart (``config.restarts``) runs for all curves
    of a chunk as soon as one needs it, so a chunk costs about ``(restarts + 1) * max_steps``
    steps of ``polish`` lanes per curve. For large batches
    ``FitConfig(polish=4, max_steps=300, restarts=0)`` is about 10x faster than the default on
    30-point Chinchilla curves and found the same optima as scipy in
    ``benchmarks/bench_batch.py``; curves that then end at ``max_steps`` are flagged, not hidden.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import bayescale as bs
    >>> from bayescale.batch import fit_groups
    >>> n = np.geomspace(1e7, 1e10, 12)
    >>> df = pd.DataFrame({"run": np.repeat(["a", "b"], 12), "N": np.tile(n, 2),
    ...                    "loss": np.tile(1.7 + 200 * n**-0.3, 2)})
    >>> out = fit_groups(df, "power", group="run", starts=8)
    >>> list(out.table["status"])
    ['converged', 'converged']
    """
    t0 = time.perf_counter()
    law = get_law(law)
    objective = check_objective(Loss(loss, delta) if isinstance(loss, str) else loss)
    n_par = law.n_params + n_extra(objective)
    curves = split_groups(
        read_table(data),
        law.inputs,
        group,
        n_params=n_par,
        columns=columns,
        x=x,
        flops_per_token=flops_per_token,
        drop_top_losses=drop_top_losses,
        min_length=min_length,
    )
    arr, desc = resolve_starts(law, starts, seed, objective)
    desc = {**desc, "n": int(arr.shape[0])}
    mesh = curve_mesh(devices)
    n_dev = int(mesh.size)
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    plans = []
    for b in curves.buckets:
        chunk = chunk_size or default_chunk_size(arr.shape[0], b.length, n_dev)
        lanes = lanes_for(len(b.curves), int(chunk), n_dev)
        plans.append(BucketInfo(b.length, len(b.curves), lanes, -(-len(b.curves) // lanes)))

    n = len(curves.keys)
    result = _empty_result(n, arr.shape[0], n_par, np.maximum(curves.status, 0))
    status = curves.status.copy()
    bar = progress_bar(progress, int(sum(p.n_curves for p in plans)))
    try:
        with enable_x64():
            for b, plan in zip(curves.buckets, plans, strict=True):
                out = fit_chunks(
                    arr,
                    b.data,
                    law,
                    objective,
                    config,
                    chunk=plan.lanes,
                    mesh=mesh,
                    progress=None if bar is None else bar.update,
                )
                for field, value in zip(result._fields, out, strict=True):
                    getattr(result, field)[b.curves] = value
                status[b.curves] = out.status
    finally:
        if bar is not None:
            bar.close()
    names = law.natural_names + extra_names(objective)
    shown = np.where((status == NON_FINITE)[:, None], np.nan, result.params)
    table = curves_table(
        curves,
        names,
        shown,
        result.objective,
        status,
        result.n_near_best,
        result.grad_norm,
    )
    return BatchFit(
        table=table,
        theta=result.theta,
        result=result,
        law=law,
        objective=objective,
        starts=desc,
        config=config,
        buckets=tuple(plans),
        seconds=time.perf_counter() - t0,
        curves=curves,
    )


__all__ = ["CURVE_STATUS", "BatchFit", "BucketInfo", "fit_groups"]
