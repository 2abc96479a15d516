"""The posterior report (:mod:`bayescale.report`).

The fits come from ``tests/report/conftest.py`` (built once). Checked: every section is present
with its heading; every image is an embedded PNG that is not a flat colour; nothing refers to
an external resource; Markdown output links PNG files that exist; fits without draws still
render, with notes; the reproducibility block carries the data hash, the jax version and the
command; and a headless Chromium renders the page (screenshot not blank, headings in the DOM).
Without Chromium that test skips, except under ``BAYESCALE_REQUIRE_SHARED=1`` (CI): it fails.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REQUIRE_SHARED

from bayescale.report import build_report, write_report

SECTIONS = {
    "summary": "How sure are we",
    "fit": "The data and the fitted law",
    "residuals": "Residuals and posterior predictive check",
    "parameters": "Parameters",
    "allocation": "Compute-optimal allocation",
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
    rep = build_report(fits["nuts"], budgets=(5.88e23, 1e24))
    assert len(rep.summary) == 5
    law, data, expo, tpp, cert = rep.summary
    assert "chinchilla" in law and "huber" in law
    assert "240 runs" in data and "C = 6 N D" in data
    assert "alpha = " in expo and "beta = " in expo and "[90%: " in expo
    assert tpp.startswith("Tokens per parameter at C = 5.88e23 FLOPs") and "[90%: " in tpp
    assert "NUTS" in cert
    assert ("WARNING" in cert) == bool(fits["nuts"].draws.warnings)
    assert {"trace", "parameters", "allocation", "ppc"} <= set(rep.figures)
    assert "critique" not in [s[0] for s in rep.sections]
    params = rep.tables["parameters"]
    assert {"A", "B", "E", "alpha", "beta", "sigma", "a", "b"} <= set(params.index)
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


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_headless_browser_renders(request, tmp_path):
    """Chromium renders the page: the screenshot is not blank and the DOM has the headings."""
    exe = _chromium()
    if exe is None:
        message = "Chromium not installed: apt-get install chromium"
        if REQUIRE_SHARED:
            pytest.fail(message + " (BAYESCALE_REQUIRE_SHARED=1: CI runs this test)")
        pytest.skip(message)
    path, _ = request.getfixturevalue("boot_report")  # built only when Chromium is there
    flags = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    url = path.resolve().as_uri()
    run = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,4000", url],
        capture_output=True,
        check=False,
    )
    assert shot.is_file(), run.stderr.decode(errors="replace")[-2000:]
    assert_not_flat(decode_png(shot.read_bytes()))
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, check=False)
    dom = dom.stdout.decode("utf-8", errors="replace")
    for heading in SECTIONS.values():
        assert f"<h2>{heading}</h2>" in dom, heading
