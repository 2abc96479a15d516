"""The records: what a fit, a batch fit and their draws hold (plain values and arrays).

Records are data. Each holds the :class:`~bayescale.laws.Law` itself (so an unregistered law
made with :func:`~bayescale.laws.make_law` works end to end), the objective, the settings,
the arrays, and its status. What is *said* about a record - JSON summaries, per-curve tables,
allocations, critiques - is computed by functions: the light ones here
(:func:`fit_summary`, :func:`draws_summary`, :func:`natural_draws`, :func:`derived_draws`),
the others in :mod:`bayescale.results.summaries`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.preparation import Prepared
from bayescale.laws.spec import Law, derived_values, to_natural
from bayescale.likelihood import Loss, Noise, fit_names, natural_names
from bayescale.optimize.multistart import FitConfig, MultiStartResult
from bayescale.predict.criticism import Critique
from bayescale.predict.posterior import summarise
from bayescale.predict.references import Reference
from bayescale.results.batches import BatchDraws, BatchFit, BucketInfo
from bayescale.results.interop import draws_inferencedata, natural_columns, posterior_frame
from bayescale.results.parameters import parameter_table, point_table
from bayescale.results.texts import draws_text, fit_report_text, html_table, short_repr
from bayescale.results.views import allocation_table, fit_critique, prediction_table
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
        arviz ``InferenceData`` for NUTS draws (the sampler's), else ``None``;
        :meth:`to_inferencedata` gives one for every engine.
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

    def __repr__(self) -> str:
        return (
            f"Draws({draws_text(self.method, self.theta)!r}, names={self.names}, "
            f"warnings={len(self.warnings)}, seconds={self.seconds:.3g})"
        )

    def to_inferencedata(self, fit: Fit | None = None) -> Any:
        """arviz ``InferenceData`` of the draws, natural names, for every engine.

        Parameters
        ----------
        fit
            The fit the draws came from, needed by bootstrap and Laplace draws (one chain,
            :func:`~bayescale.results.interop.draws_inferencedata`); NUTS draws carry the
            sampler's InferenceData.

        Returns
        -------
        arviz.InferenceData
        """
        if self.idata is not None:
            return self.idata
        if fit is None:
            raise ValueError(
                f"{self.method} draws record fit-space names only: pass the fit they came "
                "from, draws.to_inferencedata(fit), or call fit.to_inferencedata()"
            )
        return draws_inferencedata(
            self.method, self.theta, self.status, fit.law, fit.objective, fit.data, self.settings
        )

    def to_dataframe(self, fit: Fit | None = None) -> pd.DataFrame:
        """The draws as a table: ``chain``, ``draw``, natural parameters, ``status``.

        Parameters
        ----------
        fit
            The fit the draws came from (needed without an InferenceData).

        Returns
        -------
        pandas.DataFrame
        """
        return posterior_frame(self.to_inferencedata(fit), self.status)


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
        :class:`Draws` from the bootstrap, NUTS or the Laplace approximation, or ``None``.
        ``bayescale.fit(..., method="bootstrap")`` returns a fit with draws, and
        :func:`bayescale.with_draws` adds them to a fit (a record runs no engine itself).

    Notes
    -----
    Ask a fit with its methods: :meth:`predict` (the loss at new points), :meth:`allocate`
    (N*, D* at budgets), :meth:`summary` (``az.summary``), :meth:`fit_report` (lmfit-style
    text), :meth:`critique` and :meth:`to_inferencedata`; names are natural (``A``, ``sigma``).
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

    def __repr__(self) -> str:
        m, t = (None, None) if self.draws is None else (self.draws.method, self.draws.theta)
        return short_repr(self.law, self.objective, len(self.data.loss), self.result, m, t)

    def _repr_html_(self) -> str:
        m, t = (None, None) if self.draws is None else (self.draws.method, self.draws.theta)
        return html_table(self.law, self.objective, self.data, self.result, m, t)

    def _flat(self) -> np.ndarray | None:
        return None if self.draws is None else self.draws.flat()

    def predict(
        self,
        points: Mapping[str, object] | pd.DataFrame,
        kind: str = "mean",
        level: float = 0.9,
        seed: int = 0,
    ) -> pd.DataFrame:
        """The loss at new points: median and central interval over the draws.

        Parameters
        ----------
        points
            A DataFrame or a mapping of the law's inputs to values, e.g.
            ``{"N": 7e10, "D": 1.4e12}`` (a one-input law's ``x`` by its variable, ``N``).
        kind
            ``"mean"`` (the law's curve) or ``"new_run"`` (one new run's loss, noise added).
        level
            Probability of the interval.
        seed
            Seed of the noise draws of ``"new_run"``.

        Returns
        -------
        pandas.DataFrame
            The inputs, ``median``, ``lower``, ``upper`` and ``extrapolated`` (beyond the data's
            range or largest run); see :func:`~bayescale.results.views.prediction_table`.
        """
        return prediction_table(
            self.law, self.objective, self.data, self.result.theta, self._flat(), points,
            kind=kind, level=level, seed=seed,
        )  # fmt: skip

    def allocate(
        self, budgets: Sequence[float], flops_per_token: float | None = None, level: float = 0.9
    ) -> pd.DataFrame:
        """Compute-optimal ``N*``, ``D*``, ``D*/N*`` and loss at budgets (a law of N and D).

        Parameters
        ----------
        budgets
            Compute budgets in FLOPs.
        flops_per_token
            ``k`` in ``C = k N D`` (default: the fit's).
        level
            Probability of the intervals.

        Returns
        -------
        pandas.DataFrame
            See :func:`~bayescale.results.views.allocation_table`.
        """
        return allocation_table(
            self.law, self.data, self.result.theta, self._flat(), budgets,
            flops_per_token=flops_per_token, level=level,
        )  # fmt: skip

    def critique(
        self, reference: str | Reference, budgets: Sequence[float] = (5.88e23,)
    ) -> Critique:
        """Test a published parameter set against this fit's draws (Wald, LR, t-tests).

        Parameters
        ----------
        reference
            A reference (:class:`~bayescale.predict.references.Reference`) or its name.
        budgets
            Compute budgets (FLOPs) of the allocation comparison.

        Returns
        -------
        Critique
            See :func:`bayescale.critique` (the delta method follows the draws' protocol).
        """
        protocol = None if self.draws is None else self.draws.settings.get("protocol")
        return fit_critique(
            self.law, self.objective, self.data, self.result.theta, self._flat(), reference,
            budgets=budgets, protocol=protocol,
        )  # fmt: skip

    def summary(self, level: float = 0.9, **options: Any) -> pd.DataFrame:
        """Parameters as ``az.summary`` shows them, natural names.

        Parameters
        ----------
        level
            ``hdi_prob``, or the interval of a point fit.
        **options
            Passed on to ``arviz.summary`` (e.g. ``stat_focus="median"``, ``round_to=None``).

        Returns
        -------
        pandas.DataFrame
            With draws, ``az.summary(self.to_inferencedata(), hdi_prob=level, round_to="none")``
            (mean, sd, HDI; NUTS adds MCSE, ESS, R-hat); a point fit: ``estimate``, ``se``,
            ``lower``, ``upper`` (:func:`~bayescale.results.parameters.point_table`, a sandwich).
        """
        if self.draws is None:
            return point_table(self.law, self.objective, self.data, self.result.theta, level)
        return parameter_table(self.to_inferencedata(), self.draws.method, level, **options)

    def fit_report(self, level: float = 0.9) -> str:
        """Text in lmfit's manner: model, fit statistics, variables, correlations, warnings.

        Parameters
        ----------
        level
            Probability of the intervals shown.

        Returns
        -------
        str
        """
        d = self.draws  # warnings: the data's (suspect points), then the draws'
        m, t, w = (None, None, ()) if d is None else (d.method, d.theta, d.warnings)
        w = (*self.data.warnings, *w)
        return fit_report_text(
            self.law, self.objective, self.data, self.result, self.starts, m, t, w, level
        )

    def to_inferencedata(self) -> Any:
        """The draws' arviz ``InferenceData`` (natural names; one chain but for NUTS).

        Returns
        -------
        arviz.InferenceData
        """
        if self.draws is None:
            raise ValueError(
                "this fit has no draws: make them with bs.with_draws(fit, 'bootstrap') or "
                "bs.fit(..., method='nuts')"
            )
        return self.draws.to_inferencedata(self)


def natural_draws(fit: Fit, draws: Draws) -> dict[str, np.ndarray]:
    """Flat natural-space draws by natural name (``sigma`` for the noise scale)."""
    return natural_columns(fit.law, fit.objective, draws.flat())


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
        "optimizer": {"name": "optimistix.BFGS", **fit.config.settings()},
        "columns": {k: str(v) for k, v in fit.data.columns.items()},
        "derived": dict(fit.data.derived),
        "flops_per_token": fit.data.flops_per_token,
        "n_input_rows": int(fit.data.n_input_rows),
        "warnings": list(fit.data.warnings),
        "seconds": round(float(fit.seconds), 4),
    }
    if fit.draws is not None:
        out["draws"] = draws_summary(fit, fit.draws)
    return out


__all__ = ["BatchDraws", "BatchFit", "BucketInfo", "Draws", "Fit"]
__all__ += ["derived_draws", "draws_summary", "fit_summary", "natural_draws"]
