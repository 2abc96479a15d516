"""The column vocabulary of the data layer and the checks of single columns.

Canonical names and what they mean, which inputs must be positive, how a missing ``N``, ``D``,
``C`` or ``M`` is derived from the others, the column mapping (``columns=`` / ``--col``), and
the numeric/finite/positive check of one used column. :func:`bayescale.data.preparation.prepare`
puts them together.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence

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
MAX_ROWS_SHOWN = 10


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


def fmt_rows(labels: Sequence[Hashable]) -> str:
    """Row labels for an error message: the first ``MAX_ROWS_SHOWN``, then how many more."""
    shown = ", ".join(str(v) for v in labels[:MAX_ROWS_SHOWN])
    more = len(labels) - MAX_ROWS_SHOWN
    return f"{shown}, and {more} more" if more > 0 else shown


def json_label(label: Hashable) -> int | str:
    """A row label as JSON can store it (integers stay integers, anything else a string)."""
    if isinstance(label, numbers.Integral) and not isinstance(label, bool):
        return int(label)
    return str(label)


def check_mapping(df: pd.DataFrame, columns: Mapping[str, Hashable], x: str) -> dict[str, Hashable]:
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


#: How a missing input is derived: name -> [(source names, formula, function)], first match wins.
DERIVATIONS: dict[str, list[tuple[tuple[str, str], str, Callable[..., np.ndarray]]]] = {
    "D": [(("N", "C"), "C / ({k} * N)", lambda n, c, k: c / (k * n))],
    "N": [(("D", "C"), "C / ({k} * D)", lambda d, c, k: c / (k * d))],
    "C": [(("N", "D"), "{k} * N * D", lambda n, d, k: k * n * d)],
    "M": [
        (("N", "D"), "D / N", lambda n, d, k: d / n),
        (("N", "C"), "C / ({k} * N^2)", lambda n, c, k: c / (k * n * n)),
        (("D", "C"), "{k} * D^2 / C", lambda d, c, k: k * d * d / c),
    ],
}


def derivation(name: str, sources: Mapping[str, Hashable]) -> tuple | None:
    """The first derivation of ``name`` whose source columns are all present, or ``None``."""
    for rule in DERIVATIONS.get(name, []):
        if all(v in sources for v in rule[0]):
            return rule
    return None


def missing_hint(name: str, factor: float) -> str:
    """How a missing input could be supplied instead (derivation or schedule), or ``""``."""
    if name in ("N", "D", "C"):
        a, b = [v for v in ("N", "D", "C") if v != name]
        formula = DERIVATIONS[name][0][1].format(k=f"{factor:g}")
        return f" (or provide {a} and {b} so {name} = {formula} can be derived)"
    if name == "M":
        return " (or provide N and D, or C and one of N, D, so M = D / N can be derived)"
    if name in ("S1", "S2"):
        return (
            " (compute S1 and S2 from the learning-rate schedule with "
            "bayescale.data.schedule.add_annealing_areas)"
        )
    return ""


def missing_error(
    missing: Sequence[str], needed: Sequence[str], df: pd.DataFrame, factor: float, unused: list
) -> DataError:
    """One error naming every column the law needs and every one that is missing."""
    parts = "; ".join(
        f"missing column {n!r} ({INPUT_DESCRIPTIONS.get(n, 'law input')}) needed by the law"
        for n in missing
    )
    hints = "".join(dict.fromkeys(missing_hint(n, factor) for n in missing))
    tail = f"; columns= also maps {unused}, which this law does not use (a typo?)" if unused else ""
    return DataError(
        f"law needs columns {list(needed)}; {parts}; the table has columns {list(df.columns)}; "
        f"map one with columns={{{missing[0]!r}: ...}} / --col {missing[0]}=NAME{hints}{tail}"
    )


def numeric_column(df: pd.DataFrame, canon: str, source: Hashable) -> np.ndarray:
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
                f"(rows {fmt_rows(rows)}){example}"
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
            f"{label} has {len(rows)} {what} values (rows {fmt_rows(rows)}); {need}. "
            "Nothing is dropped silently: remove or fix these rows first."
        )
    return values
