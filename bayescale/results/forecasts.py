"""Backtests as records, and the tables said about held-out points (pandas edge).

:class:`Backtest` is what :func:`~bayescale.workflows.backtesting.backtest` returns. The
functions here summarise any table of held-out points with the columns of
:func:`~bayescale.workflows.heldout.summarise_lanes` (``law``, ``distance``, ``covered_<p>``,
``interval_score_<p>``, ``crps``, ``log_error``, ``lpd``, ``fitted``):

* :func:`coverage_table` - coverage against nominal per law, with the range a calibrated
  interval's coverage would fall in 95% of the time (binomial quantiles);
* :func:`distance_table` - error and coverage against extrapolation distance;
* :func:`score_table` - mean interval score, CRPS, log density, error per law (and per curve);
* :func:`calibrate_points` - the error model of :mod:`bayescale.predict.calibration` fitted to
  the points, pooled or one per curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayescale.predict.calibration import Calibration, fit_calibration, standardised_errors
from bayescale.predict.scores import level_name
from bayescale.results.summaries import to_json

#: Probability mass of the binomial range a calibrated interval's coverage should fall in.
RANGE_MASS = 0.95


class Backtest(NamedTuple):
    """Rolling-origin evaluation inside the data: fits below cutoffs, scored above them.

    Attributes
    ----------
    points
        One row per (law, lane, held-out point), ``"average"`` rows for several laws: group
        keys, ``curve``, ``cutoff`` (index), ``cutoff_value``, the distance column,
        ``distance`` (``log10`` of it over the lane's largest training value), ``row``,
        ``law``, ``observed``, ``fitted``, ``pred_median``, ``lower_<p>``, ``upper_<p>``,
        ``covered_<p>``, ``interval_score_<p>``, ``crps``, ``log_error``, ``lpd``.
    lanes
        One row per (curve, cutoff): keys, ``curve``, ``cutoff``, ``cutoff_value``,
        ``n_train``, ``n_test``, ``max_train``.
    coverage, by_distance, scores
        :func:`coverage_table`, :func:`distance_table`, :func:`score_table` of the points.
    weights
        Stacking weights (rows: ``"pooled"`` or one per curve; columns: laws), or ``None``.
    calibration
        Law name (and ``"average"``) -> :class:`~bayescale.predict.calibration.Calibration`
        (pooled: no batch axis; per curve: a leading curve axis).
    column
        The variable of cutoffs and distances (``C``, ``N``, ``step``, ...).
    levels
        Nominal levels of the intervals.
    method
        ``"bootstrap"``, ``"nuts"`` or ``"point"``.
    fits
        Law name -> the batch fit (with draws) of all lanes.
    notes
        Plain-language notes (skipped lanes, too few points, pooled weights...).
    keys
        One row per curve: its group values (empty columns for one curve).
    """

    points: pd.DataFrame
    lanes: pd.DataFrame
    coverage: pd.DataFrame
    by_distance: pd.DataFrame
    scores: pd.DataFrame
    weights: pd.DataFrame | None
    calibration: dict
    column: str
    levels: tuple[float, ...]
    method: str
    fits: dict
    notes: tuple[str, ...]
    keys: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``summary.json``)."""
        cal = {k: c.to_dict() for k, c in self.calibration.items() if np.ndim(c.n_points) == 0}
        return {
            "column": self.column,
            "levels": list(self.levels),
            "method": self.method,
            "n_lanes": len(self.lanes),
            "n_curves": len(self.keys),
            "coverage": records(self.coverage),
            "scores": records(self.scores),
            "by_distance": records(self.by_distance),
            "weights": None if self.weights is None else records(self.weights.reset_index()),
            "calibration": cal,
            "notes": list(self.notes),
        }


def records(df: pd.DataFrame) -> list[dict]:
    """A table as JSON-ready records."""
    return [{str(k): to_json(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def binomial_range(n: int, p: float, mass: float = RANGE_MASS) -> tuple[float, float]:
    """Central ``mass`` range of the covered share ``k / n`` when ``k ~ Binomial(n, p)``.

    The bounds are binomial quantiles: the largest ``k`` with ``P(K < k) <= (1 - mass) / 2``
    and the smallest with ``P(K <= k) >= (1 + mass) / 2``, divided by ``n``.
    """
    n = int(n)
    if n <= 0:
        return float("nan"), float("nan")
    k = np.arange(n + 1)
    logp = (
        np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
        + k * math.log(max(p, 1e-300))
        + (n - k) * math.log(max(1.0 - p, 1e-300))
    )
    cdf = np.cumsum(np.exp(logp - np.logaddexp.reduce(logp)))
    tail = (1.0 - mass) / 2.0
    lo = int(np.searchsorted(cdf, tail, side="left"))
    hi = int(np.searchsorted(cdf, 1.0 - tail, side="left"))
    return lo / n, min(hi, n) / n


def coverage_table(points: pd.DataFrame, levels: Sequence[float], prefix: str = "") -> pd.DataFrame:
    """Coverage against nominal, one row per (law, level).

    Columns ``law``, ``nominal``, ``coverage``, ``n``, ``range_low``, ``range_high`` (the
    :func:`binomial_range` of a calibrated interval) and ``within`` (coverage inside it).
    ``prefix`` reads ``<prefix>covered_<p>`` columns (e.g. ``"raw_"``).
    """
    rows = []
    for law, g in points[points["fitted"]].groupby("law", sort=False):
        for p in levels:
            cov = g[f"{prefix}covered_{level_name(p)}"].to_numpy(bool)
            lo, hi = binomial_range(cov.size, p)
            c = float(cov.mean()) if cov.size else float("nan")
            rows.append(
                {
                    "law": law,
                    "nominal": p,
                    "coverage": c,
                    "n": int(cov.size),
                    "range_low": lo,
                    "range_high": hi,
                    "within": bool(lo <= c <= hi),
                }
            )
    return pd.DataFrame(rows)


def distance_table(points: pd.DataFrame, levels: Sequence[float], n_bins: int = 5) -> pd.DataFrame:
    """Error and coverage against extrapolation distance, one row per (law, distance bin).

    Bins are quantiles of the distance over all points (so each holds about as many).
    Columns ``law``, ``bin``, ``distance`` (median in the bin), ``d_low``, ``d_high``, ``n``,
    ``median_abs_error``, ``mean_abs_error`` (``|log y - log median|``, ~ relative error)
    and ``coverage_<p>`` per level.
    """
    pts = points[points["fitted"]]
    if pts.empty:
        return pd.DataFrame()
    d = pts["distance"].to_numpy()
    edges = np.unique(np.quantile(d, np.linspace(0, 1, n_bins + 1)))
    b = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, max(len(edges) - 2, 0))
    rows = []
    for (law, k), g in pts.assign(_bin=b).groupby(["law", "_bin"], sort=False):
        err = np.abs(g["log_error"].to_numpy())
        row = {
            "law": law,
            "bin": int(k),
            "distance": float(g["distance"].median()),
            "d_low": float(g["distance"].min()),
            "d_high": float(g["distance"].max()),
            "n": len(g),
            "median_abs_error": float(np.median(err)),
            "mean_abs_error": float(np.mean(err)),
        }
        for p in levels:
            row[f"coverage_{level_name(p)}"] = float(g[f"covered_{level_name(p)}"].mean())
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["law", "bin"], kind="stable", ignore_index=True)


def score_table(
    points: pd.DataFrame, levels: Sequence[float], by: Sequence[str] = ()
) -> pd.DataFrame:
    """Mean scores per law (and per ``by`` columns, e.g. the curve keys).

    Columns: ``by``..., ``law``, ``n``, ``mean_abs_error`` (log scale),
    ``mean_abs_rel_error`` (``|median / y - 1|``), ``coverage_<p>``, ``interval_score_<p>``
    (mean), ``crps`` (mean), ``lpd_mean``.
    """
    pts = points[points["fitted"]]
    cols = [*by, "law"]
    if pts.empty:
        return pd.DataFrame(columns=cols)
    pts = pts.assign(
        _abs=np.abs(pts["log_error"]), _rel=np.abs(pts["pred_median"] / pts["observed"] - 1.0)
    )
    agg = {
        "n": ("observed", "size"),
        "mean_abs_error": ("_abs", "mean"),
        "mean_abs_rel_error": ("_rel", "mean"),
    }
    for p in levels:
        name = level_name(p)
        agg[f"coverage_{name}"] = (f"covered_{name}", "mean")
        agg[f"interval_score_{name}"] = (f"interval_score_{name}", "mean")
    agg.update(crps=("crps", "mean"), lpd_mean=("lpd", "mean"))
    return pts.groupby(cols, sort=False, dropna=False).agg(**agg).reset_index()


def padded(index: np.ndarray, values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Values ``(M, ...)`` grouped by ``index`` ``(M,)`` into ``(G, n_max, ...)`` with a mask."""
    index = np.asarray(index, dtype=np.int64)
    counts = np.bincount(index, minlength=n_groups)
    order = np.argsort(index, kind="stable")
    begin = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(index.size) - begin[index[order]]
    out = np.zeros((n_groups, max(int(counts.max(initial=0)), 1)) + values.shape[1:])
    mask = np.zeros(out.shape[:2], bool)
    out[index[order], slot] = values[order]
    mask[index[order], slot] = True
    return out, mask


def calibrate_points(
    points: pd.DataFrame,
    levels: Sequence[float],
    curve: np.ndarray | None = None,
    n_curves: int = 1,
    weight: np.ndarray | None = None,
) -> Calibration:
    """Fit the reach-dependent error model to one law's held-out points.

    Parameters
    ----------
    points
        One law's rows (``observed``, ``pred_median``, ``lower_<p>``, ``upper_<p>``,
        ``reach``, ``fitted``).
    levels
        Levels to calibrate.
    curve
        Curve index per row for one calibration per curve; ``None`` pools every row.
    n_curves
        Number of curves (with ``curve``).
    weight
        Optional weight per row (pooled only), e.g. ``1 / n_k`` so that every data set of a
        pooled table counts equally.

    Returns
    -------
    Calibration
        Unbatched (pooled) or with a leading curve axis.
    """
    ok = points["fitted"].to_numpy(bool)
    y, m = np.log(points["observed"].to_numpy()), np.log(points["pred_median"].to_numpy())
    z = np.stack(
        [
            standardised_errors(
                y,
                m,
                np.log(points[f"lower_{level_name(p)}"].to_numpy()),
                np.log(points[f"upper_{level_name(p)}"].to_numpy()),
            )
            for p in levels
        ],
        axis=-1,
    )
    d = points["reach"].to_numpy(dtype=np.float64)
    if curve is None:
        return fit_calibration(d[ok], z[ok], levels, weight=None if weight is None else
                               np.asarray(weight)[ok])  # fmt: skip
    dd, mask = padded(np.asarray(curve)[ok], d[ok], n_curves)
    zz, _ = padded(np.asarray(curve)[ok], z[ok], n_curves)
    return fit_calibration(dd, zz, levels, mask)


__all__ = [
    "RANGE_MASS",
    "Backtest",
    "binomial_range",
    "calibrate_points",
    "coverage_table",
    "distance_table",
    "padded",
    "records",
    "score_table",
]
