"""Golden-section search inside compiled code (allocation along a budget, the LR profile)."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

#: Golden-section ratio.
INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def golden_section(
    f: Callable[[jax.Array], jax.Array],
    lo: jax.Array,
    hi: jax.Array,
    n_steps: int,
    *,
    maximise: bool = False,
) -> jax.Array:
    """The midpoint of ``[lo, hi]`` after ``n_steps`` golden-section steps on ``f`` (pure JAX).

    Parameters
    ----------
    f
        Scalar function of a scalar, unimodal on ``[lo, hi]``.
    lo, hi
        The bracket.
    n_steps
        Steps (static); the bracket shrinks by ``0.618`` per step.
    maximise
        Search for a maximum instead of a minimum.

    Returns
    -------
    jax.Array
        The final bracket's midpoint.
    """

    def body(_: int, ab: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        lo, hi = ab
        c = hi - INV_PHI * (hi - lo)
        d = lo + INV_PHI * (hi - lo)
        left = f(c) > f(d) if maximise else f(c) < f(d)
        return jnp.where(left, lo, c), jnp.where(left, d, hi)

    lo, hi = jax.lax.fori_loop(0, n_steps, body, (lo, hi))
    return 0.5 * (lo + hi)
