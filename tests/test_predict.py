"""Posterior predictive, compute-optimal allocation and the reference registry.

No fitting here: the draws are built around the MLE of the Huber likelihood on Epoch AI's 240
Chinchilla points (Besiroglu et al. 2024), which ``test_critique.py`` reproduces with the fitter.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bayescale.laws import get_law, make_law
from bayescale.laws.chinchilla import chinchilla
from bayescale.likelihood import Noise
from bayescale.predict import (
    allocate,
    budget_grid,
    get_reference,
    list_references,
    predict_log_loss,
    predictive,
    reference_theta,
)
from bayescale.predict.allocation import _allocate_numerical

LAW = get_law("chinchilla")
#: MLE of the Huber likelihood (delta 1e-3) on the 240 points; Epoch: a 6.178, b 7.643,
#: e 0.597, alpha 0.3478, beta 0.3659, log sigma -12.27.
EPOCH_MLE = np.array(
    [6.177955975813964, 7.642732362265495, 0.5971119597825667, 0.3478130290386182,
     0.36585411729622747, -12.26662387967872]
)  # fmt: skip
C_CHINCHILLA = 6 * 70e9 * 1.4e12  # 5.88e23 FLOP
X = {"N": np.array([1e8, 1e9, 7e10, 1e11]), "D": np.array([2e9, 2e10, 1.4e12, 2e12])}


def synthetic_draws(n: int = 4000, seed: int = 0, log_sigma: float = -12.27) -> np.ndarray:
    """Draws scattered around the MLE (independent normals; not a fitted posterior)."""
    rng = np.random.default_rng(seed)
    sd = np.array([0.01, 0.01, 0.005, 0.001, 0.001])
    theta = EPOCH_MLE[:5] + sd * rng.standard_normal((n, 5))
    return np.column_stack([theta, np.full(n, log_sigma)])


# ----------------------------------------------------------------------------- predictive


def test_predict_log_loss_matches_law_per_draw():
    draws = synthetic_draws(50)
    out = predict_log_loss(LAW, draws, X)
    assert out.shape == (50, 4)
    a, b, e, alpha, beta = draws[:, :5].T  # L = E + A/N^alpha + B/D^beta, in numpy
    want = np.log(
        np.exp(e)[:, None]
        + np.exp(a)[:, None] / X["N"] ** alpha[:, None]
        + np.exp(b)[:, None] / X["D"] ** beta[:, None]
    )
    np.testing.assert_allclose(out, want, rtol=1e-12)
    one = predict_log_loss(LAW, EPOCH_MLE, X)  # a single fit is one draw
    assert one.shape == (1, 4)


def test_single_fit_mean_interval_is_the_curve():
    p = predictive(LAW, EPOCH_MLE, X)
    curve = np.exp(predict_log_loss(LAW, EPOCH_MLE, X))[0]
    assert p.kind == "mean" and p.probs == (0.05, 0.5, 0.95)
    assert p.quantiles.shape == (3, 4) and p.draws.shape == (1, 4)
    np.testing.assert_allclose(p.quantiles, np.broadcast_to(curve, (3, 4)), rtol=1e-12)
    np.testing.assert_allclose(p.mean, curve, rtol=1e-12)


def test_new_run_interval_strictly_wider_than_mean():
    draws = synthetic_draws()
    noise = Noise("huber", 1e-3)
    mean = predictive(LAW, draws, X, kind="mean")
    new = predictive(LAW, draws, X, kind="new_run", noise=noise, seed=1)
    w_mean = mean.quantiles[2] - mean.quantiles[0]
    w_new = new.quantiles[2] - new.quantiles[0]
    assert new.kind == "new_run"
    assert np.all(w_new > w_mean), (w_mean, w_new)
    # Same curve underneath: the medians agree to within the noise.
    np.testing.assert_allclose(new.quantiles[1], mean.quantiles[1], rtol=2e-3)


@pytest.mark.parametrize("kind", ["gaussian", "laplace", "student_t"])
def test_new_run_90pct_interval_covers_fresh_runs(kind):
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
    draws = synthetic_draws(seed=5, log_sigma=np.log(scale))
    noise = Noise(kind, df=4.0)
    pred = predictive(LAW, draws, x, kind="new_run", noise=noise, probs=(0.05, 0.95), seed=7)
    curve = predictive(LAW, draws, x, kind="mean", probs=(0.05, 0.95))

    truth = synthetic_draws(n_fresh, seed=99, log_sigma=np.log(scale))
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


def test_new_run_requires_noise_model_and_scale():
    draws = synthetic_draws(10)
    with pytest.raises(ValueError, match="new training run.*noise=Noise"):
        predictive(LAW, draws, X, kind="new_run")
    with pytest.raises(ValueError, match="log_sigma"):
        predictive(LAW, draws[:, :5], X, kind="new_run", noise=Noise("huber"))
    with pytest.raises(ValueError, match="kind must be one of"):
        predictive(LAW, draws, X, kind="run")
    with pytest.raises(ValueError, match="probs"):
        predictive(LAW, draws, X, probs=(0.05, 1.0))


def test_bad_draws_and_inputs():
    with pytest.raises(ValueError, match=r"shape \(n_draws, 5\)"):
        predict_log_loss(LAW, np.zeros((3, 4)), X)
    with pytest.raises(ValueError, match="non-finite"):
        predict_log_loss(LAW, np.full((2, 5), np.nan), X)
    with pytest.raises(ValueError, match=r"missing \['D'\]"):
        predict_log_loss(LAW, EPOCH_MLE, {"N": X["N"]})
    with pytest.raises(ValueError, match="same length"):
        predict_log_loss(LAW, EPOCH_MLE, {"N": X["N"], "D": X["D"][:2]})


# ----------------------------------------------------------------------------- allocation

# Tokens per parameter computed from the published parameters with the closed form
# (field-and-peers.md section 1): D/N at 1e21, 5.88e23, 1e24, 1e25 FLOP.
TOKENS_PER_PARAM = {
    "epoch_fit": (21.5, 18.3, 18.1, 17.1),
    "hoffmann2022_unrounded": (33.9, 59.0, 61.8, 75.5),
    "hoffmann2022": (50.1, 92.8, 97.7, 122.1),
}


@pytest.mark.parametrize("name", sorted(TOKENS_PER_PARAM))
def test_tokens_per_param_closed_form(name):
    theta = EPOCH_MLE if name == "epoch_fit" else reference_theta(LAW, name)
    alloc = allocate(LAW, theta, [1e21, C_CHINCHILLA, 1e24, 1e25])
    assert alloc.method == "closed_form" and alloc.N_opt.shape == (1, 4)
    # The table is printed to 0.1; allow rounding.
    np.testing.assert_allclose(alloc.tokens_per_param[0], TOKENS_PER_PARAM[name], atol=0.051)
    np.testing.assert_allclose(alloc.compute, 6.0 * alloc.N_opt[0] * alloc.D_opt[0], rtol=1e-12)
    np.testing.assert_allclose(alloc.a + alloc.b, 1.0, rtol=1e-12)


def test_epoch_fit_allocation_at_chinchilla_compute():
    alloc = allocate(LAW, EPOCH_MLE, C_CHINCHILLA)
    # field-and-peers.md: N_opt 7.31e10, D_opt 1.34e12, a 0.5126, b 0.4874.
    assert alloc.N_opt[0, 0] == pytest.approx(7.31e10, rel=2e-3)
    assert alloc.D_opt[0, 0] == pytest.approx(1.34e12, rel=2e-3)
    assert alloc.a[0] == pytest.approx(0.5126, abs=1e-4)
    assert alloc.b[0] == pytest.approx(0.4874, abs=1e-4)
    # Optimal: moving N either way at the same compute raises the loss.
    for f in (0.9, 1.1):
        n, d = alloc.N_opt[0, 0] * f, alloc.D_opt[0, 0] / f
        other = np.exp(predict_log_loss(LAW, EPOCH_MLE, {"N": [n], "D": [d]}))[0, 0]
        assert other > alloc.loss_opt[0, 0]


def test_numerical_reproduces_closed_form():
    draws = synthetic_draws(64, seed=3)
    budgets = np.array([1e18, 1e21, C_CHINCHILLA, 1e26])
    log_n, log_d, a, b = _allocate_numerical(LAW, draws, budgets)
    closed = allocate(LAW, draws, budgets)
    np.testing.assert_allclose(np.exp(log_n), closed.N_opt, rtol=1e-4)
    np.testing.assert_allclose(np.exp(log_d), closed.D_opt, rtol=1e-4)
    # Local slopes equal the closed-form exponents (a power law has constant slope).
    np.testing.assert_allclose(a, np.broadcast_to(closed.a[:, None], a.shape), rtol=1e-4)
    np.testing.assert_allclose(b, np.broadcast_to(closed.b[:, None], b.shape), rtol=1e-4)


def test_numerical_path_for_other_laws_of_n_and_d():
    twin = make_law("chinchilla_twin", chinchilla, LAW.params, ("N", "D"))
    draws = synthetic_draws(16, seed=4)
    num = allocate(twin, draws, [1e20, C_CHINCHILLA])
    closed = allocate(LAW, draws, [1e20, C_CHINCHILLA])
    assert num.method == "numerical" and num.a.shape == (16, 2)
    np.testing.assert_allclose(num.tokens_per_param, closed.tokens_per_param, rtol=1e-4)
    np.testing.assert_allclose(num.loss_opt, closed.loss_opt, rtol=1e-8)


def test_budget_grid():
    g = budget_grid()
    assert g.shape == (41,) and g[0] == pytest.approx(1e18) and g[-1] == pytest.approx(1e26)
    np.testing.assert_allclose(np.diff(np.log10(g)), 0.2, rtol=1e-9)
    assert budget_grid(1e20, 1e22, 3)[1] == pytest.approx(1e21)
    with pytest.raises(ValueError, match="budget_grid"):
        budget_grid(1e22, 1e20)


def test_allocation_bad_input():
    power = get_law("power")
    with pytest.raises(
        ValueError,
        match=r"law 'power' has inputs \('x',\); compute-optimal allocation needs a law of N "
        r"and D",
    ):
        allocate(power, np.zeros(3), 1e21)
    for bad in (0.0, -1e21, np.nan, np.inf):
        with pytest.raises(ValueError, match=re.escape(f"finite and > 0; got {bad!r}")):
            allocate(LAW, EPOCH_MLE, [1e21, bad])
    with pytest.raises(ValueError, match="flops_per_token"):
        allocate(LAW, EPOCH_MLE, 1e21, flops_per_token=0.0)


# ----------------------------------------------------------------------------- references


def test_reference_registry():
    assert {"hoffmann2022", "hoffmann2022_unrounded"} <= set(list_references())
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
        reference_theta(get_law("power"), "hoffmann2022")
