"""What is said about records: allocation and critique summaries, diagnostic messages, and
the one JSON cleaner."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.likelihood import fit_names
from bayescale.predict import allocate, critique, reference_theta, summarise
from bayescale.results.summaries import diagnostic_messages, to_json

LAW = bs.get_law("chinchilla")
BUDGETS = [1e21, 5.88e23]


@pytest.fixture(scope="module")
def chinchilla_fit() -> bs.Fit:
    """A Huber-noise fit of 48 points simulated from Hoffmann et al.'s unrounded values."""
    rng = np.random.default_rng(3)
    n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), 48))
    d = n * np.exp(rng.uniform(0.0, np.log(300.0), 48))
    a, b, e, alpha, beta = reference_theta(LAW, "hoffmann2022_unrounded")
    loss = (np.exp(e) + np.exp(a) * n**-alpha + np.exp(b) * d**-beta) * np.exp(
        rng.normal(0, 0.02, 48)
    )
    df = pd.DataFrame({"N": n, "D": d, "loss": loss})
    return bs.fit(df, LAW, loss=bs.Noise("huber", 1e-3), starts=16)


@pytest.fixture(scope="module")
def with_draws(chinchilla_fit) -> bs.Fit:
    """The fit with 200 draws scattered around it (a stand-in for a bootstrap)."""
    rng = np.random.default_rng(0)
    theta = chinchilla_fit.result.theta
    sd = np.array([0.05, 0.05, 0.01, 0.003, 0.003, 0.0])
    draws = bs.Draws(
        method="bootstrap",
        theta=(theta + sd * rng.standard_normal((200, 6)))[None],
        names=fit_names(LAW, chinchilla_fit.objective),
        status=np.zeros((1, 200), dtype=np.int32),
        diagnostics={},
        warnings=(),
        settings={},
        seconds=0.0,
    )
    return chinchilla_fit._replace(draws=draws)


def test_allocation_summary_point_only(chinchilla_fit):
    s = bs.allocation_summary(chinchilla_fit, BUDGETS, 6.0)
    assert (s["law"], s["method"], s["flops_per_token"], s["draws"]) == (
        "chinchilla", "closed_form", 6.0, None,
    )  # fmt: skip
    assert any("no draws" in n for n in s["notes"])
    point = allocate(LAW, chinchilla_fit.result.theta, BUDGETS)
    for j, row in enumerate(s["budgets"]):
        assert row["compute"] == BUDGETS[j]
        for key in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
            assert row[key] == {"point": pytest.approx(getattr(point, key)[0, j], rel=1e-12)}
    assert s["exponents"] == {
        "a": {"point": pytest.approx(point.a[0])},
        "b": {"point": pytest.approx(point.b[0])},
    }
    assert json.loads(json.dumps(s, allow_nan=False)) == s


def test_allocation_summary_with_draws(with_draws):
    s = bs.allocation_summary(with_draws, BUDGETS, 6.0)
    assert s["draws"] == "bootstrap" and s["notes"] == []
    alloc = allocate(LAW, with_draws.draws.flat(), BUDGETS)
    for j, row in enumerate(s["budgets"]):
        for key in ("N_opt", "tokens_per_param"):
            want = summarise(getattr(alloc, key)[:, j])
            assert {k: row[key][k] for k in want} == pytest.approx(want, rel=1e-12)
    assert {k: s["exponents"]["a"][k] for k in ("mean", "q50")} == pytest.approx(
        {k: summarise(alloc.a)[k] for k in ("mean", "q50")}
    )
    # a law of N and D without a closed form: numerical, one slope per budget (no exponents)
    twin = bs.make_law("chinchilla_twin", LAW.fn, LAW.params, ("N", "D"))
    num = bs.allocation_summary(with_draws._replace(law=twin), BUDGETS, 6.0)
    assert num["method"] == "numerical" and "exponents" not in num
    assert any("no closed-form allocation" in n for n in num["notes"])
    assert num["budgets"][1]["tokens_per_param"]["point"] == pytest.approx(
        s["budgets"][1]["tokens_per_param"]["point"], rel=1e-4
    )


def test_allocation_summary_needs_a_law_of_n_and_d(chinchilla_fit):
    power = chinchilla_fit._replace(law=bs.get_law("power"))
    with pytest.raises(ValueError, match="law 'power' has inputs"):
        bs.allocation_summary(power, BUDGETS, 6.0)


