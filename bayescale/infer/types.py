"""The records of the posterior engines: settings, results and per-chain arrays.

The static :class:`RunSettings` is what the compiled samplers of :mod:`bayescale.infer.chains`
are keyed on; :class:`NutsConfig` is what users set. :class:`ImportanceConfig` is both for the
Laplace + importance sampler of :mod:`bayescale.infer.importance`.
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
    num_chains
        Number of chains.
    num_warmup
        Warmup (adaptation) iterations per chain.
    num_samples
        Kept draws per chain.
    target_accept
        Target mean acceptance probability of step-size adaptation.
    max_tree_depth
        Cap on the NUTS tree depth (at most ``2**max_tree_depth - 1`` leapfrog steps).
    seed
        Seed of the chains' random keys (not static: a new seed does not recompile).
    dense_mass
        Dense (True) or diagonal (False) adapted mass matrix; the Laplace preconditioning
        is dense either way (see :mod:`bayescale.infer.chains`).

    Notes
    -----
    Progress is not a setting: pass ``progress=`` to the sampler.
    """

    num_chains: int = 4
    num_warmup: int = 1000
    num_samples: int = 1000
    target_accept: float = 0.9
    max_tree_depth: int = 10
    seed: int = 0
    dense_mass: bool = True


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
    space
        ``"unconstrained"`` (numpyro's) or ``"fit"`` (the fit-space parameters; see
        :mod:`bayescale.infer.chains`).
    """

    num_warmup: int
    num_samples: int
    target_accept: float
    max_tree_depth: int
    dense_mass: bool
    precondition: str
    progress_every: int = 0
    space: str = "unconstrained"


class ChainOutput(NamedTuple):
    """Per-chain arrays of :func:`bayescale.infer.chains.run_chain` (``run_chains`` adds a
    leading chain axis)."""

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


class CurveChains(NamedTuple):
    """Arrays of :func:`run_curves`, each with leading ``(curve, chain)`` axes.

    ``step_size`` is the adapted step size (in the Laplace-whitened space NUTS runs in);
    the other fields are those of :class:`ChainOutput`.
    """

    theta: jax.Array  # (K, C, S, P+1)
    diverging: jax.Array  # (K, C, S)
    num_steps: jax.Array  # (K, C, S)
    energy: jax.Array  # (K, C, S)
    step_size: jax.Array  # (K, C)
    preconditioned: jax.Array  # (K, C)
    init_finite: jax.Array  # (K, C)


class BatchNutsResult(NamedTuple):
    """Posterior draws and diagnostics of many curves.

    Attributes
    ----------
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)``: the law's parameters, then
        ``log_sigma``. NaN for curves that were not sampled.
    names
        ``law.param_names + ("log_sigma",)``.
    rhat, ess
        Split R-hat and bulk effective sample size, ``(curve, P + 1)``.
    divergences
        Divergent transitions after warmup per curve, ``(curve,)``.
    status
        Per curve, a sampler code of :mod:`bayescale.status`: ``SAMPLER_OK``,
        ``SAMPLER_WARNING`` (R-hat, ESS, divergences, tree depth, E-BFMI, a moved start) or
        ``SAMPLER_FAILED`` (not sampled: non-finite start, unusable data; or failed:
        non-finite log density at the start, non-finite draws).
    messages
        Per curve, the plain-language problems joined by ``"; "`` (``""`` when status is 0).
    seconds
        Wall time of sampling, compilation and diagnostics included.
    """

    theta: np.ndarray
    names: tuple[str, ...]
    rhat: np.ndarray
    ess: np.ndarray
    divergences: np.ndarray
    status: np.ndarray
    messages: tuple[str, ...]
    seconds: float


class ImportanceConfig(NamedTuple):
    """Settings of the Laplace + adaptive importance sampler (static: a change recompiles).

    Attributes
    ----------
    num_draws
        Draws of the final proposal, whose weights are Pareto-smoothed (at least 2,200 for
        ``k <= 0.7`` to be the sample-size-independent threshold).
    adapt_draws
        Draws per adaptation round.
    rounds
        Adaptation rounds (0: the Laplace proposal itself).
    df
        Degrees of freedom of the Student-t proposal (an integer: its chi-square is a sum of
        squared normals, no rejection loop).
    scale
        Factor on the proposal's standard deviations (over the Laplace or weighted ones).
    newton_steps
        Damped Newton steps from the start to the mode.
    curvature
        The Newton steps' and the first proposal's curvature: ``"hessian"`` (the exact Hessian
        of the log posterior), ``"fisher"`` (the likelihood's empirical Fisher information plus
        the prior's Hessian) or ``"auto"`` (``"fisher"`` for kinked noise densities, Huber and
        Laplace, else ``"hessian"``).
    """

    num_draws: int = 4000
    adapt_draws: int = 1000
    rounds: int = 3
    df: int = 8
    scale: float = 1.5
    newton_steps: int = 12
    curvature: str = "auto"


class ImportanceOutput(NamedTuple):
    """Arrays of :func:`importance_curve` (a leading curve axis from :func:`importance_curves`).

    Attributes
    ----------
    theta
        Draws of the final proposal in fit space, ``(num_draws, P + 1)``.
    log_weight
        Their log importance weights (unnormalised; ``-inf`` outside the support).
    mode
        The posterior mode found, ``(P + 1,)``.
    mode_ok
        Whether the log posterior is finite there and its Hessian positive definite.
    """

    theta: jax.Array
    log_weight: jax.Array
    mode: jax.Array
    mode_ok: jax.Array


class BatchImportanceResult(NamedTuple):
    """Draws and diagnostics of :func:`sample_importance_batch`.

    Attributes
    ----------
    theta
        Equally weighted fit-space draws ``(curve, chain, draw, P + 1)`` (resampled; the
        "chains" are an arbitrary split); NaN for curves that were not sampled.
    names
        Fit-space names of the last axis.
    pareto_k
        PSIS shape estimate per curve (NaN if not sampled); trusted up to :data:`PARETO_K_MAX`.
    ess
        Effective sample size of the smoothed weights per curve, ``1 / sum(w**2)``.
    mode
        The posterior mode per curve, ``(curve, P + 1)``.
    status
        ``SAMPLER_OK`` (``k <= 0.7``), ``SAMPLER_WARNING`` (``k > 0.7``: draws unreliable) or
        ``SAMPLER_FAILED`` (not sampled, or no finite weight), per curve.
    messages
        Per curve, the problems found joined by ``"; "`` (``""`` when status is ok).
    seconds
        Wall time, compilation and smoothing included.
    """

    theta: np.ndarray
    names: tuple[str, ...]
    pareto_k: np.ndarray
    ess: np.ndarray
    mode: np.ndarray
    status: np.ndarray
    messages: tuple[str, ...]
    seconds: float


class BatchPosteriorResult(NamedTuple):
    """Draws and diagnostics of :func:`bayescale.infer.engines.sample_posterior_batch`.

    Attributes
    ----------
    theta
        Equally weighted fit-space draws ``(curve, chain, draw, P + 1)``; NaN if not sampled.
    names
        Fit-space names of the last axis.
    engine
        Per curve, the engine that produced its draws: ``"laplace_psis"``, ``"nuts"`` or
        ``"none"`` (:mod:`bayescale.status`).
    pareto_k
        PSIS shape estimate of the importance sampler per curve (NaN where it did not run).
    rhat, ess
        ``(curve, P + 1)``: split R-hat (NaN for importance sampling) and effective sample
        size (of the smoothed weights for importance sampling, the same for every parameter;
        bulk ESS for NUTS).
    divergences
        Divergent NUTS transitions per curve (0 for importance sampling, -1 if not sampled).
    status
        Sampler code per curve (:mod:`bayescale.status`), from the engine that drew.
    messages
        Per curve, that engine's problems joined by ``"; "``.
    seconds
        Wall time, compilation included.
    """

    theta: np.ndarray
    names: tuple[str, ...]
    engine: np.ndarray
    pareto_k: np.ndarray
    rhat: np.ndarray
    ess: np.ndarray
    divergences: np.ndarray
    status: np.ndarray
    messages: tuple[str, ...]
    seconds: float
