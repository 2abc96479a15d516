"""NUTS through its host boundaries: one curve (:func:`sample_nuts`) and many curves
(:func:`sample_nuts_batch`).

Compilation dominates the cost here (a run of these small samplers takes well under a
second), so the module uses few static settings: one curve compiles three samplers (``ONE``
with and without progress, ``SHORT``) and many curves two (``SHORT`` and ``LONG``), every
batch having 3 curves of 30 points padded to 40 (``chunk_size=3``). The compile-count tests
check that a second call with new data and seed reuses the compiled sampler.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from helpers import COUNTED_POWER, TRACES

import bayescale as bs
from bayescale.infer import NutsConfig, resolve_priors, sample_nuts, sample_nuts_batch
from bayescale.infer.chains import PROGRESS_EVERY, compiled_run_curves
from bayescale.infer.sampling import run_settings
from bayescale.likelihood import Data, Noise
from bayescale.status import SAMPLER_FAILED, SAMPLER_OK, SAMPLER_WARNING

LAW = COUNTED_POWER
NOISE = Noise("gaussian")
SIGMAS = (0.002, 0.05, 0.02)
N_POINTS, PADDED = 30, 40
#: One curve: 2 chains x 100 iterations (progress reports every 50).
ONE = NutsConfig(num_chains=2, num_warmup=60, num_samples=40, seed=3)
#: Short chains, for comparisons of the first iterations (rounding grows along a chain).
SHORT = NutsConfig(num_chains=2, num_warmup=10, num_samples=10, seed=11)
#: Long enough for R-hat < 1.01 and adapted step sizes.
LONG = NutsConfig(num_chains=4, num_warmup=300, num_samples=300, max_tree_depth=8, seed=3)
#: Per-curve seeds of the SHORT batches.
SEEDS = np.array([11, 7, 123])


def simulate(seed: int, n: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``log L = log(1.7 + 200 x^-0.3) + N(0, sigma)``, x log-spaced on [1e6, 1e10]."""
    rng = np.random.default_rng(seed)
    x = np.logspace(6, 10, n)
    return x, np.log(1.7 + 200 * x**-0.3) + sigma * rng.standard_normal(n)


def one(curve: tuple[np.ndarray, np.ndarray]) -> Data:
    x, y = curve
    return Data({"x": x}, y, np.ones_like(x))


def padded(curves: list, length: int = PADDED) -> Data:
    """Curves padded with weight-0 points (NaN values: the likelihood must ignore them)."""
    k = len(curves)
    x, y, w = np.full((k, length), np.nan), np.full((k, length), np.nan), np.zeros((k, length))
    for i, (xi, yi) in enumerate(curves):
        x[i, : xi.size], y[i, : xi.size], w[i, : xi.size] = xi, yi, 1.0
    return Data({"x": x}, y, w)


CURVES = [simulate(i, N_POINTS, s) for i, s in enumerate(SIGMAS)]
INIT = np.array([[math.log(200.0), math.log(1.7), 0.3, math.log(s)] for s in SIGMAS])


# ----------------------------------------------------------------------------- one curve


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise": Noise("cauchy")}, "unknown noise model 'cauchy'"),
        ({"config": NutsConfig(num_chains=0)}, "num_chains"),
        ({"config": NutsConfig(num_samples=0)}, "num_samples"),
        ({"config": NutsConfig(num_warmup=-1)}, "num_warmup"),
        ({"config": NutsConfig(target_accept=1.0)}, "target_accept"),
        ({"init_theta": np.zeros(3)}, "init_theta must have 4 entries"),
        ({"init_theta": np.full(4, np.nan)}, "init_theta must be finite"),
        ({"priors": {"gamma": ("normal", 0.0, 1.0)}}, "unknown parameter 'gamma'"),
        ({"precondition": "bfgs"}, "precondition"),
        ({"chain_method": "threads"}, "chain_method"),
    ],
)
def test_bad_input_raises_before_compute(kwargs, match):
    args = {"noise": Noise("huber", 1e-3), "init_theta": INIT[0], "config": NutsConfig()}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sample_nuts(LAW, one(CURVES[0]), **args)