def test_critique_summary_is_the_critique_as_json(with_draws):
    s = bs.critique_summary(with_draws, "hoffmann2022", [5.88e23])
    c = critique(
        LAW, bs.as_data(with_draws.data), with_draws.objective, with_draws.result.theta,
        with_draws.draws.flat(), "hoffmann2022",
    )  # fmt: skip
    assert s == to_json({**c._asdict(), "protocol": None})
    assert s["delta_at"] == "estimate" and s["wald_mc_se"] > 0
    back = json.loads(json.dumps(s, allow_nan=False))
    assert back["reference"] == "hoffmann2022" and back["wald_df"] == 5
    assert back["runs_needed"]["a"]["claimed_interval"] == [0.454, 0.455]
    assert set(back["tests"]) == {"A", "B", "E", "alpha", "beta"}
    assert list(back["allocation"]) == ["5.88e+23"]


def test_critique_summary_reads_the_draws_protocol(with_draws):
    """Draws made under ``besiroglu2024`` take the delta method at the draws' mean (Epoch's
    choice) unless told otherwise; draws without a protocol take it at the estimate."""
    draws = with_draws.draws._replace(settings={"protocol": "besiroglu2024"})
    epoch = with_draws._replace(draws=draws)
    s = bs.critique_summary(epoch, "hoffmann2022_unrounded", [5.88e23])
    assert s["protocol"] == "besiroglu2024" and s["delta_at"] == "draws_mean"
    assert s["runs_needed"]["a"]["delta_at"] == "draws_mean"
    at_estimate = bs.critique_summary(epoch, "hoffmann2022_unrounded", BUDGETS, delta_at="estimate")
    plain = bs.critique_summary(with_draws, "hoffmann2022_unrounded", BUDGETS, "draws-mean")
    assert at_estimate["delta_at"] == "estimate" and plain["delta_at"] == "draws_mean"
    assert plain["runs_needed"] == s["runs_needed"]
    assert at_estimate["runs_needed"]["a"]["delta_method"] != s["runs_needed"]["a"]["delta_method"]
    # everything else is the same critique
    assert at_estimate["wald_chi2"] == s["wald_chi2"] and at_estimate["tests"] == s["tests"]
    with pytest.raises(ValueError, match="unknown delta_at 'median'"):
        bs.critique_summary(epoch, "hoffmann2022_unrounded", BUDGETS, delta_at="median")


def test_critique_summary_errors(chinchilla_fit, with_draws):
    with pytest.raises(bs.DataError, match="critique needs draws"):
        bs.critique_summary(chinchilla_fit, "hoffmann2022", [5.88e23])
    with pytest.raises(bs.DataError, match="needs a fit with a noise model"):
        bs.critique_summary(with_draws._replace(objective=bs.Loss("huber")), "hoffmann2022", [])
    with pytest.raises(KeyError, match="unknown reference 'nope'"):
        bs.critique_summary(with_draws, "nope", [5.88e23])


def test_diagnostic_messages(chinchilla_fit, with_draws):
    r = chinchilla_fit.result
    assert chinchilla_fit.status == "converged" and int(r.n_near_best) >= 2
    assert diagnostic_messages(chinchilla_fit) == ([], [])
    assert diagnostic_messages(chinchilla_fit, ppc_coverage=0.85) == ([], [])
    fail, caution = diagnostic_messages(chinchilla_fit, ppc_coverage=0.7)
    assert fail == [] and caution == ["Only 70% of runs fall inside their 90% new-run interval."]
    stalled = chinchilla_fit._replace(result=r._replace(status=np.int32(1), n_near_best=1))
    fail, caution = diagnostic_messages(stalled)
    assert len(fail) == 1 and fail[0].startswith(
        f"The point fit's best start stopped with status 'max_steps' ({stalled.message})"
    )
    assert caution == [
        "Only 1 of 16 starts reached the best objective (within 1e-6): the optimum rests on "
        "one start; rerun with more starts to confirm it."
    ]
    warned = with_draws._replace(draws=with_draws.draws._replace(warnings=("R-hat 1.2",)))
    assert diagnostic_messages(warned) == (["R-hat 1.2"], [])


def test_to_json():
    obj = {
        1: np.float64(1.5),
        "arr": np.array([[1, 2], [3, 4]], dtype=np.int64),
        "t": (np.int32(3), math.nan, -math.inf, np.float32(0.25)),
        "nested": {"b": np.bool_(True), "s": "x", "none": None},
    }
    out = to_json(obj)
    assert out == {
        "1": 1.5,
        "arr": [[1, 2], [3, 4]],
        "t": [3, None, None, 0.25],
        "nested": {"b": True, "s": "x", "none": None},
    }
    assert type(out["arr"][0][0]) is int and type(out["t"][0]) is int
    assert json.loads(json.dumps(out, allow_nan=False)) == out
