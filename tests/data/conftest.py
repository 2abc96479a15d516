"""Fixtures of the data-layer tests: a small valid table and the bundled Chinchilla example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayescale.data import load_example


@pytest.fixture
def runs() -> pd.DataFrame:
    """A small, valid table with every canonical column (C = 6 N D exactly)."""
    n = np.array([1e6, 2e6, 4e6, 8e6, 1.6e7, 3.2e7])
    d = np.array([1e8, 3e8, 1e9, 2e9, 5e9, 1e10])
    return pd.DataFrame(
        {
            "N": n,
            "D": d,
            "C": 6.0 * n * d,
            "step": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
            "loss": [4.0, 3.5, 3.2, 3.0, 2.9, 2.8],
            "name": list("abcdef"),
        },
        index=[10, 11, 12, 13, 14, 15],
    )


@pytest.fixture
def chinchilla() -> pd.DataFrame:
    return load_example("chinchilla")
