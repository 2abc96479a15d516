"""The main job, :func:`bayescale.replicate`, at small settings (100 resamples, NUTS 2 x 50 + 50;
the full run is timed in the README; the run is the shared ``replication`` of tests/conftest.py,
made through the command line): every file is written, the summary and its seven plain lines
carry the headline and Epoch AI's replication, and the report has every section with figures
and both engines side by side.
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
    "extrapolation",
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
    assert "backtest (4 refits below cutoffs of C; 90% intervals cover" in log[4]
    assert (out / "backtest" / "points.csv").is_file()
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
    assert len(lines) == 7 and lines[0].startswith("At C = 5.88e23 FLOPs: N* ~ ")
    assert lines[0].endswith("; NUTS beside them in the report)") and "x beyond" in lines[0]
    assert lines[1].startswith("Refit (Hoffmann grid, summed Huber): E 1.8172")
    assert lines[2].startswith("Exponent a = beta/(alpha+beta): ") and "NUTS" in lines[2]
    assert lines[3].startswith(f"Tokens per parameter at C = 5.88e23: {tpp['q50']:.1f} [90%: ")
    assert "this fit has 240" in lines[4]
    assert lines[5].startswith("Hoffmann's parameters are rejected: Wald chi2(5) = ")
    assert lines[6].startswith(
        "Epoch's protocol (100 Huber-loss refits, against hoffmann2022_unrounded): Wald chi2 "
    )
    assert "(Epoch: 632,740 / 634,773); default bootstrap: chi2 " in lines[6]


def test_epoch_protocol_beside_the_default(replicated) -> None:
    """The critique under Epoch's protocol (here its first 100 resamples) is saved and
    summarised beside the default bootstrap's critique of the same (unrounded) values, with
    Monte Carlo SEs, and the report says in one sentence what differs."""
    out, s, log = replicated
    e = s["epoch_protocol"]
    assert e["reference"] == "hoffmann2022_unrounded" and e["n_resamples"] == 100
    assert e["n_unconverged"] == 0
    saved = bs.load_fit(out / "epoch")
    assert saved.draws.theta.shape == (1, 100, 5)  # loss refits: no log_sigma
    assert saved.draws.settings["refit"] == "loss"
    assert saved.draws.settings["resample_scheme"] == "numpy_legacy"
    crit = json.loads((out / "epoch" / "critique_epoch.json").read_text())
    assert crit["delta_at"] == "draws_mean" and crit["wald_chi2"] == e["wald_chi2"]
    assert e["wald_chi2"] != e["default_wald_chi2"]
    for key in ("wald_mc_se", "runs_needed_delta_mc_se", "runs_needed_draws_mc_se"):
        assert e[key] > 0, key
    assert 0 < e["smallest_share"] <= 1 and 0 < e["default_smallest_share"] <= 1
    assert set(e["sd"]) == {"E", "A", "B", "alpha", "beta"}
    assert "Epoch's protocol (100 Huber-loss refits" in log[3]
    html = (out / "report.html").read_text()
    crit_html = re.search(r'<section id="critique">(.*?)</section>', html, flags=re.S).group(1)
    assert "Under Epoch AI&#x27;s protocol" in crit_html or "Under Epoch AI's protocol" in crit_html


def test_report_has_every_section_and_figure(replicated) -> None:
    out, _, _ = replicated
    html = (out / "report.html").read_text()
    for sec in SECTIONS:
        assert f'id="{sec}"' in html, sec
    assert f"bayescale replicate chinchilla --out {out}" in html
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) >= 9
    # "Will it extrapolate?": the backtest's coverage and error by distance, and the forecast
    # at the budgets with the model's and the calibrated intervals side by side
    ext = re.search(r'<section id="extrapolation">(.*?)</section>', html, flags=re.S).group(1)
    assert 'id="figure-backtest"' in ext and 'id="figure-forecast"' in ext
    assert 'id="table-forecast"' in ext and "calibrated 90%" in ext
    assert "continues beyond it" in ext
    for b64 in imgs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")
        assert img.size > 0 and float(np.std(img)) > 0


def test_report_sets_both_engines_side_by_side_under_one_convention(replicated) -> None:
    """The page names both engines the job ran, sets their answers side by side with one
    sentence on why they differ, and its numbers are the terminal's (medians): the headline
    and the exponent a."""
    out, s, _ = replicated
    html = (out / "report.html").read_text()
    head = re.search(r'<div class="headline" id="headline"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert s["headline"] in head
    assert "bootstrap (100 refits)" in head and "NUTS (2 chains x 50 draws)" in head
    summary = re.search(r'<section id="summary">(.*?)</section>', html, flags=re.S).group(1)
    table = re.search(r'<div class="table" id="table-engines">(.*?)</div>', summary, re.S)
    assert table is not None
    cells = table.group(1)
    assert "<th>bootstrap (100 refits)</th><th>NUTS (2 chains x 50 draws)</th>" in cells
    for row in ("a = beta/(alpha+beta)", "D*/N* at C = 1e25", "loss at C = 1e24", "noise SD"):
        assert row in cells, row
    a_b, a_n = s["a_bootstrap"], s["a_nuts"]
    assert f"{a_b['q50']:.3f} [{a_b['q05']:.3f}-{a_b['q95']:.3f}]" in cells
    assert f"{a_n['q50']:.3f} [{a_n['q05']:.3f}-{a_n['q95']:.3f}]" in cells
    assert f"a = beta/(alpha+beta) = {a_b['q50']:.3f}" in summary  # the 5 lines: the same a
    assert "NUTS samples the posterior under the iid noise model" in summary
    assert "the critique use the bootstrap&#x27;s draws" in summary
    assert "NUTS assumes the iid noise model: independent" not in summary  # not NUTS-only
    # the allocation figure's caption names the reference drawn over it
    assert "dashed red: what hoffmann2022&#x27;s published values imply" in html


def test_unknown_replication_raises(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown replication 'gpt5'"):
        bs.replicate("gpt5", tmp_path / "out")
    assert not (tmp_path / "out").exists()
