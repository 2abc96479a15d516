"""Fixtures of the report tests: small fits of the bundled Chinchilla data, built once per run.

They are the saved fits of the shared small replication (tests/conftest.py): the MLE-Huber fit
from Hoffmann's grid, its 100-resample bootstrap and NUTS with 2 chains x 50 warmup x 50 draws
(too short to pass its diagnostics, which exercises the warnings), and the summed-Huber grid
fit without a noise model.
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
def fits(replication) -> dict[str, bs.Fit]:
    """``mle`` (no draws), ``boot`` and ``nuts`` (its draws) and ``loss`` (summed Huber), loaded
    from the shared small replication (tests/conftest.py)."""
    out = replication[0]
    boot = bs.load_fit(out / "bootstrap")
    return {
        "mle": boot._replace(draws=None),
        "boot": boot,
        "nuts": bs.load_fit(out / "nuts"),
        "loss": bs.load_fit(out / "grid"),
    }


@pytest.fixture(scope="session")
def boot_report(fits, report_command, tmp_path_factory) -> tuple[Path, str]:
    """The bootstrap fit's HTML report with the critique against hoffmann2022: path, text."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    path = bs.write_report(fits["boot"], out, against="hoffmann2022", command=report_command)
    return path, path.read_text(encoding="utf-8")
