"""Vectorised multi-start minimisation: every start of a fit in one compiled call.

Levels, as in optimistix and blackjax:

* :func:`minimise_starts` - the pure core, for one curve: ``vmap`` over starts of
  ``optimistix.BFGS``, then choose the best start. No Python loops, no raising; every start
  gets a status code. A leading curve (or resample) axis is added with ``jax.vmap``.
* :func:`fit_multistart` - the compiled boundary (``jax.jit`` once, static law, objective and
  config), for one curve.
* :func:`bayescale.fit` - the one-call level, from a table to a :class:`~bayescale.Fit`.

Strategy. With ``explore_steps == 0`` every start runs to convergence (or ``max_steps``),
as in Hoffmann et al. and Besiroglu et al. With ``explore_steps > 0`` every start first takes
that many optax adam steps in lock-step (``FitConfig.explore_optimizer``: any optax optimiser,
or BFGS; optionally in float32, ``FitConfig.explore_dtype``), then the ``polish`` best are run
on to convergence by BFGS; the others keep
their explored state with status ``screened`` (unless they had already converged). The
explore/polish scheme finds the same optimum as the full run on the Chinchilla grid at a
fraction of the cost (see ``benchmarks/``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
import optimistix as optx

from bayescale.laws.spec import Law, to_natural
from bayescale.likelihood import Data, Objective, objective, objective_scale, params
from bayescale.status import CONVERGED, FAILED, MAX_STEPS, NON_FINITE, SCREENED

#: Relative tolerance that defines "near the best" when counting starts.
NEAR_BEST_RTOL = 1e-6


class FitConfig(NamedTuple):
    """Static optimiser settings (hashable; a change recompiles).

    Attributes
    ----------
    max_steps
        BFGS step cap for a start run to convergence.
    rtol, atol
        optimistix Cauchy termination tolerances on the scaled objective and the parameters.
    explore_steps
        Steps every start takes before the best ``polish`` are run on; 0 runs every start to
        convergence.
    polish
        Number of starts run to convergence after exploration.
    restarts
        Times BFGS is restarted (fresh Hessian approximation) from the point where a start
        stopped. A restart gets a start past line-search stalls at the kinks of Huber-type
        objectives; it costs little for a start that had converged.
    explore_optimizer
        Optimiser of the explore stage: a hashable spec ``(name, *args)`` of an optax
        constructor (the default ``("adam", 0.1)``: as fast as BFGS exploration on one fit
        of 4,500 starts, faster on batches of curves, ``benchmarks/README.md``), any
        ``optax.GradientTransformation``, or ``"bfgs"`` (optimistix BFGS steps). An optax
        optimiser takes exactly ``explore_steps`` steps on every start in lock-step (a
        fixed-length ``lax.scan``) and each start keeps the best point it visited; BFGS
        still polishes. A transformation object hashes by identity: reuse the same object
        to avoid recompiling. adam's first steps move every fit-space coordinate by about
        the learning rate whatever its scale: for a custom law whose fit-space parameters
        vary on scales well below 0.1, pass a smaller rate or ``"bfgs"``.
    explore_dtype
        ``"float64"`` or ``"float32"``: precision of the explore stage. Polish and the
        reported optimum are always in the precision of the inputs (float64 under
        :func:`bayescale.enable_x64`).
    subsample
        A curve of more points than this is fitted in two stages
        (:func:`~bayescale.optimize.points.fit_points`): every start on a random subsample
        of this many points, then the best few run on to convergence on every point. 0 fits
        every start on every point.
    """

    max_steps: int = 1000
    rtol: float = 1e-10
    atol: float = 1e-10
    explore_steps: int = 20
    polish: int = 16
    restarts: int = 1
    explore_optimizer: str | tuple | optax.GradientTransformation = ("adam", 0.1)
    explore_dtype: str = "float64"
    subsample: int = 20_000

    def settings(self) -> dict:
        """The settings as a JSON-ready dict: an optax spec as a list, an optax transformation
        object by its type (the saved fit reads the list back as the spec)."""
        out = self._asdict()
        if isinstance(self.explore_optimizer, optax.GradientTransformation):
            out["explore_optimizer"] = f"optax.{type(self.explore_optimizer).__name__}"
        elif isinstance(self.explore_optimizer, tuple):
            out["explore_optimizer"] = list(self.explore_optimizer)
        return out


class MultiStartResult(NamedTuple):
    """Arrays describing a multi-start fit; batch axes (curve, resample) may lead each field.

    Attributes
    ----------
    theta
        Best parameters in fit space (log space for ``exp`` parameters), ``(P,)``. The best
        start is the converged one with the lowest objective when a converged start is within
        ``NEAR_BEST_RTOL`` of the lowest objective, else the start with the lowest objective.
    params
        Best parameters in natural space, ``(P,)`` (``sigma``, not ``log_sigma``, for a noise
        model).
    objective
        Objective at the best start (unscaled), ``()``.
    start_theta
        Final parameters per start, ``(S, P)``.
    start_objective
        Final objective per start, ``(S,)`` (``inf`` where non-finite).
    start_status
        Status code per start, ``(S,)``; see :mod:`bayescale.status`.
    start_steps
        Optimiser steps taken per start, ``(S,)``: the explore stage's (adam or BFGS) plus
        the BFGS polish's.
    n_near_best
        Number of starts within ``NEAR_BEST_RTOL`` (relative) of the best objective.
    grad_norm
        Euclidean norm of the objective's gradient at the best parameters.
    status
        Status code of the best start.
    """

    theta: jax.Array
    params: jax.Array
    objective: jax.Array
    start_theta: jax.Array
    start_objective: jax.Array
    start_status: jax.Array
    start_steps: jax.Array
    n_near_best: jax.Array
    grad_norm: jax.Array
    status: jax.Array


def _run_bfgs(
    law: Law, obj: Objective, config: FitConfig, max_steps: int, y0: jax.Array, data: Data
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """BFGS from one start; returns (final y, status code, steps). Never raises."""
    scale = objective_scale(obj)

    def fn(y: jax.Array, args: Data) -> jax.Array:
        return objective(law, y, args, obj) / scale

    solver = optx.BFGS(rtol=config.rtol, atol=config.atol)
    sol = optx.minimise(fn, solver, y0, args=data, max_steps=max_steps, throw=False)
    code = jnp.where(
        sol.result == optx.RESULTS.successful,
        CONVERGED,
        jnp.where(sol.result == optx.RESULTS.nonlinear_max_steps_reached, MAX_STEPS, FAILED),
    )
    return sol.value, code.astype(jnp.int32), sol.stats["num_steps"].astype(jnp.int32)


def _optax_transform(spec: tuple | optax.GradientTransformation) -> optax.GradientTransformation:
    """The optax transformation named by a ``(name, *args)`` spec, or ``spec`` itself."""
    if isinstance(spec, optax.GradientTransformation):
        return spec
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        return getattr(optax, spec[0])(*spec[1:])
    raise ValueError(
        f"explore_optimizer={spec!r}: use 'bfgs', an optax spec such as ('adam', 0.1), or an "
        "optax.GradientTransformation"
    )


def _run_optax(
    law: Law, obj: Objective, config: FitConfig, y0: jax.Array, data: Data
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``explore_steps`` optax steps from one start; returns (best y visited, status, steps).

    The loop has a fixed length, so vmapped starts stay in lock-step. A step to a non-finite
    point is refused (the start stays put), and the best point visited is returned.
    """
    scale = objective_scale(obj)
    tx = _optax_transform(config.explore_optimizer)

    def fn(y: jax.Array) -> jax.Array:
        # the law may promote to float64 under x64; the loop keeps the starts' dtype
        return (objective(law, y, data, obj) / scale).astype(y0.dtype)

    def step(carry: tuple, _: None) -> tuple:
        y, state, best_y, best_f = carry
        f, g = jax.value_and_grad(fn)(y)
        ok = jnp.isfinite(f) & jnp.all(jnp.isfinite(g))
        better = ok & (f < best_f)
        best_y = jnp.where(better, y, best_y)
        best_f = jnp.where(better, f, best_f)
        updates, new_state = tx.update(jnp.where(ok, g, 0.0), state, y)
        y_new = optax.apply_updates(y, updates)
        y = jnp.where(ok & jnp.all(jnp.isfinite(y_new)), y_new, best_y)
        return (y, new_state, best_y, best_f), None

    inf = jnp.asarray(jnp.inf, y0.dtype)
    carry = (y0, tx.init(y0), y0, inf)
    (y, _, best_y, best_f), _ = jax.lax.scan(step, carry, None, length=config.explore_steps)
    f_last = fn(y)
    y = jnp.where(jnp.isfinite(f_last) & (f_last < best_f), y, best_y)
    steps = jnp.asarray(config.explore_steps, jnp.int32)
    return y, jnp.asarray(SCREENED, jnp.int32), steps


