"""``bayescale predict``: the saved fit's ``Fit.predict``, as CSV or JSON, with one-line
usage errors (the shared ``replication`` run's saved bootstrap and NUTS fits)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.cli import main

POINTS = {"N": [7e10, 4e11], "D": [1.4e12, 8e12]}
AT = ["--at", "N=7e10,D=1.4e12", "--at", "N=4e11, D=8e12"]


def test_predict_agrees_with_fit_predict(replication, tmp_path, capsys) -> None:
    saved = replication[0] / "bootstrap"
    out = tmp_path / "pred.csv"
    args = ["predict", str(saved), *AT, "--kind", "new_run", "--level", "0.8", "--out", str(out)]
    assert main(args) == 0
    assert "2 points, kind new_run, 80% intervals; 2 extrapolated" in capsys.readouterr().out
    got = pd.read_csv(out)
    want = bs.load_fit(saved).predict(POINTS, kind="new_run", level=0.8)
    assert list(got.columns) == ["N", "D", "median", "lower", "upper", "extrapolated"]
    cols = ["median", "lower", "upper"]
    np.testing.assert_allclose(got[cols], want[cols], rtol=1e-12, atol=0)
    assert list(got["extrapolated"]) == list(want["extrapolated"])


def test_predict_json_and_points_file(replication, tmp_path, capsys) -> None:
    saved = replication[0] / "nuts"
    points = tmp_path / "points.csv"
    pd.DataFrame({"name": ["chinchilla", "bigger"], **POINTS}).to_csv(points, index=False)
    assert main(["predict", str(saved), "--points", str(points), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["law"], out["kind"], out["draws"]) == ("chinchilla", "mean", "nuts")
    want = bs.load_fit(saved).predict(POINTS)
    got = pd.DataFrame(out["points"])
    np.testing.assert_allclose(got["median"], want["median"], rtol=1e-12, atol=0)
    assert main(["predict", str(saved), "--at", "N=7e10,D=1.4e12"]) == 0
    first = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert first.shape == (1, 6)


@pytest.mark.parametrize(
    ("at", "match"),
    [
        ("N7e10", r"--at 'N7e10': expected NAME=VALUE pairs separated by commas"),
        ("N=7e10,D=big", r"--at 'N=7e10,D=big': 'big' is not a number"),
        ("N=1,N=2", r"N is given twice"),
        ("N=7e10,D=1e12,Q=3", r"--at: unknown input\(s\) \['Q'\] for law 'chinchilla'"),
        ("N=-7e10,D=1.4e12", r"--at: input 'N' must be > 0"),
        ("N=7e10", r"--at: law 'chinchilla' needs input\(s\) \['N', 'D'\] at every point"),
    ],
)
def test_predict_bad_points_exit_2_one_line(replication, at, match, capsys) -> None:
    assert main(["predict", str(replication[0] / "bootstrap"), "--at", at]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bayescale: error: ")
    assert re.search(match, err), err


def test_predict_needs_points(replication, capsys) -> None:
    assert main(["predict", str(replication[0] / "bootstrap")]) == 2
    assert "give the points: --at" in capsys.readouterr().err
