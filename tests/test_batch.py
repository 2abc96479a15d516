"""Batch engine: many curves at once equal single fits, failures stay per curve, one compile
per bucket, sharding across devices, and real many-small-fits data sets.

Real-data laws (test-local, built with ``make_law``): a parabola in log x,
``log L = e + k (log x - m)**2``, reported as ``L_opt = exp(e)``, ``curvature = k`` and
``x_opt = exp(m)``; x is the parameter count N for IsoFLOP budgets and the learning rate for
StepLaw's (N, D) cells.
"""

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
from conftest import ROOT, shared_path

import bayescale as bs
import bayescale.batch as bbatch
from bayescale._jax import enable_x64
from bayescale.api import resolve_starts
from bayescale.batch import fit_groups
from bayescale.data.groups import bucket_length, split_groups
from bayescale.fit.batch import (
    CONSTANT_LOSS,
    CURVE_STATUS,
    TOO_FEW_POINTS,
    default_chunk_size,
    lanes_for,
)
from bayescale.fit.multistart import FitConfig, fit_multistart
from bayescale.laws.power import power

#: Cheap polish for tests (see fit_groups' notes); the single fits use the same settings.
CONFIG = FitConfig(polish=4, max_steps=300, restarts=0)
#: More polish for Huber fits of real or weakly identified curves (all converge).
ROBUST = FitConfig(polish=8, max_steps=1000, restarts=0)
TRACES = {"n": 0}


def counted_power(p, x):
    """The power law, counting traces; NaN for x > 1e13 (to build non-finite curves)."""
    TRACES["n"] += 1
    return jnp.where(x["x"] > 1e13, jnp.nan, power(p, x))


POWER = bs.make_law("counted_power", counted_power, bs.get_law("power").params, ("x",))


def parabola(p, x):
    """log L = e + k (log x - m)^2."""
    u = jnp.log(x["x"]) - p["m"]
    return p["e"] + p["k"] * u * u


def parabola_law(name: str, m_lo: float, m_hi: float) -> bs.Law:
    return bs.make_law(
        name,
        parabola,
        [
            bs.ParamSpec("e", "L_opt", "exp", 0.5, 2.0),
            bs.ParamSpec("k", "curvature", "identity", 0.0, 0.1),
            bs.ParamSpec("m", "x_opt", "exp", m_lo, m_hi),
        ],
        ("x",),
    )


