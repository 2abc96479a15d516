"""The one likelihood: Huber summed (not averaged), densities normalised, weights and masks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import bayescale as bs
from bayescale import enable_x64
from bayescale.laws import ParamSpec
from bayescale.likelihood import (
    LOG_SIGMA_PRIOR_SCALE,
    LOG_SIGMA_START,
    NOISE_KINDS,
    TYPICAL_RESIDUAL,
    Data,
    Loss,
    Noise,
    as_noise,
    check_objective,
    fit_names,
    huber,
    log_likelihood,
    natural_names,
    noise_logpdf,
    noise_scale,
    noise_spec,
    objective,
    params,
    pointwise_log_likelihood,
    sample_noise,
)

# Compiled once per static law / objective / shape: much cheaper than op-by-op dispatch.
OBJECTIVE = jax.jit(objective, static_argnums=(0, 3))
LOG_LIKELIHOOD = jax.jit(log_likelihood, static_argnums=(0, 3))
NOISE_LOGPDF = jax.jit(noise_logpdf, static_argnums=1)
SAMPLE_NOISE = jax.jit(sample_noise, static_argnums=(1, 3))


def _data(n: int = 20, seed: int = 0) -> tuple[Data, jnp.ndarray]:
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = N * 10 ** rng.uniform(0, 2.5, n)
    theta = np.array([np.log(406.4), np.log(410.7), np.log(1.69), 0.34, 0.28])
    L = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
    y = np.log(L) + rng.normal(0, 0.02, n)
    return Data({"N": jnp.asarray(N), "D": jnp.asarray(D)}, jnp.asarray(y), jnp.ones(n)), theta


def test_huber_is_summed_not_averaged() -> None:
    law = bs.get_law("chinchilla")
    with enable_x64():
        data, theta = _data()
        r = np.asarray(data.log_y) - np.log(
            1.69 + 406.4 / np.asarray(data.x["N"]) ** 0.34 + 410.7 / np.asarray(data.x["D"]) ** 0.28
        )
        d = 1e-3
        want = np.sum(np.where(np.abs(r) <= d, 0.5 * r**2, d * (np.abs(r) - 0.5 * d)))
        got = float(OBJECTIVE(law, jnp.asarray(theta), data, Loss("huber", d)))
        np.testing.assert_allclose(got, want, rtol=1e-12)
        sq = float(OBJECTIVE(law, jnp.asarray(theta), data, Loss("squared")))
        np.testing.assert_allclose(sq, 0.5 * np.sum(r**2), rtol=1e-12)


def test_weights_and_padding_mask() -> None:
    law = bs.get_law("chinchilla")
    with enable_x64():
        data, theta = _data(10)
        theta = jnp.asarray(theta)
        obj = Loss("huber", 1e-3)
        # weight 2 on a point == that point twice
        w = jnp.ones(10).at[3].set(2.0)
        doubled = Data(
            {k: jnp.concatenate([v, v[3:4]]) for k, v in data.x.items()},
            jnp.concatenate([data.log_y, data.log_y[3:4]]),
            jnp.ones(11),
        )
        np.testing.assert_allclose(
            OBJECTIVE(law, theta, data._replace(weight=w), obj),
            OBJECTIVE(law, theta, doubled, obj),
            rtol=1e-12,
        )
        # padding with weight 0 and garbage values changes nothing, even NaN
        padded = Data(
            {k: jnp.concatenate([v, jnp.array([1.0, jnp.nan])]) for k, v in data.x.items()},
            jnp.concatenate([data.log_y, jnp.array([jnp.nan, 5.0])]),
            jnp.concatenate([data.weight, jnp.zeros(2)]),
        )
        nz = Noise("student_t", df=3.0)
        th = jnp.concatenate([theta, jnp.array([np.log(0.02)])])
        for o, t in ((obj, theta), (nz, th)):
            np.testing.assert_allclose(
                OBJECTIVE(law, t, padded, o), OBJECTIVE(law, t, data, o), rtol=1e-12
            )
        g = jax.jit(jax.grad(lambda t: objective(law, t, padded, obj)))(theta)
        assert bool(jnp.all(jnp.isfinite(g)))


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_densities_integrate_to_one_and_match_scipy(kind: str) -> None:
    nz = Noise(kind, delta=0.7, df=3.5)
    ls = np.log(0.3)
    with enable_x64():
        pdf = lambda r: float(np.exp(NOISE_LOGPDF(jnp.asarray(r), nz, jnp.asarray(ls))))  # noqa: E731
        total = integrate.quad(pdf, -np.inf, np.inf, limit=200)[0]
        assert abs(total - 1) < 1e-7
        r = np.linspace(-2, 2, 9)
        got = np.asarray(NOISE_LOGPDF(jnp.asarray(r), nz, jnp.asarray(ls)))
    ref = {
        "gaussian": stats.norm(0, 0.3).logpdf(r),
        "laplace": stats.laplace(0, 0.3).logpdf(r),
        "student_t": stats.t(3.5, 0, 0.3).logpdf(r),
    }.get(kind)
    if ref is not None:
        np.testing.assert_allclose(got, ref, rtol=1e-10)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_sample_noise_follows_its_density(kind: str) -> None:
    nz = Noise(kind, delta=0.5, df=4.0)
    with enable_x64():
        s = np.asarray(SAMPLE_NOISE(jax.random.PRNGKey(3), nz, jnp.log(0.3), (400_000,)))
        pdf = lambda r: float(np.exp(NOISE_LOGPDF(jnp.asarray(r), nz, jnp.log(0.3))))  # noqa: E731
        for a, b in [(-0.05, 0.05), (0.1, 0.2), (0.3, 0.6), (1.0, 2.0)]:
            p = integrate.quad(pdf, a, b)[0]
            # binomial SE of a frequency from 400k draws is <= 8e-4
            assert abs(np.mean((s > a) & (s < b)) - p) < 4e-3


def test_log_likelihood_is_minus_the_noise_objective() -> None:
    law = bs.get_law("chinchilla")
    with enable_x64():
        data, theta = _data()
        th = jnp.asarray(np.append(theta, np.log(0.02)))
        nz = Noise("gaussian")
        ll = float(LOG_LIKELIHOOD(law, th, data, nz))
        assert ll == pytest.approx(-float(OBJECTIVE(law, th, data, nz)))
        r = np.asarray(data.log_y) - np.log(
            1.69 + 406.4 / np.asarray(data.x["N"]) ** 0.34 + 410.7 / np.asarray(data.x["D"]) ** 0.28
        )
        assert ll == pytest.approx(stats.norm(0, 0.02).logpdf(r).sum(), rel=1e-12)


def test_huber_function_values() -> None:
    r = jnp.asarray([-3.0, -1.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(huber(r, 1.0), [2.5, 0.5, 0.0, 0.125, 1.5])


@pytest.mark.parametrize(
    "obj, match",
    [
        (Loss("l1"), "unknown loss"),
        (Noise("cauchy"), "unknown noise model"),
        (Loss("huber", -1.0), "delta must be a positive"),
        (Noise("student_t", df=0.0), "freedom"),
    ],
)
def test_bad_objectives(obj, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_objective(obj)


def test_as_noise_checks_and_names_the_caller() -> None:
    assert as_noise("huber", 1e-3) == Noise("huber", 1e-3)
    with pytest.raises(ValueError, match="held-out extrapolation needs a noise model"):
        as_noise(Loss("squared"), what="held-out extrapolation")
    with pytest.raises(ValueError, match="unknown noise model 'cauchy'"):
        as_noise("cauchy")


# ----------------------------------------------------------------------------- parameters


def test_noise_spec_reports_sigma_with_a_residual_scale_prior() -> None:
    gauss = noise_spec(Noise("gaussian"))
    assert gauss == ParamSpec(
        "log_sigma",
        "sigma",
        "exp",
        LOG_SIGMA_START - 5.0,
        LOG_SIGMA_START + 5.0,
        ("normal", np.log(TYPICAL_RESIDUAL), LOG_SIGMA_PRIOR_SCALE),
        (LOG_SIGMA_START,),
    )
    assert gauss.label == "sigma" and gauss.grid == (-5.0,)
    assert gauss.prior[1] == pytest.approx(np.log(0.02), rel=1e-15) and gauss.prior[2] == 3.0
    # the Huber density standardises r / sigma, so sigma ~ delta x the residual scale
    hub = noise_spec(Noise("huber", delta=1e-3))
    assert hub.prior[1] == pytest.approx(np.log(0.02 * 1e-3), rel=1e-14)
    assert noise_spec(Noise("huber", delta=0.5)).prior[1] == pytest.approx(np.log(0.01))
    assert noise_spec(Noise("student_t", df=3.0)) == noise_spec(Noise("laplace")) == gauss


def test_params_and_names_add_sigma_for_a_noise_model_only() -> None:
    law = bs.get_law("chinchilla")
    assert params(law, Loss()) == law.params
    assert params(law, Noise("laplace")) == (*law.params, noise_spec(Noise("laplace")))
    assert fit_names(law, Loss("squared")) == ("a", "b", "e", "alpha", "beta")
    assert natural_names(law, Loss()) == ("A", "B", "E", "alpha", "beta")
    assert fit_names(law, Noise()) == ("a", "b", "e", "alpha", "beta", "log_sigma")
    assert natural_names(law, Noise()) == ("A", "B", "E", "alpha", "beta", "sigma")
    assert natural_names(bs.get_law("power"), Noise()) == ("A", "E", "alpha", "sigma")
    theta = jnp.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(noise_scale(law, theta), [5.0, 11.0])


def test_pointwise_log_likelihood_sums_to_the_total_and_zeroes_pads() -> None:
    law = bs.get_law("chinchilla")
    with enable_x64():
        data, theta = _data(8)
        th = jnp.asarray(np.append(theta, np.log(0.02)))
        nz = Noise("student_t", df=3.0)
        w = jnp.array([1.0, 2.0, 1.0, 0.0, 1.0, 1.0, 3.0, 1.0])
        point = np.asarray(
            jax.jit(pointwise_log_likelihood, static_argnums=(0, 3))(
                law, th, data._replace(weight=w), nz
            )
        )
        total = float(LOG_LIKELIHOOD(law, th, data._replace(weight=w), nz))
    assert point.shape == (8,) and point[3] == 0.0
    assert total == pytest.approx(float(np.sum(np.asarray(w) * point)), rel=1e-13)
