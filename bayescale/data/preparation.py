"""Turn a table of training runs into the arrays a law is fitted to.

:func:`prepare` maps source columns to the law's input names, derives one of ``N``, ``D``, ``C``
from the other two when needed (``C = flops_per_token * N * D``) and the tokens-per-parameter
ratio ``M = D / N``, validates every used value, applies the requested filters and records all
of it, so a fit can say exactly which data it saw. Nothing is ever dropped silently: invalid
values raise :class:`DataError`, and every filter leaves a record in :attr:`Prepared.filters`.

A law input may be any name. The canonical inputs ``N``, ``D``, ``C``, ``step`` and the derived
``M`` (and the forward learning-rate area ``S1``) must be finite and > 0; any other input (an
annealing area ``S2``, a source loss ``L0``, ...) is read from the column of that name, or the
column mapped to it, and must be numeric and finite (it may be 0 or negative).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale._jax import x64
from bayescale.data.columns import (  # noqa: F401 - CANONICAL etc. are re-exported
    CANONICAL,
    DESCRIPTIONS,
    INPUT_DESCRIPTIONS,
    KNOWN,
    POSITIVE,
    X_CHOICES,
    check_mapping,
    derivation,
    fmt_rows,
    json_label,
    missing_error,
    numeric_column,
    parse_column_mapping,
)
from bayescale.data.health import health_warnings
from bayescale.data.io import DataError
from bayescale.likelihood import Data


class Prepared(NamedTuple):
    """Arrays for one fit, with a record of how they were obtained.

    Attributes
    ----------
    x
        Law input name -> float64 array ``(n,)``, in the order of the ``inputs`` given.
    loss
        Observed loss, float64 ``(n,)``.
    rows
        Index labels (of the input table) of the kept rows, in order.
    columns
        Input name -> source column actually used (only names that were used). A law input
        ``"x"`` taken from a column is recorded as ``columns["x"]`` too.
    derived
        Input name -> formula, for values computed from other columns, e.g.
        ``{"D": "C / (6 * N)"}`` or ``{"M": "D / N"}``; an ``"x"`` input taken from a derived
        value also appears here.
    flops_per_token
        Factor ``k`` in ``C = k * N * D``.
    filters
        JSON-serialisable records of every filter applied, in order.
    n_input_rows
        Number of rows of the input table.
    warnings
        Plain-language warnings about the fitted points
        (:func:`~bayescale.data.health.health_warnings`): no residual degrees of freedom, a
        constant loss, a loss that does not fall where the law assumes it does.
    """

    x: dict[str, np.ndarray]
    loss: np.ndarray
    rows: np.ndarray
    columns: dict[str, str]
    derived: dict[str, str]
    flops_per_token: float
    filters: tuple[dict, ...]
    n_input_rows: int
    warnings: tuple[str, ...] = ()


def _needed(inputs: Sequence[str], x: str) -> list[str]:
    inputs = list(inputs)
    if not inputs:
        raise DataError("the law names no input columns")
    for name in inputs:
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"law inputs must be non-empty strings, got {name!r} in {inputs}")
        if name == "loss":
            raise DataError(
                "a law input cannot be named 'loss': 'loss' is the target column a law predicts"
            )
    dup = sorted({i for i in inputs if inputs.count(i) > 1})
    if dup:
        raise DataError(f"duplicate law inputs {dup}")
    if x not in X_CHOICES:
        raise DataError(
            f"x must be one of {list(X_CHOICES)} (the variable a law's 'x' uses), got {x!r}"
        )
    needed = []
    for name in inputs:
        canon = x if name == "x" else name
        if canon not in needed:
            needed.append(canon)
    return needed + ["loss"]


def _drop_top_losses(loss: np.ndarray, labels: pd.Index, k: int) -> tuple[np.ndarray, dict]:
    """Epoch AI's rule: keep rows with ``loss < sorted(loss)[-k]``."""
    threshold = float(np.sort(loss)[-k])
    keep = loss < threshold
    record = {
        "name": "drop_top_losses",
        "k": k,
        "threshold": threshold,
        "n_dropped": int((~keep).sum()),
        "dropped_rows": [json_label(v) for v in labels[~keep]],
    }
    return keep, record


