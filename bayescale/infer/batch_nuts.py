"""NUTS over many independent curves at once: ``vmap`` over curves and chains.

Levels, as in :mod:`bayescale.infer.nuts`:

* :func:`run_curves` - the pure core: ``jax.vmap`` over curves of ``jax.vmap`` over chains
  of :func:`bayescale.infer.nuts.run_chain`, the single-curve chain. Every lane (one curve,
  one chain) has its own Laplace whitening at its curve's start, its own step size and its
  own adapted mass matrix; curves never share a trajectory (a plate over curves would make
  adaptation global and let one hard curve degrade all the others).
* :func:`sample_nuts_batch` - the host boundary: checks every curve, leaves out curves that
  cannot be sampled (status 2, with a message), runs the others in fixed-size chunks of
  curves (the last chunk padded with copies, so one shape compiles once) and computes
  per-curve R-hat, ESS and warnings with :func:`bayescale.infer.diagnostics.chain_diagnostics`,
  the messages :func:`~bayescale.infer.nuts.sample_nuts` gives.

Reproducibility. Curve ``i`` of the batch (its index in ``data``) runs the chains of
``sample_nuts(law, curve_i, noise, init_theta=..., config=config._replace(seed=config.seed +
i))``: the same keys, ``split(PRNGKey(config.seed + i), num_chains)``, and the same
computation. Rounding differs slightly (XLA's batched kernels, the padded points), and NUTS
amplifies such differences along a chain, so the draws agree to about 1e-12 over the first
20 iterations and in distribution afterwards. A curve's draws do not depend on which other
curves share its chunk.

Cost. A vmapped ``while_loop`` runs until its slowest lane ends, so every NUTS iteration of a
chunk costs the deepest tree of any of its lanes; hence the default ``max_tree_depth=8``
(at most 255 leapfrog steps) and small chunks on a CPU. On 2 CPU cores (Chinchilla law,
30-point curves, 4 chains x 500 warmup x 500 draws; ``benchmarks/bench_batch_nuts.py``) a
curve took 1.24 s in chunks of 4 curves, 1.35 s in chunks of 16 and 1.96 s in chunks of 64.
On an accelerator, larger chunks should pay (not measured).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.infer.diagnostics import chain_diagnostics, check_config, check_data, check_start
from bayescale.infer.nuts import (
    CHAIN_METHODS,
    PRECONDITIONERS,
    NutsConfig,
    Prior,
    Priors,
    RunSettings,
    default_chain_method,
    resolve_priors,
    run_chain,
)
from bayescale.laws._spec import Law
from bayescale.likelihood import Data, Noise

#: Per-curve status codes.
OK, WARNING, FAILED = 0, 1, 2
#: Default number of curves per compiled call (see the module docstring).
DEFAULT_CHUNK = 16


class BatchNutsResult(NamedTuple):
    """Posterior draws and diagnostics of many curves.

    Attributes
    ----------
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)``: the law's parameters, then
        ``log_sigma``. NaN for curves that were not sampled (status 2 before sampling).
    names
        ``law.param_names + ("log_sigma",)``.
    rhat, ess
        Split R-hat and bulk effective sample size, ``(curve, P + 1)``.
    divergences
        Divergent transitions after warmup per curve, ``(curve,)``.
    status
        Per curve: 0 healthy, 1 warnings (R-hat, ESS, divergences, tree depth, E-BFMI, a
        moved start), 2 not sampled (non-finite start, unusable data) or failed (non-finite
        log density at the start, non-finite draws).
    messages
        Per curve, the plain-language problems joined by ``"; "`` (``""`` when status is 0).
    seconds
        Wall time of sampling, compilation and diagnostics included.
    """

    theta: np.ndarray
    names: tuple[str, ...]
    rhat: np.ndarray
    ess: np.ndarray
    divergences: np.ndarray
    status: np.ndarray
    messages: tuple[str, ...]
    seconds: float


class CurveChains(NamedTuple):
    """Arrays of :func:`run_curves`, each with leading ``(curve, chain)`` axes.

    ``step_size`` is the adapted step size (in the Laplace-whitened space NUTS runs in);
    the other fields are those of :class:`bayescale.infer.nuts.ChainOutput`.
    """

    theta: jax.Array  # (K, C, S, P+1)
    diverging: jax.Array  # (K, C, S)
    num_steps: jax.Array  # (K, C, S)
    energy: jax.Array  # (K, C, S)
    step_size: jax.Array  # (K, C)
    preconditioned: jax.Array  # (K, C)
    init_finite: jax.Array  # (K, C)


def curve_keys(seed: jax.Array, num_chains: int) -> jax.Array:
    """Chain keys of one curve: ``split(PRNGKey(seed), num_chains)``, as in ``sample_nuts``."""
    return jax.random.split(jax.random.PRNGKey(seed), num_chains)


def run_curves(
    seeds: jax.Array,
    theta0: jax.Array,
    data: Data,
    law: Law,
    noise: Noise,
    priors: Priors,
    run: RunSettings,
    num_chains: int,
) -> CurveChains:
    """NUTS chains of every curve (pure; never raises).

    Parameters
    ----------
    seeds
        Integer seed per curve, ``(K,)``; the chain keys are :func:`curve_keys`.
    theta0
        Start per curve in fit space, ``(K, P + 1)``, finite and inside the priors' support.
    data
        Arrays with a leading curve axis: ``x[k]``, ``log_y`` and ``weight`` are ``(K, n)``.
    law, noise, priors, run, num_chains
        Static: the law, the noise density, resolved priors, run settings and chains per
        curve.

    Returns
    -------
    CurveChains
    """

    def one_curve(seed, th0, d):
        keys = curve_keys(seed, num_chains)
        out = jax.vmap(lambda k: run_chain(k, th0, d, law, noise, priors, run))(keys)
        return CurveChains(
            out.theta,
            out.diverging,
            out.num_steps,
            out.energy,
            out.step_size[:, -1],
            out.preconditioned,
            out.init_finite,
        )

    return jax.vmap(one_curve)(seeds, theta0, data)


#: :func:`run_curves` compiled once per chunk shape and static settings.
compiled_run_curves = jax.jit(
    run_curves, static_argnames=("law", "noise", "priors", "run", "num_chains")
)


# ----------------------------------------------------------------------------- host side


def _batch_data(law: Law, data: Data) -> tuple[Data, int]:
    """The law's columns as float64 ``(curve, n)`` arrays; raises on structural problems."""
    if not isinstance(data, Data):
        raise TypeError(f"data must be a bayescale.likelihood.Data, got {type(data).__name__}")
    missing = [k for k in law.inputs if k not in data.x]
    if missing:
        raise ValueError(f"data lacks input columns {missing} that law {law.name!r} needs")
    log_y = np.asarray(data.log_y, dtype=np.float64)
    if log_y.ndim != 2 or 0 in log_y.shape:
        raise ValueError(
            f"sample_nuts_batch needs a leading curve axis: log_y must be (curve, point), got "
            f"shape {log_y.shape}"
        )
    cols = {k: np.asarray(data.x[k], dtype=np.float64) for k in law.inputs}
    cols["weight"] = np.asarray(data.weight, dtype=np.float64)
    bad = [k for k, v in cols.items() if v.shape != log_y.shape]
    if bad:
        raise ValueError(f"data columns {bad} do not match log_y's shape {log_y.shape}")
    weight = cols.pop("weight")
    return Data(cols, log_y, weight), log_y.shape[0]


