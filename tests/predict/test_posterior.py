"""Posterior predictive of the loss: the law's curve per draw, mean and new-run intervals."""

from __future__ import annotations

import numpy as np
import pytest

import bayescale as bs
from bayescale.likelihood import Noise
from bayescale.predict import predict_log_loss, predictive, summarise

LAW = bs.get_law("chinchilla")
X = {"N": np.array([1e8, 1e9, 7e10, 1e11]), "D": np.array([2e9, 2e10, 1.4e12, 2e12])}


def test_predict_log_loss_matches_law_per_draw(draws_near_mle, mle):
    draws = draws_near_mle(50)
    out = predict_log_loss(LAW, draws, X)
    assert out.shape == (50, 4)
    a, b, e, alpha, beta = draws[:, :5].T  # L = E + A/N^alpha + B/D^beta, in numpy
    want = np.log(
        np.exp(e)[:, None]
        + np.exp(a)[:, None] / X["N"] ** alpha[:, None]
        + np.exp(b)[:, None] / X["D"] ** beta[:, None]
    )
    np.testing.assert_allclose(out, want, rtol=1e-12)
    one = predict_log_loss(LAW, mle, X)  # a single fit is one draw
    assert one.shape == (1, 4)


def test_single_fit_mean_interval_is_the_curve(mle):
    p = predictive(LAW, mle, X)
    curve = np.exp(predict_log_loss(LAW, mle, X))[0]
    assert p.kind == "mean" and p.probs == (0.05, 0.5, 0.95)
    assert p.quantiles.shape == (3, 4) and p.draws.shape == (1, 4)
    np.testing.assert_allclose(p.quantiles, np.broadcast_to(curve, (3, 4)), rtol=1e-12)
    np.testing.assert_allclose(p.mean, curve, rtol=1e-12)


def test_new_run_interval_strictly_wider_than_mean(draws_near_mle):
    draws = draws_near_mle()
    noise = Noise("huber", 1e-3)
    mean = predictive(LAW, draws, X, kind="mean")
    new = predictive(LAW, draws, X, kind="new_run", noise=noise, seed=1)
    w_mean = mean.quantiles[2] - mean.quantiles[0]
    w_new = new.quantiles[2] - new.quantiles[0]
    assert new.kind == "new_run"
    assert np.all(w_new > w_mean), (w_mean, w_new)
    # Same curve underneath: the medians agree to within the noise.
    np.testing.assert_allclose(new.quantiles[1], mean.quantiles[1], rtol=2e-3)
    # the seed fixes the noise draws
    again = predictive(LAW, draws, X, kind="new_run", noise=noise, seed=1)
    np.testing.assert_array_equal(again.draws, new.draws)


@pytest.mark.parametrize("kind", ["gaussian", "laplace", "student_t"])
def test_new_run_90pct_interval_covers_fresh_runs(kind, draws_near_mle):
    """Fresh runs simulated from the same parameter distribution plus independent numpy noise.

    When the truth is drawn from the distribution the draws come from, the predictive interval
    is calibrated by construction: 90% intervals must cover 90% of fresh observations. 20
    points x 500 fresh runs give a binomial SD of 0.003; the interval ends estimated from 4,000
    draws add about 0.005, so +-0.025 is about 4 SD. The "mean" interval, which leaves out the
    run-to-run noise, must cover far fewer (about 0.6 here).
    """
    rng = np.random.default_rng(123)
    n_points, n_fresh, scale = 20, 500, 0.01
    x = {"N": np.geomspace(1e8, 1e11, n_points), "D": np.geomspace(1e9, 3e12, n_points)}
    draws = draws_near_mle(seed=5, log_sigma=np.log(scale))
    noise = Noise(kind, df=4.0)
    pred = predictive(LAW, draws, x, kind="new_run", noise=noise, probs=(0.05, 0.95), seed=7)
    curve = predictive(LAW, draws, x, kind="mean", probs=(0.05, 0.95))

    truth = draws_near_mle(n_fresh, seed=99, log_sigma=np.log(scale))
    log_curve = predict_log_loss(LAW, truth, x)  # (n_fresh, n_points)
    eps = {
        "gaussian": rng.standard_normal,
        "laplace": rng.laplace,
        "student_t": lambda size: rng.standard_t(4.0, size),
    }[kind](size=log_curve.shape)
    fresh = np.exp(log_curve + scale * eps)
    inside = (fresh >= pred.quantiles[0]) & (fresh <= pred.quantiles[1])
    assert abs(inside.mean() - 0.90) < 0.025, inside.mean()
    inside_mean = (fresh >= curve.quantiles[0]) & (fresh <= curve.quantiles[1])
    assert inside_mean.mean() < 0.75, inside_mean.mean()


def test_new_run_requires_noise_model_and_scale(draws_near_mle):
    draws = draws_near_mle(10)
    with pytest.raises(ValueError, match="new training run.*noise=Noise"):
        predictive(LAW, draws, X, kind="new_run")
    with pytest.raises(ValueError, match="needs a Noise model"):
        predictive(LAW, draws, X, kind="new_run", noise=bs.Loss("huber"))
    with pytest.raises(ValueError, match="log_sigma"):
        predictive(LAW, draws[:, :5], X, kind="new_run", noise=Noise("huber"))
    with pytest.raises(ValueError, match="kind must be one of"):
        predictive(LAW, draws, X, kind="run")
    with pytest.raises(ValueError, match="probs"):
        predictive(LAW, draws, X, probs=(0.05, 1.0))


def test_bad_draws_and_inputs(mle):
    with pytest.raises(ValueError, match=r"shape \(n_draws, 5\)"):
        predict_log_loss(LAW, np.zeros((3, 4)), X)
    with pytest.raises(ValueError, match="non-finite"):
        predict_log_loss(LAW, np.full((2, 5), np.nan), X)
    with pytest.raises(ValueError, match=r"missing \['D'\]"):
        predict_log_loss(LAW, mle, {"N": X["N"]})
    with pytest.raises(ValueError, match="same length"):
        predict_log_loss(LAW, mle, {"N": X["N"], "D": X["D"][:2]})


def test_summarise_is_the_one_summary():
    v = np.arange(101.0)
    s = summarise(v)
    assert s == {
        "mean": 50.0,
        "sd": pytest.approx(np.std(v, ddof=1)),
        "q05": 5.0,
        "q50": 50.0,
        "q95": 95.0,
    }
    assert summarise([2.5])["sd"] == 0.0
