"""Prediction from parameter draws: posterior predictive, compute-optimal allocation, critique.

Every function takes *draws*: fit-space parameter vectors ``(n_draws, P)`` (bootstrap refits,
NUTS samples, or one fit), with a trailing ``log_sigma`` column when the fit used a noise model.

* :mod:`~bayescale.predict.posterior` - :func:`predictive` intervals of the loss, either the law's
  curve (``kind="mean"``) or a new training run's loss (``kind="new_run"``).
* :mod:`~bayescale.predict.allocation` - :func:`allocate`: ``N*``, ``D*`` and ``D*/N*`` at compute
  budgets.
* :mod:`~bayescale.predict.references` - published parameter sets (:func:`get_reference`).
* :mod:`~bayescale.predict.critique` - :func:`critique`: Wald, t and likelihood-ratio tests of a
  published parameter set; :mod:`~bayescale.predict.runs_needed` - the runs needed to narrow its
  intervals.
* :mod:`~bayescale.predict.extrapolate` - :func:`extrapolate`: fit below a cap, predict and score
  the points above it (relative error, interval coverage, log predictive density).
* :mod:`~bayescale.predict.compare` - :func:`compare`: laws side by side (PSIS-LOO with NUTS
  draws, held-out scores, AIC) with a verdict.
* :mod:`~bayescale.predict.downstream` - :func:`two_stage_predict`: loss draws pushed through a
  downstream (accuracy) law.
"""

from bayescale.predict.allocation import Allocation, allocate, budget_grid
from bayescale.predict.compare import Comparison, compare
from bayescale.predict.critique import Critique, critique, critique_to_dict
from bayescale.predict.downstream import TwoStage, two_stage_predict
from bayescale.predict.extrapolate import Extrapolation, extrapolate
from bayescale.predict.posterior import Predictive, predict_log_loss, predictive
from bayescale.predict.references import (
    REFERENCES,
    Reference,
    get_reference,
    list_references,
    reference_theta,
)

__all__ = [
    "REFERENCES",
    "Allocation",
    "Comparison",
    "Critique",
    "Extrapolation",
    "Predictive",
    "Reference",
    "TwoStage",
    "allocate",
    "budget_grid",
    "compare",
    "critique",
    "critique_to_dict",
    "extrapolate",
    "get_reference",
    "list_references",
    "predict_log_loss",
    "predictive",
    "reference_theta",
    "two_stage_predict",
]
