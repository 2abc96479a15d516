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
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.io import DataError

CANONICAL = ("N", "D", "C", "step", "loss")
DESCRIPTIONS = {
    "N": "parameters",
    "D": "tokens",
    "C": "training FLOPs",
    "step": "training step",
    "loss": "loss",
}
X_CHOICES = ("N", "D", "C", "step")
#: Inputs derived from the canonical columns when the table lacks them.
DERIVED = ("M",)
#: Names that may always appear in a column mapping, whatever the law.
KNOWN = CANONICAL + DERIVED
#: Inputs that must be > 0 (besides being finite): sizes, counts, ratios and the LR area S1.
POSITIVE = ("N", "D", "C", "step", "M", "S1", "loss")
#: Descriptions of inputs, used in error messages (other names are "law input").
INPUT_DESCRIPTIONS = {
    **DESCRIPTIONS,
    "M": "tokens per parameter, D / N",
    "S1": "forward area: sum of learning rates up to the step",
    "S2": "learning-rate annealing area",
    "L0": "loss on the source distribution",
    "L": "loss, the input of a downstream law",
}
_MAX_ROWS_SHOWN = 10


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
    """

    x: dict[str, np.ndarray]
    loss: np.ndarray
    rows: np.ndarray
    columns: dict[str, str]
    derived: dict[str, str]
    flops_per_token: float
    filters: tuple[dict, ...]
    n_input_rows: int


def parse_column_mapping(items: Sequence[str]) -> dict[str, str]:
    """Parse ``NAME=SOURCE`` items (the CLI's ``--col``) into a column mapping.

    Parameters
    ----------
    items
        Strings such as ``"N=Model Size"`` or ``"S2=anneal_area"``; the name is a canonical
        column or any law input, and the source column may itself contain ``=``.

    Returns
    -------
    dict
        Input name -> source column name.

    Raises
    ------
    DataError
        If an item has no ``=``, an empty name or an empty source name, or gives the same
        name twice. Whether the name suits the law is checked by :func:`prepare`.
    """
    if isinstance(items, str):
        items = [items]
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, source = str(item).partition("=")
        name = name.strip()
        if not sep:
            raise DataError(
                f"malformed column mapping {item!r}: expected NAME=COLUMN, e.g. 'N=Model Size'"
            )
        if not name:
            raise DataError(
                f"column mapping {item!r} names no input: expected NAME=COLUMN, e.g. "
                "'N=Model Size' or 'S2=anneal_area'"
            )
        if not source:
            raise DataError(f"column mapping {item!r} names no source column")
        if name in mapping:
            raise DataError(
                f"duplicate column mapping for {name!r}: {mapping[name]!r} and {source!r}"
            )
        mapping[name] = source
    return mapping


def _fmt_rows(labels: Sequence[Hashable]) -> str:
    shown = ", ".join(str(v) for v in labels[:_MAX_ROWS_SHOWN])
    more = len(labels) - _MAX_ROWS_SHOWN
    return f"{shown}, and {more} more" if more > 0 else shown


def _json_label(label: Hashable) -> int | str:
    if isinstance(label, numbers.Integral) and not isinstance(label, bool):
        return int(label)
    return str(label)


def _check_mapping(
    df: pd.DataFrame, columns: Mapping[str, Hashable], x: str
) -> dict[str, Hashable]:
    """Check a column mapping: names non-empty (not ``"x"``), sources present and distinct.

    A name the law does not use is allowed (one mapping may serve several laws); it still
    claims its source column, and a missing-column error points it out as a possible typo.
    """
    mapping = dict(columns)
    for name in mapping:
        if not isinstance(name, str) or not name.strip():
            raise DataError(
                f"columns= has an empty or non-string input name {name!r}; keys must name a "
                f"canonical column {list(KNOWN)} or an input of the law"
            )
        if name == "x":
            raise DataError(
                f"columns= cannot map 'x': a law's 'x' input is the canonical variable chosen "
                f"with x= (now {x!r}); map that instead, e.g. columns={{{x!r}: ...}}"
            )
    seen: dict[Hashable, str] = {}
    for name, source in mapping.items():
        if source in seen:
            raise DataError(
                f"duplicate column mapping: {seen[source]!r} and {name!r} both map to {source!r}"
            )
        seen[source] = name
        if source not in df.columns:
            raise DataError(
                f"column {source!r} (mapped to {name!r}) is not in the table; the table has "
                f"columns {list(df.columns)}"
            )
    return mapping


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


#: How a missing input is derived: name -> [(source names, formula, function)], first match wins.
_DERIVATIONS: dict[str, list[tuple[tuple[str, str], str, Callable[..., np.ndarray]]]] = {
    "D": [(("N", "C"), "C / ({k} * N)", lambda n, c, k: c / (k * n))],
    "N": [(("D", "C"), "C / ({k} * D)", lambda d, c, k: c / (k * d))],
    "C": [(("N", "D"), "{k} * N * D", lambda n, d, k: k * n * d)],
    "M": [
        (("N", "D"), "D / N", lambda n, d, k: d / n),
        (("N", "C"), "C / ({k} * N^2)", lambda n, c, k: c / (k * n * n)),
        (("D", "C"), "{k} * D^2 / C", lambda d, c, k: k * d * d / c),
    ],
}


def _derivable(name: str, sources: Mapping[str, Hashable]) -> tuple | None:
    """The first derivation of ``name`` whose source columns are all present, or ``None``."""
    for rule in _DERIVATIONS.get(name, []):
        if all(v in sources for v in rule[0]):
            return rule
    return None


def _missing_hint(name: str, factor: float) -> str:
    if name in ("N", "D", "C"):
        a, b = [v for v in ("N", "D", "C") if v != name]
        formula = _DERIVATIONS[name][0][1].format(k=f"{factor:g}")
        return f" (or provide {a} and {b} so {name} = {formula} can be derived)"
    if name == "M":
        return " (or provide N and D, or C and one of N, D, so M = D / N can be derived)"
    if name in ("S1", "S2"):
        return (
            " (compute S1 and S2 from the learning-rate schedule with "
            "bayescale.data.schedule.add_annealing_areas)"
        )
    return ""


def _missing_error(
    missing: Sequence[str], needed: Sequence[str], df: pd.DataFrame, factor: float, unused: list
) -> DataError:
    """One error naming every column the law needs and every one that is missing."""
    parts = "; ".join(
        f"missing column {n!r} ({INPUT_DESCRIPTIONS.get(n, 'law input')}) needed by the law"
        for n in missing
    )
    hints = "".join(dict.fromkeys(_missing_hint(n, factor) for n in missing))
    tail = f"; columns= also maps {unused}, which this law does not use (a typo?)" if unused else ""
    return DataError(
        f"law needs columns {list(needed)}; {parts}; the table has columns {list(df.columns)}; "
        f"map one with columns={{{missing[0]!r}: ...}} / --col {missing[0]}=NAME{hints}{tail}"
    )


def _numeric(df: pd.DataFrame, canon: str, source: Hashable) -> np.ndarray:
    """The values of one used column, checked numeric and finite (and > 0 if in POSITIVE)."""
    label = f"column {source!r}" + ("" if source == canon else f" (used as {canon!r})")
    if int(np.sum(df.columns == source)) > 1:
        raise DataError(f"{label} appears more than once in the table; rename the duplicates")
    col = df[source]
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        coerced = pd.to_numeric(col, errors="coerce")
        bad = coerced.isna() & col.notna()
        if pd.api.types.is_bool_dtype(col) or bool(bad.any()):
            rows = list(df.index[bad.to_numpy()]) if bad.any() else list(df.index)
            example = f"; e.g. {col[bad].iloc[0]!r}" if bad.any() else ""
            raise DataError(
                f"{label} is not numeric (dtype {col.dtype}): {len(rows)} non-numeric values "
                f"(rows {_fmt_rows(rows)}){example}"
            )
        col = coerced
    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    positive = canon in POSITIVE
    bad = ~(np.isfinite(values) & (values > 0)) if positive else ~np.isfinite(values)
    if bad.any():
        rows = list(df.index[bad])
        what = "non-positive or non-finite" if positive else "non-finite"
        need = (
            "scaling laws need N, D, C, step and loss > 0 and finite"
            if canon in CANONICAL
            else f"the law input {canon!r} must be " + ("> 0 and finite" if positive else "finite")
        )
        raise DataError(
            f"{label} has {len(rows)} {what} values (rows {_fmt_rows(rows)}); {need}. "
            "Nothing is dropped silently: remove or fix these rows first."
        )
    return values


def _drop_top_losses(loss: np.ndarray, labels: pd.Index, k: int) -> tuple[np.ndarray, dict]:
    """Epoch AI's rule: keep rows with ``loss < sorted(loss)[-k]``."""
    threshold = float(np.sort(loss)[-k])
    keep = loss < threshold
    record = {
        "name": "drop_top_losses",
        "k": k,
        "threshold": threshold,
        "n_dropped": int((~keep).sum()),
        "dropped_rows": [_json_label(v) for v in labels[~keep]],
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

    Returns
    -------
    Prepared
        The arrays and a record of the columns, derivations and filters used.

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
    mapping = _check_mapping(df, columns or {}, x)

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
        found = _derivable(name, sources)
        if found is None:
            missing.append(name)
            continue
        via[name] = found
        derived[name] = found[1].format(k=f"{factor:g}")
        for v in found[0]:
            used.setdefault(v, sources[v])
    if missing:
        unused = [k for k in mapping if k not in KNOWN and k not in needed]
        raise _missing_error(missing, needed, df, factor, unused)

    values = {name: _numeric(df, name, src) for name, src in used.items()}
    for name in derived:
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            out = via[name][2](*(values[v] for v in via[name][0]), factor)
        bad = ~(np.isfinite(out) & (out > 0))
        if bad.any():
            rows = list(df.index[bad])
            raise DataError(
                f"deriving {name} = {derived[name]} gives {len(rows)} non-positive or "
                f"non-finite values (rows {_fmt_rows(rows)}); fix these rows first"
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
    return Prepared(
        x=x_arrays,
        loss=np.ascontiguousarray(values["loss"][keep], dtype=np.float64),
        rows=df.index.to_numpy()[keep],
        columns=out_cols,
        derived=derived,
        flops_per_token=factor,
        filters=tuple(filters),
        n_input_rows=len(df),
    )
