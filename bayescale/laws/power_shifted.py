"""A power law with an offset in the scale variable and an irreducible floor.

``L(x) = A (x + x0)^-alpha + E``, the saturating form ``a (x + b)^c + d`` (with ``c = -alpha``)
that Nezhurina et al. fit to CLIP and MaMMUT error rates against training compute ("Scaling Laws
for Robust Comparison of Open Foundation Language-Vision Models and Datasets", 2025,
arXiv:2506.04598). ``x0 >= 0`` bends the curve flat at small ``x``: below
``x ~ x0`` the law is nearly constant, above it a plain power law.

``x`` spans decades and ``x0`` lives on the scale of ``x`` (which the law cannot know), so ``x0``
is fitted on a log scale, ``log x0``, with starts spread from ``e^0`` to ``e^24``; ``x + x0`` is
formed in log space, ``logaddexp(log x, log x0)``, which is exact at any scale. As ``log x0 ->
-inf`` the law tends to :mod:`~bayescale.laws.power`. Computed as
``log L = logaddexp(e, a - alpha logaddexp(log x, log x0))``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

#: Default start grid (fit space), order (a, e, alpha, log_x0); 5 * 4 * 4 * 5 = 400 starts.
GRID = (
    (0.0, 6.0, 12.0, 18.0, 24.0),
    (-2.0, -1.0, 0.0, 1.0),
    (0.1, 0.3, 0.6, 1.0),
    (0.0, 6.0, 12.0, 18.0, 24.0),
)


def power_shifted_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L = logaddexp(e, a - alpha logaddexp(log x, log x0))  (L = A (x + x0)^-alpha + E)."""
    log_shifted = jnp.logaddexp(jnp.log(x["x"]), p["log_x0"])
    return jnp.logaddexp(p["e"], p["a"] - p["alpha"] * log_shifted)


POWER_SHIFTED = make_law(
    "power_shifted",
    power_shifted_log_loss,
    params=[
        ParamSpec("a", "A", "exp", 0.0, 30.0, ("normal", 8.0, 8.0), GRID[0]),
        ParamSpec("e", "E", "exp", -3.0, 1.5, ("normal", 0.0, 1.5), GRID[1]),
        ParamSpec("alpha", "alpha", "identity", 0.0, 2.0, ("uniform", 0.0, 2.0), GRID[2]),
        ParamSpec("log_x0", "x0", "exp", -5.0, 30.0, ("normal", 10.0, 10.0), GRID[3]),
    ],
    inputs=("x",),
    doc=(
        "L(x) = A (x + x0)^-alpha + E, x0 >= 0: a power law with an offset, the form "
        "a (x + b)^c + d that Nezhurina et al. 2025 ('Scaling Laws for Robust Comparison of "
        "Open Foundation Language-Vision Models and Datasets', LAION) fit to CLIP and MaMMUT. "
        "Fitted in log space as log L = logaddexp(e, a - alpha logaddexp(log x, log x0)); "
        "A = e^a, E = e^e, x0 = e^log_x0 (x0 spans the scale of x, so it is fitted as a log)."
    ),
)
