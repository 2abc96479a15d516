"""Compute-optimal allocation: ``N*`` and ``D*`` minimising the loss at a compute budget.

With ``C = k N D`` FLOPs (``k = flops_per_token``, 6 by default), the allocation minimises
``L(N, D)`` subject to ``D = C / (k N)``, for every draw and budget.

* **Closed form**, for a law that declares one (:attr:`~bayescale.laws.Law.allocation`;
  chinchilla's is Hoffmann et al. 2022, eq. 4, as coded by Besiroglu et al. 2024); the
  exponents are one number per draw.
* **Numerical** (any law whose inputs are exactly ``N`` and ``D``): ``log L(N, C/(kN))`` is
  minimised over ``u = log N`` on a dense grid spanning ``1 <= N, D`` and then refined by
  golden-section search in the best grid cell, all in ``jnp`` under ``vmap`` (no Python loop
  over draws). The exponents are local slopes ``d log N*/d log C`` (and ``d log D*/d log C``)
  at each budget, by implicit differentiation of the optimality condition, so ``a`` and ``b``
  have shape ``(n_draws, k)`` there.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.laws.spec import Law, predict_log, unpack
from bayescale.predict.posterior import as_draws
from bayescale.predict.search import golden_section


class Allocation(NamedTuple):
    """Compute-optimal allocation for every draw and budget.

    Attributes
    ----------
    compute
        Budgets ``C`` in FLOPs, ``(k,)``.
    N_opt, D_opt
        Optimal parameters and tokens, ``(n_draws, k)``.
    tokens_per_param
        ``D_opt / N_opt``, ``(n_draws, k)``.
    loss_opt
        Predicted loss at the optimum, ``(n_draws, k)``.
    a, b
        Exponents of ``N* ∝ C^a`` and ``D* ∝ C^b``: ``(n_draws,)`` for the closed form,
        local slopes ``(n_draws, k)`` for the numerical method.
    method
        ``"closed_form"`` or ``"numerical"``.
    flops_per_token
        ``k`` in ``C = k N D``.
    """

    compute: np.ndarray
    N_opt: np.ndarray
    D_opt: np.ndarray
    tokens_per_param: np.ndarray
    loss_opt: np.ndarray
    a: np.ndarray
    b: np.ndarray
    method: str
    flops_per_token: float


def budget_grid(lo: float = 1e18, hi: float = 1e26, n: int = 41) -> np.ndarray:
    """Log-spaced compute budgets from ``lo`` to ``hi`` (for plotting)."""
    if not (0 < lo < hi and math.isfinite(hi)) or int(n) < 2:
        raise ValueError(f"budget_grid needs 0 < lo < hi (finite) and n >= 2, got {lo}, {hi}, {n}")
    return np.logspace(math.log10(lo), math.log10(hi), int(n))


def _check_budgets(compute: object, flops_per_token: float) -> np.ndarray:
    c = np.atleast_1d(np.asarray(compute, dtype=np.float64)).ravel()
    if c.size == 0:
        raise ValueError("compute needs at least one budget")
    bad = c[~(np.isfinite(c) & (c > 0))]
    if bad.size:
        raise ValueError(f"compute budgets must be finite and > 0; got {float(bad[0])!r}")
    k = float(flops_per_token)
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"flops_per_token must be finite and > 0, got {flops_per_token!r}")
    return c


def _check_law(law: Law) -> None:
    if set(law.inputs) != {"N", "D"}:
        raise ValueError(
            f"law {law.name!r} has inputs {law.inputs}; compute-optimal allocation needs a "
            "law of N and D"
        )


# ----------------------------------------------------------------------------- closed form


@partial(jax.jit, static_argnames=("law",))
def _closed_form(law: Law, theta: jax.Array, log_x: jax.Array) -> tuple[jax.Array, ...]:
    """The law's closed-form allocation, compiled; ``theta`` ``(n, P)``, ``log_x`` ``(k,)``."""
    return law.allocation(theta, log_x)


# ----------------------------------------------------------------------------- numerical


def _objective(law: Law, theta: jax.Array, u: jax.Array, log_x: jax.Array) -> jax.Array:
    """``log L(N = e^u, D = e^(log_x - u))`` for one draw; ``u`` and ``log_x`` scalars."""
    p = unpack(law, theta)
    x = {"N": jnp.exp(u)[None], "D": jnp.exp(log_x - u)[None]}
    return law.fn(p, x)[0]


