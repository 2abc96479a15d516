"""Backtests (:func:`bayescale.backtest`) and calibrated batch forecasts
(:func:`bayescale.extrapolate` with ``group=`` and ``calibrate=True``).

One forecast of 12 simulated curves serves most tests: the curves come from a smoothly broken
power law and are fitted with ``power`` (a law other than the one that made them), the last 8
of each curve's 32 points held out; its backtest (4 cutoffs of the training points of every
curve: 48 lanes) is the one checked here. Small sizes: 40 resamples, 8 starts, the
large-batch optimiser settings.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import FLAT, bent_curves, power_curves

import bayescale as bs
from bayescale.predict.calibration import calibrated_interval, inflation
from bayescale.predict.scores import interval_score
from bayescale.results.forecasts import binomial_range, calibrate_points

FAST = bs.FitConfig(polish=4, max_steps=300, restarts=0)
SMALL = {"n_resamples": 40, "starts": 8, "config": FAST, "x": "N"}
N_CURVES, N_POINTS, N_HELD = 12, 32, 8
CAP = float(np.geomspace(1e6, 1e10, N_POINTS)[N_POINTS - N_HELD - 1]) * 1.001


@pytest.fixture(scope="module")
def forecast() -> bs.Extrapolation:
    df = bent_curves(N_CURVES, np.random.default_rng(0), N_POINTS)
    return bs.extrapolate(
        df, "power", group="run", holdout_above=("N", CAP), calibrate=True, **SMALL
    )


def test_every_cutoff_of_every_curve_is_one_lane_of_one_batch(forecast) -> None:
    bt = forecast.backtest
    assert len(bt.lanes) == 4 * N_CURVES and bt.lanes["cutoff"].nunique() == 4
    draws = bt.fits["power"]
    # one batch fit and one batch bootstrap: one shape bucket, every lane a curve of it
    assert draws.method == "bootstrap" and draws.theta.shape[:3] == (4 * N_CURVES, 1, 40)
    assert [b.n_curves for b in draws.fit.buckets] == [4 * N_CURVES]
    assert draws.fit.n_compiled_shapes == 1
    # the forecast: one lane per curve, again one batch
    assert [b.n_curves for b in forecast.fit.fit.buckets] == [N_CURVES]


def test_backtest_points_and_coverage_columns(forecast) -> None:
    bt = forecast.backtest
    pts = bt.points
    assert set(pts["law"]) == {"power"} and pts["fitted"].all()
    assert (pts["distance"] > 0).all() and pts["distance"].max() < 2
    for p in ("50", "80", "90"):
        covered = (pts[f"lower_{p}"] <= pts["observed"]) & (pts["observed"] <= pts[f"upper_{p}"])
        assert np.array_equal(pts[f"covered_{p}"], covered)
    assert (pts["lower_50"] >= pts["lower_90"]).all() and (pts["upper_50"] <= pts["upper_90"]).all()
    cov = bt.coverage
    assert list(cov["nominal"]) == [0.5, 0.8, 0.9] and (cov["n"] == len(pts)).all()
    lo, hi = binomial_range(len(pts), 0.9)
    assert cov["range_low"].iloc[2] == lo and cov["range_high"].iloc[2] == hi
    assert {"distance", "median_abs_error", "coverage_90"} <= set(bt.by_distance.columns)
    pooled = bt.scores[bt.scores["run"].isna()]
    assert len(pooled) == 1 and len(bt.scores) == 1 + N_CURVES
    assert pooled["interval_score_90"].iloc[0] > 0 and pooled["crps"].iloc[0] > 0
    summary = bt.to_dict()
    assert summary["n_lanes"] == 48 and summary["calibration"]["power"]["ok"] == [True] * 3


def test_calibrated_coverage_on_curves_from_another_law(forecast) -> None:
    """The Done-when checks at small settings, on 96 held-out points of curves the fitted law
    did not make: calibrated 50% and 90% intervals cover within the central 99% binomial range
    of their nominal level, both when each curve is calibrated by the pooled backtest (what
    ``calibrate=True`` does) and when four groups of curves are each calibrated by the other
    groups' backtests only (leave one "data set" out); and their interval scores beat the
    uncalibrated ones."""
    pts = forecast.points
    assert len(pts) == N_CURVES * N_HELD and pts["calibrated"].all()
    lodo = []
    bt = forecast.backtest.points
    for g in range(4):
        cal = calibrate_points(bt[bt["run"] % 4 != g], (0.5, 0.9))
        part = pts[pts["run"] % 4 == g]
        y, m = np.log(part["observed"]), np.log(part["pred_median"])
        out = {}
        for p, n in ((0.5, "50"), (0.9, "90")):
            k, ok = inflation(cal, part["reach"], p)
            lo, hi = calibrated_interval(
                m, np.log(part[f"raw_lower_{n}"]), np.log(part[f"raw_upper_{n}"]), k
            )
            out[f"covered_{n}"] = (np.log(lo) <= y) & (y <= np.log(hi))
            out[f"interval_score_{n}"] = interval_score(y, np.log(lo), np.log(hi), p)
        lodo.append(pd.DataFrame(out))
    lodo = pd.concat(lodo)
    for p, n in ((0.5, "50"), (0.9, "90")):
        lo, hi = binomial_range(len(pts), p, mass=0.99)
        for table in (pts, lodo):
            assert lo <= table[f"covered_{n}"].mean() <= hi, (n, table[f"covered_{n}"].mean())
            assert table[f"interval_score_{n}"].mean() < pts[f"raw_interval_score_{n}"].mean()
    # uncalibrated, the 90% intervals cover less than the binomial range allows
    assert pts["raw_covered_90"].mean() < binomial_range(len(pts), 0.9, mass=0.99)[0]
    curves = forecast.curves
    assert len(curves) == N_CURVES
    assert {"coverage", "raw_coverage", "interval_score"} <= set(curves.columns)
    assert forecast.summary["calibrated"] and "continues beyond" in forecast.summary["assumption"]


def test_stacking_favours_the_law_that_fits() -> None:
    """Power-law curves, backtested with ``power`` and a law that ignores its input: stacking
    the held-out predictive densities gives (nearly) all weight to ``power``, for every seed
    tried (0-3). Bootstrap predictive densities: the point fit's noise-only predictive is too
    narrow beyond the data, and a broad wrong law can then out-score it on log density."""
    df = power_curves(2, np.random.default_rng(0), lengths=(16,))
    kw = {"group": "run", "method": "bootstrap", "n_resamples": 40, "cutoffs": 3, "starts": 8}
    bt = bs.backtest(df, ["power", FLAT], config=FAST, **kw)
    w = bt.weights
    assert list(w.columns) == ["power", "flat"] and w.index.tolist() == ["pooled"]
    assert w.to_numpy().sum() == pytest.approx(1.0) and w["power"].iloc[0] > 0.99
    assert set(bt.points["law"]) == {"power", "flat", "average"}
    per = bs.backtest(df, ["power", FLAT], config=FAST, pooled=False, **kw)
    assert per.weights.shape == (2, 2) and np.allclose(per.weights.sum(axis=1), 1.0)
    assert (per.weights["power"] > 0.99).all()
    assert per.calibration["power"].intercept.shape == (2, 3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "laplace"}, ValueError, "method must be one of"),
        ({"levels": (0.5, 1.2)}, ValueError, "strictly between 0 and 1"),
        ({"cutoffs": [1.0]}, bs.DataError, "too few points to backtest"),
        ({"group": "nope"}, bs.DataError, "group column(s) ['nope'] not in the table"),
        ({"by": "nope"}, bs.DataError, "unknown hold-out column 'nope'"),
    ],
)
def test_bad_backtest_input(kwargs, error, match: str) -> None:
    df = bent_curves(1, np.random.default_rng(2), 12)
    with pytest.raises(error, match=re.escape(match)):
        bs.backtest(df, "power", **{"method": "point", **kwargs})
