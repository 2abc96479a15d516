"""Averaging several laws: Bayesian stacking weights and the quantiles of the mixture.

:func:`stacking_weights` finds the weights ``w`` on the simplex that maximise the log score of
the mixture on held-out (or leave-one-out) points, ``sum_i log sum_k w_k exp(lpd_ik)`` (Yao,
Vehtari, Simpson & Gelman 2018) - the objective ``arviz.compare(..., method="stacking")``
maximises with scipy's SLSQP. Here it is solved by the EM fixed point for mixture weights,
``w_k <- mean_i w_k p_ik / sum_j w_j p_ij``, which increases the (concave) objective at every
step and needs no constraint handling; a batch of problems (one per curve, leading axes)
runs at once. The tests check it against arviz.

:func:`weighted_quantiles` gives quantiles of a weighted sample - the mixture of several laws'
predictive draws, law ``k``'s draws weighted ``w_k / S_k`` - so the mixture's intervals widen
where the laws disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: EM iterations at most, and the change in weights below which it stops.
MAX_ITER, TOL = 20_000, 1e-12


def stacking_weights(lpd: object, mask: object = None) -> np.ndarray:
    """Stacking weights of ``K`` models from pointwise log predictive densities.

    Parameters
    ----------
    lpd
        ``(..., n, K)``: the log predictive density of held-out point ``i`` under model ``k``
        (e.g. the backtest's held-out points, or PSIS-LOO ``loo_i``). Leading axes are
        separate problems (one per curve).
    mask
        Optional boolean ``(..., n)``: which points count (for problems of unequal size).

    Returns
    -------
    numpy.ndarray
        Weights ``(..., K)``, non-negative, summing to 1; equal weights for a problem with no
        points.

    Raises
    ------
    ValueError
        On fewer than one model or non-finite densities at counted points.
    """
    a = np.asarray(lpd, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] < 1:
        raise ValueError(f"lpd must be (..., n_points, n_models), got shape {a.shape}")
    m = np.ones(a.shape[:-1], bool) if mask is None else np.broadcast_to(mask, a.shape[:-1])
    if not np.all(np.isfinite(a[m])):
        raise ValueError("stacking needs finite log predictive densities at every counted point")
    a = np.where(m[..., None], a, 0.0)
    p = np.exp(a - np.max(a, axis=-1, keepdims=True))  # per point: scale-free
    k = a.shape[-1]
    w = np.full(a.shape[:-2] + (k,), 1.0 / k)
    n = np.maximum(m.sum(axis=-1), 1)[..., None]
    for _ in range(MAX_ITER):
        mix = np.einsum("...ik,...k->...i", p, w)
        resp = p * w[..., None, :] / mix[..., None]
        new = np.where(n > 0, np.sum(np.where(m[..., None], resp, 0.0), axis=-2) / n, w)
        new = np.where(m.any(axis=-1)[..., None], new, 1.0 / k)
        if np.max(np.abs(new - w)) < TOL:
            w = new
            break
        w = new
    return w / w.sum(axis=-1, keepdims=True)


def weighted_quantiles(
    samples: object, probs: Sequence[float], weights: object = None
) -> np.ndarray:
    """Quantiles of a weighted sample along its last axis (inverse of the weighted ECDF).

    Parameters
    ----------
    samples
        ``(..., S)``.
    probs
        Quantile levels in (0, 1).
    weights
        Non-negative weights ``(..., S)`` or ``(S,)``, normalised here; default equal
        weights.

    Returns
    -------
    numpy.ndarray
        ``(len(probs), ...)``: for each level ``q``, the smallest sample value whose
        cumulative weight reaches ``q`` (with equal weights, ``numpy.quantile`` with
        ``method="inverted_cdf"``).
    """
    x = np.asarray(samples, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.broadcast_to(weights, x.shape).astype(float)
    order = np.argsort(x, axis=-1)
    xs = np.take_along_axis(x, order, -1)
    cw = np.cumsum(np.take_along_axis(w, order, -1), axis=-1)
    cw = cw / cw[..., -1:]
    out = []
    for q in probs:
        idx = np.minimum(np.sum(cw < float(q) - 1e-12, axis=-1), x.shape[-1] - 1)
        out.append(np.take_along_axis(xs, idx[..., None], -1)[..., 0])
    return np.stack(out)


def mixture_weights(law_weights: object, sizes: Sequence[int]) -> np.ndarray:
    """Per-draw weights of concatenated draws: law ``k``'s ``S_k`` draws get ``w_k / S_k``.

    Parameters
    ----------
    law_weights
        ``(..., K)`` law weights.
    sizes
        Draws per law, ``K`` integers.

    Returns
    -------
    numpy.ndarray
        ``(..., sum(sizes))``.
    """
    w = np.asarray(law_weights, dtype=np.float64)
    per = [np.repeat((w[..., k] / s)[..., None], s, axis=-1) for k, s in enumerate(sizes)]
    return np.concatenate(per, axis=-1)


__all__ = ["MAX_ITER", "TOL", "mixture_weights", "stacking_weights", "weighted_quantiles"]
