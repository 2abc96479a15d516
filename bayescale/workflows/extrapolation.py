"""Held-out extrapolation: fit below a cap, predict the points above it, score the predictions.

:func:`extrapolate` is the one-call check of a law's extrapolation: rows whose cap column
(``N``, ``D``, ``C`` - derived as ``flops_per_token * N * D`` when absent - ``step``, or any
numeric column of the table) exceeds the cap are held out (or the rows a ``test_column``
marks), the law is fitted to the rest (:func:`bayescale.fit` under a noise model), draws come
from the bootstrap, NUTS or the fit alone, and every held-out point is scored:

* the point prediction (the law at the training optimum) and its relative error;
* the new-run predictive interval (parameter draws plus the noise model,
  :func:`~bayescale.predict.pointwise.point_draws`) and whether it covers the point;
* the log predictive density ``log mean_s p(y_i | theta_s)``, the density of the observed
  log loss under the same likelihood the law was fitted with, averaged over the draws.

It grows to forecasts proper: several laws at once, stacked into an ``"average"`` law by
the held-out densities of a backtest on the training rows
(:func:`~bayescale.workflows.backtesting.backtest`); every group of a table its own curve
(``group=``, one batch); and ``calibrate=True``, intervals widened by the error model the
backtest learned as a function of extrapolation distance
(:mod:`bayescale.predict.calibration`; it assumes the error growth seen inside the data
continues beyond it). :mod:`bayescale.workflows.forecasting` builds the tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.io import DataError, read_table
from bayescale.data.preparation import prepare
from bayescale.laws.spec import Law
from bayescale.likelihood import Noise, as_noise, params
from bayescale.optimize.multistart import FitConfig
from bayescale.predict.calibration import reach
from bayescale.results.records import Fit
from bayescale.results.summaries import to_json
from bayescale.workflows.backtesting import LEVELS, as_laws, backtest, curve_codes
from bayescale.workflows.forecasting import curve_scores, forecast_points, forecast_summary
from bayescale.workflows.heldout import fit_below, lane_draws, legacy_holdout
from bayescale.workflows.holdout import cap_values, curve_index, held_out, parse_holdout

METHODS = ("point", "bootstrap", "nuts")
#: Bootstrap resamples per lane of the backtest behind weights and calibration, at most.
BACKTEST_RESAMPLES = 200


class Extrapolation(NamedTuple):
    """Laws fitted to the training rows and scored on the held-out points.

    Attributes
    ----------
    fit
        The first law's training fit: a :class:`~bayescale.Fit` with draws attached
        (``None`` for ``method="point"``; its ``data.filters`` records the hold-out), or for
        ``group=`` the batch fit (``BatchDraws``, or ``BatchFit`` for ``"point"``).
    holdout
        One row per held-out point of the first law: ``row`` (the table's index label), the
        cap column, the law's inputs, ``loss`` (observed), ``predicted`` (point prediction),
        ``median``, ``lower`` and ``upper`` (new-run predictive interval), ``rel_error``
        (``predicted / loss - 1``), ``covered`` and ``lpd`` (log predictive density of the
        point's log loss). For ``group=``: the first law's rows of :attr:`points`.
    scores
        The first law's ``mean_abs_rel_error``, ``median_abs_rel_error``,
        ``max_abs_rel_error``, ``mean_rel_error`` (signed: > 0 means over-prediction),
        ``coverage``, ``prob``, ``lpd_sum``, ``lpd_mean``, ``n_train``, ``n_holdout``.
    column, cap
        The hold-out rule: points with ``column > cap`` are held out (``cap`` is ``None``
        for a test column).
    method
        ``"point"``, ``"bootstrap"`` or ``"nuts"``.
    points
        One row per held-out point and law (``"average"`` for several): group keys, the x
        column, ``observed``, ``pred_median``, ``pred_lower``, ``pred_upper``, ``covered``,
        ``law`` (see :func:`~bayescale.workflows.forecasting.forecast_points`).
    curves
        One row per curve and law: coverage, errors, scores
        (:func:`~bayescale.workflows.forecasting.curve_scores`).
    summary
        JSON-ready summary (laws, rule, level, scores, weights, calibration, notes).
    backtest
        The :class:`~bayescale.results.forecasts.Backtest` behind weights and calibration.
    fits
        Law name -> training fit (as :attr:`fit`).
    """

    fit: Any
    holdout: pd.DataFrame
    scores: dict
    column: str
    cap: float | None
    method: str
    points: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    summary: dict | None = None
    backtest: Any = None
    fits: dict | None = None

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``--json`` output)."""
        draws = getattr(self.fit, "draws", None)
        warnings = list(draws.warnings) if draws is not None else []
        out = {
            "law": self.fit.law.name,
            "method": self.method,
            "holdout_above": {"column": self.column, "cap": self.cap},
            "scores": self.scores,
            "points": _records(self.holdout),
            "fit": self.fit.to_dict() if isinstance(self.fit, Fit) else None,
            "warnings": warnings,
        }
        if self.summary is not None:
            out["forecast"] = self.summary
        return out


def _records(df: pd.DataFrame) -> list[dict]:
    return [{str(k): to_json(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def extrapolate(
    data: Any,
    law: str | Law | Sequence[str | Law] = "chinchilla",
    *,
    holdout_above: tuple[str, float] | str | None = None,
    test_column: str | None = None,
    group: Hashable | Sequence[Hashable] | None = None,
    by: str | None = None,
    calibrate: bool = False,
    pooled: bool = True,
    cutoffs: int | Sequence[float] = 4,
    method: str = "bootstrap",
    noise: Noise | str = "huber",
    delta: float = 1e-3,
    prob: float = 0.9,
    starts: str | int | np.ndarray = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    n_resamples: int = 1000,
    nuts_config: Any = None,
    config: FitConfig = FitConfig(),
) -> Extrapolation:
    """Fit laws to the training rows and score their forecasts of the held-out rows.

    Parameters
    ----------
    data
        A DataFrame, a path or ``"example:NAME"`` (as :func:`bayescale.fit`).
    law
        Registered law name or a :class:`~bayescale.laws.Law`, or several: they are stacked
        into an ``"average"`` law with weights from a backtest on the training rows.
    holdout_above
        ``(column, cap)`` or ``"COLUMN=CAP"``: points with ``column > cap`` are held out.
        ``column`` is a canonical variable (``N``, ``D``, ``C``, ``step``; ``C`` is derived
        as ``flops_per_token * N * D`` when the table lacks it) or any numeric column.
    test_column
        Instead: a column marking the held-out rows with 1 / true.
    group
        Column(s) whose values define curves: every curve fitted on its own training rows
        (one batch per law) and scored on its own held-out rows.
    by
        Variable of extrapolation distances with ``test_column`` (default ``x`` for
        one-variable laws, else ``C``); with ``holdout_above`` it is the cap column.
    calibrate
        Widen (or narrow) the intervals by the error model a backtest of the training rows
        learned as a function of distance (:mod:`bayescale.predict.calibration`); too few
        training points to backtest leave the intervals uncalibrated, with a note.
    pooled
        Calibration and stacking weights pooled over curves (default) or per curve.
    cutoffs
        Cutoffs per curve of that backtest (see :func:`~bayescale.backtest`).
    method
        Draws behind the intervals and densities: ``"bootstrap"`` (refits of resamples),
        ``"nuts"`` (posterior) or ``"point"`` (the optimum alone: a plug-in predictive that
        ignores parameter uncertainty).
    noise, delta
        Noise model of the maximum-likelihood fit (a :class:`~bayescale.likelihood.Noise` or
        its kind, with the Huber ``delta``).
    prob
        Central probability of the new-run predictive interval (``--level``).
    starts, seed, columns, x, flops_per_token, drop_top_losses, config
        As in :func:`bayescale.fit`; ``drop_top_losses`` applies to the whole table before
        the hold-out split.
    n_resamples
        Bootstrap resamples (``method="bootstrap"``; the backtest uses at most
        :data:`BACKTEST_RESAMPLES` per lane).
    nuts_config
        :class:`~bayescale.infer.types.NutsConfig` (``method="nuts"``).

    Returns
    -------
    Extrapolation
        The training fit, the held-out table and the scores; the forecast tables.

    Raises
    ------
    DataError
        On an unknown hold-out column, a rule that holds out nothing, or one that leaves
        fewer training points than the law (with its noise scale) has parameters.
    ValueError
        On an unknown method or a ``prob`` outside (0, 1).

    Examples
    --------
    >>> from bayescale import extrapolate
    >>> ex = extrapolate("example:chinchilla", "chinchilla", holdout_above=("C", 1e21),
    ...                  method="point", starts="hoffmann", drop_top_losses=5)
    >>> ex.scores["n_holdout"]
    23
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0.0 < float(prob) < 1.0:
        raise ValueError(f"prob must be strictly between 0 and 1, got {prob}")
    laws = as_laws(law)
    noise = as_noise(noise, delta, "held-out extrapolation")
    table = read_table(data)
    if not table.index.is_unique:
        table = table.reset_index(drop=True)
    opts = {"columns": columns, "x": x, "flops_per_token": flops_per_token}
    full = prepare(table, laws[0].inputs, drop_top_losses=drop_top_losses, **opts)
    for item in laws[1:]:
        prepare(table, item.inputs, drop_top_losses=drop_top_losses, **opts)
    by = by or ("C" if any(item.inputs != ("x",) for item in laws) else x)
    held, values, column, cap = held_out(
        table,
        full.rows,
        holdout_above,
        test_column,
        by,
        {**opts, "drop_top_losses": drop_top_losses},
    )
    codes, keys = curve_codes(table.loc[full.rows], group)
    n_params = max(len(params(item, noise)) for item in laws)
    n_train = int((~held).sum())
    if group is None and n_train < n_params:
        what = f"holding out {column} > {cap:g}" if cap is not None else f"test column {column!r}"
        raise DataError(
            f"{what} leaves {n_train} training points, fewer than the {n_params} parameters of "
            f"law {laws[0].name!r} ({laws[0].n_params} + log_sigma); choose a higher cap"
        )
    rule = (
        {"column": column, "cap": cap}
        if cap is not None
        else {"test_column": test_column, "by": column}
    )
    record = {
        "name": "holdout_above" if cap is not None else "test_column",
        **rule,
        "n_held_out": int(held.sum()),
        "held_out_rows": [to_json(r) for r in full.rows[held]],
    }
    kw = dict(
        noise=noise,
        method=method,
        n_resamples=n_resamples,
        nuts_config=nuts_config,
        starts=starts,
        seed=seed,
        config=config,
        **opts,
    )
    draws, fits = {}, {}
    if group is None:
        for item in laws:
            fits[item.name], draws[item.name] = fit_below(
                table, full.rows, held, item, record, full.filters, kw
            )
    else:
        tab = table.loc[full.rows]
        for item in laws:
            draws[item.name] = lane_draws(tab, codes, ~held, held, item, **kw)
            fits[item.name] = draws[item.name].fit
    # the distance of every held-out point beyond its curve's largest training value
    top = pd.Series(np.where(~held, values, -np.inf)).groupby(codes).max().to_numpy()
    low = pd.Series(np.where(~held, values, np.inf)).groupby(codes).min().to_numpy()
    count = np.bincount(codes[~held], minlength=len(keys))
    base = (
        keys.iloc[codes[held]]
        .reset_index(drop=True)
        .assign(
            **{column: values[held]},
            curve=codes[held],
            distance=np.log10(values[held] / top[codes[held]]),
            span=np.log10(top / low)[codes[held]],
            n_train=count[codes[held]],
            row=full.rows[held],
        )
    )
    base["reach"] = reach(base["distance"], base["span"])
    bt, notes, weights, widx = None, [], None, None
    calibration = {} if calibrate else None  # asked for but unavailable: flagged uncalibrated
    if calibrate or len(laws) > 1:
        try:
            bt = backtest(
                table.loc[full.rows[~held]],
                laws,
                by=column,
                cutoffs=cutoffs,
                group=group,
                method=method,
                levels=sorted({*LEVELS, float(prob)}),
                pooled=pooled,
                noise=noise,
                n_resamples=min(n_resamples, BACKTEST_RESAMPLES),
                nuts_config=nuts_config,
                starts=starts,
                seed=seed,
                config=config,
                **opts,
            )
        except DataError as err:
            notes.append(f"not backtested, so not calibrated and laws weighted equally: {err}")
        else:
            notes += list(bt.notes)
            if calibrate:
                calibration = bt.calibration
        if len(laws) > 1:
            weights = (
                bt.weights
                if bt is not None
                else pd.DataFrame(
                    np.full((1, len(laws)), 1.0 / len(laws)),
                    index=["pooled"],
                    columns=[item.name for item in laws],
                )
            )
            widx = np.zeros(len(base), int)
            if len(weights) > 1:
                widx = curve_index(bt.keys, keys)[codes[held]]
    cal_curve = None
    if calibration and not pooled:
        cal_curve = curve_index(bt.keys, keys)[codes[held]]
    points = forecast_points(
        base,
        full.loss[held],
        draws,
        prob,
        levels=LEVELS,
        weights=None if weights is None else weights.to_numpy(),
        weight_index=widx,
        calibration=calibration,
        curve=cal_curve,
    )
    key_cols = [str(c) for c in keys.columns]
    names = [item.name for item in laws]
    summary = forecast_summary(
        points,
        laws=names,
        rule=rule,
        prob=prob,
        method=method,
        weights=weights,
        calibration=calibration,
        pooled=pooled,
        notes=notes,
        n_train=n_train,
        n_curves=len(keys),
    )
    summary["group"] = key_cols
    first = laws[0].name
    if group is None:
        holdout, scores = legacy_holdout(
            fits[first], draws[first], full, held, values, column, prob, x
        )
    else:
        holdout = points[points["law"] == first].reset_index(drop=True)
        scores = summary["scores"][0]
    return Extrapolation(
        fits[first],
        holdout,
        scores,
        column,
        cap,
        method,
        points,
        curve_scores(points, key_cols),
        summary,
        bt,
        fits,
    )


__all__ = [
    "BACKTEST_RESAMPLES",
    "Extrapolation",
    "cap_values",
    "extrapolate",
    "parse_holdout",
]