def test_bad_data_raises_before_compute():
    law = bs.get_law("chinchilla")
    x, y = CURVES[0]
    with pytest.raises(ValueError, match=r"lacks input columns \['D'\]"):
        sample_nuts(law, Data({"N": x}, y, np.ones_like(x)), NOISE, init_theta=np.zeros(6))
    with pytest.raises(ValueError, match="non-finite values"):
        sample_nuts(LAW, Data({"x": x}, np.where(x > 1e9, np.nan, y), np.ones_like(x)), NOISE,
                    init_theta=INIT[0])  # fmt: skip
    with pytest.raises(ValueError, match="1-D"):
        sample_nuts(LAW, padded(CURVES), NOISE, init_theta=INIT[0])


@pytest.fixture(scope="module")
def first_run() -> bs.infer.NutsResult:
    """Curve 0 under ``ONE`` (compiles the plain one-curve sampler)."""
    return sample_nuts(LAW, one(CURVES[0]), NOISE, init_theta=INIT[0], config=ONE)


def test_second_call_with_same_shapes_does_not_recompile(first_run):
    n_traces = TRACES["n"]
    second = sample_nuts(
        LAW, one(CURVES[2]), NOISE, init_theta=INIT[2], config=ONE._replace(seed=5)
    )
    assert TRACES["n"] == n_traces, "same shapes and settings must reuse the compiled sampler"
    assert not np.array_equal(first_run.theta, second.theta)
    # shapes, names and groups of the result
    assert second.theta.shape == (2, 40, 4)
    assert second.names == (*LAW.param_names, "log_sigma")
    assert second.rhat.shape == second.ess.shape == (4,)
    idata = second.idata
    for group in (
        "posterior",
        "sample_stats",
        "observed_data",
        "constant_data",
        "log_likelihood",
        "posterior_predictive",
    ):
        assert hasattr(idata, group), group
    assert set(idata.posterior.data_vars) == {"A", "E", "alpha", "sigma"}
    np.testing.assert_allclose(idata.posterior["A"].values, np.exp(second.theta[..., 0]))
    np.testing.assert_allclose(idata.posterior["sigma"].values, np.exp(second.theta[..., 3]))
    assert idata.log_likelihood["log_loss"].shape == (2, 40, N_POINTS)
    assert idata.posterior_predictive["log_loss"].shape == (2, 40, N_POINTS)
    assert {"diverging", "tree_depth", "lp", "step_size"} <= set(idata.sample_stats.data_vars)
    assert second.divergences == int(idata.sample_stats["diverging"].values.sum())
    # 80 draws cannot reach the bulk-ESS threshold of 200, and the result says so
    assert any(w.startswith("bulk ESS") for w in second.warnings)


def test_progress_callable_counts_iterations_and_leaves_draws_unchanged(first_run, capsys):
    ticks: list[int] = []
    shown = sample_nuts(
        LAW, one(CURVES[0]), NOISE, init_theta=INIT[0], config=ONE, progress=ticks.append
    )
    np.testing.assert_array_equal(shown.theta, first_run.theta)
    # 2 chains x 100 iterations, reported every PROGRESS_EVERY = 50 iterations of a chain
    assert PROGRESS_EVERY == 50
    assert sum(ticks) == 200 and len(ticks) == 4, ticks
    # progress=True draws a bar on standard error (the same compiled sampler)
    n_traces = TRACES["n"]
    barred = sample_nuts(LAW, one(CURVES[0]), NOISE, init_theta=INIT[0], config=ONE, progress=True)
    assert TRACES["n"] == n_traces
    np.testing.assert_array_equal(barred.theta, first_run.theta)
    assert "nuts" in capsys.readouterr().err
    # the reporter is released: a later run with a new callable sees only its own ticks
    later: list[int] = []
    sample_nuts(LAW, one(CURVES[0]), NOISE, init_theta=INIT[0], config=ONE, progress=later.append)
    assert sum(later) == 200 and sum(ticks) == 200


