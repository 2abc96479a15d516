"""The engine behind backtests and batch forecasts: every lane fitted, its test rows predicted.

A *lane* is one fit: a curve below one cutoff (a backtest) or a curve's training rows (a
forecast of its held-out rows). :func:`lane_draws` fits one law to the training rows of every
lane **in one batch** - the lanes become the groups of one long table fed to
:func:`~bayescale.workflows.fitting.fit_groups`, then
:func:`~bayescale.workflows.uncertainty.bootstrap` (or ``nuts``) of the batch fit - and predicts
every lane's test rows from that lane's draws with
:func:`~bayescale.predict.pointwise.point_draws` (one compiled call for all points).
:func:`summarise_lanes` turns the predictive draws of one or several laws (and their stacked
mixture) into one row per test point and law.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.groups import bucket_length
from bayescale.data.preparation import prepare
from bayescale.laws.spec import Law
from bayescale.likelihood import Noise
from bayescale.optimize.multistart import FitConfig
from bayescale.predict.averaging import mixture_weights, weighted_quantiles
from bayescale.predict.calibration import stretch
from bayescale.predict.pointwise import point_draws
from bayescale.predict.posterior import predict_log_loss
from bayescale.predict.scores import forecast_scores, level_name
from bayescale.results.records import BatchDraws, BatchFit, Fit
from bayescale.workflows.fitting import fit as fit_law
from bayescale.workflows.fitting import fit_groups
from bayescale.workflows.uncertainty import bootstrap, nuts

#: Name of the lane column added to the long table of a batch of lanes.
LANE = "__lane__"
#: Noise draws per parameter draw in backtest and forecast intervals (smooth quantiles).
REPEATS = 4
#: Plug-in draws of ``method="point"``: the optimum repeated (parameter uncertainty ignored).
POINT_DRAWS = 250
#: Copies of the optimum behind a one-curve ``method="point"`` forecast (x :data:`REPEATS`).
POINT_NOISE_DRAWS = 1000


class LaneDraws(NamedTuple):
    """One law's predictions of every lane's test rows.

    Attributes
    ----------
    fit
        The batch fit of the lanes (``BatchFit``) or its draws (``BatchDraws``).
    log_loss
        New-run predictive sample of each test point's log loss, ``(M, S)``; NaN rows for
        points whose lane was not fitted.
    lpd
        Log predictive density of each test point, ``(M,)`` (NaN where not fitted).
    fitted
        Whether each test point's lane has usable draws, ``(M,)``.
    """

    fit: Any
    log_loss: np.ndarray
    lpd: np.ndarray
    fitted: np.ndarray


def lane_draws(
    table: pd.DataFrame,
    lane: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    law: Law,
    *,
    noise: Noise,
    method: str = "bootstrap",
    n_resamples: int = 200,
    nuts_config: Any = None,
    starts: Any = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    config: FitConfig = FitConfig(),
    chunk_size: int | None = None,
    progress: bool = False,
) -> LaneDraws:
    """Fit ``law`` to every lane's training rows in one batch and predict its test rows.

    Parameters
    ----------
    table
        The rows of every lane, one table (index labels need not be unique).
    lane
        Lane id of every row, integers ``0..G-1`` (``(len(table),)``); a row may belong to one
        lane only - repeat rows to use them in several.
    train, test
        Boolean masks of the training and the test rows of their lane.
    law, noise
        The law and the noise model of every fit.
    method
        ``"bootstrap"``, ``"nuts"`` or ``"point"`` (plug-in: the optimum, noise only).
    n_resamples, nuts_config, starts, seed, columns, x, flops_per_token, config, chunk_size
        As for :func:`~bayescale.workflows.fitting.fit_groups` and
        :func:`~bayescale.workflows.uncertainty.bootstrap` / ``nuts``.
    progress
        Progress bars for the fits and draws.

    Returns
    -------
    LaneDraws
        Predictions of the test rows, in table order.
    """
    lane = np.asarray(lane, dtype=np.int64)
    n_lanes = int(lane.max()) + 1 if lane.size else 0
    long = table.reset_index(drop=True).assign(**{LANE: lane})
    opts = {"columns": columns, "x": x, "flops_per_token": flops_per_token}
    # one shape bucket for all lanes: one compilation, at the cost of some padding
    longest = int(np.bincount(lane[np.asarray(train)]).max(initial=1))
    fit = fit_groups(
        long[np.asarray(train)],
        law,
        group=LANE,
        loss=noise,
        starts=starts,
        seed=seed,
        config=config,
        chunk_size=chunk_size,
        min_length=bucket_length(longest),
        progress=progress,
        **opts,
    )
    theta = np.full((n_lanes,) + fit.theta.shape[1:], np.nan)
    theta[fit.curves.keys[LANE].to_numpy()] = fit.theta
    if method == "bootstrap":
        out: BatchDraws | BatchFit = bootstrap(fit, n_resamples, seed=seed, progress=progress)
        draws = out.theta.reshape(out.theta.shape[0], -1, out.theta.shape[-1])
    elif method == "nuts":
        out = nuts(fit, nuts_config, progress=progress)
        draws = out.theta.reshape(out.theta.shape[0], -1, out.theta.shape[-1])
    else:
        out = fit
        draws = np.repeat(fit.theta[:, None, :], POINT_DRAWS, axis=1)
    per_lane = np.full((n_lanes,) + draws.shape[1:], np.nan)
    per_lane[fit.curves.keys[LANE].to_numpy()] = draws
    rows = np.flatnonzero(test)
    g = lane[rows]
    ok = np.all(np.isfinite(per_lane[g]), axis=(1, 2)) if rows.size else np.zeros(0, bool)
    full = prepare(long.iloc[rows], law.inputs, **opts)
    xs = {k: v[ok] for k, v in full.x.items()}
    obj = fit.objective  # the noise model as fitted (a varying scale's reference set)
    pd_ = point_draws(law, per_lane[g[ok]], xs, full.loss[ok], obj, repeats=REPEATS, seed=seed)
    log_loss = np.full((rows.size, pd_.log_loss.shape[1]), np.nan)
    lpd = np.full(rows.size, np.nan)
    log_loss[ok], lpd[ok] = pd_.log_loss, pd_.lpd
    return LaneDraws(out, log_loss, lpd, ok)


def summarise_lanes(
    base: pd.DataFrame,
    loss: np.ndarray,
    draws: Mapping[str, LaneDraws],
    levels: Sequence[float],
    weights: np.ndarray | None = None,
    weight_index: np.ndarray | None = None,
    factors: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per test point and law (and ``"average"``): quantiles, coverage and scores.

    Parameters
    ----------
    base
        One row per test point: the columns to keep (keys, lane, cutoff, the x column,
        ``distance``).
    loss
        Observed loss of each test point, ``(M,)``.
    draws
        Law name -> :class:`LaneDraws` of the same test points.
    levels
        Nominal central probabilities of the intervals.
    weights
        Stacking weights ``(W, K)`` of the laws (in the order of ``draws``) for the
        ``"average"`` rows; ``None`` for none.
    weight_index
        Row of ``weights`` of each test point, ``(M,)`` (default 0: one pooled set).
    factors
        Law name -> calibration factor per point ``(M,)``: that law's sample is stretched
        about its median by it (:func:`~bayescale.predict.calibration.stretch`) before it is
        summarised, so its intervals are the calibrated ones.

    Returns
    -------
    pandas.DataFrame
        ``base`` columns, ``law``, ``observed``, ``fitted`` and the columns of
        :func:`~bayescale.predict.scores.forecast_scores` (``pred_median``, ``lower_<p>``,
        ``upper_<p>``, ``covered_<p>``, ``interval_score_<p>``, ``crps``, ``error``), ``lpd``.
    """
    y = np.log(np.asarray(loss, dtype=np.float64))
    factors = factors or {}

    def scored(name: str, sample: np.ndarray, w: np.ndarray | None) -> dict:
        if name in factors:
            if w is None:
                med = np.quantile(sample, 0.5, axis=1)
            else:
                med = weighted_quantiles(sample, [0.5], w)[0]
            sample = stretch(sample, med, factors[name])
        return forecast_scores(sample, y, levels, w)

    frames = []
    for name, d in draws.items():
        cols = scored(name, d.log_loss, None)
        frames.append(base.assign(law=name, observed=loss, fitted=d.fitted, **cols, lpd=d.lpd))
    if weights is not None and len(draws) > 1:
        ds = list(draws.values())
        idx = np.zeros(len(y), int) if weight_index is None else np.asarray(weight_index)
        fitted = np.all([d.fitted for d in ds], axis=0)
        sample = np.concatenate([d.log_loss for d in ds], axis=1)
        w = mixture_weights(np.asarray(weights)[idx], [d.log_loss.shape[1] for d in ds])
        cols = scored("average", np.where(fitted[:, None], sample, np.nan), w)
        lw = np.log(np.maximum(np.asarray(weights)[idx], 1e-300))
        lpd = np.logaddexp.reduce(np.stack([d.lpd for d in ds], -1) + lw, axis=-1)
        frames.append(base.assign(law="average", observed=loss, fitted=fitted, **cols, lpd=lpd))
    return pd.concat(frames, ignore_index=True)


