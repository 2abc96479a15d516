"""Two-stage prediction: accuracy from a loss law's draws through a downstream law."""

from __future__ import annotations

import numpy as np
import pytest

import bayescale as bs
from bayescale.predict.downstream import two_stage_predict


def test_two_stage_predict_pairs_draws_and_adds_noise() -> None:
    rng = np.random.default_rng(0)
    n = 400
    # loss stage: power law L = E + A x^-alpha; accuracy stage: the sigmoid
    loss_theta = np.c_[
        np.log(400) + 0.05 * rng.standard_normal(n),
        np.log(1.7) + 0.01 * rng.standard_normal(n),
        0.3 + 0.005 * rng.standard_normal(n),
    ]
    acc_theta = np.c_[
        np.full(n, np.log(0.6)),
        np.full(n, np.log(0.25)),
        np.log(3.0) + 0.1 * rng.standard_normal(n),
        2.5 + 0.05 * rng.standard_normal(n),
    ]
    x = np.geomspace(1e8, 1e11, 5)
    out = two_stage_predict("power", loss_theta, {"x": x}, "sigmoid_downstream", acc_theta)
    loss = np.exp(loss_theta[:, 1:2]) + np.exp(loss_theta[:, :1]) * x ** -loss_theta[:, 2:3]
    acc = np.exp(acc_theta[:, :1]) / (
        1 + np.exp(np.exp(acc_theta[:, 2:3]) * (loss - acc_theta[:, 3:]))
    ) + np.exp(acc_theta[:, 1:2])
    np.testing.assert_allclose(out.loss.draws, loss, rtol=1e-12)
    np.testing.assert_allclose(out.accuracy.draws, acc, rtol=1e-12)  # draw i with draw i
    np.testing.assert_allclose(out.accuracy.quantiles, np.quantile(acc, [0.05, 0.5, 0.95], 0))
    assert np.all(np.diff(out.accuracy.mean) > 0)  # lower loss at larger x -> higher accuracy
    # a single accuracy-stage draw (a point fit) is paired with every loss draw
    one = two_stage_predict("power", loss_theta, {"x": x}, "sigmoid_downstream", acc_theta[0])
    assert one.accuracy.draws.shape == (n, 5)
    # new runs: each stage adds its noise, so the interval is wider than the curve's
    noisy = two_stage_predict(
        "power",
        np.c_[loss_theta, np.full(n, np.log(0.02))],
        {"x": x},
        "sigmoid_downstream",
        np.c_[acc_theta, np.full(n, np.log(0.03))],
        kind="new_run",
        loss_noise=bs.Noise("gaussian"),
        acc_noise=bs.Noise("gaussian"),
        seed=1,
    )
    width = np.diff(out.accuracy.quantiles[[0, 2]], axis=0)
    assert np.all(np.diff(noisy.accuracy.quantiles[[0, 2]], axis=0) > width)
    with pytest.raises(ValueError, match="draw i of one is paired with draw i"):
        two_stage_predict("power", loss_theta, {"x": x}, "sigmoid_downstream", acc_theta[:7])
    with pytest.raises(ValueError, match="needs acc_noise"):
        two_stage_predict(
            "power", loss_theta, {"x": x}, "sigmoid_downstream", acc_theta, kind="new_run"
        )
    with pytest.raises(ValueError, match="must take one input"):
        two_stage_predict("power", loss_theta, {"x": x}, "chinchilla", np.zeros(5))
