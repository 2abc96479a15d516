"""Resampling that respects dependence between points: moving blocks along an ordering, and
cluster labels by bins of compute.

Points of a scaling-law fit are rarely independent: checkpoints of one run share its noise,
and runs near each other in compute share a data mix, a tuning budget, a code version. Their
residuals are then correlated along compute, and the independent bootstrap, which treats every
point as a fresh draw, is too narrow. :func:`block_counts` (the moving-block bootstrap) keeps
runs of neighbours together; :func:`compute_bins` makes cluster labels (``groups=``) of bins of
``log10`` compute; :func:`ordering` gives the values either runs along.
:func:`~bayescale.optimize.resampling.resample_counts` dispatches to them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from bayescale.laws.spec import Law
from bayescale.likelihood import scale_variable


def block_counts(
    n_points: int,
    n_resamples: int,
    block_size: int,
    seed: int = 0,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Moving-block bootstrap counts per point, ``(n_resamples, n_points)``; each row sums to
    ``n_points`` (see :func:`~bayescale.optimize.resampling.resample_counts`, which checks the
    other options and calls this).

    Raises
    ------
    ValueError
        For a ``block_size`` outside ``1 .. n_points - 1`` or a bad ``order``.
    """
    n, r = int(n_points), int(n_resamples)
    if isinstance(block_size, bool) or int(block_size) != block_size or not 1 <= block_size < n:
        raise ValueError(
            f"block_size must be a whole number from 1 to n_points - 1 = {n - 1} (a block of "
            f"all {n} points resamples nothing), got {block_size}"
        )
    k = int(block_size)
    if order is None:
        perm = np.arange(n)
    else:
        order = np.asarray(order)
        if order.shape != (n,):
            raise ValueError(f"order must have one value per point ({n}), got {order.shape}")
        if order.dtype.kind in "fc" and not np.all(np.isfinite(order)):
            raise ValueError("order contains non-finite values")
        perm = np.argsort(order, kind="stable")
    n_blocks = math.ceil(n / k)
    starts = np.random.default_rng(seed).integers(0, n - k + 1, size=(r, n_blocks))
    pos = (starts[:, :, None] + np.arange(k)).reshape(r, n_blocks * k)[:, :n]
    counts = np.zeros((r, n), dtype=np.int64)
    np.add.at(counts, (np.arange(r)[:, None], perm[pos]), 1)
    return counts


def compute_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Cluster labels ``0 .. n_bins - 1``: equal-width bins of ``log10(values)``.

    Pass them as ``groups=`` for a cluster bootstrap by compute bin: every bin is resampled
    whole, so points that share a stretch of compute (a learning-rate sweep, a data mix) move
    together. Empty bins get no label; the labels of the others are kept (``np.unique`` of the
    result gives the bins in use).

    Parameters
    ----------
    values
        Positive values, e.g. compute ``C`` per point (see :func:`ordering`).
    n_bins
        Number of bins over ``[min, max]`` of ``log10(values)``, at least 2.

    Returns
    -------
    numpy.ndarray
        Integer bin of every point, ``(n,)``.

    Raises
    ------
    ValueError
        On ``n_bins < 2``, non-positive or non-finite values, or a single distinct value.
    """
    v = np.asarray(values, dtype=np.float64)
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 2:
        raise ValueError(f"n_bins must be a whole number >= 2, got {n_bins}")
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v) & (v > 0)):
        raise ValueError("compute_bins needs a 1-D array of at least 2 positive finite values")
    u = np.log10(v)
    lo, hi = u.min(), u.max()
    if hi == lo:
        raise ValueError("compute_bins needs at least two distinct values to bin")
    return np.minimum(((u - lo) / (hi - lo) * int(n_bins)).astype(np.int64), int(n_bins) - 1)


def ordering(
    law: Law,
    x: Mapping[str, np.ndarray],
    by: str | None = None,
    flops_per_token: float = 6.0,
) -> np.ndarray:
    """The values a block bootstrap orders points by (or compute bins bin), ``(n,)``.

    Parameters
    ----------
    law
        The law.
    x
        Its inputs at the points (host arrays), as in :attr:`bayescale.data.Prepared.x`.
    by
        ``None``: the law's scale variable (:func:`~bayescale.likelihood.scale_variable`: ``C``,
        or ``N * D``, or a one-input law's input). ``"C"``: compute, ``flops_per_token * N * D``
        when the law takes ``N`` and ``D`` rather than ``C``. Otherwise a law input's name.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        For a name that is not a law input (nor ``"C"`` of a law of ``N`` and ``D``).
    """
    x = {k: np.asarray(v, dtype=np.float64) for k, v in x.items()}
    if by is None:
        return np.asarray(scale_variable(law, x))
    if by in law.inputs:
        return x[by]
    if by == "C" and {"N", "D"} <= set(law.inputs):
        return float(flops_per_token) * x["N"] * x["D"]
    choices = list(law.inputs) + (["C"] if {"N", "D"} <= set(law.inputs) else [])
    raise ValueError(
        f"cannot order the points of law {law.name!r} by {by!r}: choose one of {choices}, "
        "or pass the values as an array"
    )
