"""The one likelihood: objectives and noise models on log-loss residuals.

Residuals are ``r = log L_obs - log L_pred``. Every engine (multi-start fitting, bootstrap,
NUTS) evaluates a law through :func:`objective` or :func:`log_likelihood` here; there is no
second copy of an objective anywhere in the package.

Two kinds of static, hashable objective descriptions:

* :class:`Loss` - a classic fitting loss, ``sum_i w_i rho(r_i)``: ``"huber"`` (with ``delta``;
  **summed over points, not averaged**, because averaging makes quasi-Newton solvers stop
  early) or ``"squared"``.
* :class:`Noise` - a normalised density with a free scale, for maximum likelihood, bootstrap and
  NUTS: ``"huber"`` (Besiroglu et al.'s Huber density), ``"laplace"``, ``"student_t"``,
  ``"gaussian"``. Its scale is one extra parameter, ``log_sigma`` (reported as ``sigma``),
  appended to the law's; :func:`noise_spec` is its :class:`~bayescale.laws.ParamSpec` and
  :func:`params` lists every parameter an objective fits, by name.

Point weights ``w`` multiply each point's term; a weight of 0 marks a padded point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jax.scipy.stats import norm

from bayescale.laws.spec import Law, ParamSpec, predict_log

LOSS_KINDS = ("huber", "squared")
NOISE_KINDS = ("huber", "laplace", "student_t", "gaussian")
#: Fit-space name of the noise scale (reported as ``sigma = exp(log_sigma)``).
LOG_SIGMA = "log_sigma"
#: Default start of ``log_sigma`` when fitting a Noise objective.
LOG_SIGMA_START = -5.0
#: A typical log-loss residual scale; centres the default prior on ``log_sigma``.
TYPICAL_RESIDUAL = 0.02
#: Standard deviation of the default Normal prior on ``log_sigma`` (a factor e^3 ~ 20).
LOG_SIGMA_PRIOR_SCALE = 3.0


class Data(NamedTuple):
    """Arrays one law is fitted to; batch axes (curve, resample) may lead every field.

    Attributes
    ----------
    x
        Input name -> raw values, each ``(..., n_points)``.
    log_y
        Observed log loss, ``(..., n_points)``.
    weight
        Point weights, ``(..., n_points)``; 0 marks padding (and bootstrap-absent points).
    """

    x: Mapping[str, jax.Array]
    log_y: jax.Array
    weight: jax.Array


class Loss(NamedTuple):
    """A classic fitting loss: ``sum_i w_i rho(r_i)``.

    Attributes
    ----------
    kind
        ``"huber"`` or ``"squared"`` (``rho(r) = r**2 / 2``).
    delta
        Huber threshold on log-loss residuals (ignored for ``"squared"``).
    """

    kind: str = "huber"
    delta: float = 1e-3


class Noise(NamedTuple):
    """A noise density on log-loss residuals with a free scale ``sigma = exp(log_sigma)``.

    Attributes
    ----------
    kind
        ``"huber"``, ``"laplace"``, ``"student_t"`` or ``"gaussian"``.
    delta
        Huber threshold applied to the standardised residual ``r / sigma`` (``"huber"`` only).
    df
        Degrees of freedom (``"student_t"`` only).
    """

    kind: str = "huber"
    delta: float = 1e-3
    df: float = 4.0


Objective = Loss | Noise


def check_objective(obj: Objective) -> Objective:
    """Validate an objective description; return it unchanged.

    Raises
    ------
    ValueError
        On an unknown kind or a non-positive ``delta`` / ``df``.
    """
    if not isinstance(obj, (Loss, Noise)):
        raise TypeError(f"expected a Loss or Noise, got {type(obj).__name__}")
    kinds = LOSS_KINDS if isinstance(obj, Loss) else NOISE_KINDS
    what = "loss" if isinstance(obj, Loss) else "noise model"
    if obj.kind not in kinds:
        raise ValueError(f"unknown {what} {obj.kind!r}; choose one of {kinds}")
    if obj.kind == "huber" and not (obj.delta > 0 and math.isfinite(obj.delta)):
        raise ValueError(f"Huber delta must be a positive finite number, got {obj.delta}")
    if isinstance(obj, Noise) and obj.kind == "student_t" and not obj.df > 0:
        raise ValueError(f"Student-t degrees of freedom must be > 0, got {obj.df}")
    return obj


def as_noise(noise: Noise | str, delta: float = 1e-3, what: str = "this") -> Noise:
    """A checked :class:`Noise` from a Noise or its kind (``"huber"`` with ``delta``, ...).

    Parameters
    ----------
    noise
        A :class:`Noise`, or its kind.
    delta
        Huber threshold when ``noise`` is a kind.
    what
        What needs the noise model, for the error message.

    Raises
    ------
    ValueError
        On an unknown kind or bad settings, or a :class:`Loss` (it has no density and no
        noise scale).
    """
    obj = Noise(noise, delta) if isinstance(noise, str) else noise
    if not isinstance(obj, Noise):
        raise ValueError(
            f"{what} needs a noise model (maximum likelihood with a free scale), got "
            f"{type(obj).__name__}; pass noise='huber' (or 'laplace', 'student_t', 'gaussian')"
        )
    return check_objective(obj)


def noise_spec(noise: Noise) -> ParamSpec:
    """The noise scale's :class:`~bayescale.laws.ParamSpec`: ``log_sigma``, reported as ``sigma``.

    Its default prior is ``Normal(log(0.02) [+ log(delta) for Huber], 3)``: 0.02 is a typical
    scale of log-loss residuals, and for the Huber density the residual is standardised by
    ``sigma`` with tails decaying like ``exp(-delta |r| / sigma)`` (a Laplace density of scale
    ``sigma / delta``), so ``sigma`` is about ``delta`` times the residual scale. Its one start
    is :data:`LOG_SIGMA_START`.

    Parameters
    ----------
    noise
        The noise model.

    Returns
    -------
    ParamSpec
    """
    loc = math.log(TYPICAL_RESIDUAL)
    if noise.kind == "huber":
        loc += math.log(noise.delta)
    return ParamSpec(
        LOG_SIGMA,
        "sigma",
        "exp",
        LOG_SIGMA_START - 5.0,
        LOG_SIGMA_START + 5.0,
        ("normal", loc, LOG_SIGMA_PRIOR_SCALE),
        (LOG_SIGMA_START,),
    )


def params(law: Law, obj: Objective) -> tuple[ParamSpec, ...]:
    """Every parameter fitted under ``obj``, in vector order: the law's, then the noise scale's.

    Parameters
    ----------
    law
        The law.
    obj
        A :class:`Loss` (the law's parameters only) or a :class:`Noise` (plus ``log_sigma``).

    Returns
    -------
    tuple of ParamSpec
    """
    return law.params + ((noise_spec(obj),) if isinstance(obj, Noise) else ())


def fit_names(law: Law, obj: Objective) -> tuple[str, ...]:
    """Fit-space names of every fitted parameter (``log_sigma`` last for a Noise)."""
    return tuple(p.name for p in params(law, obj))


def natural_names(law: Law, obj: Objective) -> tuple[str, ...]:
    """Reported (natural) names of every fitted parameter (``sigma`` last for a Noise)."""
    return tuple(p.label for p in params(law, obj))


# ----------------------------------------------------------------------------- elementwise


def huber(r: jax.Array, delta: float) -> jax.Array:
    """Huber function: ``r**2/2`` for ``|r| <= delta``, else ``delta (|r| - delta/2)``."""
    a = jnp.abs(r)
    return jnp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def huber_log_norm(delta: float) -> float:
    """``log Z`` of the standard Huber density ``exp(-huber(x, delta)) / Z``.

    ``Z = sqrt(2 pi) (1 - 2 Phi(-delta)) + 2 exp(-delta**2 / 2) / delta``.
    """
    z = (
        math.sqrt(2 * math.pi) * math.erf(delta / math.sqrt(2))
        + 2 * math.exp(-0.5 * delta * delta) / delta
    )
    return math.log(z)


def huber_logpdf(r: jax.Array, delta: float, scale: jax.Array) -> jax.Array:
    """Log density of the Huber distribution (Besiroglu et al. 2024) with location 0."""
    return -huber(r / scale, delta) - huber_log_norm(delta) - jnp.log(scale)


def laplace_logpdf(r: jax.Array, scale: jax.Array) -> jax.Array:
    """Log density of the Laplace distribution with location 0."""
    return -jnp.abs(r) / scale - jnp.log(2.0 * scale)


def gaussian_logpdf(r: jax.Array, scale: jax.Array) -> jax.Array:
    """Log density of the normal distribution with location 0."""
    return norm.logpdf(r, 0.0, scale)


def student_t_logpdf(r: jax.Array, df: float, scale: jax.Array) -> jax.Array:
    """Log density of Student's t with location 0."""
    z = r / scale
    return (
        gammaln(0.5 * (df + 1.0))
        - gammaln(0.5 * df)
        - 0.5 * jnp.log(df * jnp.pi)
        - jnp.log(scale)
        - 0.5 * (df + 1.0) * jnp.log1p(z * z / df)
    )


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


# ----------------------------------------------------------------------------- whole data


def noise_scale(law: Law, theta: jax.Array) -> jax.Array:
    """``log_sigma`` from a parameter vector ``theta[..., P + 1]`` (the entry after the law's)."""
    return theta[..., len(law.params)]


def residuals(law: Law, theta: jax.Array, data: Data) -> jax.Array:
    """Log-loss residuals ``log L_obs - log L_pred`` for one parameter vector ``(P,)``.

    Padded points (weight 0) are replaced by harmless values (inputs 1, log loss 0) before the
    law sees them, so whatever a pad holds (even NaN) cannot reach values or gradients.
    """
    keep = data.weight > 0
    x = {k: jnp.where(keep, v, jnp.ones_like(v)) for k, v in data.x.items()}
    log_y = jnp.where(keep, data.log_y, 0.0)
    return log_y - predict_log(law, theta, x)


def pointwise_log_likelihood(law: Law, theta: jax.Array, data: Data, noise: Noise) -> jax.Array:
    """Per-point log likelihood (unweighted; padded points give 0).

    ``theta`` holds the law's parameters followed by ``log_sigma``.
    """
    r = residuals(law, theta, data)
    ll = noise_logpdf(r, noise, noise_scale(law, theta))
    return jnp.where(data.weight > 0, ll, 0.0)


def log_likelihood(law: Law, theta: jax.Array, data: Data, noise: Noise) -> jax.Array:
    """Weighted total log likelihood ``sum_i w_i log p(r_i)``."""
    r = residuals(law, theta, data)
    ll = noise_logpdf(r, noise, noise_scale(law, theta))
    return jnp.sum(jnp.where(data.weight > 0, data.weight * ll, 0.0))


def objective(law: Law, theta: jax.Array, data: Data, obj: Objective) -> jax.Array:
    """The value minimised by the fitters.

    For a :class:`Loss`, ``sum_i w_i rho(r_i)`` (the classic, *summed* Huber or squared
    loss); for a :class:`Noise`, the negative weighted log likelihood.
    """
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
    """Draw residuals from ``noise`` with scale ``exp(log_sigma)`` (broadcast to ``shape``).

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
    d = noise.delta
    k_mix, k_centre, k_tail, k_sign = jax.random.split(key, 4)
    centre_mass = math.sqrt(2 * math.pi) * math.erf(d / math.sqrt(2)) / math.exp(huber_log_norm(d))
    centre = jax.random.truncated_normal(k_centre, -d, d, shape)
    tail = d + jax.random.exponential(k_tail, shape) / d
    sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
    x = jnp.where(jax.random.uniform(k_mix, shape) < centre_mass, centre, sign * tail)
    return scale * x
