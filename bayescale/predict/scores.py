"""Scoring observed losses against a law's draws: point error, interval coverage, the log
predictive density from the one pointwise likelihood, and two proper scores of a forecast.

Used by :func:`~bayescale.workflows.extrapolation.extrapolate` (held-out points),
:func:`~bayescale.workflows.comparison.compare` (pointwise densities of several laws) and
:func:`~bayescale.workflows.backtesting.backtest` (:func:`interval_score`, :func:`crps`).

Both proper scores are negatively oriented (lower is better) and in the units of ``y``; the
workflows apply them to log losses, so they read as relative errors.

* :func:`interval_score` (Gneiting & Raftery 2007, eq. 43) of a central ``(1 - alpha)``
  interval ``[l, u]``: ``(u - l) + (2 / alpha) (l - y) 1{y < l} + (2 / alpha) (y - u) 1{y > u}``.
* :func:`crps` of a sample (or weighted sample) ``X``: ``E|X - y| - E|X - X'| / 2``, computed
  exactly for the empirical distribution by sorting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.laws import Law
from bayescale.likelihood import Data, Noise, pointwise_log_likelihood
from bayescale.predict.averaging import weighted_quantiles
from bayescale.predict.posterior import as_draws, predict_log_loss, predictive


@partial(jax.jit, static_argnames=("law", "noise"))
def _draws_ll(law: Law, noise: Noise, theta: jax.Array, data: Data) -> jax.Array:
    return jax.vmap(lambda th: pointwise_log_likelihood(law, th, data, noise))(theta)


def draws_log_likelihood(
    law: Law, theta_draws: object, x: Mapping[str, object], loss: object, noise: Noise
) -> np.ndarray:
    """Pointwise log likelihood of observed losses for every draw.

    Parameters
    ----------
    law
        The law.
    theta_draws
        Fit-space draws ``(n_draws, P + 1)`` with the ``log_sigma`` column.
    x
        Input name -> values, ``(m,)`` each.
    loss
        Observed losses ``(m,)`` (natural scale).
    noise
        The noise model the draws were fitted with.

    Returns
    -------
    numpy.ndarray
        ``(n_draws, m)``: :func:`bayescale.likelihood.pointwise_log_likelihood` of each draw.
    """
    theta = as_draws(law, theta_draws, need_sigma=True)
    with enable_x64():
        y = jnp.asarray(np.asarray(loss, dtype=np.float64))
        data = Data(
            {k: jnp.asarray(np.asarray(x[k], dtype=np.float64)) for k in law.inputs},
            jnp.log(y),
            jnp.ones_like(y),
        )
        return np.asarray(_draws_ll(law, noise, jnp.asarray(theta), data))


def log_mean_exp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """``log(mean(exp(a)))`` along ``axis``, computed stably."""
    a = np.asarray(a, dtype=np.float64)
    return np.logaddexp.reduce(a, axis=axis) - np.log(a.shape[axis])


def score_points(
    law: Law,
    theta_hat: np.ndarray,
    theta_draws: np.ndarray,
    x: Mapping[str, np.ndarray],
    loss: np.ndarray,
    noise: Noise,
    prob: float = 0.9,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Score observed losses against a law's predictions, point by point.

    Parameters
    ----------
    law
        The law.
    theta_hat
        Fit-space optimum ``(P + 1,)``: gives the point prediction.
    theta_draws
        Fit-space draws ``(n_draws, P + 1)`` with ``log_sigma``: give the new-run interval
        and the log predictive density.
    x, loss
        Inputs (``(m,)`` each) and observed losses ``(m,)``.
    noise
        The noise model the draws were fitted with.
    prob
        Central probability of the interval.
    seed
        Seed of the predictive's noise draws.

    Returns
    -------
    dict
        ``loss``, ``predicted``, ``median`` (of the new-run predictive), ``lower``, ``upper``,
        ``rel_error`` (``predicted / loss -
        1``), ``covered`` and ``lpd`` (``log mean_s p(log loss | theta_s)``), ``(m,)`` each.
    """
    y = np.asarray(loss, dtype=np.float64)
    point = np.exp(predict_log_loss(law, theta_hat, x)[0])
    lo, hi = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    band = predictive(
        law, theta_draws, x, kind="new_run", noise=noise, probs=(lo, 0.5, hi), seed=seed
    )
    lower, median, upper = band.quantiles
    return {
        "loss": y,
        "predicted": point,
        "median": median,
        "lower": lower,
        "upper": upper,
        "rel_error": point / y - 1.0,
        "covered": (lower <= y) & (y <= upper),
        "lpd": log_mean_exp(draws_log_likelihood(law, theta_draws, x, y, noise)),
    }


