"""Downstream accuracy from loss: a sigmoid (model-ladder / Llama 3 style second stage).

Two-stage prediction (Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient
Model Ladders"; Llama 3, Dubey et al. 2024, section 3.2.1) first predicts a loss from scale,
then maps the loss ``L`` to a task accuracy with a sigmoid:
``Acc(L) = a / (1 + exp(k (L - L0))) + b``.

Sign convention: accuracy *falls* as the loss rises. Bhagia et al. write
``a / (1 + exp(-k (L - L0))) + b`` and fit ``k < 0``; here the sign is folded into the formula
and ``k > 0`` (fitted as ``log k``), so ``k`` is the steepness in accuracy per nat. ``b`` is the
accuracy floor (chance level) as ``L -> inf``, ``a + b`` the ceiling as ``L -> -inf``, and
``L0`` the loss at the midpoint. The law's input is ``"L"`` (the loss); the table's ``"loss"``
column holds the accuracy (a positive number). Computed in log space as
``log Acc = logaddexp(log a - softplus(k (L - L0)), log b)``.

:func:`bayescale.predict.downstream.two_stage_predict` carries draws of a loss law through this
law to accuracy intervals.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from bayescale.laws.spec import ParamSpec, make_law

#: Default start grid (fit space), order (log_a, log_b, log_k, L0); 3 * 3 * 4 * 4 = 144 starts.
GRID = (
    (-2.0, -1.0, -0.5),
    (-3.0, -2.0, -1.4),
    (0.0, 1.0, 2.0, 3.0),
    (1.5, 2.5, 3.5, 4.5),
)


def sigmoid_downstream(p: Mapping[str, jax.Array], x: Mapping[str, jax.Array]) -> jax.Array:
    """log Acc = logaddexp(log a - softplus(k (L - L0)), log b), k = exp(log_k) > 0."""
    z = jnp.exp(p["log_k"]) * (x["L"] - p["L0"])
    return jnp.logaddexp(p["log_a"] - jax.nn.softplus(z), p["log_b"])


SIGMOID_DOWNSTREAM = make_law(
    "sigmoid_downstream",
    sigmoid_downstream,
    params=[
        ParamSpec("log_a", "a", "exp", -4.0, 0.5, ("normal", -1.0, 1.5), GRID[0]),
        ParamSpec("log_b", "b", "exp", -6.0, 0.0, ("normal", -2.0, 1.5), GRID[1]),
        ParamSpec("log_k", "k", "exp", -2.0, 4.0, ("normal", 1.0, 2.0), GRID[2]),
        ParamSpec("L0", "L0", "identity", 0.0, 8.0, ("normal", 3.0, 3.0), GRID[3]),
    ],
    inputs=("L",),
    doc=(
        "Acc(L) = a / (1 + exp(k (L - L0))) + b with k > 0: downstream accuracy from loss L, "
        "the second stage of two-stage prediction (Bhagia et al. 2024, 'Establishing Task "
        "Scaling Laws via Compute-Efficient Model Ladders', who write exp(-k (L - L0)) with "
        "k < 0; Llama 3, Dubey et al. 2024). The 'loss' column holds the accuracy. Fitted in "
        "log space as log Acc = logaddexp(log a - softplus(k (L - L0)), log b); a, b, k = "
        "exp(fit values)."
    ),
)
