"""Forecast tables: held-out points of one or several laws, stacked, calibrated, scored.

:func:`forecast_points` turns the predictive draws of every law at the held-out points
(:class:`~bayescale.workflows.heldout.LaneDraws`) into the table ``bayescale extrapolate
--out`` writes as ``points.csv``: one row per held-out point and law (and ``"average"``, the
stacked mixture of several laws), with the median and the central interval at the requested
level - calibrated by the backtest's error model when one is given, the uncalibrated interval
kept beside it (``raw_*``). :func:`curve_scores` gives one row per curve and law
(``scores.csv``), and :func:`forecast_summary` the JSON-ready summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayescale.predict.calibration import (
    ASSUMPTION,
    Calibration,
    calibrated_interval,
    inflation,
)
from bayescale.predict.scores import interval_score, level_name
from bayescale.results.forecasts import records
from bayescale.workflows.heldout import LaneDraws, summarise_lanes

#: Columns of the points table after the group keys and the x column (``points.csv``).
POINT_COLUMNS = ("observed", "pred_median", "pred_lower", "pred_upper", "covered", "law")


def forecast_points(
    base: pd.DataFrame,
    loss: np.ndarray,
    draws: Mapping[str, LaneDraws],
    prob: float,
    *,
    levels: Sequence[float] = (),
    weights: np.ndarray | None = None,
    weight_index: np.ndarray | None = None,
    calibration: Mapping[str, Calibration] | None = None,
    curve: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per held-out point and law: the forecast at ``prob``, calibrated if asked.

    Parameters
    ----------
    base
        One row per held-out point: group keys, the x column, ``distance``, ``reach``, ``row``,
        ``curve``.
    loss
        Observed losses ``(M,)``.
    draws
        Law name -> predictive draws of the points.
    prob
        Central probability of the headline interval (``pred_lower``, ``pred_upper``).
    levels
        More levels to report (``lower_<p>``, ``upper_<p>``, ... for each).
    weights, weight_index
        Stacking weights ``(W, K)`` and each point's row of them (several laws).
    calibration
        Law name (and ``"average"``) -> calibration from a backtest (it must hold every
        level); ``None``: uncalibrated; a law missing from it (an empty mapping: calibration
        asked for but unavailable) keeps the model's interval, with ``calibrated`` False.
    curve
        Each point's index into per-curve calibrations (-1: none, left uncalibrated).

    Returns
    -------
    pandas.DataFrame
        ``base`` columns, ``law``, ``observed``, ``pred_median``, ``pred_lower``,
        ``pred_upper``, ``covered``, ``interval_score``, ``crps``, ``lpd``, ``fitted``,
        ``log_error`` and per level ``lower_<p>``, ``upper_<p>``, ``covered_<p>``,
        ``interval_score_<p>``; with a calibration these are the calibrated ones, and
        ``calibrated`` (whether the headline interval is), ``factor`` (its inflation),
        ``raw_lower``, ``raw_upper``, ``raw_covered``, ``raw_interval_score``, ``raw_crps``
        and ``raw_*_<p>`` keep the model's own.
    """
    levels = tuple(sorted({*map(float, levels), float(prob)}))
    out = summarise_lanes(base, loss, draws, levels, weights, weight_index)
    if calibration is not None:
        d = base["reach"].to_numpy()
        laws = list(out["law"].unique())
        n, y = len(base), np.log(out["observed"].to_numpy())
        m = np.log(out["pred_median"].to_numpy())
        factors = {}
        for p in levels:
            name, k = level_name(p), np.full(len(out), np.nan)
            for b, law in enumerate(laws):
                if law in calibration:
                    k[b * n : (b + 1) * n] = calibration_factor(calibration[law], d, p, curve)
            lo, hi = np.log(out[f"lower_{name}"]), np.log(out[f"upper_{name}"])
            for col in ("lower", "upper", "covered", "interval_score"):
                out[f"raw_{col}_{name}"] = out[f"{col}_{name}"]
            new_lo, new_hi = calibrated_interval(m, lo, hi, k)
            out[f"lower_{name}"], out[f"upper_{name}"] = new_lo, new_hi
            ok = out["fitted"].to_numpy(bool)
            out[f"covered_{name}"] = ok & (np.log(new_lo) <= y) & (y <= np.log(new_hi))
            score = interval_score(y, np.log(new_lo), np.log(new_hi), p)
            out[f"interval_score_{name}"] = np.where(ok, score, np.nan)
            if p == float(prob):
                out["calibrated"], out["factor"] = np.isfinite(k), k
                factors = {law: k[b * n : (b + 1) * n] for b, law in enumerate(laws)}
        stretched = summarise_lanes(base, loss, draws, (), weights, weight_index, factors)
        out["raw_crps"], out["crps"] = out["crps"], stretched["crps"].to_numpy()
    name = level_name(prob)
    for col, head in (("lower", "pred_lower"), ("upper", "pred_upper"), ("covered", "covered"),
                      ("interval_score", "interval_score")):  # fmt: skip
        out[head] = out[f"{col}_{name}"]
        if calibration is not None:
            out[f"raw_{col.removeprefix('pred_')}"] = out[f"raw_{col}_{name}"]
    return out


