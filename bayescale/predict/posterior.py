"""Posterior predictive of the loss from parameter draws.

*Draws* are fit-space parameter vectors, shape ``(n_draws, P)`` or ``(P,)``: the first
``law.n_params`` columns are the law's fit-space parameters (e.g. Chinchilla's
``a, b, e, alpha, beta`` with ``A = exp(a)``) and, when the objective was a
:class:`~bayescale.likelihood.Noise`, a column ``log_sigma`` (and ``sigma_slope`` after it
for a heteroscedastic one). Bootstrap refits
(``MultiStartResult.theta`` with its leading resample axis) and NUTS samples reshaped to
``(chain * draw, P)`` are both draws; a single fit is draws with ``n_draws = 1``.

Two kinds of interval, never to be confused:

* ``kind="mean"`` - parameter uncertainty only: where the law's curve ``L(x)`` lies.
* ``kind="new_run"`` - the curve plus a draw from the noise model for every parameter draw:
  where the loss of one *new training run* at ``x`` will fall. It needs the noise model and
  the draws' ``log_sigma``; it is always at least as wide as the ``"mean"`` interval. A
  heteroscedastic model's noise is drawn at the scale of each *new* point
  (:func:`~bayescale.likelihood.log_scale`), so its intervals follow the fitted slope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.laws.spec import Law, predict_log
from bayescale.likelihood import Noise, check_objective, log_scale, params, sample_noise

KINDS = ("mean", "new_run")


class Predictive(NamedTuple):
    """Posterior predictive summary of the loss ``L`` (natural scale) at ``m`` points.

    Attributes
    ----------
    mean
        Mean over draws of the sampled loss, ``(m,)``.
    quantiles
        Quantiles of the sampled loss, ``(q, m)``, one row per entry of ``probs``.
    probs
        The quantile levels.
    kind
        ``"mean"`` (the law's curve: parameter uncertainty only) or ``"new_run"`` (adds the
        noise model: the loss of a new training run).
    draws
        The sampled loss, ``(n_draws, m)``.
    """

    mean: np.ndarray
    quantiles: np.ndarray
    probs: tuple[float, ...]
    kind: str
    draws: np.ndarray


def summarise(values: np.ndarray) -> dict[str, float]:
    """Mean, sd and 5/50/95% quantiles of a 1-D sample (JSON-ready); the one summary.

    Parameters
    ----------
    values
        The sample.

    Returns
    -------
    dict
        ``mean``, ``sd`` (``ddof=1``; 0 for one value), ``q05``, ``q50``, ``q95``.
    """
    v = np.asarray(values, dtype=np.float64)
    q = np.quantile(v, [0.05, 0.5, 0.95])
    return {
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "q05": float(q[0]),
        "q50": float(q[1]),
        "q95": float(q[2]),
    }


def as_draws(law: Law, theta_draws: object, *, need_sigma: bool = False) -> np.ndarray:
    """Check draws and return them as a float64 array ``(n_draws, P_ext)``.

    Parameters
    ----------
    law
        The law the draws belong to.
    theta_draws
        ``(n_draws, P)`` or ``(P,)`` fit-space draws, optionally with a ``log_sigma`` column
        (and a ``sigma_slope`` column after it).
    need_sigma
        Require the ``log_sigma`` column.

    Returns
    -------
    numpy.ndarray
        Two-dimensional draws.

    Raises
    ------
    ValueError
        On a wrong number of columns, no draws, or non-finite values.
    """
    arr = np.asarray(theta_draws, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    p = law.n_params
    if arr.ndim != 2 or arr.shape[1] not in (p, p + 1, p + 2) or arr.shape[0] < 1:
        raise ValueError(
            f"draws for law {law.name!r} must have shape (n_draws, {p}) (fit-space "
            f"{list(law.param_names)}), (n_draws, {p + 1}) (with log_sigma) or "
            f"(n_draws, {p + 2}) (and sigma_slope); got {np.shape(theta_draws)}"
        )
    if need_sigma and arr.shape[1] == p:
        raise ValueError(
            f"these draws have {p} columns (law {law.name!r}: {list(law.param_names)}) and no "
            "log_sigma column; draws from a fit with a Loss (not a Noise) carry no noise scale"
        )
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.all(np.isfinite(arr), axis=1)))
        raise ValueError(f"{bad} of {arr.shape[0]} draws contain non-finite values")
    return arr


def as_inputs(law: Law, x: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Check the input columns a law needs and return them as 1-D float64 arrays of one length.

    Raises
    ------
    ValueError
        On a missing input, arrays of different lengths, or non-finite values.
    """
    missing = [k for k in law.inputs if k not in x]
    if missing:
        raise ValueError(
            f"law {law.name!r} needs inputs {list(law.inputs)}; missing {missing} "
            f"(given {sorted(x)})"
        )
    cols = {k: np.atleast_1d(np.asarray(x[k], dtype=np.float64)).ravel() for k in law.inputs}
    lengths = {k: v.size for k, v in cols.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must all have the same length, got {lengths}")
    for k, v in cols.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(f"input {k!r} contains non-finite values")
    return cols


@partial(jax.jit, static_argnames=("law",))
def _log_loss(law: Law, theta: jax.Array, x: dict[str, jax.Array]) -> jax.Array:
    return jax.vmap(lambda th: predict_log(law, th, x))(theta)


@partial(jax.jit, static_argnames=("noise", "shape"))
def noise_draws(key: jax.Array, noise: Noise, log_sigma: jax.Array, shape: tuple) -> jax.Array:
    """Compiled :func:`~bayescale.likelihood.sample_noise` (static noise model and shape)."""
    return sample_noise(key, noise, log_sigma, shape)


def predict_log_loss(law: Law, theta_draws: object, x: Mapping[str, object]) -> np.ndarray:
    """Log predicted loss for every draw at every point (the law's curve, no noise).

    Parameters
    ----------
    law
        The law.
    theta_draws
        Fit-space draws ``(n_draws, P)`` or ``(P,)``; a ``log_sigma`` column is ignored.
    x
        Input name -> values (``(m,)`` each), e.g. ``{"N": ..., "D": ...}``.

    Returns
    -------
    numpy.ndarray
        ``log L``, shape ``(n_draws, m)``.
    """
    theta = as_draws(law, theta_draws)
    cols = as_inputs(law, x)
    with enable_x64():
        out = _log_loss(law, jnp.asarray(theta), {k: jnp.asarray(v) for k, v in cols.items()})
        return np.asarray(out)


def check_probs(probs: Sequence[float]) -> tuple[float, ...]:
    """Quantile levels as floats strictly inside (0, 1); ``ValueError`` otherwise."""
    probs = tuple(float(p) for p in probs)
    if not probs or not all(0.0 < p < 1.0 for p in probs):
        raise ValueError(f"probs must be levels strictly between 0 and 1, got {probs}")
    return probs


def predictive(
    law: Law,
    theta_draws: object,
    x: Mapping[str, object],
    *,
    kind: str = "mean",
    noise: Noise | None = None,
    probs: Sequence[float] = (0.05, 0.5, 0.95),
    seed: int = 0,
) -> Predictive:
    """Posterior predictive of the loss at new inputs.

    Parameters
    ----------
    law
        The law.
    theta_draws
        Fit-space draws ``(n_draws, P)`` / ``(n_draws, P + 1)`` or one vector.
    x
        Input name -> values, ``(m,)`` each.
    kind
        ``"mean"``: the law's curve ``L(x)`` under parameter uncertainty. ``"new_run"``: the
        loss of a new training run, ``log L_run = log L(x) + r`` with ``r`` drawn from
        ``noise`` at each draw's scale at ``x`` (:func:`~bayescale.likelihood.log_scale`).
    noise
        The noise model the draws were fitted with (``fit.objective``: a heteroscedastic
        model carries its reference there); required for ``"new_run"``.
    probs
        Quantile levels.
    seed
        Seed of the noise draws (``"new_run"`` only).

    Returns
    -------
    Predictive
        Mean, quantiles and the sampled losses.

    Raises
    ------
    ValueError
        On an unknown ``kind``, or ``"new_run"`` without a noise model or ``log_sigma``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    probs = check_probs(probs)
    if kind == "new_run":
        if noise is None:
            raise ValueError(
                "kind='new_run' is the loss of a new training run: the law's curve plus a draw "
                "from the noise model, so it needs noise=Noise(...) (the model the draws were "
                "fitted with). For the law's curve alone (parameter uncertainty only) use "
                "kind='mean'."
            )
        if not isinstance(noise, Noise):
            raise ValueError(
                f"kind='new_run' needs a Noise model (a density with a scale), got "
                f"{type(noise).__name__}; a Loss has no noise distribution to sample"
            )
        check_objective(noise)
        try:
            theta = as_draws(law, theta_draws, need_sigma=True)
        except ValueError as err:
            raise ValueError(
                f"kind='new_run' needs each draw's noise scale: {err}. Use kind='mean' for the "
                "curve alone."
            ) from err
        if theta.shape[1] != len(params(law, noise)):
            raise ValueError(
                f"draws with {theta.shape[1]} columns do not match noise {noise}, which fits "
                f"{len(params(law, noise))} parameters (law {law.name!r} and its noise)"
            )
    else:
        theta = as_draws(law, theta_draws)
    log_l = predict_log_loss(law, theta, x)
    if kind == "new_run":
        with enable_x64():
            cols = {k: jnp.asarray(v)[None, :] for k, v in as_inputs(law, x).items()}
            scale = log_scale(law, jnp.asarray(theta), cols, noise)
            eps = noise_draws(jax.random.PRNGKey(int(seed)), noise, scale, log_l.shape)
            log_l = log_l + np.asarray(eps)
    draws = np.exp(log_l)
    return Predictive(
        mean=draws.mean(axis=0),
        quantiles=np.quantile(draws, probs, axis=0),
        probs=probs,
        kind=kind,
        draws=draws,
    )
