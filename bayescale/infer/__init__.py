"""Engine 2, arrays only: NUTS on the one likelihood, one curve or many.

* :mod:`~bayescale.infer.model` - priors and the numpyro model;
* :mod:`~bayescale.infer.chains` - the pure, compiled chains (one curve, many curves);
* :mod:`~bayescale.infer.sampling` - the host boundaries :func:`sample_nuts` and
  :func:`sample_nuts_batch`;
* :mod:`~bayescale.infer.laplace` - normal approximations at an optimum: the inverse Fisher
  information and the robust sandwich;
* :mod:`~bayescale.infer.validate`, :mod:`~bayescale.infer.diagnostics`,
  :mod:`~bayescale.infer.idata` - input checks, convergence messages, arviz export.
"""

from bayescale.infer.model import build_model, resolve_priors
from bayescale.infer.sampling import sample_nuts, sample_nuts_batch
from bayescale.infer.types import BatchNutsResult, NutsConfig, NutsResult

__all__ = [
    "BatchNutsResult",
    "NutsConfig",
    "NutsResult",
    "build_model",
    "resolve_priors",
    "sample_nuts",
    "sample_nuts_batch",
]
