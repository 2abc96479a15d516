"""Normal approximations at an optimum: the Laplace covariance and the robust sandwich.

Both are computed from the one objective (:func:`bayescale.likelihood.objective`) by automatic
differentiation, in fit space (the law's parameters, then ``log_sigma`` for a noise model):

* the **information** ``F = sum_i w_i g_i g_i^T``, with ``g_i`` the gradient of point ``i``'s
  term of the objective (for a :class:`~bayescale.likelihood.Noise`, minus the gradient of its
  log likelihood; :func:`point_gradients`). Under a noise model this is the empirical Fisher
  information, and ``F^-1`` is the plain **Laplace** covariance: right when the noise model
  holds (the same curvature that preconditions NUTS, :func:`bayescale.infer.chains.laplace_factor`,
  there in numpyro's space and with the priors added).
* the **sandwich** ``A^-1 F A^-1`` of the estimating equations ``sum_i w_i g_i(theta) = 0``
  actually solved (Huber 1967; White 1982): ``F`` is the meat (the spread of the per-point
  scores as observed, whatever the noise), ``A`` the bread, the Jacobian of the *expected*
  estimating equations (:func:`bread`). For a smooth objective (squared loss, Gaussian and
  Student-t noise) that is the exact Hessian of the objective at the optimum. For a kinked one
  (Huber loss, Huber and Laplace noise) the exact Hessian estimates it badly or not at all: the
  curvature of ``rho(r)`` sits at the kinks, and the Huber likelihood's fitted scale shrinks
  until its quadratic zone holds only the ~P points the fit interpolates (on the Chinchilla data
  5 of 240, each weighing ``1/sigma^2``), so the Hessian says the fit is known to 1e-4. The
  expected curvature is a density of the residuals at the kink; it is estimated as Powell (1991)
  does for least absolute deviations, by smoothing each point's ``rho''`` with a uniform kernel
  of half-width ``h``: ``(rho'(r_i + h) - rho'(r_i - h)) / 2h`` replaces ``rho''(r_i)`` in the
  Hessian. ``h`` is Hall and Sheather's bandwidth for the median, in residual units
  (:func:`kernel_bandwidth`, as ``quantreg``'s ``summary.rq(se="ker")``); the result depends
  on it, and :func:`approximation` reports it.

Pure functions of arrays; ``law`` and the objective are static under ``jit``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise, Objective, objective, residuals

#: Noise models whose density has a kink at 0: their bread is kernel-smoothed (:func:`bread`).
KINKED = ("huber", "laplace")
#: Confidence level in Hall and Sheather's bandwidth rule (``quantreg``'s default).
HS_ALPHA = 0.05
#: Smallest ratio of the smallest to the largest singular value of ``F`` or ``A`` accepted
#: (the Chinchilla fit has 1e-7); below it the law is taken as not identified by the data.
MIN_RCOND = 1e-12


class Approximation(NamedTuple):
    """A normal approximation at an optimum, in fit space.

    Attributes
    ----------
    cov
        Covariance ``(P, P)``: ``F^-1`` (plain) or ``A^-1 F A^-1`` (robust).
    information
        ``F = sum_i w_i g_i g_i^T`` (the empirical Fisher information under a noise model).
    bread
        ``A`` (the plain approximation holds ``F`` here).
    bandwidth
        Half-width of the kernel that smooths a kinked objective's curvature (0 if unused).
    ok
        Whether ``cov`` is finite and positive definite and ``A`` (plain: ``F``) is not
        numerically singular (:data:`MIN_RCOND`).
    """

    cov: jax.Array
    information: jax.Array
    bread: jax.Array
    bandwidth: jax.Array
    ok: jax.Array


def kinked(obj: Objective) -> bool:
    """Whether ``obj`` is a noise model with a kink at 0 whose scale the fit shrinks (Huber,
    Laplace): its bread needs a kernel (:func:`bread`)."""
    return isinstance(obj, Noise) and obj.kind in KINKED


def point_gradients(law: Law, theta: jax.Array, data: Data, obj: Objective) -> jax.Array:
    """Gradient of every point's term of the objective, ``(n, P)`` (padded points: 0).

    A point's term is the derivative of :func:`~bayescale.likelihood.objective` with respect to
    its weight: ``rho(r_i)`` for a :class:`~bayescale.likelihood.Loss`, minus its log likelihood
    for a :class:`~bayescale.likelihood.Noise`.
    """

    def terms(t: jax.Array) -> jax.Array:
        return jax.grad(lambda w: objective(law, t, data._replace(weight=w), obj))(data.weight)

    g = jax.jacfwd(terms)(theta)
    return jnp.where((data.weight > 0)[:, None], g, 0.0)


def residual_slopes(
    law: Law, theta: jax.Array, data: Data, obj: Objective, shift: jax.Array
) -> jax.Array:
    """``w_i rho'(r_i + shift)``: each point's term differentiated by its residual, ``(n,)``."""
    return jax.grad(lambda y: objective(law, theta, data._replace(log_y=y), obj))(
        data.log_y + shift
    )


def kernel_bandwidth(r: jax.Array, weight: jax.Array) -> jax.Array:
    """Hall and Sheather's bandwidth for the density of residuals at 0, in residual units.

    ``h = 2 Phi^-1(1/2 + h_HS) min(sd(r), IQR(r) / 1.34)`` with
    ``h_HS = n^(-1/3) z^(2/3) (1.5 phi(0)^2)^(1/3)``, ``z = Phi^-1(1 - 0.05/2)``: the
    bandwidth ``quantreg`` uses for the median's sparsity (Koenker 2005, section 3.4).

    Parameters
    ----------
    r
        Residuals ``(n,)``.
    weight
        Point weights ``(n,)``; points of weight 0 are ignored.

    Returns
    -------
    jax.Array
        The bandwidth (a scalar).
    """
    keep = weight > 0
    n = jnp.sum(keep)
    z = norm.ppf(1.0 - HS_ALPHA / 2)
    hs = n ** (-1.0 / 3.0) * z ** (2.0 / 3.0) * (1.5 / (2 * math.pi)) ** (1.0 / 3.0)
    hs = jnp.minimum(hs, 0.45)
    rm = jnp.where(keep, r, jnp.nan)
    q25, q75 = jnp.nanquantile(rm, jnp.array([0.25, 0.75]))
    scale = jnp.minimum(jnp.nanstd(rm), (q75 - q25) / 1.34)
    return 2.0 * norm.ppf(0.5 + hs) * scale


def bread(
    law: Law, theta: jax.Array, data: Data, obj: Objective, bandwidth: jax.Array
) -> jax.Array:
    """The sandwich's bread ``A``: the expected Jacobian of the estimating equations, ``(P, P)``.

    The exact Hessian of the objective, with each point's ``rho''(r_i) J_i J_i^T`` replaced by
    ``(rho'(r_i + h) - rho'(r_i - h)) / 2h J_i J_i^T`` (``J_i`` the gradient of its residual) for
    a kinked objective (:data:`KINKED`); smooth objectives keep the exact Hessian.
    """
    h = jax.hessian(lambda t: objective(law, t, data, obj))(theta)
    if not kinked(obj):
        return h
    jac = jax.jacfwd(lambda t: residuals(law, t, data))(theta)
    jac = jnp.where((data.weight > 0)[:, None], jac, 0.0)
    zero = jnp.zeros((), data.log_y.dtype)
    _, exact = jax.jvp(
        lambda s: residual_slopes(law, theta, data, obj, s), (zero,), (jnp.ones_like(zero),)
    )
    smooth = (
        residual_slopes(law, theta, data, obj, bandwidth)
        - residual_slopes(law, theta, data, obj, -bandwidth)
    ) / (2.0 * bandwidth)
    delta = jnp.where(data.weight > 0, smooth - exact, 0.0)
    return h + (jac * delta[:, None]).T @ jac


@partial(jax.jit, static_argnames=("law", "obj"))
def default_bandwidth(law: Law, theta: jax.Array, data: Data, obj: Objective) -> jax.Array:
    """:func:`kernel_bandwidth` of the residuals at ``theta`` (0 for a smooth objective)."""
    if not kinked(obj):
        return jnp.zeros((), data.log_y.dtype)
    return kernel_bandwidth(residuals(law, theta, data), data.weight)


@partial(jax.jit, static_argnames=("law", "obj", "robust"))
def approximation(
    law: Law,
    theta: jax.Array,
    data: Data,
    obj: Objective,
    robust: bool,
    bandwidth: jax.Array,
) -> Approximation:
    """The plain Laplace (``robust=False``) or sandwich (``robust=True``) covariance at ``theta``.

    Parameters
    ----------
    law, obj
        Static: the law and the objective minimised (plain Laplace needs a
        :class:`~bayescale.likelihood.Noise`: only then is ``F`` an information).
    theta
        The optimum in fit space, ``(P,)`` (``log_sigma`` last for a noise model).
    data
        The data fitted (one curve).
    robust
        Static: the sandwich ``A^-1 F A^-1`` instead of ``F^-1``.
    bandwidth
        Kernel half-width of a kinked objective's bread (:func:`default_bandwidth`); unused
        otherwise.

    Returns
    -------
    Approximation
    """
    g = point_gradients(law, theta, data, obj)
    info = (g * data.weight[:, None]).T @ g
    info = 0.5 * (info + info.T)
    eye = jnp.eye(theta.shape[0], dtype=theta.dtype)
    if robust:
        a = bread(law, theta, data, obj, bandwidth)
        a_inv = jnp.linalg.solve(0.5 * (a + a.T), eye)
        cov = a_inv @ info @ a_inv.T
        used = bandwidth if kinked(obj) else jnp.zeros_like(bandwidth)
    else:
        a = info
        cov = jnp.linalg.solve(info, eye)
        used = jnp.zeros_like(bandwidth)
    cov = 0.5 * (cov + cov.T)
    sv = jnp.linalg.svd(a, compute_uv=False)
    ok = jnp.all(jnp.isfinite(cov)) & (jnp.min(jnp.linalg.eigvalsh(cov)) > 0)
    ok = ok & (sv[-1] > MIN_RCOND * sv[0])
    return Approximation(cov, info, a, used, ok)


def normal_draws(centre: np.ndarray, cov: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
    """``n_draws`` draws from ``Normal(centre, cov)``, ``(n_draws, P)``, seeded (numpy PCG64).

    The square root of ``cov`` is symmetric (eigen-decomposition), so near-singular directions
    do not break it.
    """
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
    z = np.random.default_rng(seed).standard_normal((int(n_draws), len(centre)))
    return np.asarray(centre, dtype=np.float64) + z @ root
