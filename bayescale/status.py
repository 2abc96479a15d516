"""The one status vocabulary: codes the engines return, names and messages the host shows.

Engines work with plain integer codes inside compiled code (they never raise there); the host
turns a code into a name with :data:`NAMES` and into a sentence with :data:`MESSAGES`.

* Fit codes (per start, and per curve of a batch): :data:`CONVERGED` ... :data:`FAILED` come
  from the optimiser; :data:`TOO_FEW_POINTS` and :data:`CONSTANT_LOSS` mark curves of a batch
  that were not fitted at all.
* Sampler codes (per curve of a batched posterior): :data:`SAMPLER_OK`,
  :data:`SAMPLER_WARNING`, :data:`SAMPLER_FAILED`, and :data:`NOT_SAMPLED` for a curve whose
  fit could not start a sampler.
* Engine names (per curve of a batched posterior, the table's ``engine`` column): which
  engine produced a curve's draws, :data:`ENGINE_LAPLACE_PSIS` or :data:`ENGINE_NUTS`.
"""

from __future__ import annotations

import numpy as np

#: Fit status codes, index -> name.
NAMES = (
    "converged",
    "max_steps",
    "non_finite",
    "screened",
    "failed",
    "too_few_points",
    "constant_loss",
)
CONVERGED, MAX_STEPS, NON_FINITE, SCREENED, FAILED, TOO_FEW_POINTS, CONSTANT_LOSS = range(7)
#: The codes an optimiser run can end with (the first five).
OPTIMIZER_NAMES = NAMES[:TOO_FEW_POINTS]
MESSAGES = {
    CONVERGED: "converged",
    MAX_STEPS: "stopped at max_steps before converging; raise max_steps",
    NON_FINITE: "objective or parameters became non-finite",
    SCREENED: "stopped after the exploration steps; other starts were better",
    FAILED: "the solver reported a failure",
    TOO_FEW_POINTS: "fewer points than parameters (after filters); not fitted",
    CONSTANT_LOSS: "every point has the same loss, so the law is not identified (a curve of a "
    "batch is not fitted; a single fit's parameters mean nothing)",
}

#: Sampler status codes of a batched posterior, index -> name (:data:`NOT_SAMPLED` last).
SAMPLER_NAMES = ("ok", "warning", "failed", "not_sampled")
SAMPLER_OK, SAMPLER_WARNING, SAMPLER_FAILED, NOT_SAMPLED = range(4)

#: Engine names of a batched posterior: Laplace + importance sampling with Pareto-smoothed
#: weights (diagnostic: Pareto k), NUTS (R-hat, ESS, divergences), or none (not sampled).
ENGINE_LAPLACE_PSIS, ENGINE_NUTS, ENGINE_NONE = "laplace_psis", "nuts", "none"


def name_of(code: int) -> str:
    """Name of a fit status code (``"converged"``, ``"max_steps"``, ...)."""
    return NAMES[int(code)]


def message_of(code: int) -> str:
    """One plain sentence for a fit status code."""
    return MESSAGES[int(code)]


def counts(codes: object) -> dict[str, int]:
    """How many of ``codes`` carry each optimiser status, by name (JSON-ready)."""
    c = np.asarray(codes).ravel()
    return {s: int(np.sum(c == i)) for i, s in enumerate(OPTIMIZER_NAMES)}