def power_curves(n: int, rng: np.random.Generator, lengths=(12, 20, 32)) -> pd.DataFrame:
    """``n`` power-law curves, per-curve E, A, alpha jittered around 1.7, 200, 0.3."""
    frames = []
    for g in range(n):
        k = int(rng.choice(lengths))
        x = np.exp(rng.uniform(np.log(1e7), np.log(1e10), k))
        e, a = 1.7 * np.exp(rng.normal(0, 0.05)), 200 * np.exp(rng.normal(0, 0.2))
        loss = (e + a * x ** -(0.3 + rng.normal(0, 0.02))) * np.exp(
            rng.normal(0, rng.uniform(0.01, 0.02), k)
        )
        frames.append(pd.DataFrame({"run": g, "N": x, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


def chinchilla_curves(n: int, rng: np.random.Generator, lengths=(12, 30)) -> pd.DataFrame:
    frames = []
    for g in range(n):
        k = int(rng.choice(lengths))
        big_n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), k))
        d = big_n * np.exp(rng.uniform(0.0, np.log(300.0), k))
        e, a, b = (
            v * np.exp(rng.normal(0, s)) for v, s in ((1.69, 0.05), (406.4, 0.2), (410.7, 0.2))
        )
        alpha, beta = 0.34 + rng.normal(0, 0.02), 0.28 + rng.normal(0, 0.02)
        loss = (e + a * big_n**-alpha + b * d**-beta) * np.exp(
            rng.normal(0, rng.uniform(0.01, 0.02), k)
        )
        frames.append(pd.DataFrame({"run": g, "N": big_n, "D": d, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


def single_fit(df: pd.DataFrame, law: bs.Law, starts: np.ndarray, loss: bs.Loss, config: FitConfig):
    """``fit_multistart`` on one curve's unpadded points."""
    with enable_x64():
        data = bs.Data(
            {k: jnp.asarray(df[k if k != "x" else "N"].to_numpy()) for k in law.inputs},
            jnp.log(jnp.asarray(df["loss"].to_numpy())),
            jnp.ones(len(df)),
        )
        res = fit_multistart(jnp.asarray(starts), data, law, loss, config)
    return res._replace(**{f: np.asarray(v) for f, v in res._asdict().items()})


def compare_to_single(out, df: pd.DataFrame, law, loss, sample: np.ndarray) -> int:
    """Assert sampled curves equal single fits; returns how many were compared."""
    starts, _ = resolve_starts(law, out.starts["n"], 0, loss)
    compared = 0
    for i in sample:
        key = out.table["run"].iloc[i]
        one = single_fit(df[df["run"] == key], law, starts, loss, out.config)
        if not (int(one.status) == 0 and out.table["status"].iloc[i] == "converged"):
            continue  # non-converged ends depend on rounding; both are flagged
        compared += 1
        np.testing.assert_allclose(out.result.objective[i], one.objective, rtol=1e-8)
        np.testing.assert_allclose(out.result.params[i], one.params, rtol=1e-5)
    return compared


# ---------------------------------------------------------------------------- no compute


def test_split_groups_buckets_and_keys() -> None:
    df = pd.DataFrame(
        {
            "a": ["x", "x", "y", "y", "y", None, "x", "y"] + ["z"] * 9,
            "b": [1, 1, 1, 1, 1, 2, 2, 1] + [3] * 9,
            "N": np.arange(1.0, 18.0) * 1e8,
            "loss": np.linspace(3.0, 2.0, 17),
        }
    )
    cur = split_groups(df, ("x",), ["a", "b"], n_params=3)
    assert list(cur.keys.itertuples(index=False, name=None))[:4] == [
        ("x", 1),
        ("x", 2),
        ("y", 1),
        ("z", 3),
    ]
    assert pd.isna(cur.keys["a"].iloc[4])  # missing keys form their own curve, not dropped
    np.testing.assert_array_equal(cur.n_points, [2, 1, 4, 9, 1])
    assert [CURVE_STATUS[s] for s in cur.status if s >= 0] == ["too_few_points"] * 3
    assert [(b.length, list(b.curves)) for b in cur.buckets] == [(8, [2]), (16, [3])]
    b = cur.buckets[0]
    np.testing.assert_array_equal(b.data.weight[0], [1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(b.data.x["x"][0, :4], [3e8, 4e8, 5e8, 8e8])
    assert bucket_length(9) == 16 and bucket_length(3) == 8 and bucket_length(3, 32) == 32


@pytest.mark.parametrize(
    "change, kwargs, match",
    [
        (lambda d: d.drop(columns="loss"), {}, "missing column 'loss'"),
        (lambda d: d, {"group": "nope"}, "group column"),
        (lambda d: d.assign(N=d["N"].where(d.index != 3, -1.0)), {}, "non-positive"),
        (lambda d: d.assign(loss=d["loss"].where(d.index != 5, np.nan)), {}, "non-finite"),
        (lambda d: d, {"group": []}, "at least one column"),
    ],
)
def test_whole_batch_problems_raise_before_compute(change, kwargs, match, monkeypatch) -> None:
    def boom(*args, **kw):
        raise AssertionError("computed before validating")

    monkeypatch.setattr(bbatch, "fit_chunks", boom)
    df = power_curves(3, np.random.default_rng(0))
    with pytest.raises(bs.DataError, match=match):
        fit_groups(change(df), "power", **{"group": "run", **kwargs})


def test_unfittable_curves_are_flagged_without_fitting(monkeypatch) -> None:
    monkeypatch.setattr(bbatch, "fit_chunks", lambda *a, **k: pytest.fail("nothing to fit"))
    df = pd.DataFrame(
        {
            "run": ["two"] * 2 + ["flat"] * 4 + ["tied"] * 5,
            "N": [1e8, 2e8] + [1e8, 2e8, 3e8, 4e8] + [1e8, 2e8, 3e8, 4e8, 5e8],
            "loss": [3.0, 2.9] + [2.5] * 4 + [3.0, 3.0, 3.0, 2.9, 2.8],
        }
    )
    out = fit_groups(df, "power", group="run", drop_top_losses=3)
    t = out.table.set_index("run")
    assert t.loc["two", "status"] == "too_few_points"
    assert t.loc["two", "message"].startswith("no points left (of 2 rows, 2 dropped")
    # ties with the threshold are dropped too (Epoch's rule): all 4 flat points go
    assert t.loc["flat", "n_points"] == 0
    assert t.loc["tied", "message"].startswith("only 2 points (of 5 rows, 3 dropped")
    assert out.buckets == () and np.isnan(out.theta).all()
    out = fit_groups(df[df["run"] != "tied"], "power", group="run")
    assert out.table.set_index("run").loc["flat", "status"] == "constant_loss"
    assert out.result.status.tolist() == [CONSTANT_LOSS, TOO_FEW_POINTS]


def test_chunk_size_from_memory() -> None:
    # 1 GiB host memory, 25%: 268435456 / (12 * 8 * 64 * 32) = 1365 -> capped at 1024
    assert default_chunk_size(64, 32, memory=(2**30, False)) == 1024
    assert default_chunk_size(64, 32, memory=(2**28, False)) == 341
    assert default_chunk_size(64, 32, n_devices=4, memory=(2**28, False)) == 340
    # per-device memory (accelerators) scales with the device count, higher cap
    assert default_chunk_size(64, 32, n_devices=2, memory=(2**34, True)) == 2 * 16384
    assert default_chunk_size(10**6, 10**6, n_devices=4, memory=(2**20, False)) == 4
    assert lanes_for(100, 1024) == 128 and lanes_for(5000, 1024) == 1024
    assert lanes_for(3, 1024, n_devices=4) == 4 and lanes_for(100, 30, n_devices=4) == 32


# ---------------------------------------------------------------------------- 1,000 curves


@pytest.fixture(scope="module")
def power_batch():
    """1,000 power-law curves, 5% of them degenerate, in chunks of 128."""
    rng = np.random.default_rng(1)
    healthy = power_curves(950, rng)
    bad = []
    for j in range(20):  # constant loss
        bad.append(pd.DataFrame({"run": 1000 + j, "N": np.geomspace(1e7, 1e9, 10), "loss": 2.5}))
    for j in range(20):  # 2 points
        bad.append(pd.DataFrame({"run": 2000 + j, "N": [1e8, 1e9], "loss": [2.6, 2.4]}))
    for j in range(10):  # the law is NaN there: every start ends non-finite
        x = np.geomspace(1e14, 1e15, 12)
        bad.append(pd.DataFrame({"run": 3000 + j, "N": x, "loss": 1.7 + 200 * x**-0.3}))
    df = pd.concat([healthy, *bad], ignore_index=True)
    df = df.sample(frac=1.0, random_state=0)  # curves interleaved in the table
    TRACES["n"] = 0
    out = fit_groups(
        df, POWER, group="run", loss="squared", starts=16, config=CONFIG, chunk_size=128
    )
    return df, out, TRACES["n"]


def test_power_batch_statuses(power_batch) -> None:
    _, out, _ = power_batch
    t = out.table
    assert len(t) == 1000 and list(t.columns[:2]) == ["run", "n_points"]
    assert list(t.columns[2:5]) == ["A", "E", "alpha"]
    status = dict(zip(t["run"], t["status"], strict=True))
    assert all(status[g] == "converged" for g in range(950))
    assert all(status[1000 + j] == "constant_loss" for j in range(20))
    assert all(status[2000 + j] == "too_few_points" for j in range(20))
    assert all(status[3000 + j] == "non_finite" for j in range(10))
    bad = t[t["run"] >= 1000]
    assert bad[["A", "E", "alpha"]].isna().all().all()
    assert (t.loc[t["run"] >= 3000, "message"] == "objective or parameters became non-finite").all()
    assert (t.loc[t["run"] < 1000, "grad_norm"] < 1e-6).all()
    assert np.median(np.abs(t.loc[t["run"] < 1000, "alpha"] - 0.3)) < 0.05
    assert {(b.length, b.lanes) for b in out.buckets} == {(16, 128), (32, 128)}
    assert out.theta.shape == (1000, 3) and out.result.start_theta.shape == (1000, 16, 3)


def test_power_batch_matches_single_fits(power_batch) -> None:
    df, out, _ = power_batch
    sample = np.random.default_rng(3).choice(950, 30, replace=False)
    assert compare_to_single(out, df, POWER, bs.Loss("squared"), sample) == 30


def test_same_bucket_second_batch_does_not_recompile(power_batch, capsys) -> None:
    _, _, traced = power_batch
    assert traced > 0  # the fixture compiled bucket (16 points, 128 lanes)
    traced = TRACES["n"]
    df = power_curves(100, np.random.default_rng(7), lengths=(9, 14))  # bucket 16, 128 lanes
    out = fit_groups(
        df,
        POWER,
        group="run",
        loss="squared",
        starts=16,
        config=CONFIG,
        chunk_size=128,
        progress=True,
    )
    assert TRACES["n"] == traced, "a second batch in the same bucket retraced the law"
    assert out.buckets[0][:3] == (16, 100, 128)
    assert "100/100" in capsys.readouterr().err


# ---------------------------------------------------------------------------- Chinchilla


@pytest.mark.slow
def test_chinchilla_batch_matches_single_fits() -> None:
    law, loss = bs.get_law("chinchilla"), bs.Loss("huber", 1e-3)
    df = chinchilla_curves(60, np.random.default_rng(5))
    out = fit_groups(df, law, group="run", starts=16, config=ROBUST, min_length=32)
    assert out.buckets[0][:3] == (32, 60, 64)
    ok = out.table["status"] == "converged"
    assert ok.mean() >= 0.95, out.table["status"].value_counts()
    assert out.table.loc[~ok, "status"].isin(["max_steps", "failed"]).all()
    sample = np.random.default_rng(4).choice(60, 30, replace=False)
    assert compare_to_single(out, df, law, loss, sample) >= 27
    assert np.median(np.abs(out.table.loc[ok, "alpha"] - 0.34)) < 0.15


# ---------------------------------------------------------------------------- devices

SHARDED = """
import os, sys, json
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
sys.path.insert(0, {tests!r})
import jax, numpy as np
from test_batch import CONFIG, power_curves
from bayescale.batch import fit_groups
df = power_curves(24, np.random.default_rng(11), lengths=(20, 30))
kw = dict(group="run", loss="squared", starts=16, config=CONFIG, chunk_size=8)
four = fit_groups(df, "power", **kw)
one = fit_groups(df, "power", devices=jax.devices()[:1], **kw)
print(json.dumps({{
    "n_devices": len(jax.devices()),
    "lanes": [b.lanes for b in four.buckets],
    "status": [list(four.table.status), list(one.table.status)],
    "objective": [four.result.objective.tolist(), one.result.objective.tolist()],
    "params": [four.result.params.tolist(), one.result.params.tolist()],
}}))
"""


@pytest.mark.slow
def test_sharded_run_matches_single_device() -> None:
    code = textwrap.dedent(SHARDED.format(tests=str(ROOT / "tests")))
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["n_devices"] == 4 and got["lanes"] == [8]
    assert got["status"][0] == got["status"][1] == ["converged"] * 24
    np.testing.assert_allclose(*got["objective"], rtol=1e-10)
    np.testing.assert_allclose(*got["params"], rtol=1e-6)


# ---------------------------------------------------------------------------- real data


def test_isoflop_budgets_give_growing_optimal_size() -> None:
    df = pd.read_csv(
        shared_path("isoflops_openathena", "data", "isoflops", "transform", "isoflops.csv")
    )
    df = df[~df["outlier"]]  # the source's own quality flags
    law = parabola_law("isoflop_parabola", 16.0, 25.0)
    out = fit_groups(
        df,
        law,
        group=["experiment", "budget"],
        columns={"N": "params"},
        x="N",
        starts=16,
        config=ROBUST,
        min_length=32,
    )
    t = out.table
    assert len(t) == 62 and len(out.buckets) == 1
    assert (t["status"] == "converged").all(), t[t["status"] != "converged"]
    assert (t["curvature"] > 0).all()
    for name, g in t.groupby("experiment"):  # N* grows with the budget C
        assert g["budget"].corr(g["x_opt"], method="spearman") >= 0.95, name


def test_steplaw_cells_give_learning_rate_bowls() -> None:
    df = pd.read_csv(shared_path("steplaw", "data", "dense_lr_bs_loss.csv"))
    law = parabola_law("lr_parabola", -9.0, -3.5)
    out = fit_groups(
        df,
        law,
        group=["N", "D"],
        columns={"step": "lr"},
        x="step",
        starts=16,
        config=ROBUST,
        min_length=128,
    )
    t = out.table
    assert len(t) == 17 and len(out.buckets) == 1
    assert (t["status"] == "converged").all(), t[t["status"] != "converged"]
    assert (t["curvature"] > 0).all()
    assert t["x_opt"].between(df["lr"].min(), df["lr"].max()).all()
    # optimal learning rate falls with model size and rises with data (StepLaw's signs)
    design = np.c_[np.ones(len(t)), np.log(t["N"]), np.log(t["D"])]
    coef = np.linalg.lstsq(design, np.log(t["x_opt"]), rcond=None)[0]
    assert coef[1] < -0.2 and coef[2] > 0.05, coef
