"""Data layer: read tables, bundled examples, and prepare arrays for a fit.

:func:`read_table` reads a DataFrame, a ``.csv`` / ``.tsv`` / ``.parquet`` file or a bundled
example (``"example:chinchilla"``); :func:`prepare` maps, derives, validates and filters the
columns a law needs and records what it did; :func:`annealing_areas` and
:func:`add_annealing_areas` turn a learning-rate schedule into the ``S1``/``S2`` inputs of the
``lr_annealing`` law. Every user-input problem raises :class:`DataError`.
"""

from bayescale.data.io import (
    DataError,
    example_source,
    list_examples,
    load_example,
    read_table,
)
from bayescale.data.preparation import (
    CANONICAL,
    Prepared,
    as_data,
    parse_column_mapping,
    prepare,
)
from bayescale.data.schedule import Areas, add_annealing_areas, annealing_areas

__all__ = [
    "CANONICAL",
    "Areas",
    "DataError",
    "Prepared",
    "add_annealing_areas",
    "annealing_areas",
    "as_data",
    "example_source",
    "list_examples",
    "load_example",
    "parse_column_mapping",
    "prepare",
    "read_table",
]
