"""One-call uncertainty: bootstrap or NUTS draws attached to a fit.

Both engines produce :class:`Draws` - fit-space parameter vectors with a ``(chain, draw)``
batch shape (a bootstrap is one "chain" of resamples) - so everything downstream (predictive
intervals, compute-optimal allocation, the critique) works on either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from bayescale._jax import enable_x64
from bayescale.api import Fit, to_data
from bayescale.fit.bootstrap import bootstrap_starts, chunked_bootstrap, resample_counts
from bayescale.fit.multistart import CONVERGED, STATUS, FitConfig
from bayescale.laws import get_law, grid_starts, to_natural
from bayescale.likelihood import Noise, extra_names


class Draws(NamedTuple):
    """Parameter draws from the bootstrap or NUTS.

    Attributes
    ----------
    method
        ``"bootstrap"`` or ``"nuts"``.
    theta
        Fit-space draws ``(chain, draw, P)``: the law's parameters, then noise parameters.
    names
        Fit-space names of the ``P`` columns.
    status
        Per-draw status code ``(chain, draw)`` (bootstrap: the refit's
        :data:`~bayescale.fit.multistart.STATUS`; NUTS: 1 for a divergent transition).
    diagnostics
        JSON-ready diagnostics (bootstrap: status counts; NUTS: R-hat, ESS, divergences).
    warnings
        Plain-language warnings (R-hat, ESS, divergences, failed refits).
    settings
        The settings used (JSON-ready).
    seconds
        Wall time, compilation included.
    idata
        arviz ``InferenceData`` for NUTS draws, else ``None``.
    """

    method: str
    theta: np.ndarray
    names: tuple[str, ...]
    status: np.ndarray
    diagnostics: dict
    warnings: tuple[str, ...]
    settings: dict
    seconds: float
    idata: Any = None

    def flat(self) -> np.ndarray:
        """Draws as ``(chain * draw, P)``."""
        return self.theta.reshape(-1, self.theta.shape[-1])


def _require_noise(fit: Fit, what: str) -> Noise:
    if not isinstance(fit.objective, Noise):
        raise ValueError(
            f"{what} needs a fit with a noise model (maximum likelihood with a free scale); this "
            f"fit minimised the {fit.objective.kind} loss. Refit with loss=Noise('huber') "
            "(CLI: --noise huber)"
        )
    return fit.objective


def bootstrap(
    fit: Fit,
    n_resamples: int = 4000,
    *,
    seed: int = 0,
    grid_starts_per_resample: int = 0,
    groups: np.ndarray | None = None,
    chunk: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> Draws:
    """Nonparametric bootstrap of a fit: every resample refitted, in compiled chunks.

    Parameters
    ----------
    fit
        The full-data fit; each resample starts from its optimum (a warm start).
    n_resamples
        Number of resamples.
    seed
        Seed of the resampling (and of the choice of extra grid starts).
    grid_starts_per_resample
        Extra starts per resample, drawn from the law's default grid.
    groups
        Group label per fitted point for a cluster bootstrap (whole runs resampled).
    chunk
        Resamples per compiled call (bounds memory).
    progress
        Called with the number of resamples done after each chunk.

    Returns
    -------
    Draws
        ``theta`` of shape ``(1, n_resamples, P)``.
    """
    t0 = time.perf_counter()
    law = get_law(fit.law)
    n = len(fit.data.loss)
    counts = resample_counts(n, n_resamples, seed, groups)
    extra = None
    if grid_starts_per_resample:
        g = grid_starts(law)
        pick = np.random.default_rng(seed + 1).choice(len(g), grid_starts_per_resample, False)
        extra = g[pick]
        if fit.result.theta.shape[0] > law.n_params:
            extra = np.concatenate(
                [extra, np.repeat(fit.result.theta[None, law.n_params :], len(extra), 0)], 1
            )
    starts = bootstrap_starts(fit.result.theta, extra)
    with enable_x64():
        res = chunked_bootstrap(
            counts, starts, to_data(fit.data), law, fit.objective, FitConfig(), chunk, progress
        )
    status = np.asarray(res.status)
    bad = int(np.sum(status != CONVERGED))
    warnings = ()
    if bad:
        warnings = (
            f"{bad} of {n_resamples} bootstrap refits did not converge "
            f"({', '.join(f'{STATUS[s]}: {int(np.sum(status == s))}' for s in set(status.tolist()) if s != CONVERGED)}); "  # noqa: E501
            "they are kept, flagged in Draws.status",
        )
    return Draws(
        method="bootstrap",
        theta=np.asarray(res.theta)[None],
        names=law.param_names + extra_names(fit.objective),
        status=status[None],
        diagnostics={
            "status_counts": {s: int(np.sum(status == i)) for i, s in enumerate(STATUS)},
            "cluster": groups is not None,
            "n_groups": int(len(np.unique(groups))) if groups is not None else None,
        },
        warnings=warnings,
        settings={
            "n_resamples": int(n_resamples),
            "seed": int(seed),
            "starts_per_resample": int(starts.shape[0]),
            "warm_start": "full-data optimum",
            "objective": {"type": type(fit.objective).__name__, **fit.objective._asdict()},
        },
        seconds=time.perf_counter() - t0,
    )


def nuts(fit: Fit, config: Any = None, priors: dict | None = None) -> Draws:
    """NumPyro NUTS posterior for a fit's law and noise model, started at its optimum.

    Parameters
    ----------
    fit
        A fit with a :class:`~bayescale.likelihood.Noise` objective (its optimum initialises
        the chains and preconditions the mass matrix).
    config
        :class:`~bayescale.infer.nuts.NutsConfig` (chains, warmup, draws, seed, ...).
    priors
        Overrides of the default priors, by fit-space parameter name.

    Returns
    -------
    Draws
        ``theta`` of shape ``(chains, draws, P)`` with the arviz InferenceData attached.
    """
    from bayescale.infer.nuts import NutsConfig, sample_nuts

    noise = _require_noise(fit, "NUTS")
    config = config or NutsConfig()
    law = get_law(fit.law)
    t0 = time.perf_counter()
    with enable_x64():
        res = sample_nuts(
            law,
            to_data(fit.data),
            noise,
            init_theta=fit.result.theta,
            config=config,
            priors=priors,
        )
    labels = law.natural_names + ("sigma",)
    diverging = np.asarray(res.idata.sample_stats["diverging"].values).astype(np.int32)
    return Draws(
        method="nuts",
        theta=np.asarray(res.theta),
        names=tuple(res.names),
        status=diverging,
        diagnostics={
            "rhat": dict(zip(labels, map(float, res.rhat), strict=True)),
            "ess_bulk": dict(zip(labels, map(float, res.ess), strict=True)),
            "divergences": int(res.divergences),
        },
        warnings=tuple(res.warnings),
        settings={**config._asdict(), "noise": noise._asdict(), "priors": priors or "default"},
        seconds=time.perf_counter() - t0,
        idata=res.idata,
    )


def natural_draws(fit: Fit, draws: Draws) -> dict[str, np.ndarray]:
    """Flat natural-space draws by natural name (``sigma`` for the noise scale)."""
    law = get_law(fit.law)
    flat = draws.flat()
    nat = to_natural(law, flat[:, : law.n_params])
    out = {name: nat[:, i] for i, name in enumerate(law.natural_names)}
    if flat.shape[1] > law.n_params:
        out["sigma"] = np.exp(flat[:, law.n_params])
    return out


def summarise(values: np.ndarray) -> dict[str, float]:
    """Mean, sd and 5/50/95% quantiles of a 1-D sample (JSON-ready)."""
    v = np.asarray(values, dtype=np.float64)
    q = np.quantile(v, [0.05, 0.5, 0.95])
    return {
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "q05": float(q[0]),
        "q50": float(q[1]),
        "q95": float(q[2]),
    }


def derived_draws(fit: Fit, draws: Draws) -> dict[str, np.ndarray]:
    """Derived quantities per draw: allocation exponents a, b when the law has alpha, beta."""
    nat = natural_draws(fit, draws)
    out = {}
    if "alpha" in nat and "beta" in nat:
        out["a"] = nat["beta"] / (nat["alpha"] + nat["beta"])
        out["b"] = nat["alpha"] / (nat["alpha"] + nat["beta"])
    return out


def draws_summary(fit: Fit, draws: Draws) -> dict:
    """JSON-ready summary of draws: per parameter and per derived quantity."""
    with enable_x64():
        params = {k: summarise(v) for k, v in natural_draws(fit, draws).items()}
        derived = {k: summarise(v) for k, v in derived_draws(fit, draws).items()}
    return {
        "method": draws.method,
        "n_draws": int(np.prod(draws.theta.shape[:-1])),
        "params": params,
        "derived": derived,
        "diagnostics": draws.diagnostics,
        "warnings": list(draws.warnings),
        "settings": draws.settings,
        "seconds": round(float(draws.seconds), 3),
    }


__all__ = ["Draws", "bootstrap", "derived_draws", "draws_summary", "natural_draws", "nuts"]
