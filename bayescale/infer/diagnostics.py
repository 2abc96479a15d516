"""Host-side checks around the NUTS sampler: its inputs, its convergence, its arviz export.

Input checks raise ``ValueError`` before any compute. R-hat and ESS come from
:mod:`numpyro.diagnostics` on ``(chain, draw, parameter)`` arrays; the messages are plain
language, for the CLI to print. arviz (the 0.2x API) is imported lazily, only to build the
``InferenceData``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import jax
import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

from bayescale.laws._spec import Law
from bayescale.likelihood import NOISE_KINDS, Data, Noise, check_objective

if TYPE_CHECKING:  # pragma: no cover
    from bayescale.infer.nuts import ChainOutput, NutsConfig, Priors

#: Largest acceptable split R-hat.
RHAT_MAX = 1.01
#: Smallest acceptable bulk ESS per chain (400 for 4 chains, as Vehtari et al. 2021 advise).
ESS_PER_CHAIN_MIN = 100
#: Smallest acceptable E-BFMI of a chain.
BFMI_MIN = 0.3
#: Largest acceptable fraction of draws whose tree reached ``max_tree_depth``.
MAX_DEPTH_FRACTION = 0.01


# ----------------------------------------------------------------------------- inputs


def check_config(
    noise: Noise,
    config: NutsConfig,
    precondition: str,
    preconditioners: tuple[str, ...],
    chain_method: str | None,
    chain_methods: tuple[str, ...],
    default_chain_method: Callable[[int], str],
) -> str:
    """Check the sampler settings; return the chain method (``chain_method`` or the default).

    Raises
    ------
    ValueError
        On settings the sampler cannot use (``TypeError`` if ``noise`` is not a Noise).
    """
    if not isinstance(noise, Noise):
        raise TypeError(f"NUTS needs a Noise density, got {type(noise).__name__}")
    if noise.kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise model {noise.kind!r}; choose one of {NOISE_KINDS}")
    check_objective(noise)
    for field, low in (
        ("num_chains", 1),
        ("num_samples", 1),
        ("num_warmup", 0),
        ("max_tree_depth", 1),
    ):
        value = getattr(config, field)
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
            raise ValueError(f"NutsConfig.{field} must be an integer >= {low}, got {value!r}")
    if not 0.0 < config.target_accept < 1.0:
        raise ValueError(f"target_accept must be in (0, 1), got {config.target_accept}")
    if precondition not in preconditioners:
        raise ValueError(f"precondition must be one of {preconditioners}, got {precondition!r}")
    chain_method = chain_method or default_chain_method(int(config.num_chains))
    if chain_method not in chain_methods:
        raise ValueError(f"chain_method must be one of {chain_methods}, got {chain_method!r}")
    if chain_method == "parallel" and jax.local_device_count() < config.num_chains:
        raise ValueError(
            f"chain_method='parallel' needs {config.num_chains} devices, "
            f"found {jax.local_device_count()}"
        )
    return chain_method


def check_data(law: Law, data: Data) -> Data:
    """One curve's data as float64 numpy arrays, the law's inputs only.

    Raises
    ------
    ValueError
        On missing input columns, columns of different shapes, batch axes, negative weights
        or non-finite values at points of positive weight.
    """
    if not isinstance(data, Data):
        raise TypeError(f"data must be a bayescale.likelihood.Data, got {type(data).__name__}")
    missing = [k for k in law.inputs if k not in data.x]
    if missing:
        raise ValueError(f"data lacks input columns {missing} that law {law.name!r} needs")
    log_y = np.asarray(data.log_y, dtype=np.float64)
    weight = np.asarray(data.weight, dtype=np.float64)
    x = {k: np.asarray(data.x[k], dtype=np.float64) for k in law.inputs}
    if log_y.ndim != 1 or log_y.size == 0:
        raise ValueError(f"NUTS fits one curve: log_y must be 1-D and non-empty, got {log_y.shape}")
    bad = [k for k, v in {**x, "weight": weight}.items() if v.shape != log_y.shape]
    if bad:
        raise ValueError(f"data columns {bad} do not match log_y's shape {log_y.shape}")
    if not np.all(weight >= 0) or not np.any(weight > 0):
        raise ValueError("weights must be >= 0 with at least one positive")
    used = weight > 0
    bad = [k for k, v in {**x, "log_y": log_y}.items() if not np.all(np.isfinite(v[used]))]
    if bad:
        raise ValueError(f"data columns {bad} have non-finite values at points of weight > 0")
    return Data(x, log_y, weight)


def support(prior: tuple) -> tuple[float, float]:
    """Open support ``(low, high)`` of a prior tuple (fit space)."""
    if prior[0] == "uniform":
        return prior[1], prior[2]
    if prior[0] in ("halfnormal", "lognormal"):
        return 0.0, math.inf
    return -math.inf, math.inf


def check_start(init_theta, priors: Priors) -> tuple[np.ndarray, list[str]]:
    """The start as float64, moved strictly inside each prior's support (with notes).

    Raises
    ------
    ValueError
        If it has the wrong length or a non-finite entry.
    """
    names = [n for n, _ in priors]
    theta = np.array(init_theta, dtype=np.float64)
    if theta.shape != (len(names),):
        raise ValueError(
            f"init_theta must have {len(names)} entries ({', '.join(names)}), "
            f"got shape {theta.shape}"
        )
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"init_theta must be finite, got {theta.tolist()}")
    notes = []
    for i, (name, prior) in enumerate(priors):
        lo, hi = support(prior)
        width = hi - lo if math.isfinite(hi - lo) else 1.0
        inside = min(max(theta[i], lo + 1e-3 * width), hi - 1e-3 * width)
        if inside != theta[i]:
            notes.append(
                f"init_theta {name}={theta[i]:.4g} is outside its prior's support "
                f"({lo:.4g}, {hi:.4g}); chains start at {inside:.4g} instead"
            )
            theta[i] = inside
    return theta, notes


# ----------------------------------------------------------------------------- outputs


def _names(values: np.ndarray, names: tuple[str, ...], mask: np.ndarray) -> str:
    return ", ".join(f"{n} ({v:.3g})" for n, v, m in zip(names, values, mask, strict=True) if m)


def bfmi(energy: np.ndarray) -> np.ndarray:
    """Energy Bayesian fraction of missing information per chain, ``energy`` ``(chain, draw)``."""
    energy = np.asarray(energy, dtype=np.float64)
    num = np.sum(np.diff(energy, axis=1) ** 2, axis=1) / energy.shape[1]
    den = np.var(energy, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def chain_diagnostics(
    out: ChainOutput, names: tuple[str, ...], max_tree_depth: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Split R-hat, bulk ESS and warning messages of a run.

    Parameters
    ----------
    out
        Arrays from :func:`bayescale.infer.nuts.run_chains`, with a leading chain axis.
    names
        Names of the last axis of ``out.theta``.
    max_tree_depth
        The tree-depth cap the run used.

    Returns
    -------
    rhat, ess, messages
        ``(P + 1,)`` arrays (NaN with fewer than 4 draws per chain) and plain-language
        warnings.
    """
    theta = np.asarray(out.theta, dtype=np.float64)
    n_chains, n_draws, n_par = theta.shape
    msgs: list[str] = []
    if n_draws < 4:
        nan = np.full(n_par, np.nan)
        msgs.append(f"only {n_draws} draws per chain: too few for R-hat and ESS; raise num_samples")
        return nan, nan, msgs
    rhat = np.asarray(split_gelman_rubin(theta), dtype=np.float64)
    ess = np.asarray(effective_sample_size(theta), dtype=np.float64)

    bad = ~(rhat < RHAT_MAX)
    if np.any(bad):
        msgs.append(
            f"R-hat {np.nanmax(rhat):.3g} > {RHAT_MAX} for {_names(rhat, names, bad)}: chains "
            "disagree, so the draws are not yet from the posterior; run a longer warmup and "
            "more draws"
        )
    ess_min = ESS_PER_CHAIN_MIN * n_chains
    low = ~(ess >= ess_min)
    if np.any(low):
        msgs.append(
            f"bulk ESS {np.nanmin(ess):.0f} < {ess_min} for {_names(ess, names, low)}: the "
            "draws are too correlated for reliable intervals; run more draws"
        )
    n_div = int(np.sum(out.diverging))
    if n_div:
        msgs.append(
            f"{n_div} divergent transitions after warmup ({n_div / out.diverging.size:.1%} of "
            "draws): NUTS could not follow the posterior's curvature, so it may be biased; "
            "raise target_accept (e.g. 0.95) or tighten the priors"
        )
    at_max = np.asarray(out.num_steps) >= 2**max_tree_depth - 1
    if np.mean(at_max) > MAX_DEPTH_FRACTION:
        msgs.append(
            f"{np.mean(at_max):.0%} of draws reached max_tree_depth={max_tree_depth}: the "
            "posterior is badly scaled or strongly correlated, so sampling is slow and may "
            "explore too little; raise max_tree_depth or use dense_mass=True"
        )
    e_bfmi = bfmi(out.energy)
    low_bfmi = e_bfmi < BFMI_MIN
    if np.any(low_bfmi):
        chains = ", ".join(str(i) for i in np.flatnonzero(low_bfmi))
        msgs.append(
            f"E-BFMI {np.nanmin(e_bfmi):.2f} < {BFMI_MIN} in chain(s) {chains}: momentum "
            "resampling explores the energy poorly (heavy tails or a funnel); check the priors"
        )
    return rhat, ess, msgs


