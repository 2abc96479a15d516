"""A posterior per curve without Markov chains: Laplace, adaptive importance sampling, PSIS.

Every curve runs the same fixed sequence of array operations - no data-dependent control flow -
so the lanes of a ``vmap`` over curves stay in lock-step (a vmapped NUTS step costs the
deepest tree of any lane):

1. **Mode.** A fixed number of damped Newton steps on the log posterior in fit space,
   :func:`bayescale.infer.model.log_posterior` (numpyro's log density of the model NUTS
   samples; no second objective), from the curve's maximum-likelihood fit. The curvature is
   the exact Hessian, or for a kinked noise density (Huber, Laplace: its Hessian sits on the
   few points at the kink) the likelihood's empirical Fisher information plus the prior's
   Hessian (:func:`fisher_curvature`, as NUTS's preconditioner), its eigenvalues made
   positive; each step is tried at 25 lengths, 1 to 2**-24, and the best kept if it improves.
   (The empirical Fisher information is a poor curvature away from the mode: from starts
   perturbed by about one posterior standard deviation, 12 such steps left a third of 40
   power-law curves off their mode, with Pareto ``k`` of 2 to 9.)
2. **Proposal.** A multivariate Student-t (``df`` degrees of freedom) centred at the mode
   with scale matrix ``scale**2`` times the inverse curvature there (the Laplace covariance).
3. **Adaptation.** ``rounds`` times: draw ``adapt_draws`` points, weight them by posterior over
   proposal, and move the proposal to the weighted mean and covariance (weights truncated at
   ``sqrt(n)`` times their mean, Ionides 2008), covariance times ``scale**2``.
4. **Draws.** ``num_draws`` points from the final proposal and their log importance weights.

The host (:func:`bayescale.infer.psis.sample_importance_batch`) then smooths each curve's
weights with Pareto-smoothed importance sampling (PSIS, Vehtari et al. 2024; arviz's
``psislw``), whose shape estimate ``k`` says whether the weights can be trusted: ``k <= 0.7``
(:data:`~bayescale.infer.psis.PARETO_K_MAX`) for this many draws. Equally weighted draws come
from systematic resampling.

Why fit space and adaptation (measured on 200 simulated 30-point Chinchilla curves, Gaussian
noise, 4,000 draws): in numpyro's unconstrained space (exponents through a logit, which bends
the straight ridge ``a - alpha log N`` of a power law) the plain Laplace proposal gave
``k <= 0.7`` on 31% of curves; in fit space 42%; a Student-t proposal (8 df, scale 1.3) with
two adaptation rounds 95-99%; the defaults (scale 1.5, three rounds of 1,000 draws) 99-100%.
Fewer degrees of freedom did worse (5 df: 92%). On 1,000 curves the defaults passed on 99.7%
of curves, and the 90% intervals covered the true exponents on 88-89% of them. 30 points
identify E, A and B weakly, so the posterior is skewed with heavier tails than a normal; the
moment-matched, wider t covers them.

Compilation. ``law``, ``noise``, the resolved priors and :class:`ImportanceConfig` are static
(hashable) arguments of :data:`compiled_importance_curves`; data, starts and seeds are arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from bayescale.infer.laplace import kinked
from bayescale.infer.model import Priors, log_posterior
from bayescale.infer.types import ImportanceConfig, ImportanceOutput
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise, pointwise_log_likelihood

#: Lengths tried along each Newton step, 1 to 2**-24: a tiny negative eigenvalue of the
#: Hessian (made positive) can make the full step many orders too long.
STEP_LENGTHS = tuple(0.5**i for i in range(25))
#: Smallest eigenvalue of the Hessian kept, relative to the largest.
EIGEN_FLOOR = 1e-12
#: Adaptation needs at least this many effective draws per parameter to move the proposal.
MIN_ESS_PER_PARAM = 5


def newton_direction(hessian: jax.Array, grad: jax.Array) -> jax.Array:
    """``-H^-1 g`` with ``H``'s eigenvalues replaced by their absolute values (floored), so
    the step descends even where the Hessian is not positive definite."""
    w, v = jnp.linalg.eigh(0.5 * (hessian + hessian.T))
    w = jnp.maximum(jnp.abs(w), EIGEN_FLOOR * jnp.max(jnp.abs(w)))
    return -(v / w[None, :]) @ (v.T @ grad)


def posterior_mode(
    potential: Callable, curvature: Callable, theta0: jax.Array, steps: int
) -> tuple[jax.Array, jax.Array]:
    """``steps`` damped Newton steps on ``potential`` (minus the log posterior) from
    ``theta0`` with ``curvature(theta)`` for its Hessian; a step that does not lower the
    potential at any length leaves the point. Returns the point and the curvature there
    (one more pass of the loop, whose step is dropped: one compiled curvature, not two)."""
    lengths = jnp.asarray(STEP_LENGTHS, dtype=theta0.dtype)

    def step(theta, _):
        here, curv = potential(theta), curvature(theta)
        d = newton_direction(curv, jax.grad(potential)(theta))
        cands = theta[None, :] + lengths[:, None] * d[None, :]
        vals = jax.vmap(potential)(cands)
        vals = jnp.where(jnp.isfinite(vals), vals, jnp.inf)
        best = jnp.argmin(vals)
        return jnp.where(vals[best] < here, cands[best], theta), (theta, curv)

    _, (path, curvatures) = jax.lax.scan(step, theta0, None, length=steps + 1)
    return path[-1], curvatures[-1]


def fisher_curvature(
    theta: jax.Array, data: Data, law: Law, noise: Noise, priors: Priors
) -> jax.Array:
    """The empirical Fisher information of the likelihood plus the prior's exact Hessian.

    ``sum_i w_i g_i g_i^T`` over points, ``g_i`` the gradient of point ``i``'s log likelihood
    (:func:`bayescale.likelihood.pointwise_log_likelihood`), plus the Hessian of minus the log
    prior: the curvature that preconditions NUTS (:func:`bayescale.infer.chains.laplace_factor`)
    here in fit space. Positive definite wherever the law is locally identified, and right for
    kinked densities (Huber, Laplace), whose exact Hessian sits on a handful of points.
    """
    g = jax.jacfwd(lambda t: pointwise_log_likelihood(law, t, data, noise))(theta)
    g = jnp.where((data.weight > 0)[:, None], g, 0.0)
    info = (g * data.weight[:, None]).T @ g
    prior = jax.hessian(lambda t: -log_posterior(t, data, law, noise, priors, False))(theta)
    return info + prior


def covariance_root(cov: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A square root ``L`` (``L L^T = cov``, eigenvalues floored) and ``log |det L|``."""
    w, v = jnp.linalg.eigh(0.5 * (cov + cov.T))
    w = jnp.maximum(w, EIGEN_FLOOR * jnp.max(jnp.abs(w)))
    return v * jnp.sqrt(w)[None, :], 0.5 * jnp.sum(jnp.log(w))


