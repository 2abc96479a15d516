"""Elementwise noise densities of log-loss residuals (location 0, a scale), and the Huber
density's exact sampler; :mod:`bayescale.likelihood.evaluation` builds the likelihood on them."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jax.scipy.stats import norm


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


def huber_sample(key: jax.Array, delta: float, shape: tuple) -> jax.Array:
    """Exact draws of the standard Huber density: a normal truncated to ``[-delta, delta]`` in
    the centre and exponential tails of rate ``delta`` beyond it, mixed by their masses."""
    d = delta
    k_mix, k_centre, k_tail, k_sign = jax.random.split(key, 4)
    centre_mass = math.sqrt(2 * math.pi) * math.erf(d / math.sqrt(2)) / math.exp(huber_log_norm(d))
    centre = jax.random.truncated_normal(k_centre, -d, d, shape)
    tail = d + jax.random.exponential(k_tail, shape) / d
    sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
    return jnp.where(jax.random.uniform(k_mix, shape) < centre_mass, centre, sign * tail)
