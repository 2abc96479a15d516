"""NUTS engine: Chinchilla posterior, parameter recovery, compilation reuse and bad input."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayescale.fit.multistart import FitConfig, fit_multistart
from bayescale.infer import NutsConfig, build_model, resolve_priors, sample_nuts
from bayescale.infer.nuts import default_log_sigma_prior
from bayescale.laws import get_law, grid_starts, make_law
from bayescale.likelihood import Data, Noise, log_likelihood

CHINCHILLA_CSV = Path("/work/shared/data/chinchilla/svg_extracted_data.csv")
TRUE = {
    "a": math.log(406.4),
    "b": math.log(410.7),
    "e": math.log(1.69),
    "alpha": 0.34,
    "beta": 0.28,
}
LAW = get_law("chinchilla")


def _az():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning)
        import arviz

    return arviz


def simulate(seed: int, n: int = 200, sigma: float = 0.02) -> Data:
    """Chinchilla-law data with Gaussian noise on the log loss (the true values in TRUE)."""
    rng = np.random.default_rng(seed)
    n_par = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), n))
    d_tok = n_par * np.exp(rng.uniform(0.0, np.log(300.0), n))
    theta = np.array([TRUE[k] for k in LAW.param_names])
    with jax.enable_x64(True):
        x = {"N": jnp.asarray(n_par), "D": jnp.asarray(d_tok)}
        p = dict(zip(LAW.param_names, jnp.asarray(theta), strict=True))
        log_mean = np.asarray(LAW.fn(p, x))
        log_y = log_mean + sigma * rng.standard_normal(n)
        return Data(x, jnp.asarray(log_y), jnp.ones(n))


def fit_start(data: Data, noise: Noise, log_sigma: float) -> np.ndarray:
    """Maximum-likelihood start from the law's default grid plus a log_sigma column."""
    grid = grid_starts(LAW)
    grid = np.concatenate([grid, np.full((len(grid), 1), log_sigma)], axis=1)
    with jax.enable_x64(True):
        res = fit_multistart(jnp.asarray(grid), data, LAW, noise, FitConfig())
        return np.asarray(res.theta)


@pytest.fixture(scope="module")
def chinchilla_data() -> Data:
    pd = pytest.importorskip("pandas")
    if not CHINCHILLA_CSV.exists():
        pytest.skip("Chinchilla data not available")
    df = pd.read_csv(CHINCHILLA_CSV)
    n_par = df["Model Size"].to_numpy(float)
    d_tok = df["Training FLOP"].to_numpy(float) / (6 * n_par)
    loss = df["loss"].to_numpy(float)
    keep = loss < np.sort(loss)[-5]
    assert keep.sum() == 240
    with jax.enable_x64(True):
        x = {"N": jnp.asarray(n_par[keep]), "D": jnp.asarray(d_tok[keep])}
        return Data(x, jnp.log(jnp.asarray(loss[keep])), jnp.ones(int(keep.sum())))


# ----------------------------------------------------------------------------- fast checks


def test_default_log_sigma_prior_tracks_huber_delta():
    assert default_log_sigma_prior(Noise("gaussian")) == ("normal", math.log(0.02), 3.0)
    kind, loc, scale = default_log_sigma_prior(Noise("huber", 1e-3))
    assert (kind, scale) == ("normal", 3.0)
    assert loc == pytest.approx(math.log(0.02) + math.log(1e-3))


def test_resolve_priors_defaults_and_overrides():
    pri = dict(resolve_priors(LAW, Noise("laplace"), {"alpha": ("halfnormal", 1.0)}))
    assert list(pri) == [*LAW.param_names, "log_sigma"]
    assert pri["alpha"] == ("halfnormal", 1.0)
    assert pri["a"] == ("normal", 6.0, 5.0)
    with pytest.raises(ValueError, match="unknown parameter 'A'"):
        resolve_priors(LAW, Noise(), {"A": ("normal", 0.0, 1.0)})
    with pytest.raises(ValueError, match="prior for 'beta'"):
        resolve_priors(LAW, Noise(), {"beta": ("uniform", 2.0, 1.0)})
    with pytest.raises(ValueError, match="prior for 'e'"):
        resolve_priors(LAW, Noise(), {"e": ("cauchy", 0.0, 1.0)})


