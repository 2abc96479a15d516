"""What draws imply: arrays in, arrays out; no tables, no fitting.

Every function takes *draws*: fit-space parameter vectors ``(n_draws, P)`` (bootstrap refits,
NUTS samples, or one fit), with a trailing ``log_sigma`` column when the fit used a noise model.

* :mod:`~bayescale.predict.posterior` - :func:`predictive` intervals of the loss, either the law's
  curve (``kind="mean"``) or a new training run's loss (``kind="new_run"``).
* :mod:`~bayescale.predict.allocation` - :func:`allocate`: ``N*``, ``D*`` and ``D*/N*`` at compute
  budgets.
* :mod:`~bayescale.predict.references` - published parameter sets (:func:`get_reference`);
  :mod:`~bayescale.predict.protocols` - published bootstrap protocols (:func:`get_protocol`).
* :mod:`~bayescale.predict.criticism` - :func:`critique`: Wald, t and likelihood-ratio tests of
  a published parameter set; :mod:`~bayescale.predict.precision` - the runs needed to narrow
  its intervals; :mod:`~bayescale.predict.wald` - the Wald statistic's directions and error.
* :mod:`~bayescale.predict.scores` - pointwise scores of held-out points (interval score,
  CRPS); :mod:`~bayescale.predict.pointwise` - predictions of points that each have their own
  draws (many curves in one call).
* :mod:`~bayescale.predict.calibration` - intervals calibrated by a backtest's error growth
  with distance; :mod:`~bayescale.predict.averaging` - stacking weights and mixture quantiles.
* :mod:`~bayescale.predict.downstream` - :func:`two_stage_predict`: loss draws pushed through a
  downstream (accuracy) law.
"""

from bayescale.predict.allocation import Allocation, allocate, budget_grid
from bayescale.predict.criticism import Critique, critique
from bayescale.predict.downstream import TwoStage, two_stage_predict
from bayescale.predict.posterior import Predictive, predict_log_loss, predictive, summarise
from bayescale.predict.protocols import PROTOCOLS, Protocol, get_protocol, list_protocols
from bayescale.predict.references import (
    REFERENCES,
    Reference,
    get_reference,
    list_references,
    reference_theta,
)

__all__ = [
    "PROTOCOLS",
    "REFERENCES",
    "Allocation",
    "Critique",
    "Predictive",
    "Protocol",
    "Reference",
    "TwoStage",
    "allocate",
    "budget_grid",
    "critique",
    "get_protocol",
    "get_reference",
    "list_protocols",
    "list_references",
    "predict_log_loss",
    "predictive",
    "reference_theta",
    "summarise",
    "two_stage_predict",
]
