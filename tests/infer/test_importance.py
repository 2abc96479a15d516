"""Laplace + adaptive importance sampling with Pareto-smoothed weights, and ``--method auto``.

Compilation dominates the cost (about 10 CPU-seconds for the importance sampler of the power
law), so every test here shares one compiled sampler: the power law under Gaussian noise, the
default :class:`~bayescale.infer.ImportanceConfig`, curves of 30 points padded to 32 (the batch
fitter's bucket) in chunks of 8 curves - what the command line runs on an 8-curve table. The
NUTS fallback of ``engine="auto"`` is checked with a stand-in for NUTS: compiling NUTS in fit
space costs about 25 CPU-seconds, more than this file's budget.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import power_curves
from scipy.stats import binom

import bayescale as bs
from bayescale.cli import main
from bayescale.infer import (
    BatchNutsResult,
    ImportanceConfig,
    engines,
    sample_importance_batch,
    sample_posterior_batch,
)
from bayescale.infer.importance import compiled_importance_curves
from bayescale.infer.psis import PARETO_K_MAX
from bayescale.likelihood import Data, Noise
from bayescale.status import SAMPLER_OK, SAMPLER_WARNING

LAW = bs.get_law("power")
NOISE = Noise("gaussian")
N_CURVES, N_POINTS, PADDED, CHUNK = 40, 30, 32, 8


def simulate(n: int, seed: int) -> tuple[Data, np.ndarray]:
    """``n`` power-law curves padded with weight-0 NaN points, and their true parameters
    ``(log A, log E, alpha, log sigma)`` (as :func:`helpers.power_curves` draws them)."""
    rng = np.random.default_rng(seed)
    x = np.full((n, PADDED), np.nan)
    y, w = np.full((n, PADDED), np.nan), np.zeros((n, PADDED))
    x[:, :N_POINTS] = np.exp(rng.uniform(np.log(1e7), np.log(1e10), (n, N_POINTS)))
    e, a = 1.7 * np.exp(rng.normal(0, 0.05, n)), 200 * np.exp(rng.normal(0, 0.2, n))
    alpha, sigma = 0.3 + rng.normal(0, 0.02, n), rng.uniform(0.01, 0.02, n)
    mean = np.log(e[:, None] + a[:, None] * x[:, :N_POINTS] ** -alpha[:, None])
    y[:, :N_POINTS] = mean + sigma[:, None] * rng.standard_normal((n, N_POINTS))
    w[:, :N_POINTS] = 1.0
    truth = np.stack([np.log(a), np.log(e), alpha, np.log(sigma)], axis=1)
    return Data({"x": x}, y, w), truth


@pytest.fixture(scope="module")
def batch() -> tuple:
    data, truth = simulate(N_CURVES, seed=0)
    # starts near, not at, the truth: the Newton steps must find the mode
    start = truth + np.random.default_rng(1).normal(0, [0.05, 0.02, 0.01, 0.05], truth.shape)
    before = compiled_importance_curves._cache_size()
    res = sample_importance_batch(
        LAW, data, NOISE, init_theta=start, num_chains=2, num_samples=1000, chunk_size=CHUNK,
        seeds=np.arange(N_CURVES) + 100,
    )  # fmt: skip
    return data, truth, start, res, before


def test_pareto_k_passes_and_intervals_cover_the_truth(batch) -> None:
    data, truth, _, res, _ = batch
    assert res.theta.shape == (N_CURVES, 2, 1000, 4) and res.names[-1] == "log_sigma"
    passed = res.pareto_k <= PARETO_K_MAX
    assert passed.mean() >= 0.9, np.round(res.pareto_k, 2)
    assert np.all(res.status[passed] == SAMPLER_OK) and np.all(res.ess[passed] > 300)
    assert all(m == "" for m, p in zip(res.messages, passed, strict=True) if p)
    draws = res.theta.reshape(N_CURVES, -1, 4)
    for level in (0.9, 0.5):  # a central interval holds the truth on ~level of curves
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=1)
        for j in (2, 3):  # alpha, log sigma
            covered = int(np.sum((lo[:, j] <= truth[:, j]) & (truth[:, j] <= hi[:, j])))
            band = binom.ppf([0.0005, 0.9995], N_CURVES, level)
            assert band[0] <= covered <= band[1], (level, j, covered, band)


def test_same_shapes_do_not_recompile_and_curves_do_not_interact(batch) -> None:
    data, _, start, res, before = batch
    assert compiled_importance_curves._cache_size() == before + 1
    # curves 0-7 again, in another order and another chunk's company: same draws
    order = np.array([5, 3, 0, 7, 12, 1, 2, 6])
    sub = Data({"x": data.x["x"][order]}, data.log_y[order], data.weight[order])
    again = sample_importance_batch(
        LAW, sub, NOISE, init_theta=start[order], num_chains=2, num_samples=1000,
        chunk_size=CHUNK, seeds=order + 100,
    )  # fmt: skip
    assert compiled_importance_curves._cache_size() == before + 1
    np.testing.assert_allclose(again.pareto_k, res.pareto_k[order], atol=1e-6)
    np.testing.assert_allclose(again.theta, res.theta[order], rtol=1e-6, atol=1e-8)


def test_settings_are_checked_before_any_work() -> None:
    data, truth = simulate(2, seed=3)
    with pytest.raises(ValueError, match="ImportanceConfig"):
        sample_importance_batch(LAW, data, NOISE, init_theta=truth, config=ImportanceConfig(df=0))
    with pytest.raises(ValueError, match="curvature"):
        sample_importance_batch(
            LAW, data, NOISE, init_theta=truth, config=ImportanceConfig(curvature="exact")
        )
    with pytest.raises(ValueError, match="engine"):
        sample_posterior_batch(LAW, data, NOISE, init_theta=truth, engine="chees")
    with pytest.raises(ValueError, match="Noise"):
        sample_importance_batch(LAW, data, bs.Loss("huber"), init_theta=truth[:, :3])


def flat_curve(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A flat curve (``L = 1.7`` with 2% noise): alpha and A are not identified, so the
    posterior is far from normal and PSIS rejects the importance weights."""
    rng = np.random.default_rng(seed)
    x = np.exp(rng.uniform(np.log(1e7), np.log(1e10), N_POINTS))
    return x, np.log(1.7) + 0.02 * rng.standard_normal(N_POINTS)