def test_model_factor_is_the_one_likelihood():
    import numpyro
    from numpyro import handlers

    data = simulate(1, n=20)
    noise = Noise("student_t", df=4.0)
    model = build_model(LAW, noise)
    theta = np.array([TRUE[k] for k in LAW.param_names] + [math.log(0.02)])
    with jax.enable_x64(True):
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
        assert numpyro.infer.util.log_density(model, (data,), {}, values)[0] < factor


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise": Noise("cauchy")}, "unknown noise model 'cauchy'"),
        ({"config": NutsConfig(num_chains=0)}, "num_chains"),
        ({"config": NutsConfig(num_samples=0)}, "num_samples"),
        ({"init_theta": np.zeros(5)}, "init_theta must have 6 entries"),
        ({"init_theta": np.full(6, np.nan)}, "init_theta must be finite"),
        ({"priors": {"gamma": ("normal", 0.0, 1.0)}}, "unknown parameter 'gamma'"),
        ({"precondition": "bfgs"}, "precondition"),
        ({"chain_method": "threads"}, "chain_method"),
    ],
)
def test_bad_input_raises_before_compute(kwargs, match):
    args = {
        "noise": Noise("huber", 1e-3),
        "init_theta": np.zeros(6),
        "config": NutsConfig(),
    }
    args.update(kwargs)
    data = simulate(0, n=10)
    with pytest.raises(ValueError, match=match):
        sample_nuts(LAW, data, **args)


def test_missing_input_column_raises():
    data = simulate(0, n=10)
    bad = Data({"N": data.x["N"]}, data.log_y, data.weight)
    with pytest.raises(ValueError, match=r"lacks input columns \['D'\]"):
        sample_nuts(LAW, bad, Noise("gaussian"), init_theta=np.zeros(6))


# ----------------------------------------------------------------------------- compiled runs


@pytest.mark.slow
def test_second_call_with_same_shapes_does_not_recompile():
    traces = []

    def counted(p, x):
        traces.append(1)
        return LAW.fn(p, x)

    law = make_law("counted_chinchilla", counted, LAW.params, LAW.inputs)
    noise = Noise("gaussian")
    start = np.array([TRUE[k] for k in law.param_names] + [math.log(0.02)])
    cfg = NutsConfig(num_chains=2, num_warmup=60, num_samples=40)
    first = sample_nuts(law, simulate(2, n=50), noise, init_theta=start, config=cfg)
    n_traces = len(traces)
    assert n_traces > 0
    second = sample_nuts(
        law, simulate(3, n=50), noise, init_theta=start + 0.01, config=cfg._replace(seed=5)
    )
    assert len(traces) == n_traces, "same shapes and settings must reuse the compiled sampler"
    assert not np.array_equal(first.theta, second.theta)
    # shapes, names and groups of the result
    assert second.theta.shape == (2, 40, 6)
    assert second.names == (*law.param_names, "log_sigma")
    assert second.rhat.shape == second.ess.shape == (6,)
    idata = second.idata
    for group in (
        "posterior",
        "sample_stats",
        "observed_data",
        "log_likelihood",
        "posterior_predictive",
    ):
        assert hasattr(idata, group), group
    assert set(idata.posterior.data_vars) == {"A", "B", "E", "alpha", "beta", "sigma"}
    np.testing.assert_allclose(idata.posterior["A"].values, np.exp(second.theta[..., 0]))
    assert idata.log_likelihood["log_loss"].shape == (2, 40, 50)
    assert idata.posterior_predictive["log_loss"].shape == (2, 40, 50)
    assert {"diverging", "tree_depth", "lp", "step_size"} <= set(idata.sample_stats.data_vars)
    # 80 draws cannot reach the bulk-ESS threshold of 200, and the result says so
    assert any(w.startswith("bulk ESS") for w in second.warnings)