def t_draws(
    normals: jax.Array, centre: jax.Array, root: jax.Array, log_det: jax.Array, df: int
) -> tuple[jax.Array, jax.Array]:
    """Draws from a multivariate Student-t and their log densities, from standard normals.

    ``normals`` is ``(n, P + df)``: the first ``P`` columns make ``z``, the others ``u``, a
    chi-square on ``df`` degrees of freedom (a sum of squares) over ``df``; the draws are
    ``centre + root @ z / sqrt(u)``. (One normal array per curve keeps a single random-number
    call site in the compiled sampler; each costs about a second of compilation.)
    """
    p = centre.shape[0]
    z, u = normals[:, :p], jnp.sum(normals[:, p:] ** 2, axis=1) / df
    white = z / jnp.sqrt(u)[:, None]
    log_q = (
        gammaln((df + p) / 2) - gammaln(df / 2) - 0.5 * p * math.log(df * math.pi) - log_det
        - 0.5 * (df + p) * jnp.log1p(jnp.sum(white**2, axis=1) / df)
    )  # fmt: skip
    return centre[None, :] + white @ root.T, log_q


def weighted_moments(theta: jax.Array, log_w: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Mean, covariance and effective size of draws under truncated importance weights.

    Normalised weights are capped at ``sqrt(n)`` times their mean (Ionides 2008), which bounds
    the variance that a few heavy weights add, then renormalised.
    """
    n = theta.shape[0]
    w = jnp.exp(log_w - jnp.max(log_w))
    w = w / jnp.sum(w)
    w = jnp.minimum(w, 1.0 / math.sqrt(n))
    w = w / jnp.sum(w)
    mean = w @ theta
    d = theta - mean[None, :]
    return mean, (d * w[:, None]).T @ d, 1.0 / jnp.sum(w**2)


def importance_curve(
    key: jax.Array,
    theta0: jax.Array,
    data: Data,
    law: Law,
    noise: Noise,
    priors: Priors,
    config: ImportanceConfig,
) -> ImportanceOutput:
    """Mode, adapted Student-t proposal, draws and log weights of one curve (pure)."""

    def log_p(theta):
        return log_posterior(theta, data, law, noise, priors)

    def potential(theta):
        return -log_p(theta)

    def weights(draws, log_q):
        lw = jax.vmap(log_p)(draws) - log_q
        return jnp.where(jnp.isfinite(lw), lw, -jnp.inf)

    exact = config.curvature == "hessian" or (config.curvature == "auto" and not kinked(noise))

    def curvature(theta):
        if exact:
            return jax.hessian(potential)(theta)
        return fisher_curvature(theta, data, law, noise, priors)

    mode, hess = posterior_mode(potential, curvature, theta0, config.newton_steps)
    w, v = jnp.linalg.eigh(0.5 * (hess + hess.T))
    mode_ok = jnp.isfinite(potential(mode)) & jnp.all(w > 0)
    w = jnp.maximum(jnp.abs(w), EIGEN_FLOOR * jnp.max(jnp.abs(w)))
    p, r, m = mode.shape[0], config.rounds, config.adapt_draws
    normals = jax.random.normal(key, (r * m + config.num_draws, p + config.df), mode.dtype)
    min_ess = MIN_ESS_PER_PARAM * p

    def adapt(proposal, z):
        centre, cov = proposal
        root, log_det = covariance_root(cov * config.scale**2)
        draws, log_q = t_draws(z, centre, root, log_det, config.df)
        mean, new_cov, ess = weighted_moments(draws, weights(draws, log_q))
        good = jnp.all(jnp.isfinite(mean)) & jnp.all(jnp.isfinite(new_cov)) & (ess >= min_ess)
        return (jnp.where(good, mean, centre), jnp.where(good, new_cov, cov)), None

    rounds = normals[: r * m].reshape(r, m, p + config.df)
    (centre, cov), _ = jax.lax.scan(adapt, (mode, (v / w[None, :]) @ v.T), rounds)
    root, log_det = covariance_root(cov * config.scale**2)
    draws, log_q = t_draws(normals[r * m :], centre, root, log_det, config.df)
    return ImportanceOutput(draws, weights(draws, log_q), mode, mode_ok)


def importance_curves(
    seeds: jax.Array,
    theta0: jax.Array,
    data: Data,
    law: Law,
    noise: Noise,
    priors: Priors,
    config: ImportanceConfig,
) -> ImportanceOutput:
    """:func:`importance_curve` of every curve (``vmap``; key ``PRNGKey(seeds[i])``).

    Parameters
    ----------
    seeds
        Integer seed per curve, ``(K,)``.
    theta0
        Start per curve in fit space, ``(K, P + 1)``, inside the priors' support.
    data
        Arrays with a leading curve axis.
    law, noise, priors, config
        Static: the law, the noise density, resolved priors and sampler settings.

    Returns
    -------
    ImportanceOutput
    """

    def one(seed, th0, d):
        return importance_curve(jax.random.PRNGKey(seed), th0, d, law, noise, priors, config)

    return jax.vmap(one)(seeds, theta0, data)


#: :func:`importance_curves` compiled once per chunk shape and static settings.
compiled_importance_curves = jax.jit(
    importance_curves, static_argnames=("law", "noise", "priors", "config")
)
