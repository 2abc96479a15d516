"""The critique's statistics on small data, against numpy/scipy and closed forms; the
distribution helpers; the reference registry. (Epoch AI's numbers, on the 240 Chinchilla
points, are in ``tests/reference/test_epoch.py``.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import bayescale as bs
from bayescale.likelihood import Data, Noise
from bayescale.predict import (
    critique,
    get_reference,
    list_references,
    predict_log_loss,
    reference_theta,
)
from bayescale.predict.criticism import chi2_sf, profile_log_sigma, t_two_sided_p, wald_test
from bayescale.predict.protocols import get_protocol, list_protocols
from bayescale.predict.wald import wald_directions

LAW = bs.get_law("chinchilla")
NOISE = Noise("gaussian")
N_POINTS = 40
#: Hoffmann et al.'s unrounded fit (fit space), the truth of the simulated data.
TRUTH = reference_theta(LAW, "hoffmann2022_unrounded")


def test_distribution_helpers_match_scipy():
    for x, df in ((282.7, 5), (84.0, 5), (3.0, 2), (0.0, 3), (1e-3, 1)):
        assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9)
    assert chi2_sf(-1.0, 5) == 1.0
    for t in (0.59, 4.82, -3.93, 0.0):
        assert t_two_sided_p(t, 235) == pytest.approx(2 * stats.t.sf(abs(t), 235), rel=1e-9)
    assert t_two_sided_p(2.0, 3) == pytest.approx(2 * stats.t.sf(2.0, 3), rel=1e-9)


def test_wald_test():
    d = np.array([1.0, -2.0, 0.5])
    w, df, p = wald_test(d, np.zeros(3), np.eye(3))
    assert (w, df) == (pytest.approx(5.25), 3)
    assert p == pytest.approx(stats.chi2.sf(5.25, 3), rel=1e-9)
    cov = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
    w = wald_test(d + 1.0, np.ones(3), cov)[0]
    assert w == pytest.approx(d @ np.linalg.solve(cov, d), rel=1e-12)
    # a singular covariance falls back to the pseudo-inverse
    sing = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert wald_test([1.0, 1.0], [0.0, 0.0], sing)[0] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def small():
    """40 simulated points (one of weight 0), the truth as estimate, draws around it."""
    rng = np.random.default_rng(4)
    n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), N_POINTS))
    d = n * np.exp(rng.uniform(0.0, np.log(300.0), N_POINTS))
    a, b, e, alpha, beta = TRUTH
    log_mean = np.log(np.exp(e) + np.exp(a) * n**-alpha + np.exp(b) * d**-beta)
    weight = np.ones(N_POINTS)
    weight[-1] = 0.0
    data = Data({"N": n, "D": d}, log_mean + 0.02 * rng.standard_normal(N_POINTS), weight)
    hat = np.append(TRUTH, math.log(0.02))
    cov = np.diag([0.05, 0.05, 0.01, 0.003, 0.003]) ** 2
    draws = np.column_stack(
        [rng.multivariate_normal(TRUTH, cov, 500), np.full(500, math.log(0.02))]
    )
    return data, hat, draws


def gaussian_profile(data: Data, theta: np.ndarray) -> tuple[float, float]:
    """Closed form: sigma^2 = mean r^2 over the weighted points; returns (log sigma, loglik)."""
    keep = data.weight > 0
    r = data.log_y[keep] - predict_log_loss(LAW, theta, data.x)[0][keep]
    s2 = np.mean(r**2)
    return 0.5 * math.log(s2), -0.5 * r.size * (math.log(2 * math.pi * s2) + 1)


def test_critique_statistics_match_numpy(small):
    data, hat, draws = small
    c = critique(LAW, data, NOISE, hat, draws, "hoffmann2022")
    ref = reference_theta(LAW, "hoffmann2022")
    assert (c.law, c.reference, c.n_points, c.n_draws) == ("chinchilla", "hoffmann2022", 39, 500)
    # Wald in fit space with the draws' covariance
    dlt = hat[:5] - ref
    w = dlt @ np.linalg.solve(np.cov(draws[:, :5].T), dlt)
    assert (c.wald_space, c.wald_df) == ("fit", 5)
    assert c.wald_chi2 == pytest.approx(w, rel=1e-9)
    assert c.wald_p == pytest.approx(stats.chi2.sf(w, 5), rel=1e-8)
    # t-tests in natural space, df = n - P over the points of positive weight
    nat = {
        "A": np.exp(draws[:, 0]),
        "B": np.exp(draws[:, 1]),
        "E": np.exp(draws[:, 2]),
        "alpha": draws[:, 3],
        "beta": draws[:, 4],
    }
    published = get_reference("hoffmann2022").params
    est = {
        "A": math.exp(hat[0]),
        "B": math.exp(hat[1]),
        "E": math.exp(hat[2]),
        "alpha": hat[3],
        "beta": hat[4],
    }
    assert set(c.tests) == set(nat)
    for name, t in c.tests.items():
        se = np.std(nat[name], ddof=1)
        want = (est[name] - published[name]) / se
        assert t["df"] == 34
        assert t["se"] == pytest.approx(se, rel=1e-12)
        assert t["reference"] == pytest.approx(published[name], rel=1e-12)
        assert t["t"] == pytest.approx(want, rel=1e-9)
        assert t["p"] == pytest.approx(2 * stats.t.sf(abs(want), 34), rel=1e-8)
    # LR: the fit's log likelihood against the reference's with sigma re-maximised
    keep = data.weight > 0
    r = data.log_y[keep] - predict_log_loss(LAW, hat, data.x)[0][keep]
    ll_fit = stats.norm.logpdf(r, scale=0.02).sum()
    ls_ref, ll_ref = gaussian_profile(data, ref)
    assert c.loglik_fit == pytest.approx(ll_fit, rel=1e-10)
    assert c.log_sigma_reference == pytest.approx(ls_ref, abs=1e-6)
    assert c.loglik_reference == pytest.approx(ll_ref, rel=1e-10)
    assert c.lr_stat == pytest.approx(2 * (ll_fit - ll_ref), rel=1e-9) and c.lr_df == 5
    assert c.lr_p == pytest.approx(stats.chi2.sf(c.lr_stat, 5), rel=1e-8)
    # runs needed: n (w_ours / w_claimed)^2 for both published intervals
    assert set(c.runs_needed) == {"a", "b"}
    ra = c.runs_needed["a"]
    assert ra["n_points"] == 39 and ra["probability"] == 0.8
    assert ra["claimed_width"] == pytest.approx(0.001, rel=1e-9)
    assert ra["bootstrap"] == pytest.approx(39 * (ra["our_width"] / 0.001) ** 2, rel=1e-9)
    # allocation at the default budget, Chinchilla's compute
    (key,) = c.allocation
    assert key == "5.88e+23" and c.allocation[key]["compute"] == 5.88e23
    tpp = c.allocation[key]["fit"]["tokens_per_param"]
    assert tpp["q05"] < tpp["median"] < tpp["q95"]


def test_log_sigma_is_profiled_when_the_estimate_has_none(small):
    data, hat, draws = small
    with_sigma = critique(LAW, data, NOISE, hat, draws, "hoffmann2022_unrounded")
    without = critique(LAW, data, NOISE, hat[:5], draws[:, :5], "hoffmann2022_unrounded")
    ls, ll = profile_log_sigma(LAW, hat, data, NOISE)
    want_ls, want_ll = gaussian_profile(data, hat[:5])
    assert ls == pytest.approx(want_ls, abs=1e-6) and ll == pytest.approx(want_ll, rel=1e-10)
    assert without.loglik_fit == pytest.approx(want_ll, rel=1e-10)
    # the profiled likelihood is the best over sigma, so it is at least the fixed-sigma one
    assert without.loglik_fit >= with_sigma.loglik_fit
    # the estimate is the truth, which is the unrounded reference: no evidence against it
    assert without.lr_stat == pytest.approx(0.0, abs=1e-8) and without.lr_p == pytest.approx(1.0)
    assert without.wald_chi2 == pytest.approx(0.0, abs=1e-12)


def test_critique_bad_input(small):
    data, hat, draws = small
    with pytest.raises(KeyError, match="known references"):
        critique(LAW, data, NOISE, hat, draws, "hoffmann2023")
    with pytest.raises(ValueError, match="at least 7 draws"):
        critique(LAW, data, NOISE, hat, draws[:3], "hoffmann2022")
    ref = get_reference("hoffmann2022")._replace(law="power")
    with pytest.raises(ValueError, match="is for law 'power'"):
        critique(LAW, data, NOISE, hat, draws, ref)
    with pytest.raises(ValueError, match="needs a Noise model"):
        critique(LAW, data, bs.Loss("huber"), hat, draws, "hoffmann2022")
    with pytest.raises(ValueError, match="one parameter vector"):
        critique(LAW, data, NOISE, draws[:2], draws, "hoffmann2022")


def test_reference_registry():
    assert {"hoffmann2022", "hoffmann2022_unrounded", "besiroglu2024"} <= set(list_references())
    ref = get_reference("hoffmann2022")
    assert ref.law == "chinchilla" and ref.params["A"] == 406.4
    assert ref.intervals["a"] == (0.454, 0.455, 0.80)
    # Unrounded: Besiroglu et al.'s fit-space values, stored in natural space.
    np.testing.assert_allclose(
        reference_theta(LAW, "hoffmann2022_unrounded"),
        [6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083],
        rtol=1e-12,
    )
    with pytest.raises(KeyError, match="unknown reference 'chinchilla'.*hoffmann2022"):
        get_reference("chinchilla")
    with pytest.raises(ValueError, match="is for law 'chinchilla', not 'power'"):
        reference_theta(bs.get_law("power"), "hoffmann2022")


# ----------------------------------------------------------------------------- fragility


def runs_by_delta(nat_at: np.ndarray, nat_draws: np.ndarray, n: int) -> float:
    """Epoch's delta method for a = beta / (alpha + beta), gradient at ``nat_at``."""
    al, be = nat_at[3], nat_at[4]
    g = np.array([-be, al]) / (al + be) ** 2
    sd = math.sqrt(g @ np.cov(nat_draws[:, 3:5].T) @ g)
    return n * (2 * stats.norm.ppf(0.9) * sd / 0.001) ** 2


