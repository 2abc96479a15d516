"""The numpyro model of a law: default and overridden priors, and its one likelihood factor."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import numpyro
import pytest
from numpyro import handlers

import bayescale as bs
from bayescale.infer import build_model, resolve_priors
from bayescale.infer.model import check_prior, prior_distribution
from bayescale.likelihood import Data, Noise, log_likelihood, noise_spec

LAW = bs.get_law("chinchilla")
#: Hoffmann et al.'s parameters in fit space (log A, log B, log E, alpha, beta).
TRUE = (math.log(406.4), math.log(410.7), math.log(1.69), 0.34, 0.28)


def simulate(n: int, sigma: float = 0.02, seed: int = 1) -> Data:
    """Chinchilla-law data with Gaussian noise on the log loss."""
    rng = np.random.default_rng(seed)
    big_n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), n))
    d = big_n * np.exp(rng.uniform(0.0, np.log(300.0), n))
    a, b, e, alpha, beta = TRUE
    log_mean = np.log(np.exp(e) + np.exp(a) * big_n**-alpha + np.exp(b) * d**-beta)
    return Data({"N": big_n, "D": d}, log_mean + sigma * rng.standard_normal(n), np.ones(n))


def test_log_sigma_prior_tracks_huber_delta():
    assert noise_spec(Noise("gaussian")).prior == ("normal", math.log(0.02), 3.0)
    kind, loc, scale = noise_spec(Noise("huber", 1e-3)).prior
    assert (kind, scale) == ("normal", 3.0)
    assert loc == pytest.approx(math.log(0.02) + math.log(1e-3))
    spec = noise_spec(Noise("laplace"))
    assert (spec.name, spec.label, spec.transform) == ("log_sigma", "sigma", "exp")


def test_resolve_priors_defaults_and_overrides():
    pri = dict(resolve_priors(LAW, Noise("laplace"), {"alpha": ("halfnormal", 1.0)}))
    assert list(pri) == [*LAW.param_names, "log_sigma"]
    assert pri["alpha"] == ("halfnormal", 1.0)
    assert pri["a"] == ("normal", 6.0, 5.0)
    assert pri["log_sigma"] == noise_spec(Noise("laplace")).prior
    with pytest.raises(ValueError, match="unknown parameter 'A'"):
        resolve_priors(LAW, Noise(), {"A": ("normal", 0.0, 1.0)})
    with pytest.raises(ValueError, match="prior for 'beta'"):
        resolve_priors(LAW, Noise(), {"beta": ("uniform", 2.0, 1.0)})
    with pytest.raises(ValueError, match="prior for 'e'"):
        resolve_priors(LAW, Noise(), {"e": ("cauchy", 0.0, 1.0)})


@pytest.mark.parametrize(
    "prior",
    [("normal", 0.0), ("normal", 0.0, 0.0), ("halfnormal", -1.0), ("lognormal", 0.0, math.nan),
     ("uniform", 1.0, 1.0), ("normal", "a", 1.0), "normal"],
)  # fmt: skip
def test_check_prior_rejects_malformed(prior):
    with pytest.raises(ValueError, match="prior for 'x' must be"):
        check_prior("x", prior)


def test_prior_distribution_kinds():
    for prior, mean in (
        (("normal", 1.5, 2.0), 1.5),
        (("uniform", 0.0, 2.0), 1.0),
        (("halfnormal", 1.0), math.sqrt(2 / math.pi)),
        (("lognormal", 0.0, 0.5), math.exp(0.125)),
    ):
        assert float(prior_distribution(check_prior("x", prior)).mean) == pytest.approx(mean)


def test_model_factor_is_the_one_likelihood():
    data = simulate(20)
    noise = Noise("student_t", df=4.0)
    model = build_model(LAW, noise)
    theta = np.array([*TRUE, math.log(0.02)])
    with bs.enable_x64():
        values = dict(zip((*LAW.param_names, "log_sigma"), jnp.asarray(theta), strict=True))
        tr = handlers.trace(handlers.substitute(handlers.seed(model, 0), values)).get_trace(data)
        assert [k for k, v in tr.items() if v["type"] == "sample"] == [
            *LAW.param_names,
            "log_sigma",
            "log_likelihood",
        ]
        factor = tr["log_likelihood"]["fn"].log_prob(tr["log_likelihood"]["value"])
        expected = log_likelihood(LAW, jnp.asarray(theta), data, noise)
        np.testing.assert_allclose(factor, expected, rtol=1e-12)
        # the log density adds the priors (all below 0 here) to the factor
        assert numpyro.infer.util.log_density(model, (data,), {}, values)[0] < factor


def test_model_needs_a_noise_density():
    with pytest.raises(TypeError, match="needs a Noise density, got Loss"):
        build_model(bs.get_law("power"), bs.Loss("huber", 1e-3))
