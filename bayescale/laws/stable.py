"""Numerically stable, differentiable pieces shared by the law catalogue.

Laws return ``log L``; these helpers keep that finite (and its gradient finite) where the
textbook formula would take the log of zero or of a negative number.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

#: Width of the soft floor of :func:`log_soft_positive` (on a dimensionless quantity).
SOFT_FLOOR = 1e-3


def log_softplus(u: jax.Array) -> jax.Array:
    """``log(softplus(u)) = log(log(1 + e^u))``, exact for large ``u`` and ``u`` for ``u << 0``.

    Uses the double-``where`` trick so that neither branch can put a NaN into the gradient.
    """
    small = u < -30.0
    safe = jnp.where(small, 0.0, u)
    return jnp.where(small, u, jnp.log(jax.nn.softplus(safe)))


def log_soft_positive(z: jax.Array, tau: float = SOFT_FLOOR) -> jax.Array:
    """Smooth ``log(max(z, 0))`` that stays finite: ``log(tau * softplus(z / tau))``.

    For ``z >> tau`` it equals ``log z`` to within ``exp(-z / tau)`` (relative); for ``z <= 0``
    it falls like ``z / tau + log tau`` instead of reaching ``-inf``, so a parameter that
    drives ``z`` below zero meets a steep but finite wall. Apply it to a dimensionless ``z``.
    """
    return jnp.log(tau) + log_softplus(z / tau)
