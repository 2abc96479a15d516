"""Scoring observed losses against a law's draws: point error, interval coverage, and the log
predictive density from the one pointwise likelihood.

Used by :func:`~bayescale.workflows.extrapolation.extrapolate` (held-out points) and
:func:`~bayescale.workflows.comparison.compare` (pointwise densities of several laws).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.laws import Law
from bayescale.likelihood import Data, Noise, pointwise_log_likelihood
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
        ``loss``, ``predicted``, ``lower``, ``upper``, ``rel_error`` (``predicted / loss -
        1``), ``covered`` and ``lpd`` (``log mean_s p(log loss | theta_s)``), ``(m,)`` each.
    """
    y = np.asarray(loss, dtype=np.float64)
    point = np.exp(predict_log_loss(law, theta_hat, x)[0])
    lo, hi = (1.0 - prob) / 2.0, (1.0 + prob) / 2.0
    band = predictive(law, theta_draws, x, kind="new_run", noise=noise, probs=(lo, hi), seed=seed)
    lower, upper = band.quantiles
    return {
        "loss": y,
        "predicted": point,
        "lower": lower,
        "upper": upper,
        "rel_error": point / y - 1.0,
        "covered": (lower <= y) & (y <= upper),
        "lpd": log_mean_exp(draws_log_likelihood(law, theta_draws, x, y, noise)),
    }


__all__ = ["draws_log_likelihood", "log_mean_exp", "score_points"]