@partial(jax.jit, static_argnames=("law", "n_grid", "n_golden"))
def _numerical(
    law: Law, theta: jax.Array, log_x: jax.Array, n_grid: int = 512, n_golden: int = 60
) -> tuple[jax.Array, ...]:
    """Minimise over ``u = log N`` per draw and budget; returns log N*, log D*, slope, slope."""

    def one(th: jax.Array, lx: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        f = partial(_objective, law, th)
        grid = jnp.linspace(0.0, 1.0, n_grid) * lx
        vals = jax.vmap(lambda u: f(u, lx))(grid)
        vals = jnp.where(jnp.isfinite(vals), vals, jnp.inf)
        i = jnp.argmin(vals)
        step = grid[1] - grid[0]
        lo = jnp.maximum(grid[i] - step, 0.0)
        hi = jnp.minimum(grid[i] + step, lx)
        u = golden_section(lambda v: f(v, lx), lo, hi, n_golden)
        # Implicit differentiation of d/du f(u, lx) = 0: du/dlx = -f_ul / f_uu.
        h = jax.hessian(lambda z: f(z[0], z[1]))(jnp.stack([u, lx]))
        return u, -h[0, 1] / h[0, 0], vals[i]

    u, du, _ = jax.vmap(lambda th: jax.vmap(lambda lx: one(th, lx))(log_x))(theta)
    return u, log_x[None, :] - u, du, 1.0 - du


def _allocate_numerical(
    law: Law, theta: np.ndarray, compute: np.ndarray, flops_per_token: float = 6.0
) -> tuple[np.ndarray, ...]:
    """Numerical allocation (float64): ``(log N*, log D*, a, b)`` each ``(n_draws, k)``."""
    log_x = np.log(compute) - math.log(flops_per_token)
    with enable_x64():
        out = _numerical(law, jnp.asarray(theta[:, : law.n_params]), jnp.asarray(log_x))
        return tuple(np.asarray(o) for o in out)


@partial(jax.jit, static_argnames=("law",))
def _loss_at(law: Law, theta: jax.Array, log_n: jax.Array, log_d: jax.Array) -> jax.Array:
    return jax.vmap(lambda th, ln, ld: predict_log(law, th, {"N": jnp.exp(ln), "D": jnp.exp(ld)}))(
        theta, log_n, log_d
    )


def allocate(
    law: Law, theta_draws: object, compute: object, *, flops_per_token: float = 6.0
) -> Allocation:
    """Compute-optimal ``N*``, ``D*``, ``D*/N*`` and loss for every draw and budget.

    Parameters
    ----------
    law
        A law of ``N`` and ``D``.
    theta_draws
        Fit-space draws ``(n_draws, P)`` (a ``log_sigma`` column is ignored) or one vector.
    compute
        Budget(s) ``C`` in FLOPs, scalar or ``(k,)``.
    flops_per_token
        ``k`` in ``C = k N D``.

    Returns
    -------
    Allocation
        The law's closed form when it declares one, numerical minimisation otherwise.

    Raises
    ------
    ValueError
        If the law's inputs are not ``N`` and ``D``, or a budget is not finite and positive.
    """
    _check_law(law)
    c = _check_budgets(compute, flops_per_token)
    theta = as_draws(law, theta_draws)[:, : law.n_params]
    k = float(flops_per_token)
    log_x = np.log(c) - math.log(k)
    if law.allocation is not None:
        with enable_x64():
            out = _closed_form(law, jnp.asarray(theta), jnp.asarray(log_x))
            log_n, log_d, a, b = (np.asarray(o) for o in out)
        method = "closed_form"
    else:
        log_n, log_d, a, b = _allocate_numerical(law, theta, c, k)
        method = "numerical"
    with enable_x64():
        log_l = np.asarray(
            _loss_at(law, jnp.asarray(theta), jnp.asarray(log_n), jnp.asarray(log_d))
        )
    return Allocation(
        compute=c,
        N_opt=np.exp(log_n),
        D_opt=np.exp(log_d),
        tokens_per_param=np.exp(log_d - log_n),
        loss_opt=np.exp(log_l),
        a=a,
        b=b,
        method=method,
        flops_per_token=k,
    )
