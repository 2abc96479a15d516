"""Backtests: rolling-origin evaluation of extrapolation inside the data, in one batch.

:func:`backtest` cuts every curve at several *origins* (cutoffs of ``C``, ``N``, ``step``, ...),
fits each law to the points at or below each cutoff and predicts the points above it - the
same check as :func:`~bayescale.extrapolate`, repeated where the answer is known. Every (curve,
cutoff) pair is one *lane*: all lanes of a law are one long table fitted by one
:func:`~bayescale.fit_groups` call and one batch bootstrap (or NUTS), never a Python loop of
fits (:mod:`bayescale.workflows.heldout`).

Per held-out point it records the extrapolation distance ``log10(x / x_max)`` (``x_max``: the
lane's largest training value), the error of the predictive median, and whether each nominal
interval (50%, 80%, 90% by default) covered it; it summarises coverage against nominal,
error against distance, the interval score and CRPS (:mod:`bayescale.results.forecasts`),
stacks several laws (:func:`~bayescale.predict.averaging.stacking_weights` on the held-out
log predictive densities) and fits the distance-dependent error model behind calibrated
intervals (:mod:`bayescale.predict.calibration`), pooled over curves or per curve.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data.io import DataError, read_table
from bayescale.data.preparation import prepare
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law
from bayescale.likelihood import Noise, as_noise, params
from bayescale.optimize.multistart import FitConfig
from bayescale.predict.averaging import stacking_weights
from bayescale.predict.calibration import conformal_level, reach
from bayescale.results.forecasts import (
    Backtest,
    calibrate_points,
    coverage_table,
    distance_table,
    padded,
    score_table,
)
from bayescale.workflows.heldout import lane_draws, summarise_lanes
from bayescale.workflows.holdout import cap_values

METHODS = ("bootstrap", "nuts", "point")
#: Default nominal levels of the backtest's intervals.
LEVELS = (0.5, 0.8, 0.9)
#: Training shares of a curve's points at the cutoffs of ``cutoffs=k``: ``k`` values evenly
#: spaced between these.
FRACTIONS = (0.4, 0.8)


def as_laws(law: str | Law | Sequence[str | Law]) -> list[Law]:
    """One or several laws, resolved; ``DataError`` on a repeated name."""
    items = [law] if isinstance(law, str | Law) else list(law)
    laws = [get_law(item) for item in items]
    names = [item.name for item in laws]
    if not laws or len(set(names)) != len(names):
        raise DataError(f"give one or more distinct laws, got {names}")
    return laws


def as_levels(levels: Sequence[float]) -> tuple[float, ...]:
    """Nominal levels, sorted and distinct, each strictly inside (0, 1)."""
    out = tuple(sorted({round(float(p), 12) for p in levels}))
    if not out or not all(0.0 < p < 1.0 for p in out):
        raise ValueError(f"levels must be probabilities strictly between 0 and 1, got {levels}")
    return out


def default_column(laws: Sequence[Law], x: str) -> str:
    """The variable of cutoffs and distances: ``x`` for one-variable laws, else ``C``."""
    return x if all(law.inputs == ("x",) for law in laws) else "C"


def curve_codes(table: pd.DataFrame, group: Hashable | Sequence[Hashable] | None) -> tuple:
    """``(codes, keys)``: curve index per row (sorted by key) and one row of keys per curve."""
    if group is None:
        return np.zeros(len(table), np.int64), pd.DataFrame(index=range(1))
    cols = [group] if isinstance(group, str) or not isinstance(group, Sequence) else list(group)
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise DataError(
            f"group column(s) {missing} not in the table; it has columns {list(table.columns)}"
        )
    keys = table[cols].reset_index(drop=True)
    codes = keys.groupby(cols, sort=True, dropna=False).ngroup().to_numpy(np.int64)
    first = pd.Series(np.arange(len(codes))).groupby(codes).min().to_numpy()
    return codes, keys.iloc[first].reset_index(drop=True)


def origins(
    values: np.ndarray, codes: np.ndarray, cutoffs: int | Sequence[float], min_train: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The lanes of a backtest: every (curve, cutoff) with enough points on both sides.

    Parameters
    ----------
    values
        Cutoff variable per row.
    codes
        Curve index per row.
    cutoffs
        ``k``: per curve, the values leaving shares :data:`FRACTIONS` (``k`` evenly spaced) of
        its points for training; or explicit cutoff values shared by every curve.
    min_train
        Fewest training points of a lane.

    Returns
    -------
    tuple
        ``(lanes, rows, train)``: one row per lane (``curve``, ``cutoff``, ``cutoff_value``,
        ``n_train``, ``n_test``, ``max_train``, ``min_train``), and per long-table row its row
        position in the input and whether it trains its lane (lanes in order, each lane's rows
        contiguous).
    """
    lanes, rows, train = [], [], []
    for c in range(int(codes.max()) + 1 if codes.size else 0):
        idx = np.flatnonzero(codes == c)
        vals = values[idx]
        if isinstance(cutoffs, int | np.integer):
            s = np.sort(vals)
            share = np.linspace(*FRACTIONS, int(cutoffs))
            cand = s[np.clip(np.ceil(share * s.size).astype(int) - 1, 0, s.size - 1)]
        else:
            cand = np.asarray(cutoffs, dtype=np.float64)
        for j, cut in enumerate(np.unique(cand)):
            tr = vals <= cut
            if tr.sum() < min_train or tr.all():
                continue
            lanes.append(
                {
                    "curve": c,
                    "cutoff": j,
                    "cutoff_value": float(cut),
                    "n_train": int(tr.sum()),
                    "n_test": int((~tr).sum()),
                    "max_train": float(vals[tr].max()),
                    "min_train": float(vals[tr].min()),
                }
            )
            rows.append(idx)
            train.append(tr)
    if not lanes:
        return pd.DataFrame(), np.zeros(0, np.int64), np.zeros(0, bool)
    return pd.DataFrame(lanes), np.concatenate(rows), np.concatenate(train)


