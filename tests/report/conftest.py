"""Fixtures of the report tests: small fits of the bundled Chinchilla data, built once.

The MLE-Huber fit from 64 random starts, a 200-resample bootstrap and NUTS with 2 chains x 150
warmup x 150 draws (too short to pass its diagnostics, which exercises the warnings), and a
summed-Huber fit without a noise model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import bayescale as bs


@pytest.fixture(scope="session")
def report_command() -> str:
    """The command recorded in the reproducibility block of the bootstrap report."""
    return "bayescale fit example:chinchilla --drop-top-losses 5 --method bootstrap --out fit_dir"


@pytest.fixture(scope="session")
def fits() -> dict[str, bs.Fit]:
    """``mle`` (no draws), ``boot`` and ``nuts`` (its draws) and ``loss`` (summed Huber)."""
    kw = {"starts": 64, "seed": 1, "drop_top_losses": 5}
    mle = bs.fit("example:chinchilla", "chinchilla", loss=bs.Noise("huber", 1e-3), **kw)
    cfg = bs.NutsConfig(num_chains=2, num_warmup=150, num_samples=150, seed=0)
    return {
        "mle": mle,
        "boot": mle._replace(draws=bs.bootstrap(mle, 200, seed=0)),
        "nuts": mle._replace(draws=bs.nuts(mle, cfg)),
        "loss": bs.fit("example:chinchilla", "chinchilla", **kw),
    }


@pytest.fixture(scope="session")
def boot_report(fits, report_command, tmp_path_factory) -> tuple[Path, str]:
    """The bootstrap fit's HTML report with the critique against hoffmann2022: path, text."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    path = bs.write_report(fits["boot"], out, against="hoffmann2022", command=report_command)
    return path, path.read_text(encoding="utf-8")
