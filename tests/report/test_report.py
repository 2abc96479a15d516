"""The posterior report (:mod:`bayescale.report`).

The fits come from ``tests/report/conftest.py`` (built once). Checked: every section is present
with its heading; every image is an embedded PNG that is not a flat colour; nothing refers to
an external resource; Markdown output links PNG files that exist; fits without draws still
render, with notes; the headline answers in planner units under one convention (medians), a
NUTS-only report carries the iid caveat, the noise scale is explained; the reproducibility
block carries the data hash, the jax version and the command. The main job's page in headless
Chromium: tests/report/test_first_screen.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import sys

import numpy as np
import pandas as pd
import pytest

from bayescale.report import build_report, write_report
from bayescale.report.engines import NUTS_CAVEAT
from bayescale.results.records import draws_summary

SECTIONS = {
    "summary": "How sure are we",
    "fit": "The data and the fitted law",
    "residuals": "Residuals and posterior predictive check",
    "parameters": "Parameters",
    "allocation": "Compute-optimal allocation",
    "extrapolation": "Will it extrapolate?",
    "diagnostics": "Diagnostics",
    "critique": "Critique of published values",
    "reproducibility": "Reproducibility checklist",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sections_of(html: str) -> dict[str, str]:
    """Section id -> its HTML."""
    return dict(re.findall(r'<section id="([\w-]+)">(.*?)</section>', html, flags=re.S))


def decode_png(data: bytes) -> np.ndarray:
    """Check a PNG's signature and decode it to an array."""
    import matplotlib.image

    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def assert_not_flat(img: np.ndarray) -> None:
    """An image with more than one colour (pixel variance > 0)."""
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert float(np.var(img[..., :3])) > 1e-4


def test_every_section_present_with_heading(boot_report):
    _, html = boot_report
    secs = sections_of(html)
    assert list(secs) == list(SECTIONS)
    for sid, heading in SECTIONS.items():
        assert re.search(rf'<section id="{sid}">\s*<h2>{re.escape(heading)}</h2>', html), sid


def test_images_are_embedded_pngs_with_content(boot_report):
    _, html = boot_report
    tags = re.findall(r"<img\b[^>]*>", html)
    assert len(tags) == 7  # compute, isoflop, residuals, ppc, parameters, allocation, runs
    for tag in tags:
        src = re.search(r'src="([^"]*)"', tag).group(1)
        assert src.startswith("data:image/png;base64,"), src[:40]
        assert 'alt="' in tag
        assert_not_flat(decode_png(base64.b64decode(src.split(",", 1)[1], validate=True)))


def test_self_contained(boot_report):
    path, html = boot_report
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", html, flags=re.I)
    assert refs
    for ref in refs:
        assert ref.startswith(("data:image/png;base64,", "#")), ref[:60]
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "url(" not in html and "@import" not in html
    assert path.stat().st_size < 3_000_000


