"""Reading tables: files, DataFrames and the bundled example data sets.

Every problem with user input raises :class:`DataError` (a :class:`ValueError`) with one readable
message; nothing here prints or warns.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

EXAMPLE_PREFIX = "example:"
SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")

# name -> (csv file, attribution file, column renames to canonical names)
_EXAMPLES: dict[str, tuple[str, str, dict[str, str]]] = {
    "chinchilla": (
        "chinchilla.csv",
        "chinchilla_SOURCE.md",
        {"Model Size": "N", "Training FLOP": "C"},
    ),
}


class DataError(ValueError):
    """A problem with the user's data or data options, described in one readable message."""


def check_unique_columns(names: Sequence[Hashable], where: str = "the table") -> None:
    """Raise if two columns share a name, naming both (1-based positions).

    Parameters
    ----------
    names
        Column names in file order (as written in the header, before any renaming).
    where
        What holds the columns, for the message (a file path or "the table").

    Raises
    ------
    DataError
        On the first repeated name.
    """
    first: dict[Hashable, int] = {}
    for i, key in enumerate(names):
        if key is None or (isinstance(key, float) and key != key):  # an unnamed column
            continue
        if key in first:
            raise DataError(
                f"{where} has two columns named {key!r} (columns {first[key] + 1} and {i + 1}); "
                "rename one so that it is clear which is meant"
            )
        first[key] = i


def list_examples() -> list[str]:
    """Names of the bundled example data sets.

    Returns
    -------
    list of str
        Sorted example names, usable with :func:`load_example` or ``"example:NAME"``.
    """
    return sorted(_EXAMPLES)


def _example(name: str) -> tuple[str, str, dict[str, str]]:
    if not isinstance(name, str) or name not in _EXAMPLES:
        raise DataError(f"unknown example {name!r}; available examples: {list_examples()}")
    return _EXAMPLES[name]


def _resource(filename: str):
    return resources.files("bayescale.data") / "examples" / filename


def load_example(name: str) -> pd.DataFrame:
    """Load a bundled example data set, with columns renamed to canonical names.

    Parameters
    ----------
    name
        Example name; see :func:`list_examples`.

    Returns
    -------
    pandas.DataFrame
        A fresh table. For ``"chinchilla"``: Epoch AI's extraction of Hoffmann et al.'s
        Figure 4 with ``"Model Size"`` renamed to ``"N"`` and ``"Training FLOP"`` to ``"C"``;
        the other columns (``x``, ``y``, ``color``, ``hex_color``, ``loss``) are kept.

    Raises
    ------
    DataError
        If the name is not a bundled example.
    """
    csv_name, _, renames = _example(name)
    with _resource(csv_name).open("rb") as fh:
        df = pd.read_csv(fh)
    return df.rename(columns=renames)


def example_source(name: str) -> str:
    """Attribution of a bundled example: origin, licence, citation and column meanings.

    Parameters
    ----------
    name
        Example name; see :func:`list_examples`.

    Returns
    -------
    str
        The attribution text (Markdown).

    Raises
    ------
    DataError
        If the name is not a bundled example.
    """
    _, md_name, _ = _example(name)
    return _resource(md_name).read_text(encoding="utf-8")


def read_table(source: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """Read a table of training runs.

    Parameters
    ----------
    source
        A :class:`pandas.DataFrame` (a copy is returned, the input is never modified),
        ``"example:NAME"`` for a bundled example, or a path to a ``.csv``, ``.tsv`` or
        ``.parquet`` / ``.pq`` file (Parquet needs ``pyarrow``).

    Returns
    -------
    pandas.DataFrame
        The table, with the file's own column names.

    Raises
    ------
    DataError
        If the file is missing, its suffix is not supported, it cannot be parsed, Parquet
        support is not installed, or ``source`` is of an unsupported type.
    """
    if isinstance(source, pd.DataFrame):
        check_unique_columns(list(source.columns))
        return source.copy()
    if isinstance(source, str) and source.startswith(EXAMPLE_PREFIX):
        return load_example(source[len(EXAMPLE_PREFIX) :])
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            "a table must be a pandas DataFrame, 'example:NAME' or a path to a "
            f"{'/'.join(SUFFIXES)} file; got {type(source).__name__}"
        )
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"cannot read {str(path)!r}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(SUFFIXES)} (or 'example:NAME' for {list_examples()})"
        )
    if not path.exists():
        raise DataError(f"data file not found: {str(path)!r}")
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    sep = "\t" if suffix == ".tsv" else ","
    try:
        table = pd.read_csv(path, sep=sep)
        if len(table.columns) > 1:  # pandas renames a repeated name (loss, loss.1): read it raw
            header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str)
            check_unique_columns(list(header.iloc[0]), repr(str(path)))
        return table
    except pd.errors.EmptyDataError as err:
        raise DataError(f"data file {str(path)!r} is empty") from err
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise DataError(f"could not read {str(path)!r}: {err}") from err


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except ImportError as err:
        raise DataError(
            f"reading Parquet file {str(path)!r} needs pyarrow: `pip install pyarrow` "
            "(or `pip install bayescale[parquet]`)"
        ) from err
    except (OSError, ValueError) as err:
        raise DataError(f"could not read Parquet file {str(path)!r}: {err}") from err
    check_unique_columns(list(table.columns), repr(str(path)))
    return table