def test_auto_sends_the_curves_psis_rejects_to_nuts(batch, monkeypatch) -> None:
    data, _, start, res, _ = batch
    x, y = flat_curve()
    sub = Data(
        {"x": np.concatenate([data.x["x"][:7], np.pad(x, (0, 2), constant_values=np.nan)[None]])},
        np.concatenate([data.log_y[:7], np.pad(y, (0, 2), constant_values=np.nan)[None]]),
        np.concatenate([data.weight[:7], np.pad(np.ones(N_POINTS), (0, 2))[None]]),
    )
    init = np.concatenate([start[:7], [[5.0, 0.5, 0.3, -4.0]]])
    calls = []

    def fake_nuts(law, d, noise, *, init_theta, seeds, space, config, **kw) -> BatchNutsResult:
        """NUTS stand-in (its compilation costs more than this file's budget; the sampler
        itself is tested in test_sampling.py): records its input, returns marked draws."""
        calls.append((d.log_y.copy(), init_theta.copy(), seeds.copy(), space, kw["chunk_size"]))
        k, p = len(seeds), init_theta.shape[1]
        shape = (k, config.num_chains, config.num_samples, p)
        return BatchNutsResult(
            np.full(shape, 7.0), res.names, np.full((k, p), 1.002), np.full((k, p), 321.0),
            np.zeros(k, np.int64), np.zeros(k, np.int64), ("",) * k, 0.0,
        )  # fmt: skip

    monkeypatch.setattr(engines, "sample_nuts_batch", fake_nuts)
    config = bs.NutsConfig(num_chains=2, num_samples=1000)
    seeds = np.arange(8) + 100
    out = sample_posterior_batch(
        LAW, sub, NOISE, init_theta=init, config=config, seeds=seeds, chunk_size=CHUNK
    )
    assert list(out.engine) == ["laplace_psis"] * 7 + ["nuts"]
    assert np.all(out.pareto_k[:7] <= PARETO_K_MAX) and out.pareto_k[7] > PARETO_K_MAX
    ((log_y, nuts_init, nuts_seeds, space, chunk),) = calls  # one NUTS call, the flat curve
    np.testing.assert_array_equal(log_y, sub.log_y[7:])
    assert space == "fit" and chunk == 1 and nuts_seeds.tolist() == [107]
    imp = sample_importance_batch(
        LAW, sub, NOISE, init_theta=init, num_chains=2, num_samples=1000, chunk_size=CHUNK,
        seeds=seeds,
    )  # fmt: skip
    np.testing.assert_allclose(nuts_init[0], imp.mode[7])  # NUTS starts at the mode found
    np.testing.assert_allclose(out.theta[:7], res.theta[:7], rtol=1e-6, atol=1e-8)
    assert np.all(out.theta[7] == 7.0) and np.all(out.ess[7] == 321.0)
    assert np.all(np.isnan(out.rhat[:7])) and np.all(out.divergences[:7] == 0)
    np.testing.assert_allclose(out.ess[:7, 0], res.ess[:7], rtol=1e-6)
    laplace = sample_posterior_batch(
        LAW, sub, NOISE, init_theta=init, config=config, seeds=seeds, chunk_size=CHUNK,
        engine="laplace",
    )  # fmt: skip
    assert len(calls) == 1 and list(laplace.engine) == ["laplace_psis"] * 8
    assert laplace.status[7] == SAMPLER_WARNING and "Pareto k" in laplace.messages[7]


def test_cli_method_auto_end_to_end(tmp_path, capsys) -> None:
    table = power_curves(8, np.random.default_rng(0), lengths=(N_POINTS,))
    path = tmp_path / "curves.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["fit", str(path), "--law", "power", "--group", "run", "--method", "auto",
            "--noise", "gaussian", "--chains", "2", "--draws", "500", "--no-progress",
            "--json", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["method"] == "auto" and summary["n_curves"] == 8
    assert summary["sampler_status_counts"] == {"ok": 8}
    curves = pd.read_csv(out / "curves.csv")
    assert (curves["engine"] == "laplace_psis").all()
    assert (curves["pareto_k"] <= PARETO_K_MAX).all() and curves["max_rhat"].isna().all()
    assert (curves["divergences"] == 0).all() and (curves["min_ess"] > 300).all()
    assert (curves["alpha_q05"] < curves["alpha_q50"]).all()
    assert (curves["alpha_q50"] < curves["alpha_q95"]).all()
    assert main(["fit", str(path), "--law", "power", "--method", "auto"]) == 2
    assert "--group" in capsys.readouterr().err