def backtest(
    data: Any,
    law: str | Law | Sequence[str | Law] = "chinchilla",
    *,
    by: str | None = None,
    cutoffs: int | Sequence[float] = 4,
    group: Hashable | Sequence[Hashable] | None = None,
    method: str = "bootstrap",
    levels: Sequence[float] = LEVELS,
    pooled: bool = True,
    noise: Noise | str = "huber",
    delta: float = 1e-3,
    n_resamples: int = 200,
    nuts_config: Any = None,
    starts: str | int | np.ndarray = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    min_train: int | None = None,
    config: FitConfig = FitConfig(),
    chunk_size: int | None = None,
    progress: bool = False,
) -> Backtest:
    """Fit below several cutoffs of every curve and score the predictions above them.

    Parameters
    ----------
    data
        A DataFrame, a path or ``"example:NAME"``.
    law
        One law or several (stacked into an ``"average"`` law).
    by
        Variable of cutoffs and distances: a canonical variable (``C`` derived as ``k N D``
        when absent) or a numeric column; default ``x`` for one-variable laws, else ``C``.
    cutoffs
        ``k`` cutoffs per curve (training shares evenly spaced in :data:`FRACTIONS`), or
        explicit cutoff values shared by every curve.
    group
        Column(s) whose values define the curves (every group its own curve); default one.
    method
        ``"bootstrap"`` (``n_resamples`` per lane), ``"nuts"`` or ``"point"``.
    levels
        Nominal central probabilities of the intervals scored.
    pooled
        Stacking weights and calibration pooled over curves (default), or one per curve.
    noise, delta, starts, seed, columns, x, flops_per_token, config, chunk_size
        As for :func:`~bayescale.fit_groups`.
    drop_top_losses
        Drop the ``K`` highest losses of the whole table first (Epoch AI's filter).
    min_train
        Fewest training points of a lane (default: parameters + 2).
    progress
        Progress bars.

    Returns
    -------
    Backtest
        Points, lanes, coverage, error by distance, scores, weights and calibrations.

    Raises
    ------
    DataError
        On bad data, an unknown cutoff column, or no lane with enough points.
    ValueError
        On an unknown method or bad levels.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    laws, levels = as_laws(law), as_levels(levels)
    noise = as_noise(noise, delta, "a backtest")
    table = read_table(data)
    table = table.reset_index(drop=True) if not table.index.is_unique else table
    opts = {"columns": columns, "x": x, "flops_per_token": flops_per_token}
    if drop_top_losses:
        kept = prepare(table, laws[0].inputs, drop_top_losses=drop_top_losses, **opts)
        table = table.loc[kept.rows]
    for item in laws:  # every law's inputs, checked before any compute
        prepare(table, item.inputs, **opts)
    by = by or default_column(laws, x)
    values = cap_values(table, table.index.to_numpy(), by, **opts)
    codes, keys = curve_codes(table, group)
    n_par = max(len(params(item, noise)) for item in laws)
    lanes, rows, train = origins(values, codes, cutoffs, min_train or n_par + 2)
    notes = []
    if lanes.empty:
        raise DataError(
            f"too few points to backtest: no curve has a cutoff of {by} with at least "
            f"{min_train or n_par + 2} training points and one point above it"
        )
    lane = np.repeat(np.arange(len(lanes)), lanes["n_train"] + lanes["n_test"])
    long = table.iloc[rows]
    test = ~train
    g = lane[test]
    base = (
        keys.iloc[lanes["curve"].to_numpy()[g]]
        .reset_index(drop=True)
        .assign(
            curve=lanes["curve"].to_numpy()[g],
            cutoff=lanes["cutoff"].to_numpy()[g],
            cutoff_value=lanes["cutoff_value"].to_numpy()[g],
            **{by: values[rows[test]]},
            distance=np.log10(values[rows[test]] / lanes["max_train"].to_numpy()[g]),
            span=np.log10(lanes["max_train"] / lanes["min_train"]).to_numpy()[g],
            n_train=lanes["n_train"].to_numpy()[g],
            row=long.index.to_numpy()[test],
        )
    )
    base["reach"] = reach(base["distance"], base["span"])
    loss = prepare(long[test], laws[0].inputs, **opts).loss
    draws, fits = {}, {}
    kw = dict(
        noise=noise,
        method=method,
        n_resamples=n_resamples,
        nuts_config=nuts_config,
        starts=starts,
        seed=seed,
        config=config,
        chunk_size=chunk_size,
        progress=progress,
        **opts,
    )
    for item in laws:  # one batch per law: laws differ in shape, lanes do not
        draws[item.name] = lane_draws(long, lane, train, test, item, **kw)
        fits[item.name] = draws[item.name].fit
    weights, widx = None, None
    if len(laws) > 1:
        weights, widx, note = stack(draws, base["curve"].to_numpy(), len(keys), pooled, keys)
        notes += note
    points = summarise_lanes(
        base, loss, draws, levels, None if weights is None else weights.to_numpy(), widx
    )
    calibration = {}
    for name, pts in points.groupby("law", sort=False):
        curve = None if pooled else pts["curve"].to_numpy()
        calibration[name] = calibrate_points(pts, levels, curve, len(keys))
    n_cal = int(points[points["law"] == laws[0].name]["fitted"].sum())
    short = [p for p in levels if conformal_level(p, n_cal) > 1.0]
    if short:
        notes.append(
            f"only {n_cal} backtest points: too few to calibrate the "
            f"{', '.join(f'{p:.0%}' for p in short)} interval(s); forecasts keep the "
            "uncalibrated interval there"
        )
    skipped = int((~points["fitted"]).sum())
    if skipped:
        notes.append(f"{skipped} held-out point predictions missing: their lane was not fitted")
    by_curve = [str(c) for c in keys.columns]
    scores = score_table(points, levels)
    if by_curve:
        scores = pd.concat([scores, score_table(points, levels, by_curve)], ignore_index=True)
    lanes = pd.concat([keys.iloc[lanes["curve"]].reset_index(drop=True), lanes], axis=1)
    return Backtest(
        points,
        lanes,
        coverage_table(points, levels),
        distance_table(points, levels),
        scores,
        weights,
        calibration,
        by,
        levels,
        method,
        fits,
        tuple(notes),
        keys,
    )


def stack(
    draws: Mapping[str, Any], curve: np.ndarray, n_curves: int, pooled: bool, keys: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Stacking weights of several laws from the held-out log predictive densities.

    Returns
    -------
    tuple
        ``(weights, index, notes)``: a DataFrame (rows ``"pooled"`` or one per curve, columns
        the laws), each point's row of it, and notes.
    """
    names = list(draws)
    lpd = np.stack([draws[n].lpd for n in names], axis=-1)
    ok = np.all(np.isfinite(lpd), axis=-1)
    if pooled:
        w = stacking_weights(lpd[ok])[None]
        return pd.DataFrame(w, index=["pooled"], columns=names), np.zeros(len(curve), int), []
    vals, mask = padded(curve[ok], lpd[ok], n_curves)
    w = stacking_weights(vals, mask)
    index = pd.MultiIndex.from_frame(keys) if len(keys.columns) else None
    return pd.DataFrame(w, index=index, columns=names), curve, []


__all__ = [
    "FRACTIONS",
    "LEVELS",
    "METHODS",
    "as_laws",
    "as_levels",
    "backtest",
    "curve_codes",
    "default_column",
    "origins",
    "stack",
]
