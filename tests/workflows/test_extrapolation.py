"""Held-out extrapolation (:func:`bayescale.extrapolate`): simulated data from a known law and
the Chinchilla data. The command line is tested in tests/cli/test_cli.py.

Every chinchilla-law fit here has 217 training points, the default 4,500-start grid, the same
noise model and the NUTS settings of tests/workflows/test_comparison.py, so the compiled fitter
and sampler are shared between tests (and with that module in the same worker).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import FLAT, bent_curves

import bayescale as bs
from bayescale.workflows.extrapolation import cap_values, parse_holdout

#: Hoffmann et al.'s published Chinchilla parameters (E, A, B, alpha, beta).
TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
N_TRAIN, N_HOLD = 217, 23
NUTS = bs.NutsConfig(num_chains=2, num_warmup=150, num_samples=150)


def simulate(seed: int = 0, sd: float = 0.01) -> tuple[pd.DataFrame, float]:
    """240 runs from the Chinchilla law with log-normal noise (no C column: it is derived),
    and the compute cap that leaves 217 of them for training."""
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(np.log(5e7), np.log(1e10), N_TRAIN + N_HOLD))
    d = n * np.exp(rng.uniform(np.log(2.0), np.log(60.0), n.size))
    mean = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
    loss = mean * np.exp(rng.normal(0.0, sd, n.size))
    c = np.sort(6 * n * d)
    cap = float(np.sqrt(c[N_TRAIN - 1] * c[N_TRAIN]))
    return pd.DataFrame({"N": n, "D": d, "loss": loss}), cap


@pytest.fixture(scope="module")
def simulated():
    df, cap = simulate()
    ex = bs.extrapolate(df, "chinchilla", holdout_above=("C", cap), method="nuts", nuts_config=NUTS)
    return df, cap, ex


def test_known_law_extrapolates_within_noise(simulated) -> None:
    df, cap, ex = simulated
    s = ex.scores
    assert (s["n_train"], s["n_holdout"]) == (N_TRAIN, N_HOLD)
    # C was derived as 6 N D, and the held-out points are exactly those above the cap
    assert np.all(ex.holdout["C"] > cap) and len(ex.holdout) == N_HOLD
    assert ex.fit.data.filters[-1]["name"] == "holdout_above"
    assert len(ex.fit.data.loss) == N_TRAIN and ex.fit.draws.theta.shape == (2, 150, 6)
    # the fit recovers the truth well enough to extrapolate at the 1% noise level
    assert abs(ex.fit.params["alpha"] - TRUE["alpha"]) < 0.1
    assert s["mean_abs_rel_error"] < 0.015 and s["max_abs_rel_error"] < 0.04
    assert abs(s["mean_rel_error"]) < 0.01
    # 90% new-run intervals cover most held-out points; their density is that of 1% noise
    # (a Laplace fit to N(0, 0.01) residuals has entropy about -3.1 per point)
    assert s["coverage"] >= 0.75
    assert 2.5 < s["lpd_mean"] < 3.6
    assert s["lpd_sum"] == pytest.approx(ex.holdout["lpd"].sum())
    h = ex.holdout
    assert np.all(h["lower"] < h["upper"]) and np.all(h["lower"] > 0)
    assert np.array_equal(h["covered"], (h["lower"] <= h["loss"]) & (h["loss"] <= h["upper"]))
    assert np.allclose(h["rel_error"], h["predicted"] / h["loss"] - 1)
    # the JSON summary (the CLI's --json output) round-trips and holds the scores and points
    summary = ex.to_dict()
    back = json.loads(json.dumps(summary, allow_nan=False))
    assert back == summary and back["scores"] == s and back["law"] == "chinchilla"
    assert [p["loss"] for p in back["points"]] == h["loss"].tolist()
    assert back["fit"]["params"] == ex.fit.params and back["holdout_above"]["cap"] == cap
    assert back["fit"]["draws"]["method"] == "nuts" and back["fit"]["draws"]["n_draws"] == 300


def test_point_method_is_a_plugin_predictive(simulated) -> None:
    df, cap, boot = simulated
    ex = bs.extrapolate(df, "chinchilla", holdout_above=f"C={cap!r}", method="point", prob=0.5)
    assert ex.fit.draws is None and ex.method == "point"
    # same optimum, same point predictions; narrower (50%) intervals cover fewer points
    assert np.allclose(ex.holdout["predicted"], boot.holdout["predicted"], rtol=1e-6)
    assert ex.scores["coverage"] < boot.scores["coverage"]
    assert ex.scores["prob"] == 0.5


def test_chinchilla_held_out_above_1e21_flops() -> None:
    ex = bs.extrapolate(
        "example:chinchilla",
        "chinchilla",
        holdout_above=("C", 1e21),
        method="nuts",
        starts="hoffmann",
        drop_top_losses=5,
        nuts_config=NUTS,
    )
    s = ex.scores
    assert (s["n_train"], s["n_holdout"]) == (217, 23)
    assert [f["name"] for f in ex.fit.data.filters] == ["drop_top_losses", "holdout_above"]
    # the point prediction of the 23 largest-compute runs is off by 1.1% on average, 2.8% at
    # most, without bias
    assert s["mean_abs_rel_error"] == pytest.approx(0.01075, rel=0.02)
    assert s["max_abs_rel_error"] == pytest.approx(0.02837, rel=0.02)
    assert abs(s["mean_rel_error"]) < 0.002
    # but the Huber noise model, fitted on the small runs, gives intervals too narrow for
    # them: the 90% intervals cover only about 60% of the held-out runs
    assert 0.4 <= s["coverage"] <= 0.75
    assert 1.8 < s["lpd_mean"] < 2.8


def test_cap_column_can_be_any_numeric_column() -> None:
    df = bs.load_example("chinchilla")
    rows = df.index.to_numpy()
    assert np.array_equal(cap_values(df, rows, "x"), df["x"].to_numpy())
    nd = pd.DataFrame({"N": df["N"], "D": df["C"] / (6 * df["N"]), "loss": df["loss"]})
    assert np.allclose(cap_values(nd, rows, "C"), df["C"])  # derived as 6 N D
    assert parse_holdout("C=1e21") == ("C", 1e21) and parse_holdout(("N", 5)) == ("N", 5.0)


@pytest.mark.parametrize(
    "holdout, match",
    [
        (("nope", 1.0), "unknown hold-out column 'nope'"),
        (("C", 1e23), r"holds out nothing: the largest C among the 240 points is 1\.2956e\+22"),
        ("C", "expected COLUMN=VALUE"),
        ("C=abc", "must be a finite number"),
        (("color", 1.0), "non-numeric"),
    ],
)
def test_bad_holdout_raises_data_error(holdout, match: str) -> None:
    with pytest.raises(bs.DataError, match=match):
        bs.extrapolate("example:chinchilla", holdout_above=holdout, drop_top_losses=5)


def test_cap_leaving_fewer_points_than_parameters() -> None:
    df = bs.load_example("chinchilla")
    cap = float(np.sort(df["C"])[2])  # three runs at or below the cap
    with pytest.raises(bs.DataError) as err:
        bs.extrapolate(df, "chinchilla", holdout_above=("C", cap))
    msg = str(err.value)
    assert "leaves 3 training points" in msg and "6 parameters" in msg and "\n" not in msg


# ----------------------------------------------------------------------------- forecasts

CHEAP = {"method": "point", "starts": 8, "x": "N", "config": bs.FitConfig(polish=4, restarts=0)}


@pytest.fixture(scope="module")
def curve() -> pd.DataFrame:
    """One curve of 24 points from a broken power law, its last 6 marked in ``test``."""
    df = bent_curves(1, np.random.default_rng(3), 24).drop(columns="run")
    return df.assign(test=np.arange(24) >= 18)


def test_a_test_column_holds_out_what_a_cap_would(curve) -> None:
    cap = float(curve["N"].iloc[17]) * 1.001
    by_cap = bs.extrapolate(curve, "power", holdout_above=("N", cap), **CHEAP)
    by_col = bs.extrapolate(curve, "power", test_column="test", by="N", **CHEAP)
    assert by_col.column == "N" and by_col.cap is None and by_cap.cap == cap
    assert by_col.fit.data.filters[-1]["name"] == "test_column"
    for key in ("n_train", "n_holdout", "mean_abs_rel_error", "coverage", "lpd_sum"):
        assert by_col.scores[key] == pytest.approx(by_cap.scores[key]), key
    # points.csv's columns: the x column, observed, prediction, covered, law
    pts = by_col.points
    assert {"N", "observed", "pred_median", "pred_lower", "pred_upper", "covered", "law"} <= set(
        pts.columns
    )
    assert (pts["law"] == "power").all() and (pts["distance"] > 0).all()
    assert np.allclose(pts["pred_lower"], by_col.holdout["lower"])
    assert by_col.summary["holdout"] == {"test_column": "test", "by": "N"}


def test_several_laws_are_stacked_into_an_average(curve) -> None:
    ex = bs.extrapolate(curve, ["power", FLAT], test_column="test", by="N", cutoffs=3, **CHEAP)
    w = ex.summary["weights"][0]
    assert w["power"] + w["flat"] == pytest.approx(1.0) and w["power"] > 0.9
    assert list(ex.points["law"].unique()) == ["power", "flat", "average"]
    avg = ex.points[ex.points["law"] == "average"]
    assert len(avg) == 6 and avg["fitted"].all()
    # nearly all weight on one law: the mixture's interval is that law's
    best = ex.points[ex.points["law"] == "power"]
    assert np.allclose(avg["pred_upper"], best["pred_upper"], rtol=1e-3)
    assert np.allclose(avg["pred_lower"], best["pred_lower"], rtol=1e-3)
    assert set(ex.curves["law"]) == {"power", "flat", "average"}
    assert ex.fits.keys() == {"power", "flat"} and ex.backtest is not None


def test_too_few_points_to_backtest_fall_back_uncalibrated(curve) -> None:
    small = curve.iloc[12:].reset_index(drop=True)  # 6 training points, 6 held out
    ex = bs.extrapolate(small, "power", test_column="test", by="N", calibrate=True, **CHEAP)
    assert ex.backtest is None and not ex.summary["calibrated"]
    assert not ex.points["calibrated"].any()
    assert any("not backtested" in note for note in ex.summary["notes"])
    assert np.array_equal(ex.points["pred_lower"], ex.points["raw_lower"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "give one hold-out rule"),
        ({"holdout_above": ("N", 1e9), "test_column": "test"}, "give one hold-out rule"),
        ({"test_column": "nope"}, "unknown test column 'nope'"),
        ({"test_column": "loss"}, "must hold 1/true"),
    ],
)
def test_bad_rules_raise_data_error(curve, kwargs, match: str) -> None:
    with pytest.raises(bs.DataError, match=match):
        bs.extrapolate(curve, "power", **kwargs, **CHEAP)