@pytest.mark.slow
def test_recovers_simulated_chinchilla_parameters():
    """200 simulated points, the Chinchilla law, Gaussian noise of 0.02.

    The Chinchilla law's (a, alpha, e) posterior bends in its lower tail (a smaller alpha needs
    a lower floor). On these simulated data NUTS at the default target_accept=0.9 diverged
    4-84 times per 4,000 draws (R-hat up to 1.04 over 8 seeds); at 0.99 it diverged 0-2 times
    with R-hat <= 1.006 over 6 seeds. The truth must lie in each central 99.8% interval: a
    calibrated sampler fails that for at most 4 x 0.2% of data sets (coverage of 90%
    intervals is checked over 40 data sets in ``tests/workflows/test_uncertainty.py``).
    """
    law = bs.get_law("chinchilla")
    truth = {"a": math.log(406.4), "b": math.log(410.7), "e": math.log(1.69)}
    truth.update(alpha=0.34, beta=0.28)
    rng = np.random.default_rng(11)
    big_n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), 200))
    d = big_n * np.exp(rng.uniform(0.0, np.log(300.0), 200))
    mean = np.exp(truth["e"]) + np.exp(truth["a"]) * big_n**-0.34 + np.exp(truth["b"]) * d**-0.28
    df = pd.DataFrame({"N": big_n, "D": d, "loss": mean * np.exp(0.02 * rng.standard_normal(200))})
    f = bs.fit(df, law, loss=Noise("gaussian"))
    res = sample_nuts(
        law, bs.as_data(f.data), Noise("gaussian"), init_theta=f.result.theta,
        config=NutsConfig(seed=1, target_accept=0.99),
    )  # fmt: skip
    assert np.all(res.rhat < 1.01), dict(zip(res.names, res.rhat, strict=True))
    assert res.divergences <= 10
    assert (res.divergences > 0) == any("divergent" in w for w in res.warnings)
    draws = res.theta.reshape(-1, res.theta.shape[-1])
    for name in ("e", "alpha", "beta"):
        lo, hi = np.quantile(draws[:, res.names.index(name)], [0.001, 0.999])
        assert lo < truth[name] < hi, (name, lo, truth[name], hi)
    lo, hi = np.quantile(np.exp(draws[:, -1]), [0.001, 0.999])
    assert lo < 0.02 < hi


# ----------------------------------------------------------------------------- many curves


@pytest.fixture(scope="module")
def short_batch() -> bs.infer.BatchNutsResult:
    return sample_nuts_batch(
        LAW, padded(CURVES), NOISE, init_theta=INIT, config=SHORT, seeds=SEEDS, chunk_size=3
    )


@pytest.fixture(scope="module")
def long_batch() -> bs.infer.BatchNutsResult:
    return sample_nuts_batch(LAW, padded(CURVES), NOISE, init_theta=INIT, config=LONG, chunk_size=3)


def test_batch_bad_input_raises_before_compute():
    data = padded(CURVES)
    with pytest.raises(ValueError, match=r"init_theta must be \(curve, parameter\)"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT[:2])
    with pytest.raises(ValueError, match="leading curve axis"):
        sample_nuts_batch(LAW, one(CURVES[0]), NOISE, init_theta=INIT)
    with pytest.raises(ValueError, match="num_chains"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT, config=NutsConfig(num_chains=0))
    with pytest.raises(ValueError, match="chunk_size"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT, chunk_size=0)
    with pytest.raises(ValueError, match=r"seeds must be \(3,\) integers"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT, seeds=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"seeds must be \(3,\) integers"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT, seeds=SEEDS[:2])


def test_curve_i_runs_the_chains_of_sample_nuts_with_its_seed(short_batch):
    """Curve i of the batch uses ``split(PRNGKey(seeds[i]), chains)``, the keys of
    ``sample_nuts`` on that curve alone (unpadded) with that seed, and the same computation:
    the draws agree to rounding. Rounding differences (XLA's batched kernels, the padded
    points) grow along a chain - to ~1e-4 after 100 draws on the sigma=0.002 curve - so this
    compares a short run."""
    batch = short_batch
    assert batch.theta.shape == (3, 2, 10, 4)
    assert batch.names == ("a", "e", "alpha", "log_sigma")
    for i, curve in enumerate(CURVES):
        alone = sample_nuts(
            LAW, one(curve), NOISE, init_theta=INIT[i], config=SHORT._replace(seed=int(SEEDS[i]))
        )
        np.testing.assert_allclose(batch.theta[i], alone.theta, rtol=0, atol=1e-10)
        np.testing.assert_allclose(batch.rhat[i], alone.rhat, rtol=1e-6)
        assert batch.divergences[i] == alone.divergences


def test_default_seeds_are_config_seed_plus_curve_index(short_batch):
    res = sample_nuts_batch(LAW, padded(CURVES), NOISE, init_theta=INIT, config=SHORT, chunk_size=3)
    np.testing.assert_array_equal(res.theta[0], short_batch.theta[0])  # seeds[0] == SHORT.seed
    assert SHORT.seed == SEEDS[0] and SHORT.seed + 1 != SEEDS[1]
    assert not np.allclose(res.theta[1], short_batch.theta[1])


