"""The main job, :func:`bayescale.replicate`, at small settings (100 resamples, NUTS 2 x 50 + 50;
the full run is timed in the README; the run is the shared ``replication`` of tests/conftest.py,
made through the command line): every file is written, the summary and its
five plain lines carry Epoch AI's replication, and the report has every section with figures.
The ``bayescale replicate`` command is tested in tests/cli/test_cli.py.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

import bayescale as bs
from bayescale.workflows.replication import summary_lines

SECTIONS = (
    "summary",
    "fit",
    "residuals",
    "parameters",
    "allocation",
    "diagnostics",
    "critique",
    "reproducibility",
)


@pytest.fixture(scope="module")
def replicated(replication) -> tuple[Path, dict, list[str]]:
    """``(out, summary, logged lines)`` of the shared small replication (tests/conftest.py),
    which ``bayescale replicate`` ran through :func:`bayescale.replicate`."""
    out, code, stdout = replication
    assert code == 0, stdout
    summary = json.loads((out / "summary.json").read_text())
    return out, summary, [line for line in stdout.splitlines() if line.startswith("[")]


def test_every_file_is_written(replicated) -> None:
    out, summary, log = replicated
    for d in ("grid", "bootstrap", "nuts"):
        assert {"fit.json", "arrays.npz", "starts.csv"} <= {p.name for p in (out / d).iterdir()}
    assert (out / "bootstrap" / "draws.npz").is_file() and (out / "nuts" / "posterior.nc").is_file()
    assert not (out / "grid" / "draws.npz").exists()
    assert [line[:5] for line in log] == ["[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"]
    assert "100 bootstrap refits" in log[1] and "NUTS 2 x 50 + 50" in log[2]
    # the saved fits load back with their draws
    boot, nuts = bs.load_fit(out / "bootstrap"), bs.load_fit(out / "nuts")
    assert boot.draws.theta.shape == (1, 100, 6) and nuts.draws.theta.shape == (2, 50, 6)
    assert bs.load_fit(out / "grid").draws is None


def test_summary_is_epochs_replication(replicated) -> None:
    out, s, _ = replicated
    g = s["grid_fit"]
    # Epoch AI's refit: E 1.8172, A 477.8, B 2143.9, alpha 0.3473, beta 0.3672
    assert round(g["E"], 4) == 1.8172 and round(g["alpha"], 4) == 0.3473
    assert round(g["beta"], 4) == 0.3672 and round(g["A"], 1) == 477.8
    assert g["B"] == pytest.approx(2143.9, rel=1e-3)
    assert set(s["mle_fit"]) == {"E", "A", "B", "alpha", "beta", "sigma"}
    tpp = s["tokens_per_param"]
    assert 17 < tpp["point"] < 19.5 and tpp["compute"] == 5.88e23
    assert s["wald"]["df"] == 5 and s["wald"]["p"] < 1e-20
    crit = json.loads((out / "critique.json").read_text())
    assert crit["wald_p"] < 1e-20 and crit["wald_chi2"] == s["wald"]["chi2"]
    for key in ("a_bootstrap", "a_nuts"):
        assert s[key]["q05"] < s[key]["q50"] < s[key]["q95"], key
    assert s["report"] == str(out / "report.html")
    lines = summary_lines(s)
    assert len(lines) == 5 and lines[0].startswith("Refit (Hoffmann grid, summed Huber): E 1.8172")
    assert lines[1].startswith("Exponent a = beta/(alpha+beta): ") and "NUTS" in lines[1]
    assert lines[2].startswith("Tokens per parameter at C = 5.88e+23: ")
    assert "this fit has 240" in lines[3]
    assert lines[4].startswith("Hoffmann's parameters are rejected: Wald chi2(5) = ")


def test_report_has_every_section_and_figure(replicated) -> None:
    out, _, _ = replicated
    html = (out / "report.html").read_text()
    for sec in SECTIONS:
        assert f'id="{sec}"' in html, sec
    assert f"bayescale replicate chinchilla --out {out}" in html
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) >= 7
    for b64 in imgs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")
        assert img.size > 0 and float(np.std(img)) > 0


def test_unknown_replication_raises(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown replication 'gpt5'"):
        bs.replicate("gpt5", tmp_path / "out")
    assert not (tmp_path / "out").exists()
