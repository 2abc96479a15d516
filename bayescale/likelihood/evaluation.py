"""The one likelihood: residuals, the noise scale at every point, the (pointwise) log
likelihood, the objective the fitters minimise, and noise draws for new runs."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.laws.spec import Law, predict_log
from bayescale.likelihood.densities import (
    gaussian_logpdf,
    huber,
    huber_logpdf,
    huber_sample,
    laplace_logpdf,
    student_t_logpdf,
)
from bayescale.likelihood.specs import Data, Loss, Noise, Objective


def noise_logpdf(r: jax.Array, noise: Noise, log_sigma: jax.Array) -> jax.Array:
    """Pointwise log density of residuals ``r`` under ``noise`` with scale ``exp(log_sigma)``."""
    scale = jnp.exp(log_sigma)
    if noise.kind == "huber":
        return huber_logpdf(r, noise.delta, scale)
    if noise.kind == "laplace":
        return laplace_logpdf(r, scale)
    if noise.kind == "student_t":
        return student_t_logpdf(r, noise.df, scale)
    return gaussian_logpdf(r, scale)


# ----------------------------------------------------------------------------- noise scale


def scale_variable(law: Law, x: Mapping[str, jax.Array]) -> jax.Array:
    """The variable a law's data are ordered along: ``C`` if the law takes it, else ``N * D``
    (compute up to the factor ``k``) for laws of ``N`` and ``D``, else the law's first input
    (``x`` of a one-input law). Heteroscedastic noise varies with its ``log10``; block
    bootstraps run along it. Works on numpy and JAX arrays alike."""
    if "C" in law.inputs:
        return x["C"]
    if "N" in law.inputs and "D" in law.inputs:
        return x["N"] * x["D"]
    return x[law.inputs[0]]


def scale_variable_name(law: Law) -> str:
    """What :func:`scale_variable` is for ``law``, in words (``"C"``, ``"N*D"``, ``"x"``)."""
    if "C" in law.inputs or not {"N", "D"} <= set(law.inputs):
        return "C" if "C" in law.inputs else law.inputs[0]
    return "N*D"


def with_reference(obj: Objective, law: Law, data: Data) -> Objective:
    """``obj`` with the reference of a heteroscedastic noise model set from the data.

    ``log10_ref`` becomes the midpoint of the smallest and largest ``log10 z`` of the points
    of weight > 0, rounded to 0.1 (every other objective is returned unchanged).

    Parameters
    ----------
    obj
        The objective.
    law
        The law (its scale variable, :func:`scale_variable`).
    data
        The fitted points, any batch axes (host or device arrays).

    Returns
    -------
    Loss or Noise

    Raises
    ------
    ValueError
        If the scale variable of a point is not positive and finite.
    """
    if not isinstance(obj, Noise) or not obj.hetero or obj.log10_ref is not None:
        return obj
    keep = np.ravel(np.asarray(data.weight)) > 0
    z = np.ravel(scale_variable(law, {k: np.asarray(v) for k, v in data.x.items()}))[keep]
    if z.size == 0 or not np.all(np.isfinite(z) & (z > 0)):
        raise ValueError(
            f"heteroscedastic noise varies with log10 {scale_variable_name(law)} (law "
            f"{law.name!r}), which needs positive finite values; got {z[~(z > 0)][:5]}"
        )
    u = np.log10(z)
    return obj._replace(log10_ref=round(float(u.min() + u.max()) / 2, 1))


def noise_scale(law: Law, theta: jax.Array) -> jax.Array:
    """``log_sigma`` from a parameter vector ``theta[..., P + 1]`` (the entry after the law's)."""
    return theta[..., len(law.params)]


def log_scale(law: Law, theta: jax.Array, x: Mapping[str, jax.Array], noise: Noise) -> jax.Array:
    """Log noise scale at every point: ``log_sigma [+ sigma_slope (log10 z - log10_ref)]``.

    Parameters
    ----------
    law
        The law.
    theta
        Parameter vectors ``(..., P_ext)``: the law's, ``log_sigma`` (and ``sigma_slope``).
    x
        Inputs at the points, each of rank ``theta.ndim``, broadcasting against
        ``theta.shape[:-1] + (n,)`` (e.g. ``(n,)`` for ``theta (P,)``; ``(1, m)`` for
        ``theta (D, P)``); values must be positive where the scale varies.
    noise
        The noise model.

    Returns
    -------
    jax.Array
        ``(..., 1)`` for a constant scale, else ``(..., n)``.

    Raises
    ------
    ValueError
        For ``hetero`` noise without ``log10_ref`` (a fit sets it; see :func:`with_reference`).
    """
    base = noise_scale(law, theta)[..., None]
    if not noise.hetero:
        return base
    if noise.log10_ref is None:
        raise ValueError(
            "Noise(hetero=True) has no log10_ref: the scale's reference is set from the data "
            "by fit (or with_reference); predict with the fitted objective (fit.objective)"
        )
    u = jnp.log10(scale_variable(law, x)) - noise.log10_ref
    return base + theta[..., len(law.params) + 1, None] * u


# ----------------------------------------------------------------------------- whole data


def kept_inputs(data: Data) -> dict[str, jax.Array]:
    """The inputs with padded points (weight 0) replaced by 1, so that whatever a pad holds
    (even NaN) cannot reach values or gradients."""
    keep = data.weight > 0
    return {k: jnp.where(keep, v, jnp.ones_like(v)) for k, v in data.x.items()}


def residuals(law: Law, theta: jax.Array, data: Data) -> jax.Array:
    """Log-loss residuals ``log L_obs - log L_pred`` for one parameter vector ``(P,)``.

    Padded points (weight 0) are replaced by harmless values (inputs 1, log loss 0) before the
    law sees them (:func:`kept_inputs`).
    """
    log_y = jnp.where(data.weight > 0, data.log_y, 0.0)
    return log_y - predict_log(law, theta, kept_inputs(data))


def pointwise_log_likelihood(law: Law, theta: jax.Array, data: Data, noise: Noise) -> jax.Array:
    """Per-point log likelihood (unweighted; padded points give 0).

    ``theta`` holds the law's parameters followed by ``log_sigma`` (and ``sigma_slope``).
    """
    r = residuals(law, theta, data)
    ll = noise_logpdf(r, noise, log_scale(law, theta, kept_inputs(data), noise))
    return jnp.where(data.weight > 0, ll, 0.0)


def log_likelihood(law: Law, theta: jax.Array, data: Data, noise: Noise) -> jax.Array:
    """Weighted total log likelihood ``sum_i w_i log p(r_i)``."""
    ll = pointwise_log_likelihood(law, theta, data, noise)
    return jnp.sum(jnp.where(data.weight > 0, data.weight * ll, 0.0))


#: Points above which :func:`objective` sums over chunks of this many points (one
#: ``lax.scan``, each chunk rematerialised in the backward pass), so that memory stays bounded
#: on very long curves whatever the number of vmapped starts.
POINT_CHUNK = 262_144


def chunks_of(data: Data, chunk: int) -> Data:
    """``data`` of one curve, ``(n,)`` fields, as ``(k, chunk)`` chunks; the tail is padded
    with weight-0 points (inputs 1, log loss 0), which :func:`objective` ignores."""
    n = data.log_y.shape[-1]
    k = -(-n // chunk)

    def split(a: jax.Array, fill: float) -> jax.Array:
        return jnp.pad(a, (0, k * chunk - n), constant_values=fill).reshape(k, chunk)

    return Data(
        {name: split(v, 1.0) for name, v in data.x.items()},
        split(data.log_y, 0.0),
        split(data.weight, 0.0),
    )


def objective(law: Law, theta: jax.Array, data: Data, obj: Objective) -> jax.Array:
    """The value minimised by the fitters.

    For a :class:`Loss`, ``sum_i w_i rho(r_i)`` (the classic, *summed* Huber or squared
    loss); for a :class:`Noise`, the negative weighted log likelihood. A curve of more than
    :data:`POINT_CHUNK` points is summed chunk by chunk (the same sum, in bounded memory).
    """
    if data.log_y.ndim == 1 and data.log_y.shape[0] > POINT_CHUNK:

        def add(total: jax.Array, part: Data) -> tuple[jax.Array, None]:
            return total + jax.checkpoint(point_objective, static_argnums=(0, 3))(
                law, theta, part, obj
            ), None

        zero = jnp.zeros((), jnp.result_type(theta.dtype, data.log_y.dtype))
        return jax.lax.scan(add, zero, chunks_of(data, POINT_CHUNK))[0]
    return point_objective(law, theta, data, obj)


def point_objective(law: Law, theta: jax.Array, data: Data, obj: Objective) -> jax.Array:
    """:func:`objective` over every point at once (what each chunk of a long curve runs)."""
    if isinstance(obj, Noise):
        return -log_likelihood(law, theta, data, obj)
    r = residuals(law, theta, data)
    rho = huber(r, obj.delta) if obj.kind == "huber" else 0.5 * r * r
    return jnp.sum(jnp.where(data.weight > 0, data.weight * rho, 0.0))


def objective_scale(obj: Objective) -> float:
    """Divisor that brings the objective to order one for the optimiser.

    The summed Huber loss is about ``delta * sum |r|`` (~1e-3 here) and its gradient is as
    small, so absolute tolerances stop quasi-Newton solvers early; dividing by ``delta`` leaves
    the minimiser unchanged and fixes that. Reported objectives are always unscaled.
    """
    return float(obj.delta) if isinstance(obj, Loss) and obj.kind == "huber" else 1.0


def sample_noise(key: jax.Array, noise: Noise, log_sigma: jax.Array, shape: tuple) -> jax.Array:
    """Draw residuals from ``noise`` with scale ``exp(log_sigma)`` (broadcast to ``shape``;
    per point for a heteroscedastic model: pass :func:`log_scale` at the points).

    Used for "new run" predictive intervals and posterior predictive checks. The Huber
    density is sampled exactly as a mixture: a normal truncated to ``[-delta, delta]`` in the
    centre and exponential tails of rate ``delta`` beyond it.
    """
    scale = jnp.exp(log_sigma)
    if noise.kind == "gaussian":
        return scale * jax.random.normal(key, shape)
    if noise.kind == "laplace":
        return scale * jax.random.laplace(key, shape)
    if noise.kind == "student_t":
        return scale * jax.random.t(key, noise.df, shape)
    return scale * huber_sample(key, noise.delta, shape)