def _import_arviz():
    """arviz, without its once-a-day import FutureWarning (which ``-W error`` turns fatal)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning)
        import arviz

    return arviz


def to_inferencedata(
    out: ChainOutput, law: Law, data: Data, noise: Noise, chain_method: str, seconds: float
):
    """``arviz.InferenceData`` of a run.

    Groups: ``posterior`` (natural-space parameters named by :attr:`ParamSpec.label`, and
    ``sigma``), ``sample_stats`` (``diverging``, ``tree_depth``, ``n_steps``,
    ``acceptance_rate``, ``step_size``, ``lp`` = minus numpyro's potential energy, which
    includes the transforms' log-Jacobians, and ``energy``; arviz's names; ``step_size`` is
    in the Laplace-whitened space NUTS runs in), ``observed_data``
    and ``posterior_predictive`` (``log_loss``), ``log_likelihood`` (pointwise ``log_loss``,
    for ``az.loo``) and ``constant_data`` (the inputs and ``weight``).
    """
    az = _import_arviz()
    theta = np.asarray(out.theta)
    posterior = {}
    for i, spec in enumerate(law.params):
        col = theta[..., i]
        posterior[spec.label] = np.exp(col) if spec.transform == "exp" else col
    posterior["sigma"] = np.exp(theta[..., law.n_params])
    n_steps = np.asarray(out.num_steps)
    sample_stats = {
        "diverging": np.asarray(out.diverging, dtype=bool),
        "tree_depth": (np.log2(np.maximum(n_steps, 1)).astype(np.int64) + 1),
        "n_steps": n_steps,
        "acceptance_rate": np.asarray(out.accept_prob),
        "step_size": np.asarray(out.step_size),
        "lp": -np.asarray(out.potential_energy),
        "energy": np.asarray(out.energy),
    }
    n_points = np.asarray(data.log_y).shape[-1]
    dims = {"log_loss": ["point"]}
    constant = {k: np.asarray(v) for k, v in data.x.items()}
    constant["weight"] = np.asarray(data.weight)
    dims.update({k: ["point"] for k in constant})
    attrs = {
        "inference_library": "numpyro",
        "law": law.name,
        "noise": noise.kind,
        "noise_delta": float(noise.delta),
        "noise_df": float(noise.df),
        "chain_method": chain_method,
        "sampling_time": float(seconds),
        "warmup_leapfrog_steps": int(np.sum(out.warmup_steps)),
    }
    return az.from_dict(
        posterior=posterior,
        sample_stats=sample_stats,
        observed_data={"log_loss": np.asarray(data.log_y)},
        constant_data=constant,
        log_likelihood={"log_loss": np.asarray(out.log_lik)},
        posterior_predictive={"log_loss": np.asarray(out.predictive)},
        coords={"point": np.arange(n_points)},
        dims=dims,
        attrs=attrs,
    )
