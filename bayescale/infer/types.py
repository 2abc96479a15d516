"""The records of the NUTS engine: settings, results and per-chain arrays.

Kept apart from :mod:`bayescale.infer.nuts` (which re-exports them) so the sampler module stays
readable; the static :class:`RunSettings` is what the compiled sampler is keyed on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import jax
import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import arviz


class NutsConfig(NamedTuple):
    """NUTS settings.

    Attributes
    ----------
    num_chains, num_warmup, num_samples
        Chains, warmup iterations and kept draws per chain.
    target_accept
        Target mean acceptance probability of step-size adaptation.
    max_tree_depth
        Cap on the NUTS tree depth (at most ``2**max_tree_depth - 1`` leapfrog steps).
    seed
        Seed of the chains' random keys (not static: a new seed does not recompile).
    dense_mass
        Dense (True) or diagonal (False) adapted mass matrix; the Laplace preconditioning
        is dense either way (see the module docstring).
    progress_bar
        Show a tqdm bar over iterations (all chains). The compiled scan reports to the host
        every ``bayescale.infer.nuts.PROGRESS_EVERY`` iterations through
        ``jax.debug.callback``; the setting is static, so turning it on compiles a second
        sampler.
    """

    num_chains: int = 4
    num_warmup: int = 1000
    num_samples: int = 1000
    target_accept: float = 0.9
    max_tree_depth: int = 10
    seed: int = 0
    dense_mass: bool = True
    progress_bar: bool = False


class NutsResult(NamedTuple):
    """Posterior draws and diagnostics of one NUTS run.

    Attributes
    ----------
    theta
        Fit-space draws ``(chain, draw, P + 1)``: the law's parameters, then ``log_sigma``.
    names
        ``law.param_names + ("log_sigma",)``.
    idata
        ``arviz.InferenceData`` with groups ``posterior`` (natural-space names, ``sigma``),
        ``sample_stats``, ``observed_data`` and ``constant_data``, ``log_likelihood``
        (pointwise) and ``posterior_predictive`` (``log_loss`` replicates).
    rhat, ess
        Split R-hat and bulk effective sample size per entry of ``names``.
    divergences
        Number of divergent transitions after warmup.
    warnings
        Plain-language problems found (empty when the run looks healthy).
    seconds
        Wall time of sampling, compilation included.
    """

    theta: np.ndarray
    names: tuple[str, ...]
    idata: arviz.InferenceData
    rhat: np.ndarray
    ess: np.ndarray
    divergences: int
    warnings: tuple[str, ...]
    seconds: float


class RunSettings(NamedTuple):
    """Static settings of the compiled sampler (a change recompiles; the seed is not here).

    Attributes
    ----------
    num_warmup, num_samples
        Warmup iterations and kept draws per chain.
    target_accept
        Target mean acceptance probability of step-size adaptation.
    max_tree_depth
        Cap on the NUTS tree depth.
    dense_mass
        Dense (True) or diagonal (False) adapted mass matrix.
    precondition
        ``"fisher"``, ``"hessian"`` or ``"none"`` (see the module docstring).
    progress_every
        Iterations between progress reports to the host (0: none).
    """

    num_warmup: int
    num_samples: int
    target_accept: float
    max_tree_depth: int
    dense_mass: bool
    precondition: str
    progress_every: int = 0


#: Former private name of :class:`RunSettings`, kept for existing imports.


# ----------------------------------------------------------------------------- model


class ChainOutput(NamedTuple):
    """Per-chain arrays returned by :func:`run_chains` (a leading chain axis is added)."""

    theta: jax.Array  # (S, P+1) fit space
    diverging: jax.Array
    num_steps: jax.Array
    accept_prob: jax.Array
    step_size: jax.Array
    potential_energy: jax.Array
    energy: jax.Array
    log_lik: jax.Array  # (S, n) pointwise
    predictive: jax.Array  # (S, n) log-loss replicates
    warmup_steps: jax.Array  # () leapfrog steps spent in warmup
    preconditioned: jax.Array  # () whether the Laplace matrix was used
    init_finite: jax.Array  # () whether the start has a finite log density
