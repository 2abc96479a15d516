"""One short run that measures the accelerator: prints one JSON object.

Three timings, each as a first call (compiling) and a second call on other data of the same
shapes (compiled):

* ``batch_fit`` - ``bs.fit_groups`` over ``--curves`` simulated 30-point Chinchilla curves with
  64 starts each (the 10,000-curve figure of ``bench_batch.py``);
* ``batch_posterior`` - ``bs.posterior_batch`` (engine ``auto``) on a batch fit of
  ``--nuts-curves`` curves (4 x ``--draws`` draws), with the engines used;
* ``batch_nuts`` - ``bs.nuts`` on a batch fit of ``--nuts-curves`` curves (4 chains x
  ``--warmup`` + ``--draws``), with the share of curves whose sampler reported no problem;
* ``bootstrap`` - ``bs.bootstrap`` of the Chinchilla MLE-Huber fit with ``--resamples``
  likelihood refits (the replication's bootstrap).

On a machine without an accelerator it runs on the CPU. ``--reduced`` shrinks every size so
that the script runs in about a minute on 2 CPU cores (a smoke test of the script itself).

Usage::

    python benchmarks/bench_gpu.py                 # 10,000 curves, 1,000 NUTS curves, 4,000
    python benchmarks/bench_gpu.py --reduced       # 200 curves, 8 NUTS curves, 200 resamples
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import numpy as np
import pandas as pd
from _curves import chinchilla_curves, starts_64

import bayescale as bs


def table(n_curves: int, seed: int) -> pd.DataFrame:
    """Simulated 30-point Chinchilla curves as one long table (group ``curve``)."""
    n, d, loss = chinchilla_curves(n_curves, 30, seed)
    return pd.DataFrame(
        {
            "curve": np.repeat(np.arange(n_curves), n.shape[1]),
            "N": n.ravel(),
            "D": d.ravel(),
            "loss": loss.ravel(),
        }
    )


def timed(call: object) -> tuple[object, float]:
    """``(result, seconds)`` of ``call()``, waiting for every device computation."""
    t0 = time.perf_counter()
    out = call()
    jax.effects_barrier()
    return out, round(time.perf_counter() - t0, 2)


def batch_fit(n_curves: int) -> dict:
    """Seconds of ``fit_groups`` over ``n_curves`` curves x 64 starts, first and second call."""
    starts = starts_64()
    out = {"curves": n_curves, "starts": len(starts)}
    for label, seed in (("first_s", 0), ("second_s", 1)):
        res, sec = timed(
            lambda s=seed: bs.fit_groups(
                table(n_curves, s), "chinchilla", group="curve", starts=starts
            )
        )
        out[label] = sec
    out["converged_share"] = float(np.mean(res.table["status"] == "converged"))
    return out


def batch_nuts(n_curves: int, warmup: int, draws: int) -> dict:
    """Seconds of batched NUTS over ``n_curves`` curves, first and second call."""
    cfg = bs.NutsConfig(num_chains=4, num_warmup=warmup, num_samples=draws)
    out = {"curves": n_curves, "chains": 4, "warmup": warmup, "draws": draws}
    for label, seed in (("first_s", 0), ("second_s", 1)):
        fit = bs.fit_groups(
            table(n_curves, seed), "chinchilla", group="curve", loss=bs.Noise("gaussian")
        )
        post, sec = timed(lambda f=fit: bs.nuts(f, cfg))
        out[label] = sec
    t = post.table
    out["sampler_ok_share"] = float(np.mean(t["sampler_status"] == "ok"))
    out["rhat_below_1_01_share"] = float(np.mean(t["max_rhat"] < 1.01))
    out["no_divergence_share"] = float(np.mean(t["divergences"] == 0))
    return out


def batch_posterior(n_curves: int, draws: int) -> dict:
    """Seconds of ``bs.posterior_batch`` (engine ``auto``: importance sampling, NUTS where
    Pareto k > 0.7) over ``n_curves`` curves, first and second call."""
    cfg = bs.NutsConfig(num_chains=4, num_samples=draws)
    out = {"curves": n_curves, "chains": 4, "draws": draws}
    for label, seed in (("first_s", 0), ("second_s", 1)):
        fit = bs.fit_groups(
            table(n_curves, seed), "chinchilla", group="curve", loss=bs.Noise("gaussian")
        )
        post, sec = timed(lambda f=fit: bs.posterior_batch(f, cfg))
        out[label] = sec
    t = post.table
    out["engines"] = {str(k): int(v) for k, v in t["engine"].value_counts().items()}
    out["pareto_k_below_0_7_share"] = float(np.mean(t["pareto_k"] <= 0.7))
    return out


def bootstrap(n_resamples: int) -> dict:
    """Seconds of the Chinchilla MLE-Huber bootstrap, first and second call (other seed)."""
    mle = bs.fit("example:chinchilla", "chinchilla", loss=bs.Noise("huber"), drop_top_losses=5)
    out = {"resamples": n_resamples}
    for label, seed in (("first_s", 0), ("second_s", 1)):
        d, sec = timed(lambda s=seed: bs.bootstrap(mle, n_resamples, seed=s))
        out[label] = sec
    out["n_unconverged"] = int(d.diagnostics["n_unconverged"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reduced", action="store_true", help="small sizes: a smoke test")
    ap.add_argument("--curves", type=int, default=None)
    ap.add_argument("--nuts-curves", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--resamples", type=int, default=None)
    args = ap.parse_args()
    small = args.reduced
    sizes = {
        "curves": args.curves or (200 if small else 10_000),
        "nuts_curves": args.nuts_curves or (8 if small else 1000),
        "warmup": args.warmup or (50 if small else 500),
        "draws": args.draws or (50 if small else 500),
        "resamples": args.resamples or (200 if small else 4000),
    }
    dev = jax.devices()[0]
    report = {
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": getattr(dev, "device_kind", str(dev)),
        "n_devices": jax.device_count(),
        "reduced": small,
        "batch_fit": batch_fit(sizes["curves"]),
        "batch_posterior": batch_posterior(sizes["nuts_curves"], sizes["draws"]),
        "batch_nuts": batch_nuts(sizes["nuts_curves"], sizes["warmup"], sizes["draws"]),
        "bootstrap": bootstrap(sizes["resamples"]),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
