"""Fixtures of tests/predict: parameter draws around Epoch AI's Chinchilla fit (no fitting)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

#: MLE of the Huber likelihood (delta 1e-3) on Epoch AI's 240 Chinchilla points; Epoch:
#: a 6.178, b 7.643, e 0.597, alpha 0.3478, beta 0.3659, log sigma -12.27
#: (``tests/reference/test_epoch.py`` checks it against the fitter).
EPOCH_MLE = np.array(
    [6.177955975813964, 7.642732362265495, 0.5971119597825667, 0.3478130290386182,
     0.36585411729622747, -12.26662387967872]
)  # fmt: skip


@pytest.fixture(scope="session")
def mle() -> np.ndarray:
    """The fit-space MLE vector (log A, log B, log E, alpha, beta, log sigma)."""
    return EPOCH_MLE.copy()


@pytest.fixture(scope="session")
def draws_near_mle() -> Callable[..., np.ndarray]:
    """``make(n=4000, seed=0, log_sigma=-12.27)``: draws scattered around the MLE
    (independent normals; not a fitted posterior), with a constant ``log_sigma`` column."""

    def make(n: int = 4000, seed: int = 0, log_sigma: float = -12.27) -> np.ndarray:
        rng = np.random.default_rng(seed)
        sd = np.array([0.01, 0.01, 0.005, 0.001, 0.001])
        theta = EPOCH_MLE[:5] + sd * rng.standard_normal((n, 5))
        return np.column_stack([theta, np.full(n, log_sigma)])

    return make