def interval_score(y: object, lower: object, upper: object, prob: float) -> np.ndarray:
    """Interval score of central ``prob`` intervals (lower is better; Gneiting & Raftery 2007).

    Parameters
    ----------
    y, lower, upper
        Observations and interval bounds (broadcast together).
    prob
        Nominal central probability of the interval, ``1 - alpha``, in (0, 1).

    Returns
    -------
    numpy.ndarray
        ``(u - l) + (2 / alpha) ((l - y)_+ + (y - u)_+)``, the shape of the broadcast inputs.

    Raises
    ------
    ValueError
        If ``prob`` is not strictly between 0 and 1.
    """
    if not 0.0 < float(prob) < 1.0:
        raise ValueError(f"prob must be strictly between 0 and 1, got {prob}")
    y, lo, hi = (np.asarray(a, dtype=np.float64) for a in (y, lower, upper))
    alpha = 1.0 - float(prob)
    below, above = np.maximum(lo - y, 0.0), np.maximum(y - hi, 0.0)
    return (hi - lo) + (2.0 / alpha) * (below + above)


def crps(draws: object, y: object, weights: object = None) -> np.ndarray:
    """Continuous ranked probability score of a (weighted) sample, exactly (lower is better).

    Parameters
    ----------
    draws
        Sample of the forecast distribution, ``(..., S)`` (the last axis is the sample).
    y
        Observations, ``(...)``.
    weights
        Optional non-negative weights of the draws, ``(..., S)`` or ``(S,)``, normalised along
        the last axis (e.g. a mixture of several laws' draws); default equal weights.

    Returns
    -------
    numpy.ndarray
        ``E|X - y| - E|X - X'| / 2`` under the (weighted) empirical distribution, ``(...)``.
        ``E|X - X'| = 2 sum_i w_i x_(i) (2 W_i - w_i - 1)`` over the sorted sample with
        cumulative weights ``W_i``.
    """
    x = np.asarray(draws, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.broadcast_to(weights, x.shape).astype(float)
    w = w / np.sum(w, axis=-1, keepdims=True)
    order = np.argsort(x, axis=-1)
    xs, ws = np.take_along_axis(x, order, -1), np.take_along_axis(w, order, -1)
    spread = 2.0 * np.sum(ws * xs * (2.0 * np.cumsum(ws, axis=-1) - ws - 1.0), axis=-1)
    return np.sum(w * np.abs(x - y[..., None]), axis=-1) - 0.5 * spread


def level_name(p: float) -> str:
    """Column suffix of a nominal level: 0.9 -> ``"90"``, 0.975 -> ``"97.5"``."""
    return f"{100.0 * float(p):g}"


def forecast_scores(
    log_draws: object, log_y: object, levels: Sequence[float], weights: object = None
) -> dict[str, np.ndarray]:
    """Predictive summaries and scores of points from a sample of their log loss.

    Parameters
    ----------
    log_draws
        Predictive sample of each point's log loss, ``(M, S)``; a row of NaN marks a point
        without a prediction (its outputs are NaN, ``covered_*`` False).
    log_y
        Observed log losses ``(M,)``.
    levels
        Nominal central probabilities of the intervals.
    weights
        Optional draw weights ``(M, S)`` (a mixture of laws).

    Returns
    -------
    dict
        ``pred_median`` (natural scale), per level ``p`` (suffix :func:`level_name`):
        ``lower_<p>``, ``upper_<p>`` (natural scale), ``covered_<p>``,
        ``interval_score_<p>`` (log scale); ``crps`` (log scale) and ``log_error``
        (``log y - log median``), ``(M,)`` each.
    """
    x = np.asarray(log_draws, dtype=np.float64)
    y = np.asarray(log_y, dtype=np.float64)
    ok = np.all(np.isfinite(x), axis=1)
    w = None if weights is None else np.broadcast_to(weights, x.shape)[ok]
    probs = [0.5] + [q for p in levels for q in ((1 - p) / 2, (1 + p) / 2)]
    q = np.full((len(probs), len(y)), np.nan)
    if ok.any():
        sample = x[ok]
        if w is None:
            q[:, ok] = np.quantile(sample, probs, axis=1)
        else:
            q[:, ok] = weighted_quantiles(sample, probs, w)
    out = {"pred_median": np.exp(q[0])}
    for j, p in enumerate(levels):
        lo, hi, name = q[1 + 2 * j], q[2 + 2 * j], level_name(p)
        out[f"lower_{name}"], out[f"upper_{name}"] = np.exp(lo), np.exp(hi)
        out[f"covered_{name}"] = ok & (lo <= y) & (y <= hi)
        out[f"interval_score_{name}"] = np.where(ok, interval_score(y, lo, hi, p), np.nan)
    c = np.full(len(y), np.nan)
    if ok.any():
        c[ok] = crps(x[ok], y[ok], w)
    out["crps"] = c
    out["log_error"] = y - q[0]
    return out


__all__ = [
    "crps",
    "draws_log_likelihood",
    "forecast_scores",
    "interval_score",
    "level_name",
    "log_mean_exp",
    "score_points",
]