@pytest.mark.slow
def test_progress_bar_reports_iterations_and_leaves_draws_unchanged(capsys):
    import bayescale.infer.nuts as nuts_mod

    noise = Noise("gaussian")
    start = np.array([TRUE[k] for k in LAW.param_names] + [math.log(0.02)])
    cfg = NutsConfig(num_chains=2, num_warmup=60, num_samples=40, seed=3)
    data = simulate(2, n=50)
    plain = sample_nuts(LAW, data, noise, init_theta=start, config=cfg)
    ticks = []
    real_tick = nuts_mod._tick
    nuts_mod._tick = lambda n: (ticks.append(int(np.sum(n))), real_tick(n))
    try:
        shown = sample_nuts(
            LAW, data, noise, init_theta=start, config=cfg._replace(progress_bar=True)
        )
    finally:
        nuts_mod._tick = real_tick
    np.testing.assert_array_equal(shown.theta, plain.theta)
    # 2 chains x 100 iterations, reported every PROGRESS_EVERY = 50 iterations
    assert sum(ticks) == 200 and len(ticks) == 4
    assert "nuts" in capsys.readouterr().err
    assert nuts_mod._BAR["bar"] is None


@pytest.mark.slow
def test_chinchilla_huber_posterior(chinchilla_data):
    noise = Noise("huber", 1e-3)
    start = fit_start(chinchilla_data, noise, log_sigma=-10.0)
    res = sample_nuts(LAW, chinchilla_data, noise, init_theta=start, config=NutsConfig())
    assert res.theta.shape == (4, 1000, 6)
    assert res.divergences == 0
    assert np.all(res.rhat < 1.01), dict(zip(res.names, res.rhat, strict=True))
    assert np.all(res.ess > 400), dict(zip(res.names, res.ess, strict=True))
    assert res.warnings == ()
    med = dict(zip(res.names, np.median(res.theta, axis=(0, 1)), strict=True))
    # Besiroglu et al. (2024) bootstrap 95% intervals
    assert 0.317 < med["alpha"] < 0.373
    assert 0.331 < med["beta"] < 0.415
    summary = _az().summary(res.idata, hdi_prob=0.95)
    assert set(summary.index) == {"A", "B", "E", "alpha", "beta", "sigma"}
    assert (summary["r_hat"] < 1.01).all(), summary
    with warnings.catch_warnings():  # a Pareto-k warning is a statement about the data
        warnings.simplefilter("ignore", UserWarning)
        loo = _az().loo(res.idata)
    assert np.isfinite(loo.elpd_loo)


@pytest.mark.slow
def test_recovers_simulated_parameters():
    data = simulate(11)
    noise = Noise("gaussian")
    start = fit_start(data, noise, log_sigma=-4.0)
    # The Chinchilla law's (a, alpha, e) posterior bends in its lower tail (a smaller alpha
    # needs a lower floor). On these simulated data NUTS at the default target_accept=0.9
    # diverges there 4-84 times per 4000 draws (R-hat up to 1.04 over 8 seeds); at 0.99 it
    # diverged 0-2 times with R-hat <= 1.006 over 6 seeds.
    cfg = NutsConfig(seed=1, target_accept=0.99)
    res = sample_nuts(LAW, data, noise, init_theta=start, config=cfg)
    assert np.all(res.rhat < 1.01), dict(zip(res.names, res.rhat, strict=True))
    assert res.divergences <= 10
    assert (res.divergences > 0) == any("divergent" in w for w in res.warnings)
    draws = res.theta.reshape(-1, res.theta.shape[-1])
    for name in ("e", "alpha", "beta"):
        col = draws[:, res.names.index(name)]
        lo, hi = np.quantile(col, [0.05, 0.95])
        assert lo < TRUE[name] < hi, (name, lo, TRUE[name], hi)
    lo, hi = np.quantile(np.exp(draws[:, -1]), [0.05, 0.95])
    assert lo < 0.02 < hi
