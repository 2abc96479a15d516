"""Hold-out rules shared by extrapolation, backtests and comparison: which rows are held out.

* :func:`parse_holdout` - ``"C=1e21"`` or ``("C", 1e21)`` as ``(column, cap)``;
* :func:`cap_values` - the values of a canonical variable (``C`` derived as ``k N D`` when
  absent) or any numeric column at given rows;
* :func:`test_rows` - the rows a ``test_column`` marks as held out (1 / true / yes);
* :func:`held_out` - one of the two rules applied; :func:`curve_index` - curves matched by
  their group values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayescale.data.columns import X_CHOICES, numeric_column
from bayescale.data.io import DataError
from bayescale.data.preparation import prepare

#: Values of a test column that mark a row as held out (compared case-insensitively as text).
TRUE_WORDS = ("1", "1.0", "true", "yes", "y", "t")
FALSE_WORDS = ("0", "0.0", "false", "no", "n", "f", "")


def parse_holdout(holdout_above: tuple[str, float] | str) -> tuple[str, float]:
    """``("C", 1e21)`` or ``"C=1e21"`` as ``(column, cap)``.

    Raises
    ------
    DataError
        On a malformed rule or a cap that is not a finite number.
    """
    if isinstance(holdout_above, str):
        col, sep, value = holdout_above.rpartition("=")
        if not sep or not col.strip():
            raise DataError(
                f"malformed hold-out rule {holdout_above!r}: expected COLUMN=VALUE, e.g. C=1e21"
            )
        holdout_above = (col.strip(), value)
    try:
        col, value = holdout_above
    except (TypeError, ValueError):
        raise DataError(
            f"hold-out rule must be (column, cap) or 'COLUMN=VALUE', e.g. "
            f"('C', 1e21); got {holdout_above!r}"
        ) from None
    try:
        cap = float(value)
    except (TypeError, ValueError):
        cap = float("nan")
    if not np.isfinite(cap):
        raise DataError(f"hold-out cap for {col!r} must be a finite number, got {value!r}")
    return str(col), cap


def cap_values(
    table: pd.DataFrame,
    rows: np.ndarray,
    column: str,
    *,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
) -> np.ndarray:
    """Values of the hold-out column at the table rows ``rows`` (index labels).

    A canonical variable (``N``, ``D``, ``C``, ``step``) is read through
    :func:`~bayescale.prepare` (column mapping and ``C = k N D`` derivation included);
    any other name must be a numeric column of the table.

    Raises
    ------
    DataError
        On an unknown column or non-numeric values.
    """
    if column in X_CHOICES:
        opts = {"columns": columns, "x": x, "flops_per_token": flops_per_token}
        try:
            p = prepare(table, (column,), drop_top_losses=drop_top_losses, **opts)
        except DataError as err:
            raise DataError(f"cannot hold out by {column!r}: {err}") from None
        return pd.Series(p.x[column], index=p.rows).loc[rows].to_numpy(dtype=np.float64)
    if column not in table.columns:
        raise DataError(
            f"unknown hold-out column {column!r}: not a canonical variable {list(X_CHOICES)} "
            f"and not a column of the table; the table has columns {list(table.columns)}"
        )
    try:
        return numeric_column(table.loc[rows], column, column)
    except DataError as err:
        raise DataError(f"cannot hold out by {column!r}: {err}") from None


def test_rows(table: pd.DataFrame, rows: np.ndarray, column: str) -> np.ndarray:
    """Which of the rows ``rows`` (index labels) a test column marks as held out.

    Parameters
    ----------
    table
        The table.
    rows
        Index labels of the rows to read.
    column
        The test column: 1 / true / yes marks a held-out row, 0 / false / no a training row
        (booleans, numbers or text, case-insensitive).

    Returns
    -------
    numpy.ndarray
        Boolean ``(len(rows),)``.

    Raises
    ------
    DataError
        On a missing column or a value that is neither true nor false.
    """
    if column not in table.columns:
        raise DataError(
            f"unknown test column {column!r}; the table has columns {list(table.columns)}"
        )
    text = table.loc[rows, column].astype(str).str.strip().str.lower().to_numpy()
    bad = sorted({t for t in text if t not in TRUE_WORDS + FALSE_WORDS})
    if bad:
        raise DataError(
            f"test column {column!r} must hold 1/true (held out) or 0/false (training); "
            f"found {bad[:5]}"
        )
    return np.isin(text, TRUE_WORDS)


def held_out(
    table: pd.DataFrame,
    rows: np.ndarray,
    holdout_above: tuple[str, float] | str | None,
    test_column: str | None,
    by: str,
    opts: dict,
) -> tuple[np.ndarray, np.ndarray, str, float | None]:
    """``(held, values, column, cap)``: which rows are held out, and the distance variable.

    Raises
    ------
    DataError
        Unless exactly one of ``holdout_above`` and ``test_column`` is given, or when the
        rule holds out nothing.
    """
    if (holdout_above is None) == (test_column is None):
        raise DataError("give one hold-out rule: holdout_above=(COLUMN, CAP) or test_column=COL")
    if holdout_above is not None:
        column, cap = parse_holdout(holdout_above)
        values = cap_values(table, rows, column, **opts)
        held = values > cap
        if not held.any():
            raise DataError(
                f"holding out {column} > {cap:g} holds out nothing: the largest {column} "
                f"among the {len(values)} points is {values.max():g}; choose a lower cap"
            )
        return held, values, column, cap
    held = test_rows(table, rows, test_column)
    if not held.any():
        raise DataError(f"test column {test_column!r} marks no row as held out (1 or true)")
    return held, cap_values(table, rows, by, **opts), by, None


def curve_index(known: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Row of ``known`` holding each row of ``keys`` (same columns), -1 where none."""
    if not len(keys.columns):
        return np.zeros(len(keys), int)
    left = keys.astype(str).reset_index(drop=True)
    right = known.astype(str).reset_index(drop=True).reset_index(names="_at")
    out = left.merge(right, how="left", on=list(keys.columns))["_at"]
    return out.fillna(-1).to_numpy(dtype=int)


__all__ = ["cap_values", "curve_index", "held_out", "parse_holdout", "test_rows"]
