"""Predictions at points that each come with their own draws: many curves in one call.

A backtest or a batch forecast predicts ``M`` held-out points, each from the draws of the
curve (or the curve below a cutoff) it belongs to. :func:`point_draws` takes the draws
gathered per point, ``(M, S, P)``, and returns, in one compiled call:

* the new-run predictive sample of every point's log loss, ``(M, S * repeats)``: the law at
  each draw plus ``repeats`` draws of the noise model at that draw's scale there (as
  :func:`~bayescale.predict.posterior.predictive` with ``kind="new_run"``, which repeats
  nothing); repeating smooths the quantiles of a small bootstrap without changing the
  distribution;
* the log predictive density of the observed log loss, ``log mean_s p(log y_i | theta_s)``,
  from :func:`bayescale.likelihood.pointwise_log_likelihood` (the one likelihood).

The point axis is padded to a power of two, so batches of similar size share one compiled
program.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.laws.spec import Law, predict_log
from bayescale.likelihood import (
    Data,
    Noise,
    log_scale,
    params,
    pointwise_log_likelihood,
    sample_noise,
)


class PointDraws(NamedTuple):
    """Predictive draws of points that each have their own parameter draws.

    Attributes
    ----------
    log_loss
        New-run predictive sample of each point's log loss, ``(M, S * repeats)``.
    lpd
        Log predictive density of each observed log loss, ``(M,)``.
    """

    log_loss: np.ndarray
    lpd: np.ndarray


@partial(jax.jit, static_argnames=("law", "noise", "repeats"))
def _point_draws(
    law: Law,
    noise: Noise,
    repeats: int,
    theta: jax.Array,
    x: dict,
    log_y: jax.Array,
    key: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    def one(th: jax.Array, xi: dict, yi: jax.Array) -> tuple[jax.Array, jax.Array]:
        xr = {k: v[None] for k, v in xi.items()}
        data = Data(xr, yi[None], jnp.ones(1))
        mu = jax.vmap(lambda t: predict_log(law, t, xr)[0])(th)
        ll = jax.vmap(lambda t: pointwise_log_likelihood(law, t, data, noise)[0])(th)
        return mu, jax.scipy.special.logsumexp(ll) - jnp.log(th.shape[0])

    mu, lpd = jax.vmap(one)(theta, x, log_y)
    shape = mu.shape + (repeats,)
    scale = log_scale(law, theta, {k: v[:, None, None] for k, v in x.items()}, noise)
    eps = sample_noise(key, noise, scale, shape)
    return (mu[..., None] + eps).reshape(mu.shape[0], -1), lpd


def point_draws(
    law: Law,
    theta: object,
    x: Mapping[str, object],
    loss: object,
    noise: Noise,
    *,
    repeats: int = 1,
    seed: int = 0,
) -> PointDraws:
    """New-run predictive draws and log predictive densities of points with their own draws.

    Parameters
    ----------
    law
        The law.
    theta
        Fit-space draws per point, ``(M, S, P + 1)`` with ``log_sigma`` last (``(M, S, P + 2)``
        with ``sigma_slope`` after it for a heteroscedastic ``noise``); every draw must be
        finite (drop the points of curves that were not fitted first).
    x
        Input name -> values, ``(M,)`` each.
    loss
        Observed losses ``(M,)`` (natural scale).
    noise
        The noise model the draws were fitted with (the fit's objective: a heteroscedastic
        one carries its reference).
    repeats
        Noise draws per parameter draw.
    seed
        Seed of the noise draws.

    Returns
    -------
    PointDraws
        ``log_loss`` ``(M, S * repeats)`` and ``lpd`` ``(M,)``.

    Raises
    ------
    ValueError
        On shapes that do not match or non-finite draws.
    """
    th = np.asarray(theta, dtype=np.float64)
    y = np.asarray(loss, dtype=np.float64)
    k = len(params(law, noise))
    if th.ndim != 3 or th.shape[0] != y.size or th.shape[2] != k:
        raise ValueError(
            f"draws per point must have shape (M, S, {k}) with M = {y.size} points (law "
            f"{law.name!r} plus its noise parameters); got {th.shape}"
        )
    if not np.all(np.isfinite(th)):
        raise ValueError("draws per point contain non-finite values")
    m = y.size
    if m == 0:
        return PointDraws(np.zeros((0, th.shape[1] * repeats)), np.zeros(0))
    size = 1 << max(0, math.ceil(math.log2(m)))
    pad = np.arange(size) % m
    cols = {k: np.asarray(x[k], dtype=np.float64)[pad] for k in law.inputs}
    with enable_x64():
        log_l, lpd = _point_draws(
            law,
            noise,
            int(repeats),
            jnp.asarray(th[pad]),
            {k: jnp.asarray(v) for k, v in cols.items()},
            jnp.log(jnp.asarray(y[pad])),
            jax.random.PRNGKey(int(seed)),
        )
        return PointDraws(np.asarray(log_l)[:m], np.asarray(lpd)[:m])


__all__ = ["PointDraws", "point_draws"]
