"""Shared fixtures: paths to the shared data sets and the Chinchilla arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """Path into ../shared/data; skips the test (with the reason) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def chinchilla_240() -> dict[str, np.ndarray]:
    """Epoch AI's 240 Chinchilla points (drop the 5 highest losses), read straight from shared."""
    df = pd.read_csv(shared_path("chinchilla", "svg_extracted_data.csv"))
    df = df[df["loss"] < sorted(df["loss"])[-5]]
    n = df["Model Size"].to_numpy()
    return {"N": n, "D": df["Training FLOP"].to_numpy() / (6 * n), "loss": df["loss"].to_numpy()}


@pytest.fixture(scope="session")
def epoch_bootstrap():
    """Besiroglu et al.'s set-up, computed once per test session: the MLE-Huber fit of the 240
    bundled points and a 4,000-resample bootstrap (seed 42). Returns ``(fit, draws)``."""
    import bayescale as bs
    from bayescale.uncertainty import bootstrap

    fit = bs.fit(
        "example:chinchilla",
        "chinchilla",
        loss=bs.Noise("huber", 1e-3),
        starts="hoffmann",
        drop_top_losses=5,
    )
    return fit, bootstrap(fit, 4000, seed=42)
