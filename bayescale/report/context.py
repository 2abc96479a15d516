"""The report's shared state: a fit's arrays, gathered once for all sections.

:class:`Context` holds the inputs, compute ``C = k N D``, point estimate, draws and noise model
of a fit, the parameter draws behind the predictive curves, and the figures and tables the
sections add as they are built (:mod:`bayescale.report.sections`,
:mod:`bayescale.report.assessment`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bayescale.likelihood import Noise, params
from bayescale.predict.posterior import predict_log_loss, predictive

#: Seed of the noise draws of every "new run" interval in the report.
PREDICTIVE_SEED = 0
#: At most this many draws feed the predictive curves (evenly thinned beyond).
MAX_CURVE_DRAWS = 4000
#: New-run intervals use at least this many (repeated) draws; a fit without draws repeats its
#: point estimate this often (a plug-in interval).
PLUG_IN_DRAWS = 2000


@dataclass
class Context:
    """A fit's arrays, gathered once for all sections."""

    fit: object
    budgets: tuple[float, ...]
    figures: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    ppc_coverage: float | None = None

    def __post_init__(self) -> None:
        f = self.fit
        self.law = f.law
        self.k = float(f.data.flops_per_token)
        self.x = {k: np.asarray(v, dtype=np.float64) for k, v in f.data.x.items()}
        #: The input of a one-input law (``"x"`` by convention, or any name, e.g. ``"C"``).
        self.var = self.law.inputs[0] if len(self.law.inputs) == 1 else "x"
        self.loss = np.asarray(f.data.loss, dtype=np.float64)
        self.theta_hat = np.asarray(f.result.theta, dtype=np.float64)
        self.nd = set(self.law.inputs) == {"N", "D"}
        self.C = self.k * self.x["N"] * self.x["D"] if self.nd else None
        self.noise = f.objective if isinstance(f.objective, Noise) else None
        self.draws = f.draws
        self.flat = None if f.draws is None else np.asarray(f.draws.flat(), dtype=np.float64)
        self.method = None if f.draws is None else f.draws.method
        self.n_fitted = len(params(self.law, f.objective))
        self.has_sigma = self.noise is not None and self.theta_hat.size == self.n_fitted
        if self.flat is not None:
            step = max(1, math.ceil(self.flat.shape[0] / MAX_CURVE_DRAWS))
            self.curve_draws = self.flat[::step]
            self.plug_in = False
        elif self.noise is not None:
            self.curve_draws = np.repeat(self.theta_hat[None], PLUG_IN_DRAWS, axis=0)
            self.plug_in = True
        else:
            self.curve_draws, self.plug_in = None, False
        # New-run intervals: each parameter draw repeated, with fresh noise per copy, so the
        # band's quantiles are smooth even with few draws (the distribution is unchanged).
        self.new_run_draws = None
        if self.curve_draws is not None:
            reps = max(1, math.ceil(PLUG_IN_DRAWS / self.curve_draws.shape[0]))
            self.new_run_draws = np.repeat(self.curve_draws, reps, axis=0)
        self.can_new_run = (
            self.noise is not None
            and self.has_sigma
            and self.curve_draws is not None
            and self.curve_draws.shape[1] == self.n_fitted
        )

    @property
    def xvar(self) -> str:
        """Canonical variable of a one-variable law's input ``x`` (``"x"`` if unknown), or
        the name of a one-input law's input when it is not ``x``."""
        if self.var != "x":
            return self.var
        cols, der = self.fit.data.columns, self.fit.data.derived
        for k in ("N", "D", "C", "step"):
            if ("x" in cols and cols.get(k) == cols["x"]) or (
                "x" in der and der.get(k) == der["x"]
            ):
                return k
        return "x"

    def bands(self, x: dict) -> tuple:
        """Point curve, ``mean`` band and ``new_run`` band (90%) of the loss at inputs ``x``."""
        point = np.exp(predict_log_loss(self.law, self.theta_hat, x)[0])
        mean = new = None
        if self.flat is not None:
            q = predictive(self.law, self.curve_draws, x, kind="mean", probs=(0.05, 0.95))
            mean = (q.quantiles[0], q.quantiles[1])
        if self.can_new_run:
            q = predictive(
                self.law,
                self.new_run_draws,
                x,
                kind="new_run",
                noise=self.noise,
                probs=(0.05, 0.95),
                seed=PREDICTIVE_SEED,
            )
            new = (q.quantiles[0], q.quantiles[1])
        return point, mean, new
