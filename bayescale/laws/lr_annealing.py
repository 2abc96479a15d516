"""The scaling law with learning-rate annealing of Tissue et al. (2024).

Tissue, Wang and Wang 2024, "Scaling Law with Learning Rate Annealing" (arXiv:2408.11029):
``L(s) = L0 + A S1^-alpha - C S2`` for the loss at step ``s`` of one training run, where ``S1``
is the forward area (the sum of the learning rates up to ``s``) and ``S2`` the annealing area
with momentum (decay factor ``lambda``, 0.999 in the paper: a fixed setting, not a parameter).
Compute both from a per-step schedule with :mod:`bayescale.data.schedule`
(:func:`~bayescale.data.schedule.add_annealing_areas`); the law's inputs are ``("S1", "S2")``.

``L0 + A S1^-alpha - C S2`` can reach 0 or below for a large ``C`` (or a long anneal), where its
log is undefined. The law is computed as ``log L = log P + log(1 - r)`` with
``P = L0 + A S1^-alpha`` (``logaddexp(l0, a - alpha log S1)``) and ``r = C S2 / P``, and the
second term uses a soft floor, ``log(tau softplus((1 - r) / tau))`` with ``tau = 1e-3``
(:func:`~bayescale.laws.stable.log_soft_positive`): ``log(1 - r)`` to better than ``1e-10``
wherever the loss is above 2% of ``P``, and finite and differentiable
elsewhere, so a fit that strays there sees a steep wall instead of NaN. ``S1`` must be > 0
(training has started); ``S2`` may be 0 or negative (re-warm-up).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law
from bayescale.laws.stable import log_soft_positive

#: Default start grid (fit space), order (l0, a, alpha, c); 4 * 4 * 4 * 5 = 320 starts. A and C
#: absorb the learning-rate units (S1 ~ lr * steps), so their logs are spread widely.
GRID = (
    (0.0, 0.5, 1.0, 1.5),
    (-4.0, -2.0, 0.0, 2.0),
    (0.2, 0.5, 0.8, 1.2),
    (-6.0, -4.0, -2.0, 0.0, 2.0),
)


def lr_annealing_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L = log P + log_soft_positive(1 - C S2 / P), P = L0 + A S1^-alpha."""
    log_p = jnp.logaddexp(p["l0"], p["a"] - p["alpha"] * jnp.log(x["S1"]))
    r = jnp.exp(p["c"] - log_p) * x["S2"]
    return log_p + log_soft_positive(1.0 - r)


LR_ANNEALING = make_law(
    "lr_annealing",
    lr_annealing_log_loss,
    params=[
        ParamSpec("l0", "L0", "exp", -1.0, 2.0, ("normal", 0.5, 1.0), GRID[0]),
        ParamSpec("a", "A", "exp", -8.0, 6.0, ("normal", -1.0, 4.0), GRID[1]),
        ParamSpec("alpha", "alpha", "identity", 0.0, 2.0, ("uniform", 0.0, 3.0), GRID[2]),
        ParamSpec("c", "C", "exp", -10.0, 6.0, ("normal", -2.0, 4.0), GRID[3]),
    ],
    inputs=("S1", "S2"),
    doc=(
        "L(s) = L0 + A S1^-alpha - C S2 (Tissue et al. 2024, 'Scaling Law with Learning Rate "
        "Annealing'): S1 = sum of learning rates up to step s (forward area), S2 = sum_i m_i "
        "with m_i = lambda m_{i-1} + (eta_{i-1} - eta_i) (annealing area, lambda = 0.999 fixed; "
        "see bayescale.data.schedule). Fitted as log L = log P + log(1 - C S2 / P), "
        "P = L0 + A S1^-alpha = exp(logaddexp(l0, a - alpha log S1)), with a soft floor "
        "(tau = 1e-3) on 1 - C S2 / P so log L stays finite; L0 = e^l0, A = e^a, C = e^c."
    ),
)
