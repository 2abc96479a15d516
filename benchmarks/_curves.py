"""Simulated Chinchilla curves and the 64-start grid shared by the batch benchmarks."""

from __future__ import annotations

import numpy as np


def chinchilla_curves(
    n_curves: int, n_points: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, D, loss)``, each ``(n_curves, n_points)``: jittered Chinchilla laws with noise.

    Every curve has its own E, A, B, alpha, beta (jittered around Hoffmann-like values) and its
    own noise level (1-2% on the loss); N and D are log-uniform, 1 to 300 tokens per parameter.
    """
    n, d, loss, _ = chinchilla_curves_with_truth(n_curves, n_points, seed)
    return n, d, loss


def chinchilla_curves_with_truth(
    n_curves: int, n_points: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`chinchilla_curves` and the true parameters of every curve, ``(n_curves, 6)`` in
    fit space: ``log A, log B, log E, alpha, beta, log sigma`` (sigma: the log-normal noise's
    standard deviation, which Gaussian noise on the log loss estimates)."""
    rng = np.random.default_rng(seed)
    shape = (n_curves, n_points)
    n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), shape))
    d = n * np.exp(rng.uniform(0.0, np.log(300.0), shape))

    def jitter(v: float, s: float) -> np.ndarray:
        return v * np.exp(rng.normal(0.0, s, (n_curves, 1)))

    e, a, b = jitter(1.69, 0.05), jitter(406.4, 0.2), jitter(410.7, 0.2)
    alpha = 0.34 + rng.normal(0.0, 0.02, (n_curves, 1))
    beta = 0.28 + rng.normal(0.0, 0.02, (n_curves, 1))
    sigma = rng.uniform(0.01, 0.02, (n_curves, 1))
    loss = (e + a * n**-alpha + b * d**-beta) * np.exp(sigma * rng.normal(size=shape))
    truth = np.concatenate([np.log(a), np.log(b), np.log(e), alpha, beta, np.log(sigma)], axis=1)
    return n, d, loss, truth


def starts_64() -> np.ndarray:
    """64 starts spread evenly through the Hoffmann grid, ``(64, 5)`` fit space."""
    from bayescale.laws import get_law, grid_starts

    grid = grid_starts(get_law("chinchilla"), "hoffmann")
    return grid[np.linspace(0, len(grid) - 1, 64).round().astype(int)]
