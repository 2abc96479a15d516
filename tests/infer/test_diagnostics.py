"""Convergence diagnostics of NUTS runs on constructed chains: which problem gives which
message, and when none is given."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from bayescale.infer.diagnostics import (
    BFMI_MIN,
    ESS_PER_CHAIN_MIN,
    MAX_DEPTH_FRACTION,
    RHAT_MAX,
    bfmi,
    chain_diagnostics,
)

NAMES = ("a", "alpha", "log_sigma")
DEPTH = 8


class Chains(NamedTuple):
    """The fields of a run that :func:`chain_diagnostics` reads."""

    theta: np.ndarray
    diverging: np.ndarray
    num_steps: np.ndarray
    energy: np.ndarray


def healthy(chains: int = 4, draws: int = 500, seed: int = 0) -> Chains:
    """Independent normal draws: what a well-mixed sampler gives."""
    rng = np.random.default_rng(seed)
    return Chains(
        theta=rng.standard_normal((chains, draws, len(NAMES))),
        diverging=np.zeros((chains, draws), dtype=bool),
        num_steps=np.full((chains, draws), 7),
        energy=rng.standard_normal((chains, draws)),
    )


def test_healthy_chains_give_no_message():
    rhat, ess, msgs = chain_diagnostics(healthy(), NAMES, DEPTH)
    assert msgs == []
    assert rhat.shape == ess.shape == (3,)
    assert np.all(rhat < RHAT_MAX) and np.all(ess >= ESS_PER_CHAIN_MIN * 4)


def test_disagreeing_chains_give_an_rhat_message_naming_the_parameter():
    out = healthy()
    out.theta[0, :, 1] += 3.0  # chain 0 sits elsewhere in alpha
    rhat, _, msgs = chain_diagnostics(out, NAMES, DEPTH)
    assert rhat[1] > 1.1 and rhat[0] < RHAT_MAX
    (msg,) = [m for m in msgs if m.startswith("R-hat")]
    assert msg.startswith(f"R-hat {rhat[1]:.3g} > {RHAT_MAX} for alpha ({rhat[1]:.3g}): chains")
    assert msg.endswith("run a longer warmup and more draws")


def test_correlated_draws_give_an_ess_message():
    out = healthy()
    walk = np.cumsum(out.theta[..., 2], axis=1) * 0.05  # a random walk in log_sigma
    out.theta[..., 2] = walk - walk.mean(axis=1, keepdims=True)
    _, ess, msgs = chain_diagnostics(out, NAMES, DEPTH)
    assert ess[2] < ESS_PER_CHAIN_MIN * 4 <= min(ess[:2])
    assert any(m.startswith("bulk ESS") and "log_sigma" in m and "< 400" in m for m in msgs)


def test_divergences_are_counted_and_reported():
    out = healthy()
    out.diverging[1, [3, 50, 400]] = True
    msgs = chain_diagnostics(out, NAMES, DEPTH)[2]
    assert msgs == [
        "3 divergent transitions after warmup (0.1% of draws): NUTS could not follow the "
        "posterior's curvature, so it may be biased; raise target_accept (e.g. 0.95) or "
        "tighten the priors"
    ]


def test_tree_depth_message_above_its_threshold_only():
    out = healthy()
    n_max = int(MAX_DEPTH_FRACTION * out.num_steps.size)  # 1% of 2,000 draws: 20
    out.num_steps.flat[:n_max] = 2**DEPTH - 1
    assert chain_diagnostics(out, NAMES, DEPTH)[2] == []  # exactly 1% is accepted
    out.num_steps.flat[n_max] = 2**DEPTH - 1
    (msg,) = chain_diagnostics(out, NAMES, DEPTH)[2]
    assert msg.startswith(f"1% of draws reached max_tree_depth={DEPTH}")


def test_bfmi_formula_and_low_bfmi_message():
    rng = np.random.default_rng(1)
    energy = rng.standard_normal((2, 300))
    want = np.sum(np.diff(energy, axis=1) ** 2, axis=1) / 300 / np.var(energy, axis=1)
    np.testing.assert_allclose(bfmi(energy), want, rtol=1e-12)
    assert np.all(bfmi(energy) > 1.5)  # white noise: E-BFMI near 2
    assert np.isnan(bfmi(np.ones((1, 10))))[0]
    out = healthy()
    out.energy[2] = np.cumsum(out.energy[2])  # a random walk: E-BFMI near 0
    assert bfmi(out.energy)[2] < BFMI_MIN
    (msg,) = chain_diagnostics(out, NAMES, DEPTH)[2]
    assert msg.startswith("E-BFMI") and "in chain(s) 2:" in msg


@pytest.mark.parametrize("draws", [1, 3])
def test_too_few_draws_give_nan_and_say_so(draws):
    rhat, ess, msgs = chain_diagnostics(healthy(draws=draws), NAMES, DEPTH)
    assert np.all(np.isnan(rhat)) and np.all(np.isnan(ess))
    assert msgs == [f"only {draws} draws per chain: too few for R-hat and ESS; raise num_samples"]
