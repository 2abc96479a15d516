"""Learning-rate areas S1 and S2 (Tissue et al. 2024) from a schedule, and adding them to a
table of evaluations (one schedule, or one per group)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bayescale.data import DataError, add_annealing_areas, annealing_areas


def _areas_loop(lr: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """The paper's recurrence, step by step (reference implementation)."""
    s1 = np.cumsum(lr)
    m, s2, prev, total = 0.0, np.empty_like(lr), lr[0], 0.0
    for i, eta in enumerate(lr):
        m = lam * m + (prev - eta)
        total += m
        s2[i] = total
        prev = eta
    return s1, s2


@pytest.mark.parametrize("lam", [0.999, 0.9, 0.5, 0.0, 1.0])
def test_areas_match_the_recurrence(lam):
    rng = np.random.default_rng(3)
    lr = np.abs(np.cumsum(rng.normal(0, 1e-5, 7000))) + 1e-4  # rises and falls
    a = annealing_areas(lr, decay=lam, warmup=0)
    s1, s2 = _areas_loop(lr, lam)
    np.testing.assert_allclose(a.S1, s1, rtol=1e-12)
    np.testing.assert_allclose(a.S2, s2, rtol=1e-9, atol=1e-15 * np.abs(s2).max())


def test_areas_long_schedule_no_overflow():
    # 700,000 steps span three blocks of the vectorised recurrence at lambda = 0.999
    t = 700_000
    lr = 3e-4 * 0.5 * (1 + np.cos(np.pi * np.arange(t) / t))
    a = annealing_areas(lr)
    s1, s2 = _areas_loop(lr, 0.999)
    assert np.all(np.isfinite(a.S2))
    np.testing.assert_allclose(a.S2, s2, rtol=1e-9, atol=1e-12)
    # after a full cosine, S2 ~ (eta_max - eta_end) / (1 - lambda) minus the last ~1000 steps
    assert 0.25 < a.S2[-1] < 0.3 and a.S1[-1] == pytest.approx(s1[-1], rel=1e-12)


def test_warmup_left_out():
    warm = np.linspace(1e-5, 3e-4, 100)
    lr = np.r_[warm, np.full(400, 3e-4), np.linspace(3e-4, 3e-5, 500)]
    a = annealing_areas(lr)  # warmup="auto": steps 1..99 left out, step 100 (peak) first
    b = annealing_areas(lr[99:], warmup=0)
    assert np.all(a.S1[:99] == 0) and np.all(a.S2[:99] == 0)
    np.testing.assert_allclose(a.S1[99:], b.S1, rtol=1e-14)
    np.testing.assert_allclose(a.S2[99:], b.S2, rtol=1e-14)
    assert np.all(a.S2[99:500] == 0) and np.all(np.diff(a.S2[500:]) > 0)
    # counting the warm-up instead drives S2 negative: the rise of 2.9e-4 decays only slowly,
    # S2 ~ -2.9e-4 * (1 - 0.999^450) / 0.001 = -0.105 by the end of the constant phase
    counted = annealing_areas(lr, warmup=0)
    np.testing.assert_allclose(counted.S2, _areas_loop(lr, 0.999)[1], rtol=1e-9, atol=1e-15)
    assert counted.S2[499] == pytest.approx(-0.105, abs=0.005)
    # a stepwise warm-up with flat stretches is found too
    steps = np.repeat([1e-4, 2e-4, 3e-4], 50)
    assert np.count_nonzero(annealing_areas(np.r_[steps, 2e-4]).S1 == 0) == 100


@pytest.mark.parametrize(
    "lr, match",
    [
        ([1e-3, -1e-4, 1e-4], r"1 negative or non-finite learning rates \(at steps 2\)"),
        ([1e-3, np.nan], r"non-finite learning rates \(at steps 2\)"),
        ([], "non-empty 1-D"),
        ([[1e-3, 1e-3]], "non-empty 1-D"),
        (
            np.r_[np.full(10, 3e-4), -1e-4],
            r"1 negative or non-finite learning rates \(at steps 11\)",
        ),
        (["a", "b"], "must be numeric"),
    ],
)
def test_bad_schedules(lr, match):
    with pytest.raises(DataError, match=match):
        annealing_areas(lr)


