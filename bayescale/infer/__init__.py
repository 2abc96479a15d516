"""Posterior inference: NUTS on the one likelihood (:mod:`bayescale.infer.nuts`), one curve or
many at once with per-curve adaptation (:mod:`bayescale.infer.batch_nuts`); the priors of the
model are in :mod:`bayescale.infer.priors`."""

from bayescale.infer.batch_nuts import BatchNutsResult, sample_nuts_batch
from bayescale.infer.nuts import (
    NutsConfig,
    NutsResult,
    build_model,
    default_log_sigma_prior,
    resolve_priors,
    sample_nuts,
)

__all__ = [
    "BatchNutsResult",
    "NutsConfig",
    "NutsResult",
    "build_model",
    "default_log_sigma_prior",
    "resolve_priors",
    "sample_nuts",
    "sample_nuts_batch",
]
