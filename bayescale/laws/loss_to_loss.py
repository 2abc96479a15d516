"""Loss-to-loss prediction (Brandfonbrener et al. 2024).

Brandfonbrener, Anand, Vyas, Malach and Kakade 2024, "Loss-to-Loss Prediction: Scaling Laws for
All Datasets" (arXiv:2411.12925): ``L_1 = K (L_0 - E_0)^kappa + E_1``, a shifted power law from
the loss ``L_0`` of a model on one distribution (the law's input ``"L0"``) to its loss ``L_1``
on another (the table's ``"loss"`` column). ``E_0`` and ``E_1`` are the two irreducible losses.

Computed in log space as ``log L_1 = logaddexp(e1, log K + kappa log(L_0 - E_0))`` with
``log(L_0 - E_0) = log L_0 + log(1 - E_0 / L_0)``; the second term has a soft floor,
``log(tau softplus((1 - E_0 / L_0) / tau))``, ``tau = 1e-3``
(:func:`~bayescale.laws.stable.log_soft_positive`), so it is exact to better than ``1e-10``
wherever ``L_0`` exceeds ``E_0`` by 2% and finite and differentiable where ``E_0 >= L_0`` (a
point the law cannot describe; a fit that puts ``E_0`` there meets a steep wall, not NaN).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law
from bayescale.laws.stable import log_soft_positive

#: Default start grid (fit space), order (log_k, kappa, e0, e1); 3 * 4 * 4 * 4 = 192 starts.
#: E_0, E_1 from e^-1 (0.37) to e^1 (2.7) nats.
GRID = (
    (-1.0, 0.0, 1.0),
    (0.5, 1.0, 1.5, 2.0),
    (-1.0, 0.0, 0.5, 1.0),
    (-1.0, 0.0, 0.5, 1.0),
)


def loss_to_loss_log_loss(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log L_1 = logaddexp(e1, log K + kappa log(L_0 - E_0)), floor-guarded."""
    log_l0 = jnp.log(x["L0"])
    log_gap = log_l0 + log_soft_positive(1.0 - jnp.exp(p["e0"] - log_l0))
    return jnp.logaddexp(p["e1"], p["log_k"] + p["kappa"] * log_gap)


LOSS_TO_LOSS = make_law(
    "loss_to_loss",
    loss_to_loss_log_loss,
    params=[
        ParamSpec("log_k", "K", "exp", -3.0, 3.0, ("normal", 0.0, 1.5), GRID[0]),
        ParamSpec("kappa", "kappa", "identity", 0.0, 3.0, ("normal", 1.0, 1.0), GRID[1]),
        ParamSpec("e0", "E_0", "exp", -2.0, 1.5, ("normal", 0.3, 1.0), GRID[2]),
        ParamSpec("e1", "E_1", "exp", -2.0, 1.5, ("normal", 0.3, 1.0), GRID[3]),
    ],
    inputs=("L0",),
    doc=(
        "L_1 = K (L_0 - E_0)^kappa + E_1 (Brandfonbrener et al. 2024, 'Loss-to-Loss "
        "Prediction: Scaling Laws for All Datasets'): the loss L_1 on a target distribution "
        "(the 'loss' column) from the loss L_0 on the source distribution (input 'L0'). "
        "Fitted in log space as log L_1 = logaddexp(e1, log K + kappa log(L_0 - E_0)), with a "
        "soft floor (tau = 1e-3) on 1 - E_0/L_0 so that L_0 <= E_0 stays finite; K, E_0, "
        "E_1 = exp(fit values)."
    ),
)
