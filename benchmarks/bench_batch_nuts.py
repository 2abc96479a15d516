"""A posterior per Chinchilla curve, batched, by engine: time, diagnostics, coverage of the truth.

Engines (``--engine``; :func:`bayescale.infer.engines.sample_posterior_batch`):

* ``auto`` (the default, and ``bayescale fit --group COL --method auto``): Laplace + adaptive
  importance sampling with Pareto-smoothed weights for every curve, NUTS in fit space for the
  curves whose Pareto k exceeds 0.7;
* ``laplace``: the importance sampler alone;
* ``nuts``: batched NUTS alone (``sample_nuts_batch``), in numpyro's unconstrained space (as
  ``--method nuts``) or, with ``--space fit``, on the fit-space parameters;
* ``all``: laplace, auto and nuts in turn.

For each: wall and CPU seconds (``time.process_time()``, all threads), seconds per curve, the
share of curves that pass their engine's diagnostics (Pareto k <= 0.7; or R-hat < 1.01 and no
divergence), how often the 90% intervals cover the true alpha and beta, and the worst
parameter's ESS per second (for importance sampling, the smoothed weights' ESS).

Curves: ``--points`` points each; N log-uniform on [7e7, 1.6e10], tokens per parameter
log-uniform on [1, 300]; per-curve parameters jittered around E=1.69, A=406.4, B=410.7,
alpha=0.34, beta=0.28; multiplicative log-normal noise with sigma in [0.01, 0.02]
(``_curves.chinchilla_curves_with_truth``, which also returns the truth). Starts: each curve's
maximum-likelihood fit under Gaussian noise (``fit_bucket``: a ``vmap`` over curves of the
multi-start core, 64 Hoffmann-grid starts plus a ``log_sigma`` column). The engine's sampler is
compiled ahead on one chunk's arguments; the NUTS fallback of ``auto`` (its curve count is not
known ahead) compiles inside the timed run.

Usage::

    python benchmarks/bench_batch_nuts.py --curves 1000                 # auto: ~1.5 min here
    python benchmarks/bench_batch_nuts.py --curves 64 --engine all
    python benchmarks/bench_batch_nuts.py --curves 64 --engine nuts --space fit

Measured on 2 CPU cores shared with other jobs (load average 3-6), 1,000 curves, 4 x 500 draws
per curve (``benchmarks/README.md`` has the tables):

* ``auto``: 997 curves by importance sampling (all with k <= 0.7), 3 by NUTS (none passed);
  99.7% of curves pass their diagnostics; 90% intervals cover alpha on 88.8% and beta on
  88.3% of curves; 64.2 s wall, 55.4 CPU-s (0.064 s/curve; 0.101 s/curve with the ML fits
  and compilation), 8,510 ESS/s;
* ``laplace``: 35.9 s wall, 18.0 CPU-s (0.036 s/curve), 99.7% with k <= 0.7, same coverage;
* ``nuts`` as ``--method nuts`` ran 1.50 s/curve (25 min for 1,000 curves) with R-hat < 1.01
  on 22% of curves and divergences on 93% (earlier session).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from _curves import chinchilla_curves_with_truth, starts_64

from bayescale import enable_x64
from bayescale.infer import NutsConfig
from bayescale.infer.chains import compiled_run_curves
from bayescale.infer.engines import sample_posterior_batch
from bayescale.infer.importance import compiled_importance_curves
from bayescale.infer.model import resolve_priors
from bayescale.infer.psis import DEFAULT_CHUNK as IS_CHUNK
from bayescale.infer.psis import PARETO_K_MAX
from bayescale.infer.sampling import DEFAULT_CHUNK, sample_nuts_batch
from bayescale.infer.types import BatchPosteriorResult, ImportanceConfig, RunSettings
from bayescale.lanes import lanes_for
from bayescale.laws import get_law
from bayescale.likelihood import Data, Noise
from bayescale.optimize.multistart import FitConfig
from bayescale.status import ENGINE_LAPLACE_PSIS, ENGINE_NUTS
from bayescale.workflows.fitting import fit_bucket


def simulate(n_curves: int, n_points: int, seed: int = 0) -> tuple[Data, np.ndarray]:
    """``n_curves`` jittered Chinchilla curves as ``(curve, point)`` arrays, and the true
    fit-space parameters ``(curve, 6)``."""
    n, d, loss, truth = chinchilla_curves_with_truth(n_curves, n_points, seed)
    return Data({"N": n, "D": d}, np.log(loss), np.ones(loss.shape)), truth


def fit_inits(data: Data, noise: Noise) -> tuple[np.ndarray, float]:
    """Per-curve maximum-likelihood fits (fit space + log_sigma) and the seconds they took."""
    law = get_law("chinchilla")
    grid = starts_64()
    starts = np.concatenate([grid, np.full((len(grid), 1), math.log(0.015))], axis=1)
    t = time.perf_counter()
    with enable_x64():
        res = fit_bucket(starts, data, law, noise, FitConfig(polish=4, max_steps=300), 256)
    return np.asarray(res.theta), time.perf_counter() - t


def compile_ahead(engine: str, args: argparse.Namespace, data: Data, init: np.ndarray) -> float:
    """Compile the engine's sampler on one chunk's arguments (what the run passes); seconds."""
    law, noise = get_law("chinchilla"), Noise("gaussian")
    priors = resolve_priors(law, noise)
    t = time.perf_counter()
    with enable_x64():
        if engine == "nuts":
            chunk = args.chunk_size or min(DEFAULT_CHUNK, args.curves)
            run = RunSettings(
                args.warmup, args.draws, args.target_accept, args.max_tree_depth, True,
                "fisher", 0, args.space,
            )  # fmt: skip
            block = jax.tree_util.tree_map(lambda a: jnp.asarray(a[:chunk]), data)
            compiled_run_curves.lower(
                jnp.arange(chunk, dtype=jnp.int64), jnp.asarray(init[:chunk]), block, law=law,
                noise=noise, priors=priors, run=run, num_chains=args.chains,
            ).compile()  # fmt: skip
        else:
            chunk = lanes_for(args.curves, args.chunk_size or IS_CHUNK)
            idx = np.arange(chunk) % args.curves
            block = jax.tree_util.tree_map(lambda a: jnp.asarray(a[idx]), data)
            compiled_importance_curves.lower(
                jnp.arange(chunk, dtype=jnp.int64), jnp.asarray(init[idx]), block, law=law,
                noise=noise, priors=priors, config=ImportanceConfig(),
            ).compile()  # fmt: skip
    return time.perf_counter() - t


def report(engine: str, args: argparse.Namespace, res: object, truth: np.ndarray, wall: float,
           cpu: float, compile_s: float, fit_s: float) -> None:  # fmt: skip
    """Print time, diagnostics and coverage of one engine's run."""
    n = args.curves
    used = np.asarray(res.engine)
    max_rhat = np.max(np.where(np.isfinite(res.rhat), res.rhat, -np.inf), axis=1)
    min_ess = np.nanmin(res.ess, axis=1)
    psis, nuts = used == ENGINE_LAPLACE_PSIS, used == ENGINE_NUTS
    passed = (psis & (res.pareto_k <= PARETO_K_MAX)) | (
        nuts & (max_rhat < 1.01) & (res.divergences == 0)
    )
    draws = res.theta.reshape(n, -1, res.theta.shape[-1])
    lo, hi = np.nanquantile(draws, [0.05, 0.95], axis=1)
    cover = {
        name: np.mean((lo[:, j] <= truth[:, j]) & (truth[:, j] <= hi[:, j]))
        for j, name in ((3, "alpha"), (4, "beta"))
    }
    ok = np.isfinite(min_ess)
    print(f"--- engine {engine}: {psis.sum()} curves by laplace_psis, {nuts.sum()} by nuts")
    print(
        f"run: {wall:.1f} s wall, {cpu:.1f} s CPU (all threads) for {n} curves: "
        f"{wall / n:.3f} s/curve wall, {cpu / n:.3f} s/curve CPU; compiled ahead in "
        f"{compile_s:.1f} s; with the ML fits ({fit_s:.1f} s) and compilation: "
        f"{(wall + compile_s + fit_s) / n:.3f} s/curve"
    )
    print(
        f"diagnostics passed (k <= {PARETO_K_MAX}, or R-hat < 1.01 and no divergence): "
        f"{passed.mean():.1%} of curves; laplace_psis: k <= 0.7 on "
        f"{np.mean(res.pareto_k[psis] <= PARETO_K_MAX) if psis.any() else np.nan:.1%}; nuts: "
        f"R-hat < 1.01 {np.mean(max_rhat[nuts] < 1.01) if nuts.any() else np.nan:.0%}, no "
        f"divergence {np.mean(res.divergences[nuts] == 0) if nuts.any() else np.nan:.0%}"
    )
    print(
        f"90% intervals cover the true alpha on {cover['alpha']:.1%} and beta on "
        f"{cover['beta']:.1%} of curves"
    )
    print(
        f"ESS (worst parameter; importance sampling: of the smoothed weights): median "
        f"{np.median(min_ess[ok]):.0f} (p10 {np.percentile(min_ess[ok], 10):.0f}); "
        f"{np.sum(min_ess[ok]) / wall:.0f} ESS/s over all curves"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--curves", type=int, default=64)
    ap.add_argument("--points", type=int, default=30)
    ap.add_argument("--engine", choices=["auto", "laplace", "nuts", "all"], default="auto",
                    help="auto: importance sampling, NUTS where Pareto k > 0.7; laplace: "
                    "importance sampling alone; nuts: NUTS alone (see --space)")  # fmt: skip
    ap.add_argument(
        "--space",
        choices=["unconstrained", "fit"],
        default="unconstrained",
        help="where --engine nuts runs (auto's fallback always runs in fit space)",
    )
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--max-tree-depth", type=int, default=8)
    ap.add_argument("--target-accept", type=float, default=0.9)
    ap.add_argument("--chunk-size", type=int, default=None, help="default: the library's")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} on "
        f"{jax.devices()[0].platform} x{len(jax.devices())}; load average "
        f"{os.getloadavg()[0]:.1f} at the start"
    )
    law, noise = get_law("chinchilla"), Noise("gaussian")
    data, truth = simulate(args.curves, args.points, args.seed)
    init, fit_s = fit_inits(data, noise)
    print(f"init: {args.curves} ML fits (64 starts each) in {fit_s:.1f} s, compile included")
    cfg = NutsConfig(
        num_chains=args.chains,
        num_warmup=args.warmup,
        num_samples=args.draws,
        max_tree_depth=args.max_tree_depth,
        target_accept=args.target_accept,
        seed=args.seed,
    )
    print(
        f"{args.curves} curves x {args.points} points, draws per curve {args.chains} x "
        f"{args.draws}; NUTS: {args.warmup} warmup, max_tree_depth {args.max_tree_depth}, "
        f"target_accept {args.target_accept}; importance sampling: {ImportanceConfig()}"
    )
    engines = ["laplace", "auto", "nuts"] if args.engine == "all" else [args.engine]
    for engine in engines:
        compile_s = compile_ahead(engine, args, data, init)
        wall, cpu = time.perf_counter(), time.process_time()
        if engine == "nuts":
            res = sample_nuts_batch(
                law, data, noise, init_theta=init, config=cfg, chunk_size=args.chunk_size,
                progress=True, space=args.space,
            )  # fmt: skip
            drawn = np.any(np.isfinite(res.theta), axis=(1, 2, 3))
            res = BatchPosteriorResult(
                res.theta, res.names, np.where(drawn, ENGINE_NUTS, "none"),
                np.full(args.curves, np.nan), res.rhat, res.ess, res.divergences, res.status,
                res.messages, res.seconds,
            )  # fmt: skip
        else:
            res = sample_posterior_batch(
                law, data, noise, init_theta=init, config=cfg, engine=engine,
                chunk_size=args.chunk_size, progress=True,
            )  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        report(engine, args, res, truth, wall, cpu, compile_s, fit_s)


if __name__ == "__main__":
    main()
