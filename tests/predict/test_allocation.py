"""Compute-optimal allocation: the closed form, the numerical path for other laws of N and D,
budgets and bad input. (The published allocations are in ``tests/reference/test_epoch.py``.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

import bayescale as bs
from bayescale.predict import allocate, budget_grid, predict_log_loss

LAW = bs.get_law("chinchilla")
#: The Chinchilla model's compute, 6 x 70e9 x 1.4e12 = 5.88e23 FLOP.
C_CHINCHILLA = 6 * 70e9 * 1.4e12
#: The Chinchilla law without its closed form: allocated numerically.
TWIN = bs.make_law("chinchilla_twin", LAW.fn, LAW.params, ("N", "D"))


def test_closed_form_identities(draws_near_mle):
    draws = draws_near_mle(32, seed=2)
    budgets = [1e21, C_CHINCHILLA, 1e25]
    alloc = allocate(LAW, draws, budgets, flops_per_token=6.0)
    assert alloc.method == "closed_form" and alloc.flops_per_token == 6.0
    assert alloc.N_opt.shape == alloc.D_opt.shape == alloc.loss_opt.shape == (32, 3)
    assert alloc.a.shape == alloc.b.shape == (32,)
    np.testing.assert_allclose(alloc.compute, budgets, rtol=0)
    np.testing.assert_allclose(
        6.0 * alloc.N_opt * alloc.D_opt, np.broadcast_to(budgets, (32, 3)), rtol=1e-12
    )
    np.testing.assert_allclose(alloc.tokens_per_param, alloc.D_opt / alloc.N_opt, rtol=1e-12)
    np.testing.assert_allclose(alloc.a + alloc.b, 1.0, rtol=1e-12)
    # N* grows as C^a between budgets
    slope = np.log(alloc.N_opt[:, 2] / alloc.N_opt[:, 0]) / np.log(1e25 / 1e21)
    np.testing.assert_allclose(slope, alloc.a, rtol=1e-10)
    # the loss at the optimum is the law's
    x = {"N": alloc.N_opt[0], "D": alloc.D_opt[0]}
    np.testing.assert_allclose(
        alloc.loss_opt[0], np.exp(predict_log_loss(LAW, draws[0], x))[0], rtol=1e-12
    )
    # another flops_per_token moves the budget in tokens x parameters
    eight = allocate(LAW, draws, budgets, flops_per_token=8.0)
    np.testing.assert_allclose(
        8.0 * eight.N_opt * eight.D_opt, 6.0 * alloc.N_opt * alloc.D_opt, rtol=1e-12
    )


def test_allocation_is_optimal(mle):
    alloc = allocate(LAW, mle, C_CHINCHILLA)
    # Optimal: moving N either way at the same compute raises the loss.
    for f in (0.9, 1.1):
        n, d = alloc.N_opt[0, 0] * f, alloc.D_opt[0, 0] / f
        other = np.exp(predict_log_loss(LAW, mle, {"N": [n], "D": [d]}))[0, 0]
        assert other > alloc.loss_opt[0, 0]


def test_numerical_reproduces_closed_form(draws_near_mle):
    draws = draws_near_mle(64, seed=3)
    budgets = np.array([1e18, 1e21, C_CHINCHILLA, 1e26])
    num = allocate(TWIN, draws, budgets)
    closed = allocate(LAW, draws, budgets)
    assert TWIN.allocation is None and num.method == "numerical"
    assert num.a.shape == num.b.shape == (64, 4)
    np.testing.assert_allclose(num.N_opt, closed.N_opt, rtol=1e-4)
    np.testing.assert_allclose(num.D_opt, closed.D_opt, rtol=1e-4)
    np.testing.assert_allclose(num.tokens_per_param, closed.tokens_per_param, rtol=1e-4)
    np.testing.assert_allclose(num.loss_opt, closed.loss_opt, rtol=1e-8)
    # Local slopes equal the closed-form exponents (a power law has constant slope).
    np.testing.assert_allclose(num.a, np.broadcast_to(closed.a[:, None], num.a.shape), rtol=1e-4)
    np.testing.assert_allclose(num.b, np.broadcast_to(closed.b[:, None], num.b.shape), rtol=1e-4)


def test_budget_grid():
    g = budget_grid()
    assert g.shape == (41,) and g[0] == pytest.approx(1e18) and g[-1] == pytest.approx(1e26)
    np.testing.assert_allclose(np.diff(np.log10(g)), 0.2, rtol=1e-9)
    assert budget_grid(1e20, 1e22, 3)[1] == pytest.approx(1e21)
    with pytest.raises(ValueError, match="budget_grid"):
        budget_grid(1e22, 1e20)


def test_allocation_bad_input(mle):
    power = bs.get_law("power")
    with pytest.raises(
        ValueError,
        match=r"law 'power' has inputs \('x',\); compute-optimal allocation needs a law of N "
        r"and D",
    ):
        allocate(power, np.zeros(3), 1e21)
    for bad in (0.0, -1e21, np.nan, np.inf):
        with pytest.raises(ValueError, match=re.escape(f"finite and > 0; got {bad!r}")):
            allocate(LAW, mle, [1e21, bad])
    with pytest.raises(ValueError, match="at least one budget"):
        allocate(LAW, mle, [])
    with pytest.raises(ValueError, match="flops_per_token"):
        allocate(LAW, mle, 1e21, flops_per_token=0.0)
