"""The records: what a fit, a batch fit and their draws hold (plain values and arrays).

Records are data. Each holds the :class:`~bayescale.laws.Law` itself (so an unregistered law
made with :func:`~bayescale.laws.make_law` works end to end), the objective, the settings,
the arrays, and its status. What is *said* about a record - JSON summaries, per-curve tables,
allocations, critiques - is computed by functions: the light ones here
(:func:`fit_summary`, :func:`draws_summary`, :func:`natural_draws`, :func:`derived_draws`),
the others in :mod:`bayescale.results.summaries`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.groups import Curves
from bayescale.data.preparation import Prepared
from bayescale.laws.spec import Law, derived_values, to_natural
from bayescale.likelihood import Loss, Noise, fit_names, natural_names, params
from bayescale.optimize.multistart import FitConfig, MultiStartResult
from bayescale.predict.posterior import summarise
from bayescale.status import CONVERGED, counts, message_of, name_of


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
        Per-draw status code ``(chain, draw)`` (bootstrap: the refit's code from
        :mod:`bayescale.status`; NUTS: 1 for a divergent transition).
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


class Fit(NamedTuple):
    """A fitted law and how it was obtained (plain values and numpy arrays).

    Attributes
    ----------
    law
        The :class:`~bayescale.laws.Law` fitted.
    objective
        The :class:`~bayescale.likelihood.Loss` or :class:`~bayescale.likelihood.Noise` minimised.
    data
        The prepared data (arrays, column provenance, filters).
    starts
        Description of the starts: ``{"kind": "grid", "name": ..., "n": ...}``,
        ``{"kind": "random", "n": ..., "seed": ...}`` or ``{"kind": "array", "n": ...}``.
    config
        Optimiser settings.
    result
        :class:`~bayescale.optimize.multistart.MultiStartResult` with numpy arrays.
    seconds
        Wall time of the fit, compilation included.
    draws
        :class:`Draws` from the bootstrap or NUTS, or ``None``.
    """

    law: Law
    objective: Loss | Noise
    data: Prepared
    starts: dict
    config: FitConfig
    result: MultiStartResult
    seconds: float
    draws: Draws | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Natural parameter names (``sigma`` last for a noise model)."""
        return natural_names(self.law, self.objective)

    @property
    def params(self) -> dict[str, float]:
        """Best parameters in natural space, by natural name."""
        return dict(zip(self.names, map(float, self.result.params), strict=True))

    @property
    def theta(self) -> dict[str, float]:
        """Best parameters in fit space, by fit-space name (``log_sigma`` for a noise model)."""
        names = fit_names(self.law, self.objective)
        return dict(zip(names, map(float, self.result.theta), strict=True))

    @property
    def status(self) -> str:
        """Status name of the best start (see :mod:`bayescale.status`)."""
        return name_of(self.result.status)

    @property
    def message(self) -> str:
        """One sentence on how the fit ended."""
        return message_of(self.result.status)

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``--json`` output); see :func:`fit_summary`."""
        return fit_summary(self)


class BucketInfo(NamedTuple):
    """How one shape bucket of a batch was run.

    Attributes
    ----------
    length
        Padded points per curve.
    n_curves
        Curves fitted in the bucket.
    lanes
        Curves per compiled call (the compiled shape; the last chunk is padded to it).
    n_chunks
        Compiled calls made.
    """

    length: int
    n_curves: int
    lanes: int
    n_chunks: int


class BatchFit(NamedTuple):
    """Fits of many curves (plain values, numpy arrays and a DataFrame).

    Attributes
    ----------
    table
        One row per curve: group keys, ``n_points``, natural parameters (``sigma`` for a noise
        model), ``objective``, ``status`` (a name from :data:`bayescale.status.NAMES`),
        ``message``, ``n_near_best``, ``grad_norm``. Parameters are NaN for curves that were
        not fitted or whose fit ended non-finite.
    theta
        Best parameters in fit space, ``(n_curves, P)``.
    result
        :class:`~bayescale.optimize.multistart.MultiStartResult` with a leading curve axis.
        Curves that were not fitted hold NaN parameters and objectives, 0 steps, and their
        status code in ``status`` and ``start_status``.
    law
        The law fitted.
    objective
        The :class:`~bayescale.likelihood.Loss` or :class:`~bayescale.likelihood.Noise`.
    starts
        Description of the starts (as in :class:`Fit`), with ``"n"``.
    config
        Optimiser settings.
    buckets
        One :class:`BucketInfo` per shape bucket; each distinct ``(length, lanes)`` compiled
        once (unless already compiled earlier in the process).
    seconds
        Wall time, compilation included.
    curves
        The split table (:class:`~bayescale.data.groups.Curves`): keys, row-to-curve map,
        per-curve filters, validation record.
    """

    table: pd.DataFrame
    theta: np.ndarray
    result: MultiStartResult
    law: Law
    objective: Loss | Noise
    starts: dict
    config: FitConfig
    buckets: tuple[BucketInfo, ...]
    seconds: float
    curves: Curves

    @property
    def n_compiled_shapes(self) -> int:
        """Number of distinct compiled chunk shapes this fit used."""
        return len({(b.length, b.lanes) for b in self.buckets})


class BatchDraws(NamedTuple):
    """Bootstrap or posterior draws of many curves.

    Attributes
    ----------
    table
        One row per curve: the group keys, ``n_points``, ``status`` and ``message`` (the fit's
        and the sampler's), the maximum-likelihood natural parameters, then for every natural
        parameter ``<name>_mean``, ``_sd``, ``_q05``, ``_q50``, ``_q95``, and diagnostics:
        ``converged_frac`` (bootstrap: share of resamples whose refit converged) or
        ``sampler_status`` (``ok``, ``warning``, ``failed``, ``not_sampled``), ``max_rhat``,
        ``min_ess``, ``divergences`` (NUTS). ``status`` is the maximum-likelihood fit's.
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)`` (the bootstrap has one "chain");
        NaN for curves that were not sampled.
    names
        Fit-space names of the last axis of ``theta``.
    method
        ``"bootstrap"`` or ``"nuts"``.
    fit
        The batch maximum-likelihood fit the draws started from.
    seconds
        Wall time, the fit and compilation included.
    """

    table: pd.DataFrame
    theta: np.ndarray
    names: tuple[str, ...]
    method: str
    fit: BatchFit
    seconds: float


# ----------------------------------------------------------------------------- summaries


def natural_draws(fit: Fit, draws: Draws) -> dict[str, np.ndarray]:
    """Flat natural-space draws by natural name (``sigma`` for the noise scale)."""
    specs = params(fit.law, fit.objective)
    flat = draws.flat()[:, : len(specs)]
    nat = to_natural(specs[: flat.shape[1]], flat)
    return {s.label: nat[:, i] for i, s in enumerate(specs[: flat.shape[1]])}


def derived_draws(fit: Fit, draws: Draws) -> dict[str, np.ndarray]:
    """The law's derived quantities per draw (chinchilla: the allocation exponents a, b)."""
    nat = to_natural(fit.law, draws.flat()[:, : fit.law.n_params])
    return derived_values(fit.law, nat)


