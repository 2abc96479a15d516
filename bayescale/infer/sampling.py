"""The host boundary of NUTS: one curve (:func:`sample_nuts`) or many (:func:`sample_nuts_batch`).

Both check their inputs (``ValueError`` before any compute), build the static
:class:`~bayescale.infer.types.RunSettings` with :func:`run_settings`, run the compiled core of
:mod:`bayescale.infer.chains` in float64, and turn the chains into R-hat, ESS and
plain-language warnings with :func:`bayescale.infer.diagnostics.chain_diagnostics`, adding the
same notes about the start (:func:`start_notes`).

Many curves. Every curve has its own chains, Laplace whitening, step size and mass matrix
(curves never share a trajectory: a plate over curves would make adaptation global and let
one hard curve degrade the others). Curves run in fixed-size chunks through the one host
runner, :func:`bayescale.lanes.run_in_chunks`. Curve ``i`` runs the chains of
``sample_nuts(law, curve_i, noise, init_theta=..., config=config._replace(seed=seeds[i]))``:
the same keys, ``split(PRNGKey(seeds[i]), num_chains)``, and the same computation. Rounding
differs slightly (XLA's batched kernels, the padded points), and NUTS amplifies such
differences along a chain, so the draws agree to about 1e-12 over the first 20 iterations and
in distribution afterwards. A curve's draws do not depend on which other curves share its
chunk.

Cost. A vmapped ``while_loop`` runs until its slowest lane ends, so every NUTS iteration of a
chunk costs the deepest tree of any of its lanes; hence the default ``max_tree_depth=8``
(at most 255 leapfrog steps) and small chunks on a CPU. On 2 CPU cores (Chinchilla law,
30-point curves, 4 chains x 500 warmup x 500 draws; ``benchmarks/bench_batch_nuts.py``) a
curve took 1.24 s in chunks of 4 curves, 1.35 s in chunks of 16 and 1.96 s in chunks of 64.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import x64
from bayescale._progress import reporter, scan_reporter
from bayescale.infer.chains import PROGRESS_EVERY, compiled_run_curves, run_chains
from bayescale.infer.diagnostics import chain_diagnostics
from bayescale.infer.idata import to_inferencedata
from bayescale.infer.model import Prior, resolve_priors
from bayescale.infer.types import BatchNutsResult, NutsConfig, NutsResult, RunSettings
from bayescale.infer.validate import check_config, check_data, check_start, curve_problem
from bayescale.lanes import curve_mesh, run_in_chunks
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Noise, fit_names, natural_names
from bayescale.status import SAMPLER_FAILED, SAMPLER_OK, SAMPLER_WARNING

#: Default number of curves per compiled call of :func:`sample_nuts_batch`.
DEFAULT_CHUNK = 16
#: Where NUTS can run: numpyro's unconstrained space or the fit-space parameters.
SPACES = ("unconstrained", "fit")
NOT_POSITIVE_DEFINITE = (
    "the posterior curvature at init_theta is not positive definite, so NUTS started from a "
    "unit mass matrix; the parameters may be poorly identified by these data"
)
NOT_FINITE_START = "the log density is not finite at init_theta; pass a fit from fit_multistart"


def run_settings(
    config: NutsConfig, precondition: str, progress: bool, space: str = "unconstrained"
) -> RunSettings:
    """The static settings of the compiled samplers from a config (``space``: see
    :mod:`bayescale.infer.chains`)."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    return RunSettings(
        int(config.num_warmup),
        int(config.num_samples),
        float(config.target_accept),
        int(config.max_tree_depth),
        bool(config.dense_mass),
        precondition,
        PROGRESS_EVERY if progress else 0,
        space,
    )


def start_notes(preconditioned: np.ndarray, init_finite: np.ndarray, precondition: str) -> tuple:
    """Warnings about a curve's start: ``(notes, failures)``, each a list of sentences."""
    notes = [] if precondition == "none" or np.all(preconditioned) else [NOT_POSITIVE_DEFINITE]
    failed = [] if np.all(init_finite) else [NOT_FINITE_START]
    return notes, failed


