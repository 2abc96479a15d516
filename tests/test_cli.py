"""The command line, run as a user would: a subprocess per command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bayescale.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "cmd",
    [
        [],
        ["fit"],
        ["laws"],
        ["allocate"],
        ["critique"],
        ["replicate"],
        ["report"],
        ["extrapolate"],
        ["compare"],
    ],
)
def test_help(cmd: list[str]) -> None:
    p = run(*cmd, "--help")
    assert p.returncode == 0 and "usage: bayescale" in p.stdout


def test_fit_json_is_the_epoch_replication(tmp_path) -> None:
    p = run(
        "fit",
        "example:chinchilla",
        "--law",
        "chinchilla",
        "--drop-top-losses",
        "5",
        "--starts",
        "hoffmann",
        "--json",
        "--out",
        str(tmp_path / "fit"),
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"law", "n_points", "filters", "params", "objective", "starts", "seconds"} <= set(out)
    assert out["n_points"] == 240 and out["filters"][0]["name"] == "drop_top_losses"
    assert set(out["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert round(out["params"]["alpha"], 4) == 0.3473
    assert {"n", "converged", "near_best"} <= set(out["starts"]) and out["starts"]["n"] == 4500
    saved = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert saved["params"] == out["params"]
    assert (tmp_path / "fit" / "starts.csv").read_text().count("\n") == 4501


@pytest.mark.parametrize(
    "args, match",
    [
        (["fit", "missing.csv"], "missing.csv"),
        (["fit", "example:chinchilla", "--col", "N=nope"], "'nope'"),
        (["fit", "example:chinchilla", "--col", "N=C", "--col", "N=x"], "duplicate"),
        (["fit", "example:chinchilla", "--law", "nolaw"], "unknown law"),
        (["fit", "example:chinchilla", "--starts", "nogrid"], "no start grid"),
    ],
)
def test_bad_input_exit_2_one_line(args: list[str], match: str) -> None:
    p = run(*args)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayescale: error:") and match in lines[0]


def test_laws_lists_builtins() -> None:
    p = run("laws", "--json")
    names = [law["name"] for law in json.loads(p.stdout)]
    assert {"chinchilla", "power"} <= set(names)


@pytest.fixture(scope="module")
def replication(tmp_path_factory):
    """The main job at reduced settings (the full one is timed in the README)."""
    out = tmp_path_factory.mktemp("rep") / "replication"
    p = run(
        "replicate",
        "chinchilla",
        "--out",
        str(out),
        "--resamples",
        "200",
        "--chains",
        "2",
        "--warmup",
        "150",
        "--draws",
        "150",
        "--no-progress",
    )
    assert p.returncode == 0, p.stderr
    return out, p.stdout


@pytest.mark.slow
def test_replicate_writes_everything_and_a_full_report(replication) -> None:
    import base64
    import io
    import re

    import matplotlib.image as mpimg

    out, stdout = replication
    summary = [line for line in stdout.splitlines() if line.strip()][-6:-1]
    assert len(summary) == 5 and summary[0].startswith("Refit (Hoffmann grid")
    for d in ("grid", "bootstrap", "nuts"):
        assert (out / d / "fit.json").is_file()
    assert json.loads((out / "critique.json").read_text())["wald_p"] < 1e-20
    html = (out / "report.html").read_text()
    for sec in (
        "summary",
        "fit",
        "residuals",
        "parameters",
        "allocation",
        "diagnostics",
        "critique",
        "reproducibility",
    ):
        assert f'id="{sec}"' in html, sec
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) >= 7
    for b64 in imgs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")
        assert img.size > 0 and float(img.std()) > 0


@pytest.mark.slow
def test_allocate_critique_report_on_a_saved_fit(replication, tmp_path) -> None:
    out, _ = replication
    p = run("allocate", str(out / "bootstrap"), "--compute", "5.88e23", "--json")
    assert p.returncode == 0, p.stderr
    a = json.loads(p.stdout)
    assert a["method"] == "closed_form"
    assert 17 < a["budgets"][0]["tokens_per_param"]["point"] < 19.5
    p = run("critique", str(out / "bootstrap"), "--against", "hoffmann2022", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["wald_df"] == 5
    p = run("report", str(out / "nuts"), "--out", str(tmp_path / "r.md"))
    assert p.returncode == 0 and (tmp_path / "r.md").is_file()
    # bad input: one line, exit 2
    for args, match in (
        (["allocate", str(out / "bootstrap"), "--compute", "-1"], "> 0"),
        (["critique", str(out / "grid")], "needs draws"),
        (["critique", str(out / "bootstrap"), "--against", "nope"], "unknown reference"),
        (["report", str(tmp_path / "nofit")], "not a saved bayescale fit"),
        (["replicate", "gpt5"], "unknown replication"),
    ):
        p = run(*args)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2 and len(lines) == 1 and match in lines[0], (args, p.stderr)


def test_fit_group_batch(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    for g in range(6):
        x = np.geomspace(1e6, 1e10, 12 + g)
        loss = (1.7 + 200 * x**-0.3) * np.exp(rng.normal(0, 0.01, x.size))
        rows += [{"model": f"m{g}", "N": a, "loss": b} for a, b in zip(x, loss, strict=True)]
    pd.DataFrame(rows).to_csv(tmp_path / "g.csv", index=False)
    p = run(
        "fit",
        str(tmp_path / "g.csv"),
        "--law",
        "power",
        "--group",
        "model",
        "--json",
        "--out",
        str(tmp_path / "out"),
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["n_curves"] == 6
    table = pd.read_csv(tmp_path / "out" / "curves.csv")
    assert len(table) == 6 and set(table["status"]) == {"converged"}
    p = run("fit", str(tmp_path / "g.csv"), "--law", "power", "--group", "nocol")
    assert p.returncode == 2 and "nocol" in p.stderr