def draws_summary(fit: Fit, draws: Draws) -> dict:
    """JSON-ready summary of draws: per parameter and per derived quantity."""
    return {
        "method": draws.method,
        "n_draws": int(np.prod(draws.theta.shape[:-1])),
        "params": {k: summarise(v) for k, v in natural_draws(fit, draws).items()},
        "derived": {k: summarise(v) for k, v in derived_draws(fit, draws).items()},
        "diagnostics": draws.diagnostics,
        "warnings": list(draws.warnings),
        "settings": draws.settings,
        "seconds": round(float(draws.seconds), 3),
    }


def fit_summary(fit: Fit) -> dict:
    """JSON-ready summary of a fit (the CLI's ``--json`` output)."""
    r = fit.result
    status = np.asarray(r.start_status)
    obj = fit.objective
    out = {
        "law": fit.law.name,
        "n_points": int(len(fit.data.loss)),
        "filters": list(fit.data.filters),
        "params": fit.params,
        "theta": fit.theta,
        "objective": float(r.objective),
        "objective_spec": {"type": type(obj).__name__.lower(), **obj._asdict()},
        "status": fit.status,
        "message": fit.message,
        "grad_norm": float(r.grad_norm),
        "starts": {
            **fit.starts,
            "n": int(status.size),
            "converged": int(np.sum(status == CONVERGED)),
            "near_best": int(r.n_near_best),
            "status_counts": counts(status),
        },
        "optimizer": {"name": "optimistix.BFGS", **fit.config._asdict()},
        "columns": {k: str(v) for k, v in fit.data.columns.items()},
        "derived": dict(fit.data.derived),
        "flops_per_token": fit.data.flops_per_token,
        "n_input_rows": int(fit.data.n_input_rows),
        "seconds": round(float(fit.seconds), 4),
    }
    if fit.draws is not None:
        out["draws"] = draws_summary(fit, fit.draws)
    return out
