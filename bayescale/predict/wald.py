"""The Wald test of the critique and how fragile it is: the statistic, its directions, its
Monte Carlo error.

Part of the critique (:mod:`bayescale.predict.criticism`). ``W = d' S^-1 d`` with ``S`` the
covariance of the draws. In the eigenbasis of ``S`` (eigenvalues ``lambda_i``, unit vectors
``v_i``), ``W = sum_i (v_i' d)^2 / lambda_i``: :func:`wald_directions` reports each direction's
share of ``W`` and SD ``sqrt(lambda_i)``. When ``S`` is nearly singular (a ridge in the
parameters), most of ``W`` can come from its thinnest direction, whose SD is the least
precisely estimated quantity of the draws. :func:`wald_mc_se` is the Monte Carlo standard
error of ``W`` from resampling the draws.
"""

from __future__ import annotations

import numpy as np
from jax.scipy.special import gammaincc

from bayescale._jax import x64


@x64
def chi2_sf(x: float, df: float) -> float:
    """Upper tail ``P(X > x)`` of a chi-squared variable (float64, via ``gammaincc``)."""
    return float(gammaincc(0.5 * df, 0.5 * max(float(x), 0.0)))


def wald_test(estimate: np.ndarray, reference: np.ndarray, cov: np.ndarray) -> tuple:
    """Wald statistic ``d' S^-1 d``, its df and p-value (chi-squared)."""
    d = np.asarray(estimate, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    try:
        w = float(d @ np.linalg.solve(cov, d))
    except np.linalg.LinAlgError:
        w = float(d @ np.linalg.pinv(cov) @ d)
    return w, int(d.size), chi2_sf(w, d.size)


def wald_directions(
    estimate: np.ndarray, reference: np.ndarray, cov: np.ndarray, names: tuple[str, ...]
) -> dict:
    """The Wald statistic direction by direction, in the eigenbasis of the covariance.

    Parameters
    ----------
    estimate, reference
        The two parameter vectors, ``(P,)``.
    cov
        The covariance of the draws, ``(P, P)``.
    names
        The names of the ``P`` coordinates.

    Returns
    -------
    dict
        JSON-ready, directions from the smallest eigenvalue up: ``sd`` (``sqrt(lambda_i)``),
        ``share`` (of ``W``; they sum to 1), ``z`` (``v_i' d / sd_i``, so ``W = sum z^2``),
        ``vectors`` (unit eigenvectors, largest component positive) and ``names``; and
        ``smallest_share`` and ``smallest_sd``, the thinnest direction's.
    """
    d = np.asarray(estimate, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    lam, vec = np.linalg.eigh(np.atleast_2d(np.asarray(cov, dtype=np.float64)))
    vec = vec * np.where(vec[np.abs(vec).argmax(axis=0), range(len(lam))] < 0, -1.0, 1.0)
    sd = np.sqrt(np.maximum(lam, 0.0))
    z = (vec.T @ d) / np.where(sd > 0, sd, np.inf)
    share = z**2 / max(float(np.sum(z**2)), np.finfo(float).tiny)
    return {
        "names": list(names),
        "sd": sd.tolist(),
        "share": share.tolist(),
        "z": z.tolist(),
        "vectors": vec.T.tolist(),
        "smallest_share": float(share[0]),
        "smallest_sd": float(sd[0]),
    }


def wald_mc_se(
    estimate: np.ndarray, reference: np.ndarray, draws: np.ndarray, index: np.ndarray
) -> float:
    """Monte Carlo SE of the Wald statistic: its SD over resamples of the draws.

    Parameters
    ----------
    estimate, reference
        The two parameter vectors, ``(P,)``.
    draws
        The draws whose covariance the statistic uses, ``(n_draws, P)``.
    index
        Resamples of the draws, ``(B, n_draws)`` row indices (see
        :func:`bayescale.predict.precision.draw_resamples`).

    Returns
    -------
    float
        ``SD`` (``ddof=1``) of ``W`` over the ``B`` resamples.
    """
    stats = [wald_test(estimate, reference, np.cov(draws[i].T))[0] for i in index]
    return float(np.std(stats, ddof=1))
