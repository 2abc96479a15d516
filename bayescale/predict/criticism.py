"""Critique a published parameter set against a fit and its draws (Besiroglu et al. 2024).

:func:`critique` computes the tests of Besiroglu, Erdil, Barnett & You (2024, "Chinchilla
Scaling: A replication attempt", notebook ``data_analysis.ipynb`` of
``epoch-research/analyzing-chinchilla``):

* **Wald test** of ``H0: theta = theta_ref`` in the law's *fit space* (Chinchilla:
  ``log A, log B, log E, alpha, beta``), ``W = d' S^-1 d`` with ``d = theta_hat - theta_ref``
  and ``S`` the covariance of the draws, ``W ~ chi2(P)``; beside it the same statistic in
  natural space, its split over the eigen-directions of ``S`` and its Monte Carlo standard
  error (:mod:`bayescale.predict.wald`).
* **t-tests** per parameter in *natural* space: ``t = (estimate - reference) / se`` with
  ``se`` the standard deviation of the natural-space draws, two-sided, Student t with
  ``n - P`` degrees of freedom (235 for 240 points and 5 parameters).
* **Likelihood ratio**: ``2 (l(theta_hat) - max_sigma l(theta_ref, sigma))`` with the one
  likelihood (:func:`bayescale.likelihood.log_likelihood`), the reference's noise scale
  re-maximised, ``~ chi2(P)``.
* **Runs needed** to narrow a published interval: ``n (w_ours / w_claimed)^2`` with
  ``w_ours`` the same-probability central interval width of the quantity, from the draws'
  quantiles or from the delta method, each with its Monte Carlo standard error
  (:mod:`bayescale.predict.precision`).
* **Allocation** at named budgets: fit (median, 5%, 95% over draws) against the reference.

What Epoch's notebook does, and which objective and reference each of its figures uses
(240 points; the protocol ``besiroglu2024`` of :mod:`bayescale.predict.protocols` reproduces
it): ``np.random.seed(42)`` and 4,000 resamples ``np.random.choice(indices, size=240,
replace=True)``; every resample refitted by minimising the *summed Huber loss* (delta 1e-3, no
scale parameter) with BFGS from Hoffmann's *unrounded* values. The Wald statistic takes ``d``
= Hoffmann unrounded minus the *Huber-likelihood* MLE and ``S`` the covariance of those
*Huber-loss* refits: 238.40 (p = 1.69e-49); Hoffmann's rounded values give 294.1. The delta
method takes the gradient of ``a = beta / (alpha + beta)`` at the *bootstrap means* of alpha
and beta with the natural-space covariance of the refits, width ``2 Phi^-1(0.9) SE``:
632,739.6 runs; the refits' P90 - P10 of ``a`` gives 634,773. Natural-space bootstrap SEs: E
0.02566, alpha 0.01540, beta 0.02060. The t-tests (beta's p = 1.1e-4 needs 0.2849, not 0.28)
and the likelihood ratio ``LR = 84.0 = 2 (879.77 - 837.78)`` are against the unrounded values
too (log likelihoods with sigma re-maximised: 562.25 rounded, 837.78 unrounded, 879.77 fit).

bayescale's own bootstrap by default refits the fit's *likelihood*, so that it bootstraps the
estimator it tests; on the same data (``default_rng`` resamples, seed 42) that gives W = 182
(unrounded) and 283 (rounded), runs needed 660,677 (delta method at the estimate) and 624,341
(quantiles). ``bootstrap(fit, protocol="besiroglu2024")`` gives W = 239.6 (294.1 rounded),
632,136 (delta method at the draws' mean) and 634,405, the SEs to 0.1%: the gap in W is the
refit objective; in the runs needed, resampling noise and the gradient's point. In fit space the
covariance is nearly singular (corr(log A, alpha) ~ 0.999): about 70% of W comes from its
thinnest direction, whose SD (~1.2e-4) depends on the objective and on how tightly each refit
converged, and W's Monte Carlo error is about 4% for 4,000 draws (runs needed: 2-3%). A
natural-space Wald statistic is 63 (likelihood refits) to 74 (Huber-loss refits).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc

from bayescale._jax import x64
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law, to_natural
from bayescale.likelihood import Data, Noise, check_objective, log_likelihood, residuals
from bayescale.predict.allocation import allocate
from bayescale.predict.posterior import as_draws, summarise
from bayescale.predict.precision import draw_resamples, runs_needed
from bayescale.predict.protocols import check_delta_at
from bayescale.predict.references import Reference, get_reference, reference_theta
from bayescale.predict.search import golden_section
from bayescale.predict.wald import chi2_sf, wald_directions, wald_mc_se, wald_test


class Critique(NamedTuple):
    """Tests of a published parameter set against a fit (see the module docstring).

    Attributes
    ----------
    law, reference
        Names of the law and the reference.
    n_points, n_draws
        Data points (weight > 0) and parameter draws used.
    wald_chi2, wald_df, wald_p, wald_space
        Wald statistic, degrees of freedom, p-value and the parameter space it was computed in.
    lr_stat, lr_df, lr_p
        Likelihood-ratio statistic ``2 (loglik_fit - loglik_reference)``, df and p-value.
    loglik_fit, loglik_reference, log_sigma_reference
        Log likelihoods at the fit and at the reference (noise scale re-maximised), and that
        re-maximised ``log_sigma``.
    tests
        Per natural parameter: ``{"estimate", "se", "reference", "t", "p", "df"}``.
    allocation
        Per budget: the fit's ``N_opt``, ``D_opt``, ``tokens_per_param`` (point estimate,
        median, 5% and 95% over draws) and the reference's.
    runs_needed
        Per published interval: claimed and our widths, ``n_points`` and the points needed
        (``delta_method``, ``bootstrap``), with details.
    methods
        One line per test saying how it was computed.
    wald_mc_se
        Monte Carlo standard error of ``wald_chi2`` (its SD over resamples of the draws), or
        ``None`` with ``mc_resamples=0``.
    wald_natural_chi2, wald_natural_p
        The Wald statistic and p-value in natural space (natural estimate, reference and
        covariance of the natural-space draws).
    wald_directions
        ``wald_chi2`` split over the eigen-directions of the fit-space covariance
        (:func:`~bayescale.predict.wald.wald_directions`): ``smallest_share`` and
        ``smallest_sd`` of the thinnest direction, and per direction ``share``, ``sd``, ``z``
        and ``vectors``.
    delta_at
        Where the delta method took its gradient (``"estimate"`` or ``"draws_mean"``).
    """

    law: str
    reference: str
    n_points: int
    n_draws: int
    wald_chi2: float
    wald_df: int
    wald_p: float
    wald_space: str
    lr_stat: float
    lr_df: int
    lr_p: float
    loglik_fit: float
    loglik_reference: float
    log_sigma_reference: float
    tests: dict
    allocation: dict
    runs_needed: dict
    methods: dict
    wald_mc_se: float | None
    wald_natural_chi2: float
    wald_natural_p: float
    wald_directions: dict
    delta_at: str


# ----------------------------------------------------------------------------- distributions


@x64
def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value ``P(|T| > |t|)`` of Student's t (float64, via ``betainc``)."""
    return float(betainc(0.5 * df, 0.5, df / (df + float(t) ** 2)))