def test_summary_and_tables(fits, boot_report):
    _, html = boot_report
    nuts = fits["nuts"]
    rep = build_report(nuts, budgets=(5.88e23, 1e24))
    assert len(rep.summary) == 5
    law, data, expo, tpp, cert = rep.summary
    assert "chinchilla" in law and "huber" in law
    assert "240 runs" in data and "C = 6 N D" in data
    assert "N 57 M to 16 B parameters" in data and "C 1.4e18 to 1.3e22 FLOPs" in data
    assert "alpha = " in expo and "beta = " in expo
    # one convention: the median over the draws, with the 90% interval
    a = draws_summary(nuts, nuts.draws)["derived"]["a"]
    assert f"a = beta/(alpha+beta) = {a['q50']:.3f} [{a['q05']:.3f}-{a['q95']:.3f}]" in expo
    assert tpp.startswith("Tokens per parameter at C = 5.88e23 FLOPs: D*/N* = ") and "[" in tpp
    assert "NUTS" in cert and "medians and 90% intervals" in cert
    assert ("WARNING" in cert) == bool(nuts.draws.warnings)
    # the headline in planner units, and the caveat of a NUTS-only report
    answer, engines, convention = rep.headline
    assert answer.startswith("At C = 5.88e23 FLOPs: N* ~ ") and " B params [" in answer
    assert "x beyond the largest run" in answer and "T tokens [" in answer
    assert "NUTS (2 chains x 50 draws)" in engines and "iid noise model" in engines
    assert convention.startswith("Central values are medians over the draws")
    assert NUTS_CAVEAT in rep.sections[0][2].text()
    assert "engines" not in rep.tables
    # the noise scale in words: the residuals' spread, the model's SD, what sigma is
    noise = rep.sections[3][2].text()
    assert "log-loss residuals have SD 0.0" in noise and "sigma/delta" in noise
    assert "sigma = 4." in noise and "× 10⁻⁶" in noise and "1,414 times smaller" in noise
    assert 0.004 < rep.tables["parameters"].loc["noise SD", "50%"] < 0.01
    assert {"trace", "parameters", "allocation", "ppc"} <= set(rep.figures)
    assert "critique" not in [s[0] for s in rep.sections]
    params = rep.tables["parameters"]
    assert {"A", "B", "E", "alpha", "beta", "sigma", "a", "b", "noise SD"} <= set(params.index)
    assert list(params.columns) == ["point", "mean", "sd", "5%", "50%", "95%"]
    assert np.all(params["5%"] <= params["95%"])
    alloc = rep.tables["allocation"]
    assert sorted(set(alloc.index)) == [5.88e23, 1e24]
    cov = rep.tables["coverage"].loc["all", "coverage"]
    assert 0.5 < cov <= 1.0
    assert set(rep.tables["nuts"].index) == {"A", "B", "E", "alpha", "beta", "sigma"}
    # The bootstrap report: both predictive kinds named, critique tables and statement.
    secs = sections_of(html)
    assert "kind=&quot;mean&quot;" in secs["fit"] and "kind=&quot;new_run&quot;" in secs["fit"]
    assert "bootstrap" in secs["summary"] and "Coverage:" in secs["residuals"]
    assert "NUTS assumes" not in secs["summary"] and 'id="headline"' in html
    assert "Engine: bootstrap (100 refits), behind the headline, figures and critique." in html
    for table in ("critique_tests", "critique_tests_joint", "runs_needed", "critique_allocation"):
        assert f'id="table-{table}"' in secs["critique"]
    assert "Wald chi2(5)" in secs["critique"] and "hoffmann2022" in secs["critique"]


def test_markdown_writes_pngs_beside(fits, tmp_path):
    """Markdown output, for a fit with neither draws nor a noise model (summed Huber loss)."""
    out = write_report(fits["loss"], tmp_path / "rep.md", format="md", against="hoffmann2022")
    assert out == tmp_path / "rep.md"
    text = out.read_text(encoding="utf-8")
    for sid, heading in SECTIONS.items():
        if sid != "critique":
            assert f'<a id="{sid}"></a>' in text and f"## {heading}" in text
    assert '<a id="critique">' not in text and "No critique against hoffmann2022" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 4  # no draws, no noise model: compute, isoflop, residuals, allocation
    for link in links:
        png = tmp_path / link
        assert png.is_file() and png.parent.name == "rep_figures"
        assert_not_flat(decode_png(png.read_bytes()))
    assert "http://" not in text and "https://" not in text
    assert "D\\*/N\\*" in text  # a lone * is escaped, so it is not read as emphasis
    assert "At C = 1e23 FLOPs: N\\* ~ " in text and "(point fit, no intervals)." in text
    assert "Uncertainty: none measured (point fit only)." in text
    parts = dict(re.findall(r'<a id="(\w+)"></a>\n\n## [^\n]*\n(.*?)(?=<a id=|\Z)', text, re.S))
    assert (
        "--method bootstrap" in parts["parameters"] and "--method bootstrap" in parts["allocation"]
    )
    assert "neither draws nor a noise model" in parts["fit"]
    assert "No posterior predictive check" in parts["residuals"]


