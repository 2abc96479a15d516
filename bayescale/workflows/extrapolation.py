"""Held-out extrapolation: fit below a cap, predict the points above it, score the predictions.

:func:`extrapolate` is the one-call check of a law's extrapolation: rows whose cap column
(``N``, ``D``, ``C`` - derived as ``flops_per_token * N * D`` when absent - ``step``, or any
numeric column of the table) exceeds the cap are held out, the law is fitted to the rest
(:func:`bayescale.fit` under a noise model), draws come from the bootstrap, NUTS or the fit
alone, and every held-out point is scored:

* the point prediction (the law at the training optimum) and its relative error;
* the new-run predictive interval (:func:`~bayescale.predict.posterior.predictive` with
  ``kind="new_run"``: parameter draws plus the noise model) and whether it covers the point;
* the log predictive density ``log mean_s p(y_i | theta_s)``, the density of the observed
  log loss under the same likelihood the law was fitted with
  (:func:`bayescale.likelihood.pointwise_log_likelihood`), averaged over the draws.

The scoring itself lives in :mod:`bayescale.predict.scores`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.columns import X_CHOICES, numeric_column
from bayescale.data.io import DataError, read_table
from bayescale.data.preparation import prepare
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law
from bayescale.likelihood import Noise, as_noise, params
from bayescale.optimize.multistart import FitConfig
from bayescale.predict.scores import score_points
from bayescale.results.records import Fit
from bayescale.results.summaries import to_json
from bayescale.workflows.fitting import fit as fit_law
from bayescale.workflows.uncertainty import bootstrap, nuts

METHODS = ("point", "bootstrap", "nuts")
#: Copies of the optimum used as "draws" by ``method="point"`` (a plug-in predictive: the
#: noise model at the fitted parameters, parameter uncertainty ignored).
POINT_NOISE_DRAWS = 4000


class Extrapolation(NamedTuple):
    """A law fitted below a cap and scored on the points above it.

    Attributes
    ----------
    fit
        The :class:`~bayescale.Fit` on the training points, draws attached (``None`` for
        ``method="point"``); its ``data.filters`` records the hold-out.
    holdout
        One row per held-out point: ``row`` (the table's index label), the cap column, the
        law's inputs, ``loss`` (observed), ``predicted`` (point prediction), ``lower`` and
        ``upper`` (new-run predictive interval), ``rel_error`` (``predicted / loss - 1``),
        ``covered`` and ``lpd`` (log predictive density of the point's log loss).
    scores
        ``mean_abs_rel_error``, ``median_abs_rel_error``, ``max_abs_rel_error``,
        ``mean_rel_error`` (signed: > 0 means over-prediction), ``coverage``, ``prob``,
        ``lpd_sum``, ``lpd_mean``, ``n_train``, ``n_holdout``.
    column, cap
        The hold-out rule: points with ``column > cap`` are held out.
    method
        ``"point"``, ``"bootstrap"`` or ``"nuts"``.
    """

    fit: Fit
    holdout: pd.DataFrame
    scores: dict
    column: str
    cap: float
    method: str

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``--json`` output)."""
        warnings = list(self.fit.draws.warnings) if self.fit.draws is not None else []
        return {
            "law": self.fit.law.name,
            "method": self.method,
            "holdout_above": {"column": self.column, "cap": self.cap},
            "scores": self.scores,
            "points": _records(self.holdout),
            "fit": self.fit.to_dict(),
            "warnings": warnings,
        }


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: to_json(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


def parse_holdout(holdout_above: tuple[str, float] | str) -> tuple[str, float]:
    """``("C", 1e21)`` or ``"C=1e21"`` as ``(column, cap)``.

    Raises
    ------
    DataError
        On a malformed rule or a cap that is not a finite number.
    """
    if isinstance(holdout_above, str):
        col, sep, value = holdout_above.rpartition("=")
        if not sep or not col.strip():
            raise DataError(
                f"malformed hold-out rule {holdout_above!r}: expected COLUMN=VALUE, e.g. C=1e21"
            )
        holdout_above = (col.strip(), value)
    try:
        col, value = holdout_above
    except (TypeError, ValueError):
        raise DataError(f"hold-out rule must be (column, cap) or 'COLUMN=VALUE', e.g. "
                        f"('C', 1e21); got {holdout_above!r}") from None  # fmt: skip
    try:
        cap = float(value)
    except (TypeError, ValueError):
        cap = float("nan")
    if not np.isfinite(cap):
        raise DataError(f"hold-out cap for {col!r} must be a finite number, got {value!r}")
    return str(col), cap


def cap_values(
    table: pd.DataFrame,
    rows: np.ndarray,
    column: str,
    *,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
) -> np.ndarray:
    """Values of the hold-out column at the table rows ``rows`` (index labels).

    A canonical variable (``N``, ``D``, ``C``, ``step``) is read through
    :func:`~bayescale.prepare` (column mapping and ``C = k N D`` derivation included);
    any other name must be a numeric column of the table.

    Raises
    ------
    DataError
        On an unknown column or non-numeric values.
    """
    if column in X_CHOICES:
        opts = {"columns": columns, "x": x, "flops_per_token": flops_per_token}
        try:
            p = prepare(table, (column,), drop_top_losses=drop_top_losses, **opts)
        except DataError as err:
            raise DataError(f"cannot hold out by {column!r}: {err}") from None
        return pd.Series(p.x[column], index=p.rows).loc[rows].to_numpy(dtype=np.float64)
    if column not in table.columns:
        raise DataError(
            f"unknown hold-out column {column!r}: not a canonical variable {list(X_CHOICES)} "
            f"and not a column of the table; the table has columns {list(table.columns)}"
        )
    try:
        return numeric_column(table.loc[rows], column, column)
    except DataError as err:
        raise DataError(f"cannot hold out by {column!r}: {err}") from None


def extrapolate(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    holdout_above: tuple[str, float] | str,
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
    """Fit a law to the points at or below a cap and score its predictions above the cap.

    Parameters
    ----------
    data
        A DataFrame, a path or ``"example:NAME"`` (as :func:`bayescale.fit`).
    law
        Registered law name or a :class:`~bayescale.laws.Law`.
    holdout_above
        ``(column, cap)`` or ``"COLUMN=CAP"``: points with ``column > cap`` are held out.
        ``column`` is a canonical variable (``N``, ``D``, ``C``, ``step``; ``C`` is derived
        as ``flops_per_token * N * D`` when the table lacks it) or any numeric column.
    method
        Draws behind the intervals and densities: ``"bootstrap"`` (refits of resamples),
        ``"nuts"`` (posterior) or ``"point"`` (the optimum alone: a plug-in predictive that
        ignores parameter uncertainty).
    noise, delta
        Noise model of the maximum-likelihood fit (a :class:`~bayescale.likelihood.Noise` or
        its kind, with the Huber ``delta``).
    prob
        Central probability of the new-run predictive interval.
    starts, seed, columns, x, flops_per_token, drop_top_losses, config
        As in :func:`bayescale.fit`; ``drop_top_losses`` applies to the whole table before
        the hold-out split.
    n_resamples
        Bootstrap resamples (``method="bootstrap"``).
    nuts_config
        :class:`~bayescale.infer.types.NutsConfig` (``method="nuts"``).

    Returns
    -------
    Extrapolation
        The training fit, the held-out table and the scores.

    Raises
    ------
    DataError
        On an unknown hold-out column, a cap that holds out nothing, or one that leaves fewer
        training points than the law (with its noise scale) has parameters.
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
    law = get_law(law)
    noise = as_noise(noise, delta, "held-out extrapolation")
    column, cap = parse_holdout(holdout_above)
    table = read_table(data)
    if not table.index.is_unique:
        table = table.reset_index(drop=True)
    opts = {"columns": columns, "x": x, "flops_per_token": flops_per_token}
    full = prepare(table, law.inputs, drop_top_losses=drop_top_losses, **opts)
    values = cap_values(table, full.rows, column, drop_top_losses=drop_top_losses, **opts)
    held = values > cap
    n_held, n_train, n_params = int(held.sum()), int((~held).sum()), len(params(law, noise))
    if n_held == 0:
        raise DataError(
            f"holding out {column} > {cap:g} holds out nothing: the largest {column} among the "
            f"{len(values)} points is {values.max():g}; choose a lower cap"
        )
    if n_train < n_params:
        raise DataError(
            f"holding out {column} > {cap:g} leaves {n_train} training points, fewer than the "
            f"{n_params} parameters of law {law.name!r} ({law.n_params} + log_sigma); choose a "
            "higher cap"
        )
    train = table.loc[full.rows[~held]]
    f = fit_law(train, law, loss=noise, starts=starts, seed=seed, config=config, **opts)
    record = {
        "name": "holdout_above",
        "column": column,
        "cap": cap,
        "n_held_out": n_held,
        "held_out_rows": [to_json(r) for r in full.rows[held]],
    }
    f = f._replace(data=f.data._replace(filters=full.filters + (record,), n_input_rows=len(table)))
    if method == "bootstrap":
        f = f._replace(draws=bootstrap(f, n_resamples, seed=seed))
    elif method == "nuts":
        f = f._replace(draws=nuts(f, nuts_config))
    theta = (
        f.draws.flat()
        if f.draws is not None
        else np.repeat(f.result.theta[None], POINT_NOISE_DRAWS, axis=0)
    )
    xh = {k: v[held] for k, v in full.x.items()}
    cols = score_points(law, f.result.theta, theta, xh, full.loss[held], noise, prob, seed)
    names = {k: x if k == "x" else k for k in xh}
    inputs = {names[k]: v for k, v in xh.items() if names[k] != column}
    holdout = pd.DataFrame({"row": full.rows[held], column: values[held], **inputs, **cols})
    rel = cols["rel_error"]
    scores = {
        "mean_abs_rel_error": float(np.mean(np.abs(rel))),
        "median_abs_rel_error": float(np.median(np.abs(rel))),
        "max_abs_rel_error": float(np.max(np.abs(rel))),
        "mean_rel_error": float(np.mean(rel)),
        "coverage": float(np.mean(cols["covered"])),
        "prob": float(prob),
        "lpd_sum": float(np.sum(cols["lpd"])),
        "lpd_mean": float(np.mean(cols["lpd"])),
        "n_train": n_train,
        "n_holdout": n_held,
    }
    return Extrapolation(f, holdout, scores, column, cap, method)


__all__ = ["Extrapolation", "cap_values", "extrapolate", "parse_holdout"]
