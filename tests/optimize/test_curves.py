"""Many curves in one compiled call: batch fits equal single fits of the unpadded curves, and
a run split across 4 (forced host) devices equals the run on one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from helpers import COUNTED_POWER, chinchilla_curves, power_curves

import bayescale as bs
from bayescale import enable_x64
from bayescale.optimize.multistart import FitConfig, fit_multistart
from bayescale.status import CONVERGED
from bayescale.workflows.fitting import resolve_starts

#: Cheap polish for tests (see fit_groups' notes); the single fits use the same settings.
CONFIG = FitConfig(polish=4, max_steps=300, restarts=0)
#: More polish for Huber fits of weakly identified curves.
ROBUST = FitConfig(polish=8, max_steps=1000, restarts=0)
#: fit_groups settings of the power batch, here and on 4 devices (those of the power batch of
#: tests/workflows/test_fitting.py, whose 32-point bucket is then compiled once per process).
POWER_BATCH = {"group": "run", "loss": "squared", "starts": 16, "chunk_size": 128}


def single_fit(df: pd.DataFrame, law: bs.Law, starts: np.ndarray, loss, config: FitConfig):
    """``fit_multistart`` on one curve's unpadded points."""
    with enable_x64():
        data = bs.Data(
            {k: jnp.asarray(df[k if k != "x" else "N"].to_numpy()) for k in law.inputs},
            jnp.log(jnp.asarray(df["loss"].to_numpy())),
            jnp.ones(len(df)),
        )
        res = fit_multistart(jnp.asarray(starts), data, law, loss, config)
    return res._replace(**{f: np.asarray(v) for f, v in res._asdict().items()})


def compare_to_single(out: bs.BatchFit, df: pd.DataFrame, sample) -> int:
    """Assert sampled curves equal single fits; returns how many were compared."""
    starts, _ = resolve_starts(out.law, out.starts["n"], 0, out.objective)
    compared = 0
    for i in sample:
        key = out.table["run"].iloc[i]
        one = single_fit(df[df["run"] == key], out.law, starts, out.objective, out.config)
        if not (int(one.status) == CONVERGED and out.table["status"].iloc[i] == "converged"):
            continue  # non-converged ends depend on rounding; both are flagged
        compared += 1
        np.testing.assert_allclose(out.result.objective[i], one.objective, rtol=1e-8)
        np.testing.assert_allclose(out.result.params[i], one.params, rtol=1e-5)
    return compared


@pytest.fixture(scope="module")
def power_batch():
    """150 power-law curves of 20 points (padded to 32), 128 per call: 2 calls, the last
    padded with 106 repeated curves. (The Chinchilla batch below mixes lengths in a bucket.)"""
    df = power_curves(150, np.random.default_rng(11), lengths=(20,))
    return df, bs.fit_groups(df, COUNTED_POWER, config=CONFIG, **POWER_BATCH)


def test_power_batch_matches_single_fits(power_batch) -> None:
    df, out = power_batch
    assert [tuple(b) for b in out.buckets] == [(32, 150, 128, 2)]
    assert set(out.table["n_points"]) == {20}
    sample = np.random.default_rng(3).choice(150, 30, replace=False)
    assert compare_to_single(out, df, sample) == 30


@pytest.mark.slow
def test_chinchilla_batch_matches_single_fits() -> None:
    df = chinchilla_curves(60, np.random.default_rng(5))  # 12 or 30 points, one bucket of 32
    out = bs.fit_groups(df, "chinchilla", group="run", starts=16, config=ROBUST, min_length=32)
    assert out.buckets[0][:3] == (32, 60, 64)
    ok = out.table["status"] == "converged"
    assert ok.mean() >= 0.95, out.table["status"].value_counts()
    assert out.table.loc[~ok, "status"].isin(["max_steps", "failed"]).all()
    sample = np.random.default_rng(4).choice(60, 30, replace=False)
    assert compare_to_single(out, df, sample) >= 27
    assert np.median(np.abs(out.table.loc[ok, "alpha"] - 0.34)) < 0.15


# ---------------------------------------------------------------------------- devices

SHARDED = """
import os, sys, json
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
sys.path.insert(0, {tests!r})
import jax, numpy as np
from helpers import COUNTED_POWER, power_curves
import bayescale as bs
from bayescale.lanes import curve_mesh, run_in_chunks
df = power_curves(150, np.random.default_rng(11), lengths=(20,))
four = bs.fit_groups(df, COUNTED_POWER, config=bs.FitConfig(**{config}), **{batch})
mesh = curve_mesh()
lanes = run_in_chunks(
    jax.jit(lambda b, s: 2 * b + s), np.arange(10.0), lanes=4, shared=np.float32(1), mesh=mesh
)
print(json.dumps({{
    "n_devices": len(jax.devices()),
    "mesh": mesh.size,
    "buckets": [list(b) for b in four.buckets],
    "status": list(four.table.status),
    "objective": four.result.objective.tolist(),
    "params": four.result.params.tolist(),
    "lanes": lanes.tolist(),
}}))
"""


def test_sharded_run_matches_single_device(power_batch) -> None:
    """The same batch split across 4 forced host devices (a fresh process: the device count is
    fixed when JAX starts) equals the one-device batch of this process."""
    _, one = power_batch
    code = textwrap.dedent(
        SHARDED.format(
            tests=str(ROOT / "tests"), config=repr(CONFIG._asdict()), batch=repr(POWER_BATCH)
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["n_devices"] == got["mesh"] == 4 and got["buckets"] == [[32, 150, 128, 2]]
    assert got["status"] == list(one.table.status) == ["converged"] * 150
    np.testing.assert_allclose(got["objective"], one.result.objective, rtol=1e-10)
    np.testing.assert_allclose(got["params"], one.result.params, rtol=1e-6)
    assert got["lanes"] == (2 * np.arange(10.0) + 1).tolist()
