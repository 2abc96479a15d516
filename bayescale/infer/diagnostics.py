"""Convergence diagnostics of NUTS runs, in plain language.

R-hat and ESS come from :mod:`numpyro.diagnostics` on ``(chain, draw, parameter)`` arrays;
E-BFMI and tree depth from the chains' statistics. The messages say what went wrong and what
to change, for the CLI and the report to print.
"""

from __future__ import annotations

import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

from bayescale.infer.types import ChainOutput

#: Largest acceptable split R-hat.
RHAT_MAX = 1.01
#: Smallest acceptable bulk ESS per chain (400 for 4 chains, as Vehtari et al. 2021 advise).
ESS_PER_CHAIN_MIN = 100
#: Smallest acceptable E-BFMI of a chain.
BFMI_MIN = 0.3
#: Largest acceptable fraction of draws whose tree reached ``max_tree_depth``.
MAX_DEPTH_FRACTION = 0.01


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
        Arrays from :func:`bayescale.infer.chains.run_chains`, with a leading chain axis.
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
