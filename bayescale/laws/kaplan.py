"""The Kaplan et al. (2020) joint law in parameters and data.

``L(N, D) = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D`` (Kaplan et al. 2020, "Scaling
Laws for Neural Language Models", eq. 1.5), computed in log space as
``log L = alpha_D * logaddexp((alpha_N / alpha_D) (log N_c - log N), log D_c - log D)``.
There is no irreducible term: the loss falls to 0 as ``N, D -> inf``.

Both exponents are fitted on a log scale (natural ``alpha = exp(fit value)``), which keeps them
positive and keeps the ratio ``alpha_N / alpha_D`` away from the pole at ``alpha_D = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

#: Kaplan et al.'s published values (non-embedding parameters, tokens, loss in nats).
KAPLAN_2020 = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}

#: Default start grid (fit space), in the order (log_nc, log_dc, log_alpha_n, log_alpha_d):
#: N_c, D_c from e^22 (3.6e9) to e^40 (2.4e17), alpha from 0.03 to 1; 4^4 = 256 starts. On the
#: Chinchilla data (240 points) 16 of them reach the best optimum.
GRID = (
    (22.0, 28.0, 34.0, 40.0),
    (22.0, 28.0, 34.0, 40.0),
    tuple(math.log(a) for a in (0.03, 0.1, 0.3, 1.0)),
    tuple(math.log(a) for a in (0.03, 0.1, 0.3, 1.0)),
)


def kaplan_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L = alpha_D logaddexp((alpha_N/alpha_D)(log N_c - log N), log D_c - log D)."""
    alpha_d = jnp.exp(p["log_alpha_d"])
    u = jnp.exp(p["log_alpha_n"] - p["log_alpha_d"]) * (p["log_nc"] - jnp.log(x["N"]))
    v = p["log_dc"] - jnp.log(x["D"])
    return alpha_d * jnp.logaddexp(u, v)


KAPLAN = make_law(
    "kaplan",
    kaplan_log_loss,
    params=[
        ParamSpec("log_nc", "N_c", "exp", 15.0, 45.0, ("normal", 32.0, 8.0), GRID[0]),
        ParamSpec("log_dc", "D_c", "exp", 15.0, 45.0, ("normal", 32.0, 8.0), GRID[1]),
        ParamSpec("log_alpha_n", "alpha_N", "exp", -4.0, 0.5, ("normal", -2.0, 1.5), GRID[2]),
        ParamSpec("log_alpha_d", "alpha_D", "exp", -4.0, 0.5, ("normal", -2.0, 1.5), GRID[3]),
    ],
    inputs=("N", "D"),
    doc=(
        "L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan et al. 2020, 'Scaling "
        "Laws for Neural Language Models', eq. 1.5); fitted in log space as "
        "log L = alpha_D logaddexp((alpha_N/alpha_D)(log N_c - log N), log D_c - log D), with "
        "N_c, D_c, alpha_N, alpha_D = exp(fit values). Kaplan et al.: N_c = 8.8e13, "
        "D_c = 5.4e13, alpha_N = 0.076, alpha_D = 0.095."
    ),
)