def test_delta_method_at_the_estimate_or_the_draws_mean(small):
    """Besiroglu et al. take the gradient at the bootstrap means of alpha and beta; the
    default takes it at the estimate. Everything else is the same."""
    data, hat, draws = small
    shifted = draws + np.append([0.0, 0.0, 0.0, 0.01, -0.01], 0.0)  # mean away from the fit
    at_est = critique(LAW, data, NOISE, hat, shifted, "hoffmann2022")
    at_mean = critique(LAW, data, NOISE, hat, shifted, "hoffmann2022", delta_at="draws-mean")
    nat = np.column_stack([np.exp(shifted[:, :3]), shifted[:, 3:5]])
    nat_hat = np.append(np.exp(hat[:3]), hat[3:5])
    assert (at_est.delta_at, at_mean.delta_at) == ("estimate", "draws_mean")
    for c, at in ((at_est, nat_hat), (at_mean, nat.mean(0))):
        r = c.runs_needed["a"]
        assert r["delta_at"] == c.delta_at
        assert r["delta_method"] == pytest.approx(runs_by_delta(at, nat, 39), rel=1e-9)
        assert r["estimate"] == pytest.approx(hat[4] / (hat[3] + hat[4]), rel=1e-12)
    assert at_mean.runs_needed["a"]["delta_method"] != pytest.approx(
        at_est.runs_needed["a"]["delta_method"], rel=1e-3
    )
    assert at_mean.runs_needed["a"]["bootstrap"] == at_est.runs_needed["a"]["bootstrap"]
    assert at_mean.wald_chi2 == at_est.wald_chi2
    with pytest.raises(ValueError, match="unknown delta_at 'mode'"):
        critique(LAW, data, NOISE, hat, draws, "hoffmann2022", delta_at="mode")