@x64
def sample_nuts(
    law: Law,
    data: Data,
    noise: Noise,
    *,
    init_theta: np.ndarray,
    config: NutsConfig = NutsConfig(),
    priors: Mapping[str, Prior] | None = None,
    precondition: str = "fisher",
    chain_method: str | None = None,
    progress: bool | Callable[[int], object] = False,
) -> NutsResult:
    """Sample the posterior of ``law``'s parameters and the noise scale with NUTS.

    Parameters
    ----------
    law
        The scaling law.
    data
        One curve (no batch axis); converted to float64.
    noise
        The noise density (:class:`~bayescale.likelihood.Noise`); adds ``log_sigma``.
    init_theta
        Start in fit space, ``(P + 1,)``: the law's parameters then ``log_sigma`` - normally
        a maximum-likelihood fit from :func:`~bayescale.optimize.multistart.fit_multistart`.
    config
        Chains, iterations and sampler settings.
    priors
        Overrides of the default priors, keyed by fit-space name (``"log_sigma"`` included).
    precondition
        Initial inverse mass matrix: ``"fisher"``, ``"hessian"`` or ``"none"`` (see
        :mod:`bayescale.infer.chains`).
    chain_method
        ``"parallel"``, ``"vectorized"`` or ``"sequential"``; default
        :func:`~bayescale.infer.validate.default_chain_method`.
    progress
        ``True`` for a progress bar over iterations (all chains), or a callable given the
        iterations done. The compiled scan reports to the host every
        :data:`~bayescale.infer.chains.PROGRESS_EVERY` iterations through
        ``jax.debug.callback``; turning it on compiles a second sampler, with the same draws.

    Returns
    -------
    NutsResult

    Raises
    ------
    ValueError
        On an unknown noise kind, ``num_chains``/``num_samples``/``num_warmup`` out of range,
        an ``init_theta`` of the wrong length or non-finite, missing or ragged data columns, a
        malformed prior or an unknown ``precondition``/``chain_method``.
    """
    method = check_config(noise, config, precondition, chain_method)
    names = fit_names(law, noise)
    prior_t = resolve_priors(law, noise, priors)
    theta0, notes = check_start(init_theta, prior_t)
    data_np = check_data(law, data)
    run = run_settings(config, precondition, bool(progress))
    total = int(config.num_chains) * (run.num_warmup + run.num_samples)
    with reporter(progress, total, "nuts") as update, scan_reporter(update):
        data64 = jax.tree.map(jnp.asarray, data_np)
        keys = jax.random.split(jax.random.PRNGKey(int(config.seed)), int(config.num_chains))
        start = time.perf_counter()
        out = run_chains(keys, jnp.asarray(theta0), data64, law, noise, prior_t, run, method)
        out = jax.tree.map(np.asarray, jax.block_until_ready(out))
        seconds = time.perf_counter() - start
    more, failed = start_notes(out.preconditioned, out.init_finite, precondition)
    # Messages name parameters as users see them (sigma, A); rank-based R-hat and ESS are the
    # same in fit space.
    labels = natural_names(law, noise)
    rhat, ess, messages = chain_diagnostics(out, labels, config.max_tree_depth)
    idata = to_inferencedata(out, law, data_np, noise, method, seconds)
    return NutsResult(
        theta=out.theta,
        names=names,
        idata=idata,
        rhat=rhat,
        ess=ess,
        divergences=int(np.sum(out.diverging)),
        warnings=tuple(notes + more + failed + messages),
        seconds=seconds,
    )


class _CurveOut(NamedTuple):
    """The fields of one curve that :func:`chain_diagnostics` reads."""

    theta: np.ndarray
    diverging: np.ndarray
    num_steps: np.ndarray
    energy: np.ndarray


def batch_starts(theta: np.ndarray, prior_t: tuple, data: Data) -> tuple:
    """Per-curve starts (moved inside the priors), notes, and which curves can be sampled.

    Parameters
    ----------
    theta
        Starts ``(curve, P + 1)`` in fit space (changed in place).
    prior_t
        Resolved priors (:func:`~bayescale.infer.model.resolve_priors`).
    data
        Host arrays with a leading curve axis.

    Returns
    -------
    tuple
        ``(theta, notes, usable)``: the starts, a list of notes per curve, and a boolean mask
        of the curves that can be sampled (usable data, finite start).
    """
    n = data.log_y.shape[0]
    if theta.shape != (n, len(prior_t)):
        raise ValueError(
            f"init_theta must be (curve, parameter) = ({n}, {len(prior_t)}), got {theta.shape}"
        )
    notes: list[list[str]] = [[] for _ in range(n)]
    usable = np.ones(n, dtype=bool)
    for i in range(n):
        curve = Data({k: v[i] for k, v in data.x.items()}, data.log_y[i], data.weight[i])
        problem = curve_problem(curve)
        if not problem and not np.all(np.isfinite(theta[i])):
            problem = (
                f"init_theta is not finite ({theta[i].tolist()}); pass this curve's fit from "
                "fit_multistart"
            )
        if problem:
            notes[i].append(f"not sampled: {problem}")
            usable[i] = False
            continue
        theta[i], moved = check_start(theta[i], prior_t)
        notes[i].extend(moved)
    return theta, notes, usable