# ----------------------------------------------------------------------------- likelihood


@partial(jax.jit, static_argnames=("law", "noise", "n_grid", "n_golden"))
def _profile_log_sigma(
    law: Law, theta: jax.Array, data: Data, noise: Noise, n_grid: int = 561, n_golden: int = 60
) -> tuple[jax.Array, jax.Array]:
    """Maximise the log likelihood over ``log_sigma`` with the law's parameters fixed.

    A grid of ``log_sigma`` (step 0.05, from ``log mean|r| - 20`` to ``+ 8``) evaluated at once,
    then golden-section search in the best cell.
    """
    keep = data.weight > 0
    r = residuals(law, theta, data)
    mean_abs = jnp.sum(jnp.where(keep, jnp.abs(r), 0.0)) / jnp.maximum(jnp.sum(keep), 1)
    centre = jnp.log(jnp.maximum(mean_abs, 1e-300))
    grid = centre + jnp.linspace(-20.0, 8.0, n_grid)

    def ll(ls: jax.Array) -> jax.Array:
        return log_likelihood(law, jnp.concatenate([theta, ls[None]]), data, noise)

    vals = jax.vmap(ll)(grid)
    vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
    i = jnp.argmax(vals)
    step = grid[1] - grid[0]
    best = golden_section(ll, grid[i] - step, grid[i] + step, n_golden, maximise=True)
    return best, ll(best)


