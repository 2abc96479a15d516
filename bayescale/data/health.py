"""Data health: problems that make a table unusable (errors) or a fit suspect (warnings).

Duplicate column names are an error, raised when the table is read
(:func:`bayescale.data.io.check_unique_columns`). Warnings are plain sentences a fit carries in its
result (``Fit.data.warnings``, the JSON ``warnings`` list, the terminal): no residual degrees of
freedom, a constant loss, a loss that does not fall where the law assumes it does
(:func:`health_warnings`), and rows whose group key is blank (:func:`blank_key_warnings`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from bayescale.data.columns import fmt_rows

#: Law inputs along which a scaling law assumes the loss falls (sizes, compute, steps, the
#: forward learning-rate area). ``M``, ``S2`` and the inputs of loss-to-loss or downstream laws
#: are not among them.
DECREASING = ("x", "N", "D", "C", "step", "S1")
#: Warn when the rank correlation of loss with scale is at least this (no decrease at all).
MIN_FALL = 0.0


def constant(loss: np.ndarray) -> bool:
    """Whether every value of ``loss`` is the same (a law is then not identified)."""
    loss = np.asarray(loss, dtype=np.float64)
    return loss.size > 0 and bool(np.all(loss == loss[0]))


def scale_of(x: Mapping[str, np.ndarray]) -> tuple[str, np.ndarray] | None:
    """The scale variable a law's loss should fall along: the product of its decreasing
    inputs (``N * D``, ``C``, ``x``, ...), with a label; ``None`` if it has none."""
    names = [k for k in x if k in DECREASING]
    if not names:
        return None
    values = np.ones(len(np.asarray(x[names[0]])), dtype=np.float64)
    for k in names:
        values = values * np.asarray(x[k], dtype=np.float64)
    return " * ".join(names), values


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of ``a`` and ``b`` (ties get average ranks); NaN if either
    is constant."""
    ra = pd.Series(np.asarray(a, dtype=np.float64)).rank().to_numpy()
    rb = pd.Series(np.asarray(b, dtype=np.float64)).rank().to_numpy()
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def health_warnings(
    x: Mapping[str, np.ndarray], loss: np.ndarray, n_params: int | None
) -> tuple[str, ...]:
    """Plain-language warnings about the points a law is fitted to.

    Parameters
    ----------
    x
        Law input name -> values of the fitted points.
    loss
        Observed loss of the fitted points.
    n_params
        Parameters fitted (law and noise), or ``None`` to skip the degrees-of-freedom check.

    Returns
    -------
    tuple of str
        Warnings, possibly none: zero residual degrees of freedom, a constant loss, a loss
        that does not fall with the law's scale variable.
    """
    loss = np.asarray(loss, dtype=np.float64)
    n = int(loss.size)
    out = []
    if n_params is not None and n <= n_params:
        out.append(
            f"{n} points for {n_params} parameters leave {n - n_params} residual degrees of "
            "freedom: the fit passes through the data and says nothing about its uncertainty; "
            "add points or fit a law with fewer parameters"
        )
    if constant(loss):
        out.append(
            f"every one of the {n} points has the same loss ({loss[0]:g}): the law is not "
            "identified and its parameters mean nothing; check the loss column"
        )
        return tuple(out)
    scale = scale_of(x)
    if scale is not None and n >= 3:
        label, values = scale
        rho = rank_correlation(values, loss)
        if rho >= MIN_FALL:
            out.append(
                f"the loss does not fall as {label} grows (rank correlation {rho:+.2f} over "
                f"{n} points), but the law assumes it does; check the loss and input columns"
            )
    return tuple(out)


def blank_key_warnings(df: pd.DataFrame, cols: Sequence[Hashable]) -> tuple[str, ...]:
    """Warnings for rows whose group key is missing or blank: they form a curve of their own.

    Parameters
    ----------
    df
        The long table.
    cols
        The group columns.

    Returns
    -------
    tuple of str
        One warning per group column with blank keys, naming the rows.
    """
    out = []
    for c in cols:
        col = df[c]
        blank = col.isna().to_numpy()
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            # text keys only (a numeric column of ten million rows is not mapped value by value)
            blank = blank | col.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool)
        if blank.any():
            rows = list(df.index[blank])
            out.append(
                f"group column {c!r} is blank in {len(rows)} row(s) (rows {fmt_rows(rows)}): "
                "they are fitted as one curve of their own, not with any other; fill in their "
                "key (or drop them) if they belong to another curve"
            )
    return tuple(out)
