"""Every user-controlled string that reaches a report is escaped, in HTML and in Markdown.

A ``<script>`` tag (and a Markdown link) is fed through each string a user controls: the
column names (the provenance table and the parameter texts), the law's name, the paths on the
command line, and the name a fit beside this one is shown under (a folder path on the command
line). Group keys never reach a report: the report is of one curve. Nothing is compiled but
one small point fit; the draws are made up.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.laws.power import power_log_loss
from bayescale.likelihood import fit_names
from bayescale.report.render import md_fence, md_text

TAG = "<script>alert(1)</script>"
LINK = "[click](javascript:alert(1))"
#: A law named like a tag (registered for no one: the report takes the Law from the record).
LAW = bs.make_law(f"power{TAG}", power_log_loss, bs.get_law("power").params, ("x",))


def made_up_draws(fit: bs.Fit, n: int = 200) -> bs.Draws:
    rng = np.random.default_rng(0)
    theta = fit.result.theta[None, None] + 0.01 * rng.normal(size=(1, n, fit.result.theta.size))
    return bs.Draws(
        method="bootstrap",
        theta=theta,
        names=fit_names(fit.law, fit.objective),
        status=np.zeros((1, n), dtype=np.int32),
        diagnostics={"status_counts": {}, "n_unconverged": 0, "cluster": False, "n_groups": None},
        warnings=(f"a warning naming {TAG}",),
        settings={"n_resamples": n, "seed": 0, "resample_scheme": "default", "protocol": None},
        seconds=0.0,
    )


@pytest.fixture(scope="module")
def report() -> bs.build_report:
    rng = np.random.default_rng(3)
    x = np.geomspace(1e7, 1e10, 24)
    loss = (1.7 + 200 * x**-0.3) * np.exp(rng.normal(0, 0.01, x.size))
    table = pd.DataFrame({f"N{TAG}": x, f"loss{LINK}": loss})
    f = bs.fit(
        table,
        LAW,
        loss=bs.Noise("huber"),
        starts=8,
        columns={"N": f"N{TAG}", "loss": f"loss{LINK}"},
    )
    f = f._replace(draws=made_up_draws(f))
    command = f"bayescale fit '/tmp/{TAG}/runs.csv' --out '/tmp/{TAG}{LINK}/fit'"
    return bs.build_report(f, command=command, others={f"/tmp/{TAG}/beside": f})


def outside_code(markdown: str) -> str:
    """Markdown with fenced blocks and code spans removed (they are literal text)."""
    text = re.sub(r"(`{3,})[^\n]*\n.*?\n\1", "", markdown, flags=re.S)
    return re.sub(r"`[^`\n]+`", "", text)


def test_html_escapes_every_user_string(report, tmp_path) -> None:
    page = bs.report.build.save_report(report, tmp_path / "r.html").read_text()
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;") >= 3  # the law, the column, the command line, ...
    assert 'href="javascript' not in page


def test_markdown_escapes_every_user_string(report, tmp_path) -> None:
    text = bs.report.build.save_report(report, tmp_path / "r.md", format="md").read_text()
    prose = outside_code(text)
    assert "<script" not in prose.lower(), [ln for ln in prose.splitlines() if "<script" in ln]
    assert not re.search(r"(?<!\\)\]\(javascript", prose)  # brackets escaped: no link
    assert "&lt;script&gt;" in prose  # the strings did get through, escaped


def test_md_text_and_fences() -> None:
    assert md_text(f"law {TAG}") == "law &lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_text(LINK) == "\\[click\\](javascript:alert(1))"
    assert md_text("`<kept>` and D*/N* and **bold**") == "`<kept>` and D\\*/N\\* and **bold**"
    assert md_fence("a ```` b") == "`````" and md_fence("plain") == "```"
