"""The main job's page as a planning meeting sees it: the report of the shared small replication
(tests/conftest.py ``replication``: bootstrap and NUTS), rendered by headless Chromium.

* The first screen (1280 x 800) answers in planner units - N*, D* and the loss at the budget in
  SI units, how far beyond the largest run - and names both engines. A screenshot cannot be
  read without OCR, so two checks together: the text of the headline block, from the DOM as
  Chromium parsed it (it comes before the contents and the first figure), and where Chromium
  draws it: the page is screenshotted twice at 1280 px wide, once as it is and once with the
  headline block made invisible (``visibility: hidden`` keeps the layout), and every pixel that
  differs lies in the first 800 rows.
* No number on the page is written like Python's ``1.234e+10`` outside the tables of raw values.

Chromium is required (``chromium``, ``chromium-browser``, ``google-chrome``, or the executable
named by ``BAYESCALE_CHROMIUM``): without it these tests fail, saying how to install it, unless
``BAYESCALE_SKIP_BROWSER=1`` asks explicitly to skip them.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

WIDTH, FIRST_SCREEN = 1280, 800
SI_COUNT = r"\d+(?:\.\d)? [kMBT]"
#: An interval of counts: ``[69-144 B]`` or ``[920 B-1.8 T]``.
SI_RANGE = r"\[\d+(?:\.\d)?(?: [kMBT])?-\d+(?:\.\d)? [kMBT]\]"
#: Python's e-notation (``1.234e+10``, ``4.7e-06``) and long mantissas (``9.601e10``); budgets
#: are written ``5.88e23`` (three significant figures, no sign), as FLOPs usually are.
E_NOTATION = re.compile(r"\d(?:\.\d+)?e[+-]\d+|\d\.\d{3,}e\d+")


def chromium() -> str:
    """Chromium's executable; fails without one unless ``BAYESCALE_SKIP_BROWSER=1``."""
    names = (os.environ.get("BAYESCALE_CHROMIUM", ""), "chromium", "chromium-browser",
             "google-chrome")  # fmt: skip
    exe = next((path for name in names if name and (path := shutil.which(name))), None)
    if exe is None:
        if os.environ.get("BAYESCALE_SKIP_BROWSER") == "1":
            pytest.skip("BAYESCALE_SKIP_BROWSER=1: the report's browser tests were skipped")
        pytest.fail(
            "Chromium is not installed and the report's browser tests need it: install it "
            "(`apt-get install chromium`; .ci/run does) or set BAYESCALE_SKIP_BROWSER=1 to skip "
            "these tests explicitly"
        )
    return exe


def browser(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([*flags, *args], capture_output=True, check=False, timeout=120)


def screenshot(exe: str, page: Path, tmp: Path, height: int) -> np.ndarray:
    shot = tmp / f"{page.stem}.png"
    # virtual time: Chromium finishes loading and decoding the embedded figures before the shot
    run = browser(exe, tmp / "profile", f"--screenshot={shot}", "--virtual-time-budget=10000",
                  f"--window-size={WIDTH},{height}", page.resolve().as_uri())  # fmt: skip
    assert shot.is_file(), run.stderr.decode(errors="replace")[-2000:]
    img = matplotlib.image.imread(io.BytesIO(shot.read_bytes()), format="png")
    assert img.shape[:2] == (height, WIDTH) and float(np.var(img[..., :3])) > 1e-4
    return img[..., :3]


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


@pytest.fixture(scope="module")
def page(replication) -> Path:
    out, code, stdout = replication
    assert code == 0, stdout
    return out / "report.html"


def test_first_screen_answers_in_planner_units_and_names_both_engines(page, tmp_path) -> None:
    exe = chromium()
    dom = browser(exe, tmp_path / "profile", "--dump-dom", page.resolve().as_uri())
    dom = dom.stdout.decode("utf-8", errors="replace")
    assert "<h2>How sure are we</h2>" in dom and "<h2>Diagnostics</h2>" in dom
    block = re.search(r'<div class="headline" id="headline"[^>]*>(.*?)</div>', dom, re.S)
    assert block is not None and block.end() < dom.index("<nav") < dom.index("<figure")
    head = text_of(block.group(1))
    assert head.startswith("At C = 5.88e23 FLOPs: ")
    assert re.search(rf"N\* ~ {SI_COUNT} params {SI_RANGE}", head), head
    assert re.search(rf"D\* ~ {SI_COUNT} tokens {SI_RANGE}", head), head
    assert re.search(r"loss \d\.\d\d \[\d\.\d\d-\d\.\d\d\]; \d+x beyond the largest run", head)
    assert "bootstrap (100 refits)" in head and "NUTS (2 chains x 50 draws)" in head
    assert "medians over the draws" in head
    # Where Chromium draws it: hide the block (layout kept) and compare two screenshots.
    hidden = tmp_path / "hidden.html"
    hidden.write_text(
        page.read_text(encoding="utf-8").replace(
            "</style>", "#headline { visibility: hidden; }</style>", 1
        ),
        encoding="utf-8",
    )
    shown = screenshot(exe, page, tmp_path, 2 * FIRST_SCREEN)
    gone = screenshot(exe, hidden, tmp_path, 2 * FIRST_SCREEN)
    rows = np.flatnonzero(np.abs(shown - gone).max(axis=(1, 2)) > 0.02)
    assert rows.size > 100, "the headline block is not drawn"
    # the headline: the first run of differing rows, its lines no more than 60 px apart (a
    # figure further down still being decoded in one shot on a busy machine is not part of it)
    gaps = np.flatnonzero(np.diff(rows) > 60)
    block = rows[: gaps[0] + 1] if gaps.size else rows
    assert block.size > 100, f"the headline block is not drawn: rows {block.min()}-{block.max()}"
    assert block.max() < FIRST_SCREEN, f"the headline ends at row {block.max()}, below the fold"


def test_no_python_e_notation_outside_raw_tables(page) -> None:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'src="data:[^"]*"', "", text)  # figures (base64)
    text = re.sub(r"<table\b.*?</table>", "", text, flags=re.S)  # raw values
    text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
    text = html.unescape(text)
    bad = [text[max(0, m.start() - 60) : m.end() + 20] for m in E_NOTATION.finditer(text)]
    assert bad == []
    # ... and the check has teeth: the tables themselves do hold raw values
    assert E_NOTATION.search(html.unescape(page.read_text(encoding="utf-8")))
