"""Posterior inference: NUTS on the one likelihood (:mod:`bayescale.infer.nuts`)."""

from bayescale.infer.nuts import (
    NutsConfig,
    NutsResult,
    build_model,
    default_log_sigma_prior,
    resolve_priors,
    sample_nuts,
)

__all__ = [
    "NutsConfig",
    "NutsResult",
    "build_model",
    "default_log_sigma_prior",
    "resolve_priors",
    "sample_nuts",
]
