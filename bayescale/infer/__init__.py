"""Engine 2, arrays only: NUTS on the one likelihood, one curve or many.

* :mod:`~bayescale.infer.model` - priors and the numpyro model;
* :mod:`~bayescale.infer.chains` - the pure, compiled chains (one curve, many curves);
* :mod:`~bayescale.infer.sampling` - the host boundaries :func:`sample_nuts` and
  :func:`sample_nuts_batch`;
* :mod:`~bayescale.infer.laplace` - normal approximations at an optimum: the inverse Fisher
  information and the robust sandwich;
* :mod:`~bayescale.infer.importance` and :mod:`~bayescale.infer.psis` - Laplace + adaptive
  importance sampling with Pareto-smoothed weights, vectorised over curves (the pure core and
  its host boundary :func:`sample_importance_batch`);
* :mod:`~bayescale.infer.engines` - :func:`sample_posterior_batch`: importance sampling per
  curve, NUTS for the curves whose Pareto k says it failed;
* :mod:`~bayescale.infer.validate`, :mod:`~bayescale.infer.diagnostics`,
  :mod:`~bayescale.infer.idata` - input checks, convergence messages, arviz export.
"""

from bayescale.infer.engines import sample_posterior_batch
from bayescale.infer.model import build_model, resolve_priors
from bayescale.infer.psis import sample_importance_batch
from bayescale.infer.sampling import sample_nuts, sample_nuts_batch
from bayescale.infer.types import (
    BatchImportanceResult,
    BatchNutsResult,
    BatchPosteriorResult,
    ImportanceConfig,
    NutsConfig,
    NutsResult,
)

__all__ = [
    "BatchImportanceResult",
    "BatchNutsResult",
    "BatchPosteriorResult",
    "ImportanceConfig",
    "NutsConfig",
    "NutsResult",
    "build_model",
    "resolve_priors",
    "sample_importance_batch",
    "sample_nuts",
    "sample_nuts_batch",
    "sample_posterior_batch",
]