@x64
def sample_nuts_batch(
    law: Law,
    data: Data,
    noise: Noise,
    *,
    init_theta: np.ndarray,
    config: NutsConfig = NutsConfig(max_tree_depth=8),
    priors: Mapping[str, Prior] | None = None,
    seeds: np.ndarray | None = None,
    chunk_size: int | None = None,
    progress: bool | Callable[[int], object] = False,
    space: str = "unconstrained",
) -> BatchNutsResult:
    """Sample the posterior of every curve with its own NUTS chains, vectorised over curves.

    Parameters
    ----------
    law
        The scaling law.
    data
        Curves padded to a common length: ``x[k]``, ``log_y`` and ``weight`` are
        ``(curve, n)``, weight 0 marking padding.
    noise
        The noise density; adds ``log_sigma``.
    init_theta
        Start per curve in fit space, ``(curve, P + 1)`` - normally each curve's
        maximum-likelihood fit under ``noise``. A curve with a non-finite start is not
        sampled (``SAMPLER_FAILED``) and does not affect the others.
    config
        Chains, iterations and sampler settings, shared by every curve. ``max_tree_depth``
        defaults to 8: every iteration of a chunk costs the deepest tree of any of its lanes.
    priors
        Overrides of the default priors, keyed by fit-space name, shared by every curve.
    seeds
        Seed per curve, ``(curve,)`` integers (default ``config.seed + i`` for curve ``i``).
        :func:`bayescale.sample_nuts` with ``config._replace(seed=seeds[i])`` runs curve
        ``i``'s chains; key seeds by a curve's identity so that other curves never change
        its draws.
    chunk_size
        Curves per compiled call (default ``min(16, curves to sample)``). Every chunk has
        this size, so batches with the same chunk size, point count and settings reuse one
        compiled sampler.
    progress
        ``True`` for a bar over curves, or a callable given the curves finished per chunk.
    space
        ``"unconstrained"`` (numpyro's space, as :func:`sample_nuts`) or ``"fit"`` (the
        fit-space parameters: straighter ridges for laws with ``Uniform`` priors; see
        :mod:`bayescale.infer.chains`).

    Returns
    -------
    BatchNutsResult

    Raises
    ------
    ValueError
        On sampler settings or priors that :func:`sample_nuts` rejects, data without a
        ``(curve, point)`` layout or missing columns, an ``init_theta`` or ``seeds`` of the
        wrong shape, or ``chunk_size < 1``. Problems of single curves (non-finite start, no
        positive weight, non-finite values at weighted points) give ``SAMPLER_FAILED``.
    """
    check_config(noise, config)
    names, labels = fit_names(law, noise), natural_names(law, noise)
    prior_t = resolve_priors(law, noise, priors)
    data_np = check_data(law, data, batch=True)
    n = data_np.log_y.shape[0]
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    seeds = int(config.seed) + np.arange(n) if seeds is None else np.asarray(seeds)
    if seeds.shape != (n,) or not np.issubdtype(seeds.dtype, np.integer):
        raise ValueError(f"seeds must be ({n},) integers, one per curve; got {seeds.shape}")
    theta0, notes, usable = batch_starts(np.array(init_theta, dtype=np.float64), prior_t, data_np)
    run = run_settings(config, "fisher", False, space)
    chains, draws, n_par = int(config.num_chains), int(config.num_samples), len(names)
    theta = np.full((n, chains, draws, n_par), np.nan)
    diverging = np.zeros((n, chains, draws), dtype=bool)
    num_steps = np.zeros((n, chains, draws), dtype=np.int64)
    energy = np.full((n, chains, draws), np.nan)
    precond = np.ones((n, chains), dtype=bool)
    init_ok = np.ones((n, chains), dtype=bool)

    start = time.perf_counter()
    todo = np.flatnonzero(usable)
    if todo.size:
        size = int(chunk_size) if chunk_size is not None else min(DEFAULT_CHUNK, todo.size)
        sub = Data({k: v[todo] for k, v in data_np.x.items()}, data_np.log_y[todo],
                   data_np.weight[todo])  # fmt: skip
        lane_data = (seeds[todo].astype(np.int64), theta0[todo], sub)

        def call(block: tuple, _: object) -> object:
            s, th0, d = block
            return compiled_run_curves(
                jnp.asarray(s), jnp.asarray(th0), jax.tree.map(jnp.asarray, d), law=law,
                noise=noise, priors=prior_t, run=run, num_chains=chains,
            )  # fmt: skip

        with reporter(progress, todo.size, "nuts", "curve") as update:
            out = run_in_chunks(
                call, lane_data, lanes=size, mesh=curve_mesh(jax.local_devices()[:1]),
                progress=update,
            )  # fmt: skip
        theta[todo], diverging[todo], num_steps[todo] = out.theta, out.diverging, out.num_steps
        energy[todo], precond[todo], init_ok[todo] = (
            out.energy, out.preconditioned, out.init_finite,
        )  # fmt: skip

    rhat = np.full((n, n_par), np.nan)
    ess = np.full((n, n_par), np.nan)
    status = np.where(usable, SAMPLER_OK, SAMPLER_FAILED).astype(np.int64)
    for i in todo:
        per = _CurveOut(theta[i], diverging[i], num_steps[i], energy[i])
        rhat[i], ess[i], msgs = chain_diagnostics(per, labels, run.max_tree_depth)
        more, failed = start_notes(precond[i], init_ok[i], "fisher")
        if not np.all(np.isfinite(theta[i])):
            failed.append("sampling failed: some draws are not finite")
        notes[i].extend(more + failed + msgs)
        status[i] = SAMPLER_FAILED if failed else (SAMPLER_WARNING if notes[i] else SAMPLER_OK)
    return BatchNutsResult(
        theta=theta,
        names=names,
        rhat=rhat,
        ess=ess,
        divergences=diverging.sum(axis=(1, 2)).astype(np.int64),
        status=status,
        messages=tuple("; ".join(m) for m in notes),
        seconds=time.perf_counter() - start,
    )
