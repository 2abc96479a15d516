"""Fixtures of the command-line tests: the tables the commands read (the replication run they
share is ``tests/conftest.py``'s ``replication``).

Every command runs in-process through :func:`bayescale.cli.main`, so the compiled fitters and
samplers are shared between tests of a worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: Hoffmann et al.'s published Chinchilla parameters (E, A, B, alpha, beta).
TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


@pytest.fixture(scope="session")
def runs_csv(tmp_path_factory) -> tuple[Path, int]:
    """40 runs from the Chinchilla law with 1% log-normal noise (seed 0; the generator of
    tests/workflows/test_comparison.py), and how many have C = 6 N D > 1e21 (10)."""
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(5e7), np.log(1e10), 40))
    d = n * np.exp(rng.uniform(np.log(2.0), np.log(60.0), n.size))
    mean = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
    loss = mean * np.exp(rng.normal(0.0, 0.01, n.size))
    path = tmp_path_factory.mktemp("compare_cli") / "runs.csv"
    pd.DataFrame({"N": n, "D": d, "loss": loss}).to_csv(path, index=False)
    return path, int(np.sum(6 * n * d > 1e21))


@pytest.fixture(scope="session")
def curve_csv(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """One simulated training curve: 40 steps from 100 to 1e5, loss 2 + 30 step^-0.4 with
    0.5% log-normal noise (seed 1)."""
    rng = np.random.default_rng(1)
    step = np.geomspace(100, 1e5, 40)
    loss = (2.0 + 30 * step**-0.4) * np.exp(rng.normal(0, 0.005, step.size))
    path = tmp_path_factory.mktemp("extrapolate_cli") / "curve.csv"
    pd.DataFrame({"step": step, "loss": loss}).to_csv(path, index=False)
    return path, step
