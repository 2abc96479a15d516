"""Proper scores of forecasts (:mod:`bayescale.predict.scores`) against closed forms and scipy,
and the per-point predictive draws behind them (:mod:`bayescale.predict.pointwise`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import bayescale as bs
from bayescale.predict.pointwise import point_draws
from bayescale.predict.posterior import predict_log_loss
from bayescale.predict.scores import (
    crps,
    draws_log_likelihood,
    forecast_scores,
    interval_score,
    level_name,
    log_mean_exp,
)


def test_interval_score_closed_form() -> None:
    # inside: the width; below / above: width + (2 / alpha) * miss (Gneiting & Raftery eq. 43)
    got = interval_score([1.0, -1.0, 4.0], 0.0, 2.0, 0.9)
    assert np.allclose(got, [2.0, 2.0 + 20.0 * 1.0, 2.0 + 20.0 * 2.0])
    assert interval_score(0.5, 0.0, 1.0, 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        interval_score(0.0, -1.0, 1.0, 1.0)


def test_interval_score_is_minimised_by_the_true_quantiles() -> None:
    # a proper score: for y ~ N(0, 1) the expected score is lowest at the 5% / 95% quantiles
    y = np.random.default_rng(0).normal(size=200_000)
    z = stats.norm.ppf(0.95)
    best = interval_score(y, -z, z, 0.9).mean()
    for w in (0.8 * z, 1.25 * z):
        assert interval_score(y, -w, w, 0.9).mean() > best


def test_crps_matches_the_normal_closed_form_and_brute_force() -> None:
    rng = np.random.default_rng(1)
    y = np.array([0.0, 0.5, 1.0, -2.0])
    x = rng.normal(size=(4, 40_000))
    z = y  # N(0, 1): sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)]
    closed = z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    assert np.allclose(crps(x, y), closed, atol=0.01)
    small, yy = rng.normal(size=7), 0.3
    brute = np.mean(np.abs(small - yy)) - 0.5 * np.mean(np.abs(small[:, None] - small[None]))
    assert crps(small, yy) == pytest.approx(brute, rel=1e-12)
    # weights are multiplicities: weight 2 on a draw = that draw twice
    w = np.array([2, 1, 1, 1, 1, 1, 1.0])
    assert crps(small, yy, w) == pytest.approx(crps(np.append(small, small[0]), yy), rel=1e-12)


def test_forecast_scores_columns() -> None:
    rng = np.random.default_rng(2)
    draws = rng.normal(size=(3, 4000))
    draws[2] = np.nan  # a point without a prediction
    out = forecast_scores(draws, np.array([0.0, 3.0, 0.0]), (0.5, 0.9))
    assert level_name(0.9) == "90" and level_name(0.975) == "97.5"
    assert set(out) == {
        "pred_median",
        "lower_50",
        "upper_50",
        "covered_50",
        "interval_score_50",
        "lower_90",
        "upper_90",
        "covered_90",
        "interval_score_90",
        "crps",
        "log_error",
    }
    assert out["covered_90"].tolist() == [True, False, False]
    assert out["lower_90"][0] == pytest.approx(np.exp(stats.norm.ppf(0.05)), rel=0.05)
    assert np.isnan(out["crps"][2]) and np.isnan(out["pred_median"][2])


def test_point_draws_match_the_one_curve_predictive() -> None:
    law, noise = bs.get_law("power"), bs.Noise("gaussian")
    theta = np.array([[5.0, 0.5, 0.3, -4.0], [5.1, 0.5, 0.31, -4.1]])  # a, e, alpha, log_sigma
    x = {"x": np.array([1e6, 1e8, 1e9])}
    loss = np.exp(predict_log_loss(law, theta[0], x)[0]) * 1.01
    out = point_draws(law, np.broadcast_to(theta, (3, 2, 4)), x, loss, noise, repeats=5000)
    # the log predictive density is the draws' log mean likelihood, the one likelihood's
    ll = draws_log_likelihood(law, theta, x, loss, noise)
    assert np.allclose(out.lpd, log_mean_exp(ll), rtol=1e-10)
    # the sample: each draw's curve plus Gaussian noise of its scale
    mu = predict_log_loss(law, theta, x)
    assert out.log_loss.shape == (3, 10_000)
    assert np.allclose(out.log_loss.mean(axis=1), mu.mean(axis=0), atol=2e-3)
    with pytest.raises(ValueError, match="non-finite"):
        point_draws(law, np.full((3, 2, 4), np.nan), x, loss, noise)