def prepare(
    df: pd.DataFrame,
    inputs: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    n_params: int | None = None,
    health: bool = True,
) -> Prepared:
    """Select, derive, validate and filter the columns a law needs.

    Parameters
    ----------
    df
        Table of training runs, one row per (run, checkpoint); it is not modified.
    inputs
        The law's input names, e.g. ``("N", "D")``; ``"x"`` means the canonical variable named
        by ``x``. ``"M"`` is tokens per parameter, ``D / N``, read from an ``M`` column or
        derived from ``N`` and ``D`` (or from ``C`` and one of them). Any other name is read from
        the column of that name (or the one mapped to it). ``"loss"`` is always used.
    columns
        Input name (canonical, ``"M"`` or any law input) -> source column; wins over a column
        with the input's name itself. Names the law does not use are allowed (one mapping may
        serve several laws) and are pointed out if a column turns out missing.
    x
        Which canonical variable (``"N"``, ``"D"``, ``"C"`` or ``"step"``) an input ``"x"`` is.
    flops_per_token
        ``k`` in ``C = k * N * D``, used when one of ``N``, ``D``, ``C`` is derived.
    drop_top_losses
        Drop the rows with the ``K`` largest losses, Epoch AI's way: keep ``loss <
        sorted(loss)[-K]``, so rows tied with the threshold are dropped too. 0 drops nothing.
    n_params
        Number of law parameters; if given, at least this many points must remain.
    health
        Check the points that remain (:func:`~bayescale.data.health.health_warnings`);
        ``False`` skips it, for a table of many curves, where one check of all points says
        nothing.

    Returns
    -------
    Prepared
        The arrays and a record of the columns, derivations and filters used, with warnings
        about the points that remain (:func:`~bayescale.data.health.health_warnings`).

    Raises
    ------
    DataError
        For an empty table, unknown or duplicate mappings, missing columns (the message lists
        every column the law needs), non-numeric or non-finite values, non-positive values of
        an input in :data:`POSITIVE`, bad options, or too few points left.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"prepare needs a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise DataError("the table is empty: it has no rows")
    try:
        factor = float(flops_per_token)
    except (TypeError, ValueError):
        factor = math.nan
    if not (math.isfinite(factor) and factor > 0):
        raise DataError(f"flops_per_token must be finite and > 0, got {flops_per_token!r}")
    if not isinstance(drop_top_losses, numbers.Integral) or isinstance(drop_top_losses, bool):
        raise DataError(f"drop_top_losses must be an integer >= 0, got {drop_top_losses!r}")
    if drop_top_losses < 0:
        raise DataError(f"drop_top_losses must be >= 0, got {drop_top_losses}")
    needed = _needed(inputs, x)
    mapping = check_mapping(df, columns or {}, x)

    claimed = set(mapping.values())
    sources: dict[str, Hashable] = {}
    for name in dict.fromkeys([*KNOWN, *needed]):
        if name in mapping:
            sources[name] = mapping[name]
        elif name in df.columns and name not in claimed:
            sources[name] = name

    derived: dict[str, str] = {}
    via: dict[str, tuple] = {}
    used: dict[str, Hashable] = {}
    missing: list[str] = []
    for name in needed:
        if name in sources:
            used[name] = sources[name]
            continue
        found = derivation(name, sources)
        if found is None:
            missing.append(name)
            continue
        via[name] = found
        derived[name] = found[1].format(k=f"{factor:g}")
        for v in found[0]:
            used.setdefault(v, sources[v])
    if missing:
        unused = [k for k in mapping if k not in KNOWN and k not in needed]
        raise missing_error(missing, needed, df, factor, unused)

    values = {name: numeric_column(df, name, src) for name, src in used.items()}
    for name in derived:
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            out = via[name][2](*(values[v] for v in via[name][0]), factor)
        bad = ~(np.isfinite(out) & (out > 0))
        if bad.any():
            rows = list(df.index[bad])
            raise DataError(
                f"deriving {name} = {derived[name]} gives {len(rows)} non-positive or "
                f"non-finite values (rows {fmt_rows(rows)}); fix these rows first"
            )
        values[name] = out

    keep = np.ones(len(df), dtype=bool)
    filters: list[dict] = []
    if drop_top_losses:
        if drop_top_losses >= len(df):
            raise DataError(
                f"drop_top_losses={drop_top_losses} would drop every row: the table has only "
                f"{len(df)} rows"
            )
        keep, record = _drop_top_losses(values["loss"], df.index, int(drop_top_losses))
        filters.append(record)

    n_kept = int(keep.sum())
    if n_params is not None and n_kept < n_params:
        raise DataError(
            f"only {n_kept} points remain after filters but the law has {n_params} parameters; "
            "a fit needs at least as many points as parameters"
        )

    out_cols: dict[str, str] = dict(used)
    x_arrays: dict[str, np.ndarray] = {}
    for name in inputs:
        canon = x if name == "x" else name
        x_arrays[name] = np.ascontiguousarray(values[canon][keep], dtype=np.float64)
        if name == "x":
            if canon in derived:
                derived["x"] = derived[canon]
            else:
                out_cols["x"] = used[canon]
    loss = np.ascontiguousarray(values["loss"][keep], dtype=np.float64)
    return Prepared(
        x=x_arrays,
        loss=loss,
        rows=df.index.to_numpy()[keep],
        columns=out_cols,
        derived=derived,
        flops_per_token=factor,
        filters=tuple(filters),
        n_input_rows=len(df),
        warnings=health_warnings(
            {x if k == "x" else k: v for k, v in x_arrays.items()}, loss, n_params
        )
        if health
        else (),
    )


@x64
def as_data(prepared: Prepared) -> Data:
    """The arrays of a :class:`Prepared` as float64 :class:`~bayescale.likelihood.Data`.

    Parameters
    ----------
    prepared
        Output of :func:`prepare`.

    Returns
    -------
    Data
        Inputs, log loss and unit weights, float64 JAX arrays.
    """
    return Data(
        x={k: jnp.asarray(v, dtype=jnp.float64) for k, v in prepared.x.items()},
        log_y=jnp.log(jnp.asarray(prepared.loss, dtype=jnp.float64)),
        weight=jnp.ones(len(prepared.loss), dtype=jnp.float64),
    )