def test_wald_directions_reproduce_the_statistic(small):
    """W = sum over the covariance's eigen-directions of z_i^2 = (v_i' d)^2 / lambda_i."""
    data, hat, draws = small
    c = critique(LAW, data, NOISE, hat, draws, "hoffmann2022")
    d = c.wald_directions
    cov = np.cov(draws[:, :5].T)
    lam = np.linalg.eigvalsh(cov)
    assert d["names"] == ["a", "b", "e", "alpha", "beta"]
    np.testing.assert_allclose(d["sd"], np.sqrt(lam), rtol=1e-9)  # thinnest first
    assert sum(d["share"]) == pytest.approx(1.0, rel=1e-12)
    assert sum(z * z for z in d["z"]) == pytest.approx(c.wald_chi2, rel=1e-9)
    assert d["smallest_share"] == d["share"][0] and d["smallest_sd"] == d["sd"][0]
    vec = np.array(d["vectors"])
    np.testing.assert_allclose(vec @ vec.T, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(vec @ cov @ vec.T, np.diag(lam), atol=1e-12)
    z = vec @ (hat[:5] - reference_theta(LAW, "hoffmann2022")) / np.sqrt(lam)
    np.testing.assert_allclose(d["z"], z, rtol=1e-9)
    # with a diagonal covariance the directions are the axes
    w = wald_directions([1.0, 2.0], [0.0, 0.0], np.diag([4.0, 1.0]), ("x", "y"))
    assert w["sd"] == [1.0, 2.0] and w["vectors"] == [[0.0, 1.0], [1.0, 0.0]]
    assert w["share"] == pytest.approx([4 / 4.25, 0.25 / 4.25]) and w["z"] == [2.0, 0.5]


def test_natural_space_wald_beside_the_fit_space_one(small):
    """(These draws are narrow, so exp is nearly linear over them and the two statistics
    nearly agree; on the Chinchilla bootstrap they are 182 and 63.)"""
    data, hat, draws = small
    c = critique(LAW, data, NOISE, hat, draws, "hoffmann2022")
    nat = np.column_stack([np.exp(draws[:, :3]), draws[:, 3:5]])
    ref = get_reference("hoffmann2022").params
    d = np.append(np.exp(hat[:3]), hat[3:5]) - np.array([ref[k] for k in "ABE"] + [0.34, 0.28])
    w = d @ np.linalg.solve(np.cov(nat.T), d)
    assert c.wald_natural_chi2 == pytest.approx(w, rel=1e-9)
    assert c.wald_natural_p == pytest.approx(stats.chi2.sf(w, 5), rel=1e-8)


def test_monte_carlo_errors_are_positive_and_shrink_with_more_draws(small):
    """The SD over 200 resamples of the draws falls as 1 / sqrt(n_draws): 16x the draws,
    a quarter of the error (here within a factor 1.5 of it)."""
    data, hat, _ = small
    rng = np.random.default_rng(1)
    cov = np.diag([0.05, 0.05, 0.01, 0.003, 0.003]) ** 2
    few, many = (rng.multivariate_normal(TRUTH, cov, k) for k in (500, 8000))
    c_few = critique(LAW, data, NOISE, hat, few, "hoffmann2022")
    c_many = critique(LAW, data, NOISE, hat, many, "hoffmann2022")
    for key in ("delta_method_mc_se", "bootstrap_mc_se"):
        a, b = c_few.runs_needed["a"][key], c_many.runs_needed["a"][key]
        assert a > 0 and b > 0 and 0.25 / 1.5 < b / a < 0.25 * 1.5, (key, a, b)
    assert 0.25 / 1.5 < c_many.wald_mc_se / c_few.wald_mc_se < 0.25 * 1.5
    # the same seed gives the same errors; none without resamples
    again = critique(LAW, data, NOISE, hat, few, "hoffmann2022")
    assert again.wald_mc_se == c_few.wald_mc_se
    off = critique(LAW, data, NOISE, hat, few, "hoffmann2022", mc_resamples=0)
    assert off.wald_mc_se is None and off.runs_needed["a"]["bootstrap_mc_se"] is None
    assert off.runs_needed["a"]["delta_method"] == c_few.runs_needed["a"]["delta_method"]
    with pytest.raises(ValueError, match="mc_resamples must be >= 2"):
        critique(LAW, data, NOISE, hat, few, "hoffmann2022", mc_resamples=1)


def test_protocol_registry():
    p = get_protocol("besiroglu2024")
    assert list_protocols() == ["besiroglu2024"]
    assert (p.n_resamples, p.seed, p.resample_scheme) == (4000, 42, "numpy_legacy")
    assert p.refit == bs.Loss("huber", 1e-3) and p.start == "hoffmann2022_unrounded"
    assert p.delta_at == "draws_mean" and p.reference == "hoffmann2022_unrounded"
    with pytest.raises(KeyError, match="unknown protocol 'epoch'.*besiroglu2024"):
        get_protocol("epoch")