def _curve(data: Data, i: int | np.ndarray) -> Data:
    return Data({k: v[i] for k, v in data.x.items()}, data.log_y[i], data.weight[i])


def _prepare(
    law: Law, data: Data, init_theta: np.ndarray, prior_t: Priors, n: int
) -> tuple[np.ndarray, list[list[str]], np.ndarray]:
    """Per-curve starts (moved inside the priors), notes, and which curves can be sampled."""
    theta = np.array(init_theta, dtype=np.float64)
    if theta.shape != (n, len(prior_t)):
        raise ValueError(
            f"init_theta must be (curve, parameter) = ({n}, {len(prior_t)}), got {theta.shape}"
        )
    notes: list[list[str]] = [[] for _ in range(n)]
    usable = np.ones(n, dtype=bool)
    for i in range(n):
        try:
            check_data(law, _curve(data, i))
        except ValueError as err:
            notes[i].append(f"not sampled: {err}")
            usable[i] = False
            continue
        if not np.all(np.isfinite(theta[i])):
            notes[i].append(
                f"not sampled: init_theta is not finite ({theta[i].tolist()}); pass this "
                "curve's fit from fit_multistart"
            )
            usable[i] = False
            continue
        theta[i], moved = check_start(theta[i], prior_t)
        notes[i].extend(moved)
    return theta, notes, usable


def _chunks(idx: np.ndarray, size: int) -> list[np.ndarray]:
    """Fixed-size index blocks of ``idx``; the last is padded with copies of its first."""
    out = []
    for lo in range(0, idx.size, size):
        block = idx[lo : lo + size]
        out.append(np.concatenate([block, np.full(size - block.size, block[0])]))
    return out


