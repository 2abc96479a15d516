"""A power law with an irreducible floor in one scale variable.

``L(x) = E + A / x**alpha`` with ``x`` one of parameters, tokens, compute or steps (the data
layer maps the chosen column to the law's single input ``x``). Computed in log space as
``log L = logaddexp(e, a - alpha log x)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

GRID = (
    (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    (-1.0, -0.5, 0.0, 0.5, 1.0),
    (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
)


def power_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L = logaddexp(e, a - alpha log x)  (L = E + A / x^alpha)."""
    return jnp.logaddexp(p["e"], p["a"] - p["alpha"] * jnp.log(x["x"]))


POWER = make_law(
    "power",
    power_log_loss,
    params=[
        ParamSpec("a", "A", "exp", 0.0, 25.0, ("normal", 5.0, 5.0), GRID[0]),
        ParamSpec("e", "E", "exp", -1.0, 1.0, ("normal", 0.5, 1.0), GRID[1]),
        ParamSpec("alpha", "alpha", "identity", 0.0, 2.0, ("uniform", 0.0, 2.0), GRID[2]),
    ],
    inputs=("x",),
    doc=(
        "L(x) = E + A / x^alpha: a power law with an irreducible floor in one scale variable "
        "x (parameters N, tokens D, compute C or steps), as in Hestness et al. 2017, 'Deep "
        "Learning Scaling is Predictable, Empirically'; fitted in log space as "
        "log L = logaddexp(e, a - alpha log x)."
    ),
)
