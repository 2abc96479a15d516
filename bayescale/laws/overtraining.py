"""The over-training law of Gadre et al. (2024), in compute and tokens per parameter.

Gadre et al. 2024, "Language models scale reliably with over-training and on downstream tasks"
(arXiv:2403.08540), eq. 4: ``L(C, M) = E + (a M^eta + b M^-eta) C^-eta`` with ``C`` training
FLOPs and ``M = D / N`` the token multiplier. It is the Chinchilla law
``E + A N^-alpha + B D^-alpha`` with equal exponents rewritten through ``N = sqrt(C / (6 M))``
and ``D = sqrt(C M / 6)``: ``eta = alpha / 2``, ``a = A 6^eta``, ``b = B``. The exponent of ``C``
is therefore the *same* ``eta`` as that of ``M``; the authors' code (``scaling/laws.py``,
``powlaw_ours``, fitted in ``N`` and ``M``) fits exactly this four-parameter form.

Computed in log space as ``log L = logaddexp(e, logaddexp(log a + eta log M,
log b - eta log M) - eta log C)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

#: Default start grid (fit space), order (e, log_a, log_b, eta); 4 * 5 * 5 * 4 = 400 starts.
#: With C ~ 1e17..1e22 FLOPs and eta ~ 0.1..0.2, C^-eta ~ e^-4..e^-10, so log a, log b up to ~16.
GRID = (
    (-1.0, 0.0, 0.5, 1.0),
    (0.0, 4.0, 8.0, 12.0, 16.0),
    (0.0, 4.0, 8.0, 12.0, 16.0),
    (0.05, 0.1, 0.2, 0.3),
)


def overtraining_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L = logaddexp(e, logaddexp(log_a + eta log M, log_b - eta log M) - eta log C)."""
    log_m = jnp.log(x["M"])
    shape = jnp.logaddexp(p["log_a"] + p["eta"] * log_m, p["log_b"] - p["eta"] * log_m)
    return jnp.logaddexp(p["e"], shape - p["eta"] * jnp.log(x["C"]))


OVERTRAINING = make_law(
    "overtraining",
    overtraining_log_loss,
    params=[
        ParamSpec("e", "E", "exp", -1.0, 1.5, ("normal", 0.5, 1.0), GRID[0]),
        ParamSpec("log_a", "a", "exp", 0.0, 20.0, ("normal", 8.0, 6.0), GRID[1]),
        ParamSpec("log_b", "b", "exp", 0.0, 20.0, ("normal", 8.0, 6.0), GRID[2]),
        ParamSpec("eta", "eta", "identity", 0.0, 0.5, ("uniform", 0.0, 1.0), GRID[3]),
    ],
    inputs=("C", "M"),
    doc=(
        "L(C, M) = E + (a M^eta + b M^-eta) C^-eta (Gadre et al. 2024, 'Language models scale "
        "reliably with over-training and on downstream tasks', eq. 4): C training FLOPs, "
        "M = D/N tokens per parameter; the exponent of C equals that of M, as in the paper and "
        "the authors' code. Fitted in log space as log L = logaddexp(e, logaddexp(log a + "
        "eta log M, log b - eta log M) - eta log C), E = e^e."
    ),
)
