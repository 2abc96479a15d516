"""Batched NUTS over curves: same chains as single-curve NUTS, per-curve adaptation, failure
isolation and compilation reuse.

Every batch here has 3 curves padded to 40 points (``chunk_size=3``) and the same settings,
so the module compiles the batched sampler twice (long and short runs).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayescale.infer import NutsConfig, sample_nuts
from bayescale.infer.batch_nuts import (
    FAILED,
    OK,
    WARNING,
    compiled_run_curves,
    sample_nuts_batch,
)
from bayescale.infer.nuts import RunSettings, resolve_priors
from bayescale.laws import get_law, make_law
from bayescale.likelihood import Data, Noise

TRACES: list[int] = []
POWER = get_law("power")


def _counted(p, x):
    TRACES.append(1)
    return POWER.fn(p, x)


LAW = make_law("counted_power", _counted, POWER.params, POWER.inputs)
NOISE = Noise("gaussian")
LENGTHS = (20, 30, 40)
SIGMAS = (0.002, 0.05, 0.02)
LONG = NutsConfig(num_chains=4, num_warmup=300, num_samples=300, max_tree_depth=8, seed=3)


def simulate(seed: int, n: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """L = (1.7 + 200 x^-0.3) exp(N(0, sigma)), x log-spaced on [1e6, 1e10]."""
    rng = np.random.default_rng(seed)
    x = np.logspace(6, 10, n)
    return x, np.log(1.7 + 200 * x**-0.3) + sigma * rng.standard_normal(n)


def padded(curves: list[tuple[np.ndarray, np.ndarray]], length: int = 40) -> Data:
    """Curves padded with weight-0 points (NaN values: the likelihood must ignore them)."""
    x, y, w = np.full((3, length), np.nan), np.full((3, length), np.nan), np.zeros((3, length))
    for i, (xi, yi) in enumerate(curves):
        x[i, : xi.size], y[i, : xi.size], w[i, : xi.size] = xi, yi, 1.0
    return Data({"x": x}, y, w)


CURVES = [simulate(i, n, s) for i, (n, s) in enumerate(zip(LENGTHS, SIGMAS, strict=True))]
INIT = np.array([[math.log(200.0), math.log(1.7), 0.3, math.log(s)] for s in SIGMAS])


@pytest.fixture(scope="module")
def long_batch():
    return sample_nuts_batch(LAW, padded(CURVES), NOISE, init_theta=INIT, config=LONG, chunk_size=3)


def test_bad_input_raises_before_compute():
    data = padded(CURVES)
    with pytest.raises(ValueError, match=r"init_theta must be \(curve, parameter\)"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT[:2])
    with pytest.raises(ValueError, match="leading curve axis"):
        sample_nuts_batch(LAW, Data({"x": data.x["x"][0]}, data.log_y[0], data.weight[0]),
                          NOISE, init_theta=INIT)  # fmt: skip
    with pytest.raises(ValueError, match="num_chains"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT, config=NutsConfig(num_chains=0))
    with pytest.raises(ValueError, match="chunk_size"):
        sample_nuts_batch(LAW, data, NOISE, init_theta=INIT, chunk_size=0)


def test_curve_i_runs_the_chains_of_sample_nuts_with_seed_plus_i():
    # Curve i of the batch uses split(PRNGKey(seed + i), chains), the keys of sample_nuts on
    # that curve alone (unpadded) with seed + i, and the same computation: the draws agree to
    # rounding. Rounding differences (XLA's batched kernels, the padded points) grow along a
    # chain - to ~1e-4 after 100 draws on the sigma=0.002 curve - so this compares a short run.
    cfg = NutsConfig(num_chains=2, num_warmup=10, num_samples=10, seed=11)
    batch = sample_nuts_batch(LAW, padded(CURVES), NOISE, init_theta=INIT, config=cfg)
    assert batch.theta.shape == (3, 2, 10, 4)
    assert batch.names == ("a", "e", "alpha", "log_sigma")
    for i, (x, y) in enumerate(CURVES):
        alone = sample_nuts(
            LAW, Data({"x": x}, y, np.ones_like(x)), NOISE, init_theta=INIT[i],
            config=cfg._replace(seed=cfg.seed + i),
        )  # fmt: skip
        np.testing.assert_allclose(batch.theta[i], alone.theta, rtol=0, atol=1e-10)
        np.testing.assert_allclose(batch.rhat[i], alone.rhat, rtol=1e-6)
        assert batch.divergences[i] == alone.divergences


def test_each_curve_adapts_its_own_step_size(long_batch):
    res = long_batch
    assert res.theta.shape == (3, 4, 300, 4)
    assert np.all(res.rhat[:2] < 1.01), res.rhat
    assert np.all(res.status[:2] != FAILED) and np.all(res.divergences == 0)
    # the truth lies inside each curve's central 99% posterior interval
    truth = np.array([math.log(200.0), math.log(1.7), 0.3])
    lo, hi = np.quantile(res.theta[..., :3], [0.005, 0.995], axis=(1, 2))
    assert np.all((lo < truth) & (truth < hi)), (lo, hi)
    # step sizes: rerun the compiled core of the batch (same shapes: no recompilation)
    d = padded(CURVES)
    run = RunSettings(LONG.num_warmup, LONG.num_samples, LONG.target_accept, 8, True, "fisher")
    with jax.enable_x64(True):
        out = compiled_run_curves(
            jnp.arange(3) + LONG.seed, jnp.asarray(INIT),
            jax.tree_util.tree_map(jnp.asarray, d), law=LAW, noise=NOISE,
            priors=resolve_priors(LAW, NOISE), run=run, num_chains=4,
        )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(out.theta), res.theta)
    step = np.asarray(out.step_size)  # (curve, chain), in each lane's whitened space
    assert len(np.unique(step)) == step.size, "every lane adapts its own step size"
    # In parameter units (step x posterior sd) the sigma=0.002 curve takes ~10x smaller steps
    # than the sigma=0.05 one: adaptation and whitening are per curve, not shared.
    sd = res.theta.std(axis=(1, 2))
    eff = step.mean(axis=1)[:, None] * sd
    assert np.all(eff[1, :3] > 5 * eff[0, :3]), eff


def test_nan_start_is_isolated(long_batch):
    init = INIT.copy()
    init[1, 2] = np.nan
    res = sample_nuts_batch(LAW, padded(CURVES), NOISE, init_theta=init, config=LONG, chunk_size=3)
    assert res.status[1] == FAILED
    assert "init_theta is not finite" in res.messages[1]
    assert np.all(np.isnan(res.theta[1])) and np.all(np.isnan(res.rhat[1]))
    assert set(res.status[[0, 2]]) <= {OK, WARNING}
    # neighbours run the same chains as in the batch without the bad curve
    np.testing.assert_allclose(res.theta[[0, 2]], long_batch.theta[[0, 2]], rtol=0, atol=1e-10)
    np.testing.assert_array_equal(res.status[[0, 2]], long_batch.status[[0, 2]])
    assert res.messages[0] == long_batch.messages[0]


def test_second_batch_with_same_shapes_does_not_retrace(long_batch):
    n_traces = len(TRACES)
    other = [simulate(10 + i, n, s) for i, (n, s) in enumerate(zip(LENGTHS, SIGMAS, strict=True))]
    res = sample_nuts_batch(
        LAW, padded(other), NOISE, init_theta=INIT + 0.01, config=LONG._replace(seed=7),
        chunk_size=3,
    )  # fmt: skip
    assert len(TRACES) == n_traces, "same shapes and settings must reuse the compiled sampler"
    assert not np.allclose(res.theta, long_batch.theta)
    assert res.rhat.shape == res.ess.shape == (3, 4)
    assert res.divergences.shape == res.status.shape == (3,) and len(res.messages) == 3
    assert all((m == "") == (s == OK) for m, s in zip(res.messages, res.status, strict=True))