def sample_nuts_batch(
    law: Law,
    data: Data,
    noise: Noise,
    *,
    init_theta: np.ndarray,
    config: NutsConfig = NutsConfig(max_tree_depth=8),
    priors: Mapping[str, Prior] | None = None,
    chunk_size: int | None = None,
    progress: bool | Callable[[int], object] = False,
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
        sampled (status 2) and does not affect the others.
    config
        Chains, iterations and sampler settings, shared by every curve (``config.seed + i``
        seeds curve ``i``; see the module docstring). ``max_tree_depth`` defaults to 8:
        every iteration of a chunk costs the deepest tree of any of its lanes.
    priors
        Overrides of the default priors, keyed by fit-space name, shared by every curve.
    chunk_size
        Curves per compiled call (default ``min(16, curves to sample)``). Every chunk has
        this size, so batches with the same chunk size, point count and settings reuse one
        compiled sampler.
    progress
        ``True`` prints one line per chunk to standard error; a callable is called with the
        number of curves finished after every chunk (e.g. ``tqdm(...).update``).

    Returns
    -------
    BatchNutsResult

    Raises
    ------
    ValueError
        On sampler settings or priors that :func:`~bayescale.infer.nuts.sample_nuts` rejects,
        data without a ``(curve, point)`` layout or missing columns, an ``init_theta`` of
        the wrong shape, or ``chunk_size < 1``. Problems of single curves (non-finite
        start, no positive weight, non-finite values at weighted points) give status 2.
    """
    check_config(
        noise, config, "fisher", PRECONDITIONERS, "sequential", CHAIN_METHODS,
        default_chain_method,
    )  # fmt: skip
    names = law.param_names + ("log_sigma",)
    prior_t = resolve_priors(law, noise, priors)
    data_np, n = _batch_data(law, data)
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    theta0, notes, usable = _prepare(law, data_np, init_theta, prior_t, n)
    run = RunSettings(
        int(config.num_warmup),
        int(config.num_samples),
        float(config.target_accept),
        int(config.max_tree_depth),
        bool(config.dense_mass),
        "fisher",
    )
    chains, draws, n_par = int(config.num_chains), int(config.num_samples), len(names)
    theta = np.full((n, chains, draws, n_par), np.nan)
    diverging = np.zeros((n, chains, draws), dtype=bool)
    num_steps = np.zeros((n, chains, draws), dtype=np.int64)
    energy = np.full((n, chains, draws), np.nan)
    precond = np.ones((n, chains), dtype=bool)
    init_ok = np.ones((n, chains), dtype=bool)

    start = time.perf_counter()
    todo = np.flatnonzero(usable)
    size = int(chunk_size) if chunk_size is not None else min(DEFAULT_CHUNK, max(1, todo.size))
    blocks = _chunks(todo, size) if todo.size else []
    with enable_x64():
        for b, idx in enumerate(blocks):
            block = jax.tree_util.tree_map(lambda a, i=idx: jnp.asarray(a[i]), data_np)
            seeds = jnp.asarray(int(config.seed) + idx, dtype=jnp.int64)
            out = compiled_run_curves(
                seeds, jnp.asarray(theta0[idx]), block, law=law, noise=noise, priors=prior_t,
                run=run, num_chains=chains,
            )  # fmt: skip
            out = jax.tree_util.tree_map(np.asarray, jax.block_until_ready(out))
            real = min(size, todo.size - b * size)
            keep, rows = idx[:real], slice(0, real)
            theta[keep] = out.theta[rows]
            diverging[keep] = out.diverging[rows]
            num_steps[keep] = out.num_steps[rows]
            energy[keep] = out.energy[rows]
            precond[keep] = out.preconditioned[rows]
            init_ok[keep] = out.init_finite[rows]
            if callable(progress):
                progress(real)
            elif progress:
                print(
                    f"sample_nuts_batch: chunk {b + 1}/{len(blocks)}, "
                    f"{min((b + 1) * size, todo.size)}/{todo.size} curves, "
                    f"{time.perf_counter() - start:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )

    rhat = np.full((n, n_par), np.nan)
    ess = np.full((n, n_par), np.nan)
    status = np.where(usable, OK, FAILED).astype(np.int64)
    for i in todo:
        per = _CurveOut(theta[i], diverging[i], num_steps[i], energy[i])
        rhat[i], ess[i], msgs = chain_diagnostics(per, names, run.max_tree_depth)
        if not np.all(precond[i]):
            notes[i].append(
                "the posterior curvature at init_theta is not positive definite, so NUTS "
                "started from a unit mass matrix; the parameters may be poorly identified"
            )
        failed = []
        if not np.all(init_ok[i]):
            failed.append(
                "the log density is not finite at init_theta; pass a fit from fit_multistart"
            )
        if not np.all(np.isfinite(theta[i])):
            failed.append("sampling failed: some draws are not finite")
        notes[i].extend(failed + msgs)
        status[i] = FAILED if failed else (WARNING if notes[i] else OK)
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


class _CurveOut(NamedTuple):
    """The fields of one curve that :func:`chain_diagnostics` reads."""

    theta: np.ndarray
    diverging: np.ndarray
    num_steps: np.ndarray
    energy: np.ndarray


__all__ = [
    "FAILED",
    "OK",
    "WARNING",
    "BatchNutsResult",
    "CurveChains",
    "compiled_run_curves",
    "curve_keys",
    "run_curves",
    "sample_nuts_batch",
]