def fit_below(
    table: pd.DataFrame,
    rows: np.ndarray,
    held: np.ndarray,
    law: Law,
    record: dict,
    filters: tuple,
    kw: dict,
) -> tuple[Fit, LaneDraws]:
    """One curve: fit ``law`` to the rows not held out, draw, predict the held-out rows.

    Parameters
    ----------
    table
        The table.
    rows
        Index labels of the rows in use (after whole-table filters).
    held
        Which of ``rows`` are held out.
    law
        The law.
    record, filters
        The hold-out's filter record and the filters before it (kept in the fit's data).
    kw
        ``noise``, ``method``, ``seed``, ``starts``, ``config``, ``n_resamples``,
        ``nuts_config``, ``columns``, ``x``, ``flops_per_token``.

    Returns
    -------
    tuple
        The :class:`~bayescale.Fit` (draws attached) and the held-out predictions.
    """
    noise, method, seed = kw["noise"], kw["method"], kw["seed"]
    opts = {k: kw[k] for k in ("columns", "x", "flops_per_token")}
    train = table.loc[rows[~held]]
    f = fit_law(train, law, loss=noise, starts=kw["starts"], seed=seed, config=kw["config"], **opts)
    f = f._replace(
        data=f.data._replace(filters=tuple(filters) + (record,), n_input_rows=len(table))
    )
    if method == "bootstrap":
        f = f._replace(draws=bootstrap(f, kw["n_resamples"], seed=seed))
    elif method == "nuts":
        f = f._replace(draws=nuts(f, kw["nuts_config"]))
    theta = (
        f.draws.flat()
        if f.draws is not None
        else np.repeat(f.result.theta[None], POINT_NOISE_DRAWS, axis=0)
    )
    x = prepare(table.loc[rows[held]], law.inputs, **opts)
    tiled = np.broadcast_to(theta, (int(held.sum()),) + theta.shape)
    d = point_draws(law, tiled, x.x, x.loss, f.objective, repeats=REPEATS, seed=seed)
    return f, LaneDraws(f, d.log_loss, d.lpd, np.ones(len(d.lpd), bool))


