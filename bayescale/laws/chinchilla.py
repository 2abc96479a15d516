"""The Chinchilla law (Hoffmann et al. 2022, Approach 3).

``L(N, D) = E + A / N**alpha + B / D**beta``, computed in log space as
``log L = logsumexp(a - alpha log N, b - beta log D, e)`` with ``A = e**a``, ``B = e**b``,
``E = e**e``, exactly as Besiroglu et al. (2024) refit it.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

#: The 4,500-point start grid of Hoffmann et al. / Besiroglu et al., per parameter
#: in the order (a, b, e, alpha, beta).
HOFFMANN_GRID = (
    (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    (-1.0, -0.5, 0.0, 0.5, 1.0),
    (0.0, 0.5, 1.0, 1.5, 2.0),
    (0.0, 0.5, 1.0, 1.5, 2.0),
)


def lse3(u: jax.Array, v: jax.Array, w: jax.Array) -> jax.Array:
    """Stable ``log(exp(u) + exp(v) + exp(w))``; cheaper than ``jax.nn.logsumexp`` here."""
    m = jnp.maximum(jnp.maximum(u, v), w)
    m = jax.lax.stop_gradient(m)
    return m + jnp.log(jnp.exp(u - m) + jnp.exp(v - m) + jnp.exp(w - m))


def chinchilla_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L = logsumexp(a - alpha log N, b - beta log D, e)  (Hoffmann et al. 2022)."""
    return lse3(
        p["a"] - p["alpha"] * jnp.log(x["N"]),
        p["b"] - p["beta"] * jnp.log(x["D"]),
        jnp.broadcast_to(p["e"], jnp.shape(x["N"])),
    )


def exponent_a(p: Mapping[str, jax.Array]) -> jax.Array:
    """``a = beta / (alpha + beta)``, the exponent of ``N* ~ C^a``."""
    return p["beta"] / (p["alpha"] + p["beta"])


def exponent_b(p: Mapping[str, jax.Array]) -> jax.Array:
    """``b = alpha / (alpha + beta)``, the exponent of ``D* ~ C^b``."""
    return p["alpha"] / (p["alpha"] + p["beta"])


def closed_form_allocation(theta: jax.Array, log_x: jax.Array) -> tuple[jax.Array, ...]:
    """Hoffmann et al. (2022) eq. 4, as coded by Besiroglu et al. (2024).

    ``G = (alpha A / (beta B))^(1/(alpha+beta))``, ``N* = G (C/k)^a``, ``D* = (C/k)^b / G``.
    ``theta`` is ``(n, 5)`` in fit space, ``log_x = log(C/k)`` is ``(k,)``; returns
    ``(log N*, log D*, a, b)``.
    """
    a_, b_, _, alpha, beta = (theta[:, i : i + 1] for i in range(5))
    s = alpha + beta
    log_g = (jnp.log(alpha) + a_ - jnp.log(beta) - b_) / s
    ea, eb = beta / s, alpha / s
    log_n = log_g + ea * log_x[None, :]
    log_d = eb * log_x[None, :] - log_g
    return log_n, log_d, ea[:, 0], eb[:, 0]


CHINCHILLA = make_law(
    "chinchilla",
    chinchilla_log_loss,
    params=[
        ParamSpec("a", "A", "exp", 0.0, 25.0, ("normal", 6.0, 5.0), HOFFMANN_GRID[0]),
        ParamSpec("b", "B", "exp", 0.0, 25.0, ("normal", 6.0, 5.0), HOFFMANN_GRID[1]),
        ParamSpec("e", "E", "exp", -1.0, 1.0, ("normal", 0.5, 1.0), HOFFMANN_GRID[2]),
        ParamSpec("alpha", "alpha", "identity", 0.0, 2.0, ("uniform", 0.0, 2.0), HOFFMANN_GRID[3]),
        ParamSpec("beta", "beta", "identity", 0.0, 2.0, ("uniform", 0.0, 2.0), HOFFMANN_GRID[4]),
    ],
    inputs=("N", "D"),
    grids={"hoffmann": HOFFMANN_GRID},
    doc=(
        "L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, 'Training Compute-Optimal "
        "Large Language Models', Approach 3); fitted in log space as "
        "log L = logsumexp(a - alpha log N, b - beta log D, e), A = e^a, B = e^b, E = e^e."
    ),
    derived={"a": exponent_a, "b": exponent_b},
    allocation=closed_form_allocation,
)