def test_each_curve_adapts_its_own_step_size(long_batch):
    res = long_batch
    assert res.theta.shape == (3, 4, 300, 4)
    assert np.all(res.rhat[:2] < 1.01), res.rhat
    assert np.all(res.status[:2] != SAMPLER_FAILED) and np.all(res.divergences == 0)
    # The truth lies within 4 posterior SDs of each curve's posterior mean: 9 checks that a
    # calibrated sampler fails together with probability ~6e-4 (a 99% interval each would
    # fail ~9% of data sets).
    truth = np.array([math.log(200.0), math.log(1.7), 0.3])
    z = (res.theta[..., :3].mean(axis=(1, 2)) - truth) / res.theta[..., :3].std(axis=(1, 2))
    assert np.all(np.abs(z) < 4), z
    # step sizes: rerun the compiled core of the batch (same shapes: no recompilation)
    n_traces = TRACES["n"]
    with bs.enable_x64():
        out = compiled_run_curves(
            jnp.arange(3) + LONG.seed, jnp.asarray(INIT),
            jax.tree_util.tree_map(jnp.asarray, padded(CURVES)), law=LAW, noise=NOISE,
            priors=resolve_priors(LAW, NOISE), run=run_settings(LONG, "fisher", False),
            num_chains=4,
        )  # fmt: skip
    assert TRACES["n"] == n_traces
    np.testing.assert_array_equal(np.asarray(out.theta), res.theta)
    step = np.asarray(out.step_size)  # (curve, chain), in each lane's whitened space
    assert len(np.unique(step)) == step.size, "every lane adapts its own step size"
    # In parameter units (step x posterior sd) the sigma=0.002 curve takes ~10x smaller steps
    # than the sigma=0.05 one: adaptation and whitening are per curve, not shared.
    sd = res.theta.std(axis=(1, 2))
    eff = step.mean(axis=1)[:, None] * sd
    assert np.all(eff[1, :3] > 5 * eff[0, :3]), eff


def test_nan_start_is_isolated(short_batch):
    init = INIT.copy()
    init[1, 2] = np.nan
    res = sample_nuts_batch(
        LAW, padded(CURVES), NOISE, init_theta=init, config=SHORT, seeds=SEEDS, chunk_size=3
    )
    assert res.status[1] == SAMPLER_FAILED
    assert "init_theta is not finite" in res.messages[1]
    assert np.all(np.isnan(res.theta[1])) and np.all(np.isnan(res.rhat[1]))
    assert set(res.status[[0, 2]]) <= {SAMPLER_OK, SAMPLER_WARNING}
    # neighbours run the same chains as in the batch without the bad curve
    np.testing.assert_allclose(res.theta[[0, 2]], short_batch.theta[[0, 2]], rtol=0, atol=1e-10)
    np.testing.assert_array_equal(res.status[[0, 2]], short_batch.status[[0, 2]])
    assert res.messages[0] == short_batch.messages[0]


def test_unusable_curve_is_not_sampled(short_batch):
    data = padded(CURVES)
    data.weight[2] = 0.0  # no point of positive weight
    res = sample_nuts_batch(
        LAW, data, NOISE, init_theta=INIT, config=SHORT, seeds=SEEDS, chunk_size=3
    )
    assert res.status[2] == SAMPLER_FAILED
    assert res.messages[2].startswith("not sampled: weights must be >= 0")
    assert np.all(np.isnan(res.theta[2])) and res.divergences[2] == 0
    np.testing.assert_allclose(res.theta[:2], short_batch.theta[:2], rtol=0, atol=1e-10)


def test_second_batch_with_same_shapes_does_not_retrace(short_batch):
    n_traces = TRACES["n"]
    other = [simulate(10 + i, N_POINTS, s) for i, s in enumerate(SIGMAS)]
    res = sample_nuts_batch(
        LAW, padded(other), NOISE, init_theta=INIT + 0.01, config=SHORT._replace(seed=7),
        chunk_size=3,
    )  # fmt: skip
    assert TRACES["n"] == n_traces, "same shapes and settings must reuse the compiled sampler"
    assert not np.allclose(res.theta, short_batch.theta)
    assert res.rhat.shape == res.ess.shape == (3, 4)
    assert res.divergences.shape == res.status.shape == (3,) and len(res.messages) == 3
    assert all(
        (m == "") == (s == SAMPLER_OK) for m, s in zip(res.messages, res.status, strict=True)
    )
