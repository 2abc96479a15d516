"""Batch bootstrap and NUTS from one long table: every group its own curve and its own draws.

The batch bootstrap must give, for every curve, the draws of the single-curve bootstrap with
the same seed (``seed + curve index``); degenerate curves are flagged and never resampled or
sampled; NUTS gives every curve its own diagnostics.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import bayescale as bs
from bayescale.batch_uncertainty import bootstrap_groups, nuts_groups
from bayescale.infer.nuts import NutsConfig
from bayescale.uncertainty import bootstrap

TRUE_ALPHA = (0.30, 0.27, 0.33)


def sweep() -> pd.DataFrame:
    """Three healthy power-law curves of different lengths plus a 2-point and a constant one."""
    rng = np.random.default_rng(3)
    parts = []
    for k, alpha in enumerate(TRUE_ALPHA):
        n = np.geomspace(1e7, 1e10, 14 + 3 * k)
        loss = (1.7 + 200 * n**-alpha) * np.exp(rng.normal(0, 0.01, n.size))
        parts.append(pd.DataFrame({"run": f"r{k}", "N": n, "loss": loss}))
    parts.append(pd.DataFrame({"run": "two", "N": [1e7, 1e8], "loss": [3.0, 2.5]}))
    parts.append(pd.DataFrame({"run": "flat", "N": np.geomspace(1e7, 1e9, 6), "loss": 2.0}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def boot():
    return bootstrap_groups(
        sweep(), "power", group="run", noise="gaussian", n_resamples=64, starts=16, seed=5
    )


def test_bootstrap_groups_flags_degenerate_curves(boot) -> None:
    t = boot.table.set_index("run")
    assert t.loc["two", "status"] == "too_few_points"
    assert t.loc["flat", "status"] == "constant_loss"
    for bad in ("two", "flat"):
        assert np.isnan(t.loc[bad, "alpha_mean"])
        assert np.all(np.isnan(boot.theta[list(boot.table["run"]).index(bad)]))
    healthy = t.loc[["r0", "r1", "r2"]]
    assert (healthy["status"] == "converged").all()
    assert (healthy["converged_frac"] == 1.0).all()
    # Intervals cover the truth and are ordered.
    assert (healthy["alpha_q05"] < healthy["alpha_q50"]).all()
    assert (healthy["alpha_q50"] < healthy["alpha_q95"]).all()
    for k, alpha in enumerate(TRUE_ALPHA):
        row = t.loc[f"r{k}"]
        assert abs(row["alpha_mean"] - alpha) < 4 * row["alpha_sd"], (k, row["alpha_mean"])
    assert boot.theta.shape == (5, 1, 64, 4)


def test_bootstrap_groups_equal_single_curve_bootstrap(boot) -> None:
    """Curve i's batch draws are the single-curve bootstrap with seed + i."""
    df = sweep()
    runs = list(boot.table["run"])
    for name in ("r2",):  # one curve: each length compiles its own single-curve refits
        i = runs.index(name)
        single = bs.fit(df[df.run == name], "power", loss=bs.Noise("gaussian"), starts=16, seed=5)
        np.testing.assert_allclose(boot.fit.theta[i], single.result.theta, rtol=1e-7, atol=1e-9)
        draws = bootstrap(single, 64, seed=5 + i)
        np.testing.assert_allclose(boot.theta[i, 0], draws.theta[0], rtol=1e-6, atol=1e-8)


@pytest.mark.slow
def test_nuts_groups_per_curve_chains_and_isolation() -> None:
    cfg = NutsConfig(num_chains=2, num_warmup=200, num_samples=200, max_tree_depth=8, seed=1)
    res = nuts_groups(sweep(), "power", group="run", noise="gaussian", starts=16, nuts_config=cfg)
    t = res.table.set_index("run")
    assert list(t.loc[["two", "flat"], "sampler_status"]) == ["not_sampled", "not_sampled"]
    assert np.all(np.isnan(res.theta[[list(res.table["run"]).index("two")]]))
    healthy = t.loc[["r0", "r1", "r2"]]
    assert set(healthy["sampler_status"]) <= {"ok", "warning"}
    assert np.isfinite(res.theta[[list(res.table["run"]).index(r) for r in healthy.index]]).all()
    assert (healthy["max_rhat"] < 1.1).all()
    assert (healthy["min_ess"] > 30).all()
    assert (healthy["divergences"] >= 0).all()
    for k, alpha in enumerate(TRUE_ALPHA):
        row = t.loc[f"r{k}"]
        # posterior mean near the MLE, truth inside 4 sd
        assert abs(row["alpha_mean"] - row["alpha"]) < row["alpha_sd"]
        assert abs(row["alpha_mean"] - alpha) < 4 * row["alpha_sd"]
    assert res.theta.shape == (5, 2, 200, 4)


def test_cli_group_bootstrap_writes_table(tmp_path) -> None:
    path = tmp_path / "sweep.csv"
    sweep().to_csv(path, index=False)
    out = tmp_path / "fits"
    cmd = [sys.executable, "-m", "bayescale", "fit", str(path), "--law", "power", "--group"]
    cmd += ["run", "--method", "bootstrap", "--noise", "gaussian", "--resamples", "32"]
    cmd += ["--starts", "16", "--out", str(out), "--table-format", "parquet", "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["method"] == "bootstrap"
    assert summary["status_counts"] == {"converged": 3, "too_few_points": 1, "constant_loss": 1}
    table = pd.read_parquet(out / "curves.parquet")
    assert {"alpha_q05", "alpha_q95", "converged_frac"} <= set(table.columns)
    assert table["alpha_sd"].notna().sum() == 3


def test_cli_group_rejects_cluster(tmp_path) -> None:
    path = tmp_path / "sweep.csv"
    sweep().to_csv(path, index=False)
    cmd = [sys.executable, "-m", "bayescale", "fit", str(path), "--law", "power", "--group"]
    cmd += ["run", "--method", "bootstrap", "--cluster", "run"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "--cluster" in proc.stderr
