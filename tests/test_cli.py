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


@pytest.mark.parametrize("cmd", [[], ["fit"], ["laws"]])
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
