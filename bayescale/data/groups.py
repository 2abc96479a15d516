"""The pandas edge of batch fitting: a long table split into padded, bucketed curve arrays.

:func:`split_groups` validates the whole table once with :func:`~bayescale.data.preparation.prepare`
(any problem raises :class:`~bayescale.data.DataError` before anything is computed), splits
it by one or more group columns into curves, applies per-curve filters, flags curves that
cannot be fitted (too few points, constant loss) and packs the rest into buckets: curves whose
point counts round up to the same length (the next power of two, at least ``min_length``) are
padded to it with weight-0 points, so every bucket is one array shape and compiles once.
:func:`curves_table` turns per-curve results back into a tidy DataFrame, one row per curve.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.health import blank_key_warnings
from bayescale.data.io import DataError
from bayescale.data.preparation import Prepared, prepare
from bayescale.likelihood import Data
from bayescale.status import CONSTANT_LOSS, MESSAGES, NAMES, TOO_FEW_POINTS

#: Status code of a curve that is to be fitted (not yet assigned a result).
PENDING = -1
#: Per-curve result columns of :func:`curves_table` besides the group keys and parameters.
RESULT_COLUMNS = ("n_points", "objective", "status", "message", "n_near_best", "grad_norm")


class Bucket(NamedTuple):
    """Curves padded to one length.

    Attributes
    ----------
    length
        Padded number of points.
    curves
        Indices (into :attr:`Curves.keys`) of the curves in this bucket, ascending.
    data
        Numpy arrays ``(len(curves), length)``; pads have weight 0, inputs 1 and log loss 0.
    """

    length: int
    curves: np.ndarray
    data: Data


class Curves(NamedTuple):
    """A table split into curves.

    Attributes
    ----------
    keys
        One row per curve: the group columns' values, index ``0..n_curves-1``.
    n_points
        Points per curve after filters, ``(n_curves,)``.
    n_rows
        Rows per curve in the input table, ``(n_curves,)``.
    status
        :data:`PENDING` for curves to fit, else a code of
        :data:`bayescale.status.NAMES` (``too_few_points``, ``constant_loss``).
    buckets
        The curves to fit, grouped by padded length (shortest first).
    prepared
        The whole-table validation record (columns used, derivations).
    curve
        Curve index of every input row, ``(n_input_rows,)``.
    kept
        Whether each input row survived the per-curve filters, ``(n_input_rows,)``.
    warnings
        Plain-language warnings about the split: rows with a blank group key (fitted as a
        curve of their own), curves with no residual degrees of freedom.
    """

    keys: pd.DataFrame
    n_points: np.ndarray
    n_rows: np.ndarray
    status: np.ndarray
    buckets: tuple[Bucket, ...]
    prepared: Prepared
    curve: np.ndarray
    kept: np.ndarray
    warnings: tuple[str, ...] = ()


def bucket_length(n: int, min_length: int = 8) -> int:
    """Padded length for ``n`` points: the next power of two, at least ``min_length``."""
    return max(int(min_length), 1 << max(0, math.ceil(math.log2(max(1, int(n))))))


def _group_list(group: str | Sequence[Hashable]) -> list[Hashable]:
    cols = [group] if isinstance(group, str) or not isinstance(group, Sequence) else list(group)
    if not cols:
        raise DataError("group needs at least one column name")
    dup = sorted({str(c) for c in cols if cols.count(c) > 1})
    if dup:
        raise DataError(f"group columns repeat: {dup}")
    return cols


def curve_codes(
    df: pd.DataFrame, group: str | Sequence[Hashable]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Curve index of every row (curves in sorted key order) and the key table.

    Parameters
    ----------
    df
        Long table, one row per point.
    group
        Column name, or sequence of names, whose distinct values (missing values included)
        define the curves; keys of mixed, unorderable types are ordered by first appearance.

    Returns
    -------
    tuple
        ``(codes, keys)``: ``(n_rows,)`` integers in ``0 .. n_curves - 1`` and one row of
        group values per curve, the order :func:`split_groups` gives its curves.

    Raises
    ------
    DataError
        For a missing, repeated or duplicated group column.
    """
    cols = _group_list(group)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            f"group column(s) {missing} not in the table; the table has columns {list(df.columns)}"
        )
    for c in cols:
        if int(np.sum(df.columns == c)) > 1:
            raise DataError(f"group column {c!r} appears more than once in the table")
    keys = df[cols].reset_index(drop=True)
    try:
        codes = keys.groupby(cols, sort=True, dropna=False, observed=True).ngroup()
    except TypeError:  # keys of mixed, unorderable types: order of first appearance
        codes = keys.groupby(cols, sort=False, dropna=False, observed=True).ngroup()
    codes = codes.to_numpy(dtype=np.int64)
    first = np.full(int(codes.max()) + 1, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, keys.iloc[first].reset_index(drop=True)


def _filter_top(loss: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Per-curve Epoch rule: keep ``loss < sorted(curve losses)[-k]``; drop all if ``k >= n``."""
    keep = np.ones(len(loss), dtype=bool)
    if k <= 0:
        return keep
    order = np.lexsort((-loss, codes))
    counts = np.bincount(codes)
    begin = np.concatenate([[0], np.cumsum(counts)[:-1]])
    thr = np.full(len(counts), -np.inf)
    has = counts > k
    thr[has] = loss[order[begin[has] + k - 1]]
    return loss < thr[codes]


def split_groups(
    df: pd.DataFrame,
    inputs: Sequence[str],
    group: str | Sequence[Hashable],
    *,
    n_params: int,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    min_length: int = 8,
) -> Curves:
    """Validate a long table and split it into padded, bucketed curves.

    Parameters
    ----------
    df
        Long table, one row per point; it is not modified.
    inputs
        The law's inputs (see :func:`~bayescale.data.preparation.prepare`).
    group
        Column name, or sequence of names, whose distinct values (missing values included)
        define the curves.
    n_params
        Parameters fitted per curve; curves with fewer points are flagged ``too_few_points``.
    columns, x, flops_per_token
        As for :func:`~bayescale.data.preparation.prepare`, applied to the whole table.
    drop_top_losses
        Per curve, drop the ``K`` highest-loss points (Epoch AI's rule, ties dropped too); a
        curve with ``K`` or fewer points loses them all.
    min_length
        Smallest padded length.

    Returns
    -------
    Curves
        Key table, per-curve counts and pre-fit status, and the buckets to fit.

    Raises
    ------
    DataError
        For any problem with the table as a whole (empty, missing or bad columns, non-positive
        or non-finite values, a bad group column, a bad option).
    """
    cols = _group_list(group)
    clash = sorted(set(map(str, cols)) & set(RESULT_COLUMNS))
    if clash:
        raise DataError(f"group column(s) {clash} clash with result columns; rename them first")
    if not isinstance(drop_top_losses, (int, np.integer)) or isinstance(drop_top_losses, bool):
        raise DataError(f"drop_top_losses must be an integer >= 0, got {drop_top_losses!r}")
    if drop_top_losses < 0:
        raise DataError(f"drop_top_losses must be >= 0, got {drop_top_losses}")
    prepared = prepare(
        df, inputs, columns=columns, x=x, flops_per_token=flops_per_token, health=False
    )
    codes, keys = curve_codes(df, cols)
    log_y = np.log(prepared.loss)
    kept = _filter_top(prepared.loss, codes, int(drop_top_losses))
    n_curves = len(keys)
    n_rows = np.bincount(codes, minlength=n_curves)
    n_points = np.bincount(codes[kept], minlength=n_curves)
    lo = np.full(n_curves, np.inf)
    hi = np.full(n_curves, -np.inf)
    np.minimum.at(lo, codes[kept], log_y[kept])
    np.maximum.at(hi, codes[kept], log_y[kept])
    status = np.full(n_curves, PENDING, dtype=np.int64)
    status[(n_points > 0) & (lo == hi)] = CONSTANT_LOSS
    status[n_points < max(1, int(n_params))] = TOO_FEW_POINTS

    # Sort kept rows by curve (stable: input order within a curve) and find each point's slot.
    rows = np.flatnonzero(kept & (status[codes] == PENDING))
    rows = rows[np.argsort(codes[rows], kind="stable")]
    c = codes[rows]
    sel_counts = np.bincount(c, minlength=n_curves)
    begin = np.concatenate([[0], np.cumsum(sel_counts)[:-1]])
    slot = np.arange(len(rows)) - begin[c]
    mantissa, exponent = np.frexp(np.maximum(n_points, 1))  # n = m 2**e, m in [0.5, 1)
    lengths = np.maximum(int(min_length), 2 ** (exponent - (mantissa == 0.5))).astype(np.int64)
    buckets = []
    for length in np.unique(lengths[status == PENDING]):
        ids = np.flatnonzero((status == PENDING) & (lengths == length))
        pos = np.full(n_curves, -1, dtype=np.int64)
        pos[ids] = np.arange(len(ids))
        mine = pos[c] >= 0
        r, s = pos[c[mine]], slot[mine]
        shape = (len(ids), int(length))
        xs = {}
        for name, values in prepared.x.items():
            a = np.ones(shape)
            a[r, s] = values[rows[mine]]
            xs[name] = a
        y = np.zeros(shape)
        y[r, s] = log_y[rows[mine]]
        w = np.zeros(shape)
        w[r, s] = 1.0
        buckets.append(Bucket(int(length), ids, Data(xs, y, w)))
    warnings = blank_key_warnings(df, cols)
    exact = int(np.sum((status == PENDING) & (n_points == int(n_params))))
    if exact:
        warnings += (
            f"{exact} curve(s) have as many points as parameters ({int(n_params)}): no residual "
            "degrees of freedom, so their fits pass through the data and say nothing about "
            "their uncertainty",
        )
    return Curves(keys, n_points, n_rows, status, tuple(buckets), prepared, codes, kept, warnings)


def curves_table(
    curves: Curves,
    names: Sequence[str],
    params: np.ndarray,
    objective: np.ndarray,
    status: np.ndarray,
    n_near_best: np.ndarray,
    grad_norm: np.ndarray,
) -> pd.DataFrame:
    """One tidy row per curve: group keys, ``n_points``, parameters and fit diagnostics.

    Parameters
    ----------
    curves
        The split table.
    names
        Column names of the parameters (natural names, then noise parameters).
    params
        Natural parameters per curve, ``(n_curves, len(names))`` (NaN where not fitted).
    objective, status, n_near_best, grad_norm
        Per-curve results; ``status`` holds :data:`bayescale.status.NAMES` codes.

    Returns
    -------
    pandas.DataFrame
        Columns: the group keys, ``n_points``, the parameters, ``objective``, ``status`` (name),
        ``message``, ``n_near_best``, ``grad_norm``.

    Raises
    ------
    DataError
        If a group column has the name of a result column.
    """
    clash = sorted(set(map(str, curves.keys.columns)) & (set(names) | set(RESULT_COLUMNS)))
    if clash:
        raise DataError(f"group column(s) {clash} clash with result columns; rename them first")
    status = np.asarray(status, dtype=np.int64)
    messages = [MESSAGES[int(s)] for s in status]
    for i in np.flatnonzero(status == TOO_FEW_POINTS):
        n = int(curves.n_points[i])
        left = "no points left" if n == 0 else f"only {n} point{'s' * (n != 1)}"
        dropped = int(curves.n_rows[i]) - n
        messages[i] = (
            f"{left} (of {int(curves.n_rows[i])} rows"
            + (f", {dropped} dropped by filters" if dropped else "")
            + f") but {len(names)} parameters; not fitted"
        )
    table = curves.keys.copy()
    table["n_points"] = curves.n_points
    for j, name in enumerate(names):
        table[name] = params[:, j]
    table["objective"] = objective
    table["status"] = [NAMES[int(s)] for s in status]
    table["message"] = messages
    table["n_near_best"] = n_near_best
    table["grad_norm"] = grad_norm
    return table