def test_bad_options():
    with pytest.raises(DataError, match=r"decay .* must be in \[0, 1\]"):
        annealing_areas([1.0, 0.5], decay=1.5)
    with pytest.raises(DataError, match="warmup must be 'auto' or an integer"):
        annealing_areas([1.0, 0.5], warmup=-1)
    with pytest.raises(DataError, match="warmup=2 leaves out every step"):
        annealing_areas([1.0, 0.5], warmup=2)


def test_add_areas_from_one_schedule():
    lr = np.r_[np.full(50, 1e-3), np.linspace(1e-3, 1e-4, 50)]
    evals = pd.DataFrame(
        {"step": [100, 0, 10, 60], "loss": [3.0, 9.0, 4.0, 3.5]}, index=[7, 5, 3, 1]
    )
    before = evals.copy()
    out = add_annealing_areas(evals, lr)
    a = annealing_areas(lr)
    np.testing.assert_array_equal(out.index, [7, 5, 3, 1])
    np.testing.assert_allclose(out["S1"], [a.S1[99], 0.0, a.S1[9], a.S1[59]], rtol=1e-15)
    np.testing.assert_allclose(out["S2"], [a.S2[99], 0.0, a.S2[9], a.S2[59]], rtol=1e-15)
    assert out["S2"].iloc[2] == 0.0 and out["S2"].iloc[0] > 0
    pd.testing.assert_frame_equal(evals, before)


def test_schedule_of_the_wrong_length():
    evals = pd.DataFrame({"step": [100, 200, 300], "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(
        DataError,
        match=re.escape(
            "the learning-rate schedule has the wrong length: it has 3 entries (steps 1..3) but "
            "the table has steps up to 300"
        ),
    ):
        add_annealing_areas(evals, [1e-3, 1e-3, 5e-4])  # one per evaluation, not per step
    evals = pd.DataFrame({"step": [1000, 2000], "loss": [3.2, 3.0]})
    with pytest.raises(DataError, match="schedule has the wrong length: it has 1500 entries"):
        add_annealing_areas(evals, np.full(1500, 3e-4))


def test_add_areas_per_group_schedules():
    t = 200
    sched = pd.DataFrame(
        {
            "run": np.repeat(["cos", "wsd"], t),
            "step": np.tile(np.arange(1, t + 1), 2),
            "lr": np.r_[
                1e-3 * (1 + np.cos(np.pi * np.arange(t) / t)) / 2 + 1e-5,
                np.r_[np.full(150, 1e-3), np.linspace(1e-3, 1e-5, 50)],
            ],
        }
    ).sample(frac=1.0, random_state=0)  # order does not matter
    evals = pd.DataFrame(
        {
            "run": ["wsd", "cos", "wsd", "cos"],
            "step": [200, 200, 100, 50],
            "loss": [3.0, 3.1, 3.4, 3.6],
        }
    )
    out = add_annealing_areas(evals, sched, group="run")
    s = sched.sort_values(["run", "step"])
    cos = annealing_areas(s.loc[s.run == "cos", "lr"].to_numpy())
    wsd = annealing_areas(s.loc[s.run == "wsd", "lr"].to_numpy())
    np.testing.assert_allclose(out["S1"], [wsd.S1[199], cos.S1[199], wsd.S1[99], cos.S1[49]])
    np.testing.assert_allclose(out["S2"], [wsd.S2[199], cos.S2[199], 0.0, cos.S2[49]])
    # the per-step table itself can be the schedule
    own = add_annealing_areas(sched, group="run")
    np.testing.assert_allclose(own.loc[(own.run == "cos") & (own.step == 50), "S2"], cos.S2[49])
    with pytest.raises(DataError, match=r"1 rows have no learning rate .*rows 0\)"):
        add_annealing_areas(evals.assign(run=["gpt", "cos", "wsd", "cos"]), sched, group="run")


def test_add_areas_bad_tables():
    evals = pd.DataFrame({"step": [1, 2, 4], "lr": [1e-3, 1e-3, 5e-4], "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(
        DataError, match=r"must list every step 1..T exactly once.*3 steps from 1 to 4"
    ):
        add_annealing_areas(evals)
    with pytest.raises(DataError, match=r"whole step numbers >= 0; 1 rows do not \(rows 2\)"):
        add_annealing_areas(evals.assign(step=[1, 2, 2.5]), [1e-3] * 5)
    with pytest.raises(DataError, match=r"no step column 'iteration'"):
        add_annealing_areas(evals, [1e-3] * 5, step="iteration")
    with pytest.raises(DataError, match=r"group columns \['run'\] are not in the table"):
        add_annealing_areas(evals, [1e-3] * 5, group="run")