def test_fit_without_draws(fits, tmp_path):
    """A fit with a noise model but no draws: point estimates, plug-in new-run band, notes."""
    fit = fits["mle"]
    assert fit.draws is None
    html = write_report(fit, tmp_path / "r.html", against="hoffmann2022").read_text()
    secs = sections_of(html)
    assert list(secs) == [s for s in SECTIONS if s != "critique"]
    for sid in ("parameters", "allocation"):
        assert "--method bootstrap" in secs[sid], sid
    assert "No critique against hoffmann2022" in secs["summary"]
    assert "point estimates only" in secs["summary"]
    assert "<img" in secs["fit"] and "<img" in secs["residuals"] and "<img" in secs["allocation"]
    assert "plug-in" in secs["fit"] and "Coverage:" in secs["residuals"]


def test_reproducibility_block(fits, boot_report, report_command):
    import jax

    _, html = boot_report
    block = sections_of(html)["reproducibility"]
    data = fits["boot"].data
    h = hashlib.sha256()
    for arr in (data.x["N"], data.x["D"], data.loss):
        h.update(np.asarray(arr, dtype="<f8").tobytes())
    assert h.hexdigest() in block
    assert f"jax {jax.__version__}" in block
    for item in ("optimistix.BFGS", "drop_top_losses", "flops_per_token = 6", "numpyro", "arviz"):
        assert item in block, item
    assert report_command in block
    assert f"python {sys.version_info.major}.{sys.version_info.minor}" in block


def test_bad_arguments(fits, tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_report(fits["mle"], tmp_path / "r.pdf", format="pdf")
    with pytest.raises(ValueError, match="budgets"):
        build_report(fits["mle"], budgets=())
    with pytest.raises(KeyError, match="unknown reference"):
        build_report(fits["mle"], against="nobody2099")
    with pytest.raises(ValueError, match="has no draws"):
        build_report(fits["boot"], others={"nuts": fits["mle"]})
    moved = fits["nuts"].data._replace(loss=fits["nuts"].data.loss * 1.01)
    with pytest.raises(ValueError, match="another law or other data"):
        build_report(fits["boot"], others={"nuts": fits["nuts"]._replace(data=moved)})


def test_extrapolation_section_without_a_backtest(boot_report):
    _, html = boot_report
    sec = sections_of(html)["extrapolation"]
    assert "No backtest was given" in sec and "bayescale backtest" in sec and "<img" not in sec


def test_forecast_figures_draw_on_the_axes_given():
    from matplotlib.figure import Figure

    from bayescale.report.forecast_figures import (
        backtest_figure,
        coverage_axes,
        distance_axes,
        forecast_axes,
    )
    from bayescale.results.forecasts import binomial_range

    rows = []
    for law, cov in (("power", (0.3, 0.6, 0.75)), ("average", (0.45, 0.8, 0.88))):
        for p, c in zip((0.5, 0.8, 0.9), cov, strict=True):
            lo, hi = binomial_range(100, p)
            rows.append(
                {"law": law, "nominal": p, "coverage": c, "range_low": lo, "range_high": hi}
            )
    coverage = pd.DataFrame(rows)
    by_distance = pd.DataFrame(
        {
            "law": ["power"] * 3,
            "distance": [0.1, 0.4, 0.9],
            "median_abs_error": [0.01, 0.02, 0.04],
            "n": [10, 10, 10],
        }
    )
    axes = Figure().subplots(1, 3)
    assert coverage_axes(coverage, axes[0]) is axes[0]
    assert distance_axes(by_distance, axes[1]) is axes[1]
    ax = forecast_axes(
        [1e23, 1e24], [2.0, 1.9], ([1.95, 1.8], [2.05, 2.0]), ([1.9, 1.7], [2.1, 2.1]), ax=axes[2]
    )
    assert ax is axes[2] and len(ax.get_legend().get_texts()) == 2
    assert len(axes[0].get_lines()) == 3  # nominal diagonal and one line per law
    assert coverage_axes(coverage).figure is not None  # a new figure when no ax is given
    assert_not_flat(decode_png(backtest_figure(coverage, by_distance)))
