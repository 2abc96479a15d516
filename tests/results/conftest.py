"""Fixtures of tests/results: one small fit of an unregistered law, with bootstrap and NUTS
draws (each compiled once per session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import COUNTED_POWER

import bayescale as bs


@pytest.fixture(scope="session")
def counted_fit() -> bs.Fit:
    """A Gaussian-noise fit of 24 power-law points with ``COUNTED_POWER`` (a law made with
    ``bs.make_law`` and never registered)."""
    rng = np.random.default_rng(7)
    x = np.geomspace(1e6, 1e10, 24)
    df = pd.DataFrame({"N": x, "loss": (1.7 + 200 * x**-0.3) * np.exp(rng.normal(0, 0.02, 24))})
    return bs.fit(df, COUNTED_POWER, loss=bs.Noise("gaussian"), starts=8)


@pytest.fixture(scope="session")
def boot_draws(counted_fit: bs.Fit) -> bs.Draws:
    return bs.bootstrap(counted_fit, 50, seed=1)


@pytest.fixture(scope="session")
def nuts_draws(counted_fit: bs.Fit) -> bs.Draws:
    return bs.nuts(counted_fit, bs.NutsConfig(num_chains=2, num_warmup=50, num_samples=50, seed=2))