def _explore(
    law: Law, obj: Objective, config: FitConfig, starts: jax.Array, data: Data
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The explore stage over every start, in ``config.explore_dtype``; results in the
    starts' dtype."""
    if config.explore_dtype not in ("float32", "float64"):
        raise ValueError(f"explore_dtype={config.explore_dtype!r}: use 'float32' or 'float64'")
    dtype = starts.dtype
    low = config.explore_dtype == "float32"
    if low:
        starts = starts.astype(jnp.float32)
        data = jax.tree.map(
            lambda a: a.astype(jnp.float32) if jnp.issubdtype(a.dtype, jnp.floating) else a, data
        )
    if config.explore_optimizer == "bfgs":
        run = partial(_run_bfgs, law, obj, config, config.explore_steps)
    else:
        run = partial(_run_optax, law, obj, config)
    y, code, steps = jax.vmap(lambda y0: run(y0, data))(starts)
    if low:  # convergence in float32 is not convergence: the polish decides
        code = jnp.where(code == CONVERGED, SCREENED, code).astype(jnp.int32)
    return y.astype(dtype), code, steps


def _keep_converged(y, code, steps, y2, code2, steps2) -> tuple:
    """Take the restarted lanes, except those that had converged before the restart."""
    done = code == CONVERGED
    return (
        jnp.where(done[:, None], y, y2),
        jnp.where(done, code, code2),
        steps + jnp.where(done, 0, steps2),
    )


def minimise_starts(
    starts: jax.Array, data: Data, law: Law, obj: Objective, config: FitConfig = FitConfig()
) -> MultiStartResult:
    """Minimise the objective from every start and pick the best (pure; one curve).

    Parameters
    ----------
    starts
        Start points in fit space, ``(S, P)`` where ``P`` counts the law's parameters plus the
        objective's noise parameters.
    data
        The curve's arrays (no batch axis; add one with ``jax.vmap``).
    law, obj, config
        Static: the law, the objective (:class:`~bayescale.likelihood.Loss` or
        :class:`~bayescale.likelihood.Noise`) and the optimiser settings.

    Returns
    -------
    MultiStartResult
        Best parameters and per-start diagnostics.
    """
    n_starts = starts.shape[0]
    run = partial(_run_bfgs, law, obj, config)

    def converge(y0: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return run(config.max_steps, y0, data)

    def restart(y: jax.Array, code: jax.Array, steps: jax.Array) -> tuple:
        # Restart only when the best lane stalled (a restart exists so that the reported
        # optimum is a converged one); converged lanes keep their result.
        for _ in range(config.restarts):
            f = jax.vmap(lambda th: objective(law, th, data, obj))(y)
            best = jnp.argmin(jnp.where(jnp.isfinite(f), f, jnp.inf))
            y, code, steps = jax.lax.cond(
                code[best] != CONVERGED,
                lambda y, c, s: _keep_converged(y, c, s, *jax.vmap(converge)(y)),
                lambda y, c, s: (y, c, s),
                y,
                code,
                steps,
            )
        return y, code, steps

    if 0 < config.explore_steps and config.polish < n_starts:
        y1, code1, steps1 = _explore(law, obj, config, starts, data)
        f1 = jax.vmap(lambda y: objective(law, y, data, obj))(y1)
        f1 = jnp.where(jnp.isfinite(f1), f1, jnp.inf)
        _, idx = jax.lax.top_k(-f1, config.polish)
        y2, code2, steps2 = restart(*jax.vmap(converge)(y1[idx]))
        y = y1.at[idx].set(y2)
        code = jnp.where(code1 == CONVERGED, CONVERGED, SCREENED).astype(jnp.int32)
        code = code.at[idx].set(jnp.where(code1[idx] == CONVERGED, CONVERGED, code2))
        steps = steps1.at[idx].add(steps2)
    else:
        y, code, steps = restart(*jax.vmap(converge)(starts))

    f = jax.vmap(lambda th: objective(law, th, data, obj))(y)
    finite = jnp.isfinite(f) & jnp.all(jnp.isfinite(y), axis=-1)
    code = jnp.where(finite, code, NON_FINITE).astype(jnp.int32)
    f = jnp.where(finite, f, jnp.inf)
    # Report a converged start when one reached the best objective (within NEAR_BEST_RTOL):
    # on Huber objectives a start stalled at a kink can sit a hair below a converged one.
    lowest = jnp.min(f)
    near_best = f <= lowest + NEAR_BEST_RTOL * jnp.abs(lowest)
    confirmed = near_best & (code == CONVERGED)
    best = jnp.where(
        jnp.any(confirmed), jnp.argmin(jnp.where(confirmed, f, jnp.inf)), jnp.argmin(f)
    )
    best_f = f[best]
    near = jnp.sum(near_best).astype(jnp.int32)
    theta = y[best]
    grad = jax.grad(lambda th: objective(law, th, data, obj))(theta)
    natural = to_natural(params(law, obj), theta)
    return MultiStartResult(
        theta=theta,
        params=natural,
        objective=best_f,
        start_theta=y,
        start_objective=f,
        start_status=code,
        start_steps=steps,
        n_near_best=near,
        grad_norm=jnp.linalg.norm(grad),
        status=code[best],
    )


@partial(jax.jit, static_argnames=("law", "obj", "config"))
def fit_multistart(
    starts: jax.Array, data: Data, law: Law, obj: Objective, config: FitConfig = FitConfig()
) -> MultiStartResult:
    """Compiled :func:`minimise_starts` for one curve (same shapes never retrace)."""
    return minimise_starts(starts, data, law, obj, config)
