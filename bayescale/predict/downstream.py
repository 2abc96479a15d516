"""Two-stage prediction: scale -> loss -> downstream accuracy, with uncertainty carried through.

The model-ladder recipe (Bhagia et al. 2024; Llama 3, Dubey et al. 2024) predicts a task's
accuracy at a new scale in two steps: a loss law (e.g. ``chinchilla``) gives the loss at the new
scale, and an accuracy law of the loss (e.g. ``sigmoid_downstream``) turns that loss into an
accuracy. :func:`two_stage_predict` pushes posterior (or bootstrap) draws through both stages:
loss-stage draw ``i`` gives a loss at each new point, and accuracy-stage draw ``i`` maps that
loss to an accuracy, so the accuracy interval carries the uncertainty of both fits. With
``kind="new_run"`` each stage also adds a draw from its noise model (the loss of one new
training run, then that run's measured accuracy).

The loss stage is :func:`~bayescale.predict.posterior.predictive` itself; the accuracy stage
evaluates the accuracy law on each draw's own losses (paired, not crossed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.laws import Law, get_law
from bayescale.laws.spec import predict_log
from bayescale.likelihood import Noise, check_objective, log_scale
from bayescale.predict.posterior import (
    KINDS,
    Predictive,
    as_draws,
    check_probs,
    noise_draws,
    predictive,
)


class TwoStage(NamedTuple):
    """Both stages of a two-stage prediction at ``m`` new points.

    Attributes
    ----------
    loss
        The loss stage at the new inputs (its ``draws`` feed the accuracy stage).
    accuracy
        The accuracy stage: mean, quantiles ``(q, m)`` and the ``(n_draws, m)`` draws.
    """

    loss: Predictive
    accuracy: Predictive


@partial(jax.jit, static_argnames=("law", "name"))
def _paired_log(law: Law, name: str, theta: jax.Array, inputs: jax.Array) -> jax.Array:
    """``log f(theta_i, inputs_i)`` for every draw ``i``: ``(n, P)``, ``(n, m)`` -> ``(n, m)``."""
    return jax.vmap(lambda th, v: predict_log(law, th, {name: v}))(theta, inputs)


def _pair(loss_draws: np.ndarray, acc_theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = loss_draws.shape[0], acc_theta.shape[0]
    if n1 == n2:
        return loss_draws, acc_theta
    if n2 == 1:
        return loss_draws, np.repeat(acc_theta, n1, axis=0)
    if n1 == 1:
        return np.repeat(loss_draws, n2, axis=0), acc_theta
    raise ValueError(
        f"the loss stage has {n1} draws and the accuracy stage {n2}; draw i of one is paired "
        "with draw i of the other, so give both the same number of draws (or one of them a "
        "single draw, e.g. a point fit)"
    )


def two_stage_predict(
    loss_law: str | Law,
    loss_draws: object,
    x_new: Mapping[str, object],
    acc_law: str | Law,
    acc_draws: object,
    *,
    kind: str = "mean",
    loss_noise: Noise | None = None,
    acc_noise: Noise | None = None,
    probs: Sequence[float] = (0.05, 0.5, 0.95),
    seed: int = 0,
) -> TwoStage:
    """Predict downstream accuracy at new inputs through a loss law and an accuracy law.

    Parameters
    ----------
    loss_law
        The loss law (name or :class:`~bayescale.laws.Law`), e.g. ``"chinchilla"``.
    loss_draws
        Its fit-space draws, ``(n_draws, P)`` (with a ``log_sigma`` column for ``"new_run"``)
        or one vector; see :mod:`bayescale.predict.posterior`.
    x_new
        The loss law's inputs at the new points, ``(m,)`` each, e.g. ``{"N": ..., "D": ...}``.
    acc_law
        The accuracy law: one input, the loss (e.g. ``"sigmoid_downstream"``, input ``"L"``).
    acc_draws
        Its fit-space draws, ``(n_draws, P_acc)`` or one vector. Draw ``i`` is paired with loss
        draw ``i``; the counts must match unless one side has a single draw.
    kind
        ``"mean"``: parameter uncertainty only (the loss curve, then the accuracy curve).
        ``"new_run"``: each stage adds a draw from its noise model at the draw's ``log_sigma``,
        so both ``loss_noise`` and ``acc_noise`` are needed.
    loss_noise, acc_noise
        The noise models the two stages were fitted with (``"new_run"`` only).
    probs
        Quantile levels.
    seed
        Seed of the noise draws (``"new_run"`` only); the stages use independent streams.

    Returns
    -------
    TwoStage
        The loss stage and the accuracy stage (mean, quantiles, draws).

    Raises
    ------
    ValueError
        If the accuracy law does not take exactly one input, the draw counts cannot be paired,
        ``kind`` is unknown, or ``"new_run"`` lacks a noise model or ``log_sigma`` column.
    """
    loss_law, acc_law = get_law(loss_law), get_law(acc_law)
    if len(acc_law.inputs) != 1:
        raise ValueError(
            f"the accuracy law {acc_law.name!r} must take one input, the loss; it takes "
            f"{list(acc_law.inputs)}"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    probs = check_probs(probs)
    new_run = kind == "new_run"
    if new_run and not isinstance(acc_noise, Noise):
        raise ValueError(
            "kind='new_run' adds each stage's noise, so it needs acc_noise=Noise(...) (the "
            "model the accuracy draws were fitted with) as well as loss_noise; use kind='mean' "
            "for parameter uncertainty alone"
        )
    if new_run:
        check_objective(acc_noise)
    acc_theta = as_draws(acc_law, acc_draws, need_sigma=new_run)
    loss_stage = predictive(
        loss_law, loss_draws, x_new, kind=kind, noise=loss_noise, probs=probs, seed=seed
    )
    losses, acc_theta = _pair(loss_stage.draws, acc_theta)
    with enable_x64():
        log_acc = np.asarray(
            _paired_log(acc_law, acc_law.inputs[0], jnp.asarray(acc_theta), jnp.asarray(losses))
        )
        if new_run:
            key = jax.random.fold_in(jax.random.PRNGKey(int(seed)), 1)
            x_acc = {acc_law.inputs[0]: jnp.asarray(losses)}
            sigma = log_scale(acc_law, jnp.asarray(acc_theta), x_acc, acc_noise)
            log_acc = log_acc + np.asarray(noise_draws(key, acc_noise, sigma, log_acc.shape))
    acc = np.exp(log_acc)
    accuracy = Predictive(
        mean=acc.mean(axis=0),
        quantiles=np.quantile(acc, probs, axis=0),
        probs=probs,
        kind=kind,
        draws=acc,
    )
    return TwoStage(loss=loss_stage, accuracy=accuracy)