def legacy_holdout(
    f: Fit,
    draws: LaneDraws,
    full: Any,
    held: np.ndarray,
    values: np.ndarray,
    column: str,
    prob: float,
    x: str,
) -> tuple[pd.DataFrame, dict]:
    """One law's held-out table and scores (the columns ``Extrapolation.holdout`` names).

    Parameters
    ----------
    f, draws
        The training fit and the held-out predictions (:func:`fit_below`).
    full
        The prepared table (``x``, ``loss``, ``rows``).
    held, values, column
        Which rows are held out, the cap column's values and its name.
    prob
        Central probability of the interval.
    x
        Variable of a one-variable law (the name of its input column).

    Returns
    -------
    tuple
        The held-out table and the scores.
    """
    law = f.law
    xh = {k: v[held] for k, v in full.x.items() if k in law.inputs}
    y = full.loss[held]
    cols = forecast_scores(draws.log_loss, np.log(y), (prob,))
    name = level_name(prob)
    point = np.exp(predict_log_loss(law, f.result.theta, xh)[0])
    inputs = {(x if k == "x" else k): v for k, v in xh.items()}
    inputs = {k: v for k, v in inputs.items() if k != column}
    holdout = pd.DataFrame(
        {
            "row": full.rows[held],
            column: values[held],
            **inputs,
            "loss": y,
            "predicted": point,
            "median": cols["pred_median"],
            "lower": cols[f"lower_{name}"],
            "upper": cols[f"upper_{name}"],
            "rel_error": point / y - 1.0,
            "covered": cols[f"covered_{name}"],
            "lpd": draws.lpd,
        }
    )
    rel = holdout["rel_error"].to_numpy()
    scores = {
        "mean_abs_rel_error": float(np.mean(np.abs(rel))),
        "median_abs_rel_error": float(np.median(np.abs(rel))),
        "max_abs_rel_error": float(np.max(np.abs(rel))),
        "mean_rel_error": float(np.mean(rel)),
        "coverage": float(np.mean(holdout["covered"])),
        "prob": float(prob),
        "lpd_sum": float(np.sum(draws.lpd)),
        "lpd_mean": float(np.mean(draws.lpd)),
        "n_train": int((~held).sum()),
        "n_holdout": int(held.sum()),
    }
    return holdout, scores


__all__ = [
    "LANE",
    "POINT_DRAWS",
    "REPEATS",
    "LaneDraws",
    "fit_below",
    "lane_draws",
    "legacy_holdout",
    "summarise_lanes",
]