def calibration_factor(
    cal: Calibration, reach: np.ndarray, prob: float, curve: np.ndarray | None
) -> np.ndarray:
    """Inflation factor per point (NaN: not calibrated); ``curve`` picks per-curve ones."""
    if np.ndim(cal.n_points) == 0:
        return inflation(cal, reach, prob)[0]
    idx = np.asarray(curve, dtype=int)
    k = inflation(cal, reach, prob, np.maximum(idx, 0))[0]
    return np.where(idx >= 0, k, np.nan)


def points_view(points: pd.DataFrame, keys: Sequence[str], column: str) -> pd.DataFrame:
    """The ``points.csv`` columns: keys, the x column, observed, prediction, ``law``, more."""
    first = [*keys, column, *POINT_COLUMNS]
    rest = [
        c
        for c in (
            "calibrated",
            "factor",
            "raw_lower",
            "raw_upper",
            "raw_covered",
            "distance",
            "reach",
            "row",
            "interval_score",
            "raw_interval_score",
            "crps",
            "raw_crps",
            "lpd",
        )
        if c in points.columns
    ]
    return points[[c for c in first if c in points.columns] + rest]


def curve_scores(points: pd.DataFrame, keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per curve (``keys``) and law: coverage, errors and scores (``scores.csv``).

    Columns ``keys``..., ``law``, ``n_holdout``, ``coverage``, ``mean_abs_rel_error``,
    ``median_abs_rel_error``, ``max_abs_rel_error``, ``mean_rel_error`` (signed, of the
    predictive median), ``interval_score``, ``crps``, ``lpd_sum``, ``lpd_mean``, and with a
    calibration ``raw_coverage``, ``raw_interval_score``, ``n_calibrated``.
    """
    pts = points[points["fitted"]]
    rel = pts["pred_median"] / pts["observed"] - 1.0
    pts = pts.assign(_rel=rel, _abs=np.abs(rel))
    agg = {
        "n_holdout": ("observed", "size"),
        "coverage": ("covered", "mean"),
        "mean_abs_rel_error": ("_abs", "mean"),
        "median_abs_rel_error": ("_abs", "median"),
        "max_abs_rel_error": ("_abs", "max"),
        "mean_rel_error": ("_rel", "mean"),
        "interval_score": ("interval_score", "mean"),
        "crps": ("crps", "mean"),
        "lpd_sum": ("lpd", "sum"),
        "lpd_mean": ("lpd", "mean"),
    }
    if "raw_covered" in pts.columns:
        agg.update(
            raw_coverage=("raw_covered", "mean"),
            raw_interval_score=("raw_interval_score", "mean"),
            n_calibrated=("calibrated", "sum"),
        )
    if pts.empty:
        return pd.DataFrame(columns=[*keys, "law", *agg])
    out = pts.groupby([*keys, "law"], sort=False, dropna=False).agg(**agg).reset_index()
    return out


def forecast_summary(
    points: pd.DataFrame,
    *,
    laws: Sequence[str],
    rule: dict,
    prob: float,
    method: str,
    weights: pd.DataFrame | None,
    calibration: Mapping[str, Calibration] | None,
    pooled: bool,
    notes: Sequence[str],
    n_train: int,
    n_curves: int,
) -> dict:
    """JSON-ready summary of a forecast (``summary.json``): pooled scores per law and more."""
    pooled_scores = curve_scores(points)
    out = {
        "laws": list(laws),
        "method": method,
        "holdout": rule,
        "level": float(prob),
        "n_curves": int(n_curves),
        "n_train": int(n_train),
        "n_holdout": int(points["row"].nunique()) if "row" in points else None,
        "scores": records(pooled_scores),
        "weights": None if weights is None else records(weights.reset_index()),
        "calibrated": bool(calibration),
        "notes": list(notes),
    }
    if calibration:
        out["pooled_calibration"] = bool(pooled)
        out["assumption"] = ASSUMPTION
        out["calibration"] = {
            k: c.to_dict() for k, c in calibration.items() if np.ndim(c.n_points) == 0
        }
    return out


__all__ = [
    "POINT_COLUMNS",
    "calibration_factor",
    "curve_scores",
    "forecast_points",
    "forecast_summary",
    "points_view",
]
