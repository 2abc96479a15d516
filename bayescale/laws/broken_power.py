"""A smoothly broken power law with one break (Caballero et al. 2022).

Caballero, Gupta, Rish and Krueger 2022, "Broken Neural Scaling Laws" (arXiv:2210.14891), eq. 1
with ``n = 1`` break: ``y = a + b x^-c0 (1 + (x / d1)^(1 / f1))^(-c1 f1)``. Below the break
``x << d1`` the curve is ``a + b x^-c0``; above it the slope steepens to ``c0 + c1`` (or flattens
for ``c1 < 0``); ``f1 > 0`` sets how sharp the break is (sharp as ``f1 -> 0``).

Computed in log space with ``log(1 + (x / d1)^(1 / f1)) = softplus((log x - log d1) / f1)``:
``log y = logaddexp(log a, log b - c0 log x - c1 f1 softplus((log x - log d1) / f1))``, exact
and finite at any scale. ``a``, ``b``, ``d1`` and ``f1`` are fitted as logs (they are > 0);
like ``power``, the single input ``x`` is the variable chosen with ``x=``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

#: Default start grid (fit space), order (log_a, log_b, c0, c1, log_d1, log_f1);
#: 3 * 3 * 3 * 3 * 4 * 2 = 648 starts. The break d1 is spread from e^3 (20) to e^21 (1.3e9).
GRID = (
    (-1.0, 0.0, 1.0),
    (0.0, 4.0, 8.0),
    (0.0, 0.3, 0.6),
    (0.1, 0.4, 1.0),
    (3.0, 9.0, 15.0, 21.0),
    (-1.0, 0.5),
)


def broken_power_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log y = logaddexp(log a, log b - c0 log x - c1 f1 softplus((log x - log d1) / f1))."""
    log_x = jnp.log(x["x"])
    f1 = jnp.exp(p["log_f1"])
    bend = f1 * jax.nn.softplus((log_x - p["log_d1"]) / f1)
    return jnp.logaddexp(p["log_a"], p["log_b"] - p["c0"] * log_x - p["c1"] * bend)


BROKEN_POWER = make_law(
    "broken_power",
    broken_power_log_loss,
    params=[
        ParamSpec("log_a", "a", "exp", -3.0, 2.0, ("normal", 0.0, 1.5), GRID[0]),
        ParamSpec("log_b", "b", "exp", -2.0, 12.0, ("normal", 4.0, 5.0), GRID[1]),
        ParamSpec("c0", "c0", "identity", -0.5, 1.5, ("normal", 0.3, 1.0), GRID[2]),
        ParamSpec("c1", "c1", "identity", -0.5, 2.0, ("normal", 0.3, 1.0), GRID[3]),
        ParamSpec("log_d1", "d1", "exp", 0.0, 25.0, ("normal", 12.0, 8.0), GRID[4]),
        ParamSpec("log_f1", "f1", "exp", -3.0, 2.0, ("normal", 0.0, 1.5), GRID[5]),
    ],
    inputs=("x",),
    doc=(
        "y = a + b x^-c0 (1 + (x/d1)^(1/f1))^(-c1 f1): a smoothly broken power law with one "
        "break (Caballero et al. 2022, 'Broken Neural Scaling Laws', eq. 1 with n = 1); "
        "fitted in log space as log y = logaddexp(log a, log b - c0 log x - c1 f1 "
        "softplus((log x - log d1)/f1)), with a, b, d1, f1 = exp(fit values)."
    ),
)