@x64
def profile_log_sigma(law: Law, theta: np.ndarray, data: Data, noise: Noise) -> tuple:
    """``(log_sigma, log likelihood)`` maximising the likelihood at fixed law parameters."""
    data = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), data)
    th = jnp.asarray(np.asarray(theta, dtype=np.float64)[: law.n_params])
    ls, ll = _profile_log_sigma(law, th, data, noise)
    return float(ls), float(ll)


@x64
def _loglik(law: Law, theta: np.ndarray, data: Data, noise: Noise) -> float:
    data = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), data)
    return float(log_likelihood(law, jnp.asarray(theta, dtype=jnp.float64), data, noise))


# ----------------------------------------------------------------------------- critique


def _summary(values: np.ndarray, point: float) -> dict:
    s = summarise(values)
    return {"point": float(point), "median": s["q50"], "q05": s["q05"], "q95": s["q95"]}


def critique(
    law: Law | str,
    data: Data,
    noise: Noise,
    theta_hat: object,
    theta_draws: object,
    reference: Reference | str,
    *,
    budgets: Sequence[float] = (5.88e23,),
    flops_per_token: float = 6.0,
    delta_at: str = "estimate",
    mc_resamples: int = 200,
    mc_seed: int = 0,
) -> Critique:
    """Test a published parameter set against a fit and its draws.

    Parameters
    ----------
    law
        The law (or its registry name).
    data
        The data the fit used (one curve, no batch axes).
    noise
        The noise model of the fit (the likelihood of the LR test).
    theta_hat
        The fit, fit space, ``(P + 1,)`` with ``log_sigma`` (or ``(P,)``: ``log_sigma`` is then
        re-maximised as for the reference).
    theta_draws
        Draws ``(n_draws, P)`` or ``(n_draws, P + 1)``: bootstrap refits or NUTS samples.
    reference
        A :class:`~bayescale.predict.references.Reference` or its registry name.
    budgets
        Compute budgets (FLOPs) at which allocations are compared; the default is Chinchilla's
        ``6 * 70e9 * 1.4e12``.
    flops_per_token
        ``k`` in ``C = k N D``.
    delta_at
        Where the runs-needed delta method takes the quantity's gradient: ``"estimate"`` (the
        fit) or ``"draws_mean"`` (the draws' natural-space mean, as Besiroglu et al. did;
        ``"draws-mean"`` is accepted too).
    mc_resamples, mc_seed
        Resamples of the draws (and their seed) behind the Monte Carlo standard errors of the
        Wald statistic and of the runs needed; 0 leaves them out.

    Returns
    -------
    Critique
        The tests; :func:`bayescale.results.summaries.to_json` makes them JSON-ready.
    """
    law = get_law(law)
    delta_at = check_delta_at(delta_at)
    check_objective(noise)
    if not isinstance(noise, Noise):
        raise ValueError("critique needs a Noise model (the likelihood of the LR test)")
    if noise.hetero:
        raise ValueError(
            "critique's likelihood-ratio test re-maximises a constant noise scale; this fit's "
            "scale varies (Noise(hetero=True)): refit without it to critique"
        )
    ref = get_reference(reference) if isinstance(reference, str) else reference
    p = law.n_params
    hat = as_draws(law, theta_hat)
    if hat.shape[0] != 1:
        raise ValueError(f"theta_hat must be one parameter vector, got shape {hat.shape}")
    hat = hat[0]
    draws = as_draws(law, theta_draws)
    if draws.shape[0] < p + 2:
        raise ValueError(f"need at least {p + 2} draws for a covariance, got {draws.shape[0]}")
    th_ref = reference_theta(law, ref)
    n = int(np.sum(np.asarray(data.weight) > 0))
    df_t = n - p

    # Wald, in fit space with the draws' covariance; its directions, its MC error; natural.
    cov = np.cov(draws[:, :p].T)
    w, w_df, w_p = wald_test(hat[:p], th_ref, cov)
    directions = wald_directions(hat[:p], th_ref, cov, law.param_names)
    index = draw_resamples(len(draws), mc_resamples, mc_seed) if mc_resamples else None
    w_mc = None if index is None else wald_mc_se(hat[:p], th_ref, draws[:, :p], index)
    nat_hat = np.asarray(to_natural(law, hat[:p]))
    nat_draws = np.asarray(to_natural(law, draws[:, :p]))
    nat_ref = np.asarray(to_natural(law, th_ref))
    w_nat, _, w_nat_p = wald_test(nat_hat, nat_ref, np.cov(nat_draws.T))

    # t-tests, natural space.
    se = np.std(nat_draws, axis=0, ddof=1)
    tests = {}
    for i, name in enumerate(law.natural_names):
        t = float((nat_hat[i] - nat_ref[i]) / se[i])
        tests[name] = {
            "estimate": float(nat_hat[i]),
            "se": float(se[i]),
            "reference": float(nat_ref[i]),
            "t": t,
            "p": t_two_sided_p(t, df_t),
            "df": df_t,
        }

    # Likelihood ratio with the one likelihood; log_sigma re-maximised for the reference.
    if hat.size == p + 1:
        ll_fit = _loglik(law, hat, data, noise)
    else:
        ll_fit = profile_log_sigma(law, hat, data, noise)[1]
    ls_ref, ll_ref = profile_log_sigma(law, th_ref, data, noise)
    lr = 2.0 * (ll_fit - ll_ref)

    # Allocation at the named budgets.
    allocation = {}
    if set(law.inputs) == {"N", "D"}:
        kw = {"flops_per_token": flops_per_token}
        fit_d, fit_p, ref_a = (
            allocate(law, draws, budgets, **kw),
            allocate(law, hat, budgets, **kw),
            allocate(law, th_ref, budgets, **kw),
        )
        for j, c in enumerate(fit_d.compute):
            allocation[f"{c:.3g}"] = {
                "compute": float(c),
                "fit": {
                    key: _summary(getattr(fit_d, key)[:, j], getattr(fit_p, key)[0, j])
                    for key in ("N_opt", "D_opt", "tokens_per_param")
                },
                "reference": {
                    key: float(getattr(ref_a, key)[0, j])
                    for key in ("N_opt", "D_opt", "tokens_per_param")
                },
            }

    methods = {
        "wald": "fit space (law parameters as fitted), covariance of the draws, chi2(P); "
        "MC SE: SD over resamples of the draws",
        "tests": f"natural space, se = SD of natural-space draws, two-sided Student t, df = {df_t}",
        "lr": "2 (loglik(theta_hat) - max over log_sigma of loglik(reference)), chi2(P)",
        "runs_needed": "n (w_ours / w_claimed)^2; bootstrap: draws' central quantile interval; "
        f"delta method: gradient at the {delta_at.replace('_', ' ')}, natural-space covariance "
        "of the draws, normal quantile; MC SEs: SD over resamples of the draws",
    }
    return Critique(
        law=law.name,
        reference=ref.name,
        n_points=n,
        n_draws=int(draws.shape[0]),
        wald_chi2=w,
        wald_df=w_df,
        wald_p=w_p,
        wald_space="fit",
        lr_stat=lr,
        lr_df=p,
        lr_p=chi2_sf(lr, p),
        loglik_fit=ll_fit,
        loglik_reference=ll_ref,
        log_sigma_reference=ls_ref,
        tests=tests,
        allocation=allocation,
        runs_needed=runs_needed(law, nat_hat, nat_draws, ref, n, delta_at=delta_at, index=index),
        methods=methods,
        wald_mc_se=w_mc,
        wald_natural_chi2=w_nat,
        wald_natural_p=w_nat_p,
        wald_directions=directions,
        delta_at=delta_at,
    )
