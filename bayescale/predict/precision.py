"""Runs needed to narrow a published interval: our interval widths against the claimed ones.

Part of the critique (:mod:`bayescale.predict.criticism`). For
each interval a reference publishes (:attr:`~bayescale.predict.references.Reference.intervals`)
:func:`runs_needed` compares the claimed width with ours at the same probability, and scales
the number of points by ``n (w_ours / w_claimed)^2`` (widths shrink as ``1/sqrt(n)``). Our
width comes from the draws' central quantile interval (``"bootstrap"``) or from the delta
method (the quantity's gradient at the estimate or, as Besiroglu et al. did, at the draws'
mean; the natural-space covariance of the draws; the normal quantile). Each figure carries
its Monte Carlo standard error: its SD over resamples of the draws (:func:`draw_resamples`).
:func:`quantity` names the quantities an interval may be on: natural parameters, and the
law's derived quantities (chinchilla's compute-optimal exponents ``"a"`` and ``"b"``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from bayescale._jax import enable_x64
from bayescale.laws.spec import Law, derived_values
from bayescale.predict.protocols import check_delta_at
from bayescale.predict.references import Reference


def normal_quantile(p: float) -> float:
    """Standard normal quantile (``ndtri``)."""
    with enable_x64():
        return float(ndtri(float(p)))


def quantity(law: Law, name: str) -> Callable[[jax.Array], jax.Array]:
    """Function of natural-space parameters ``(..., P)`` giving a named quantity.

    Raises
    ------
    ValueError
        If the name is neither a natural parameter nor a derived exponent the law supports.
    """
    names = law.natural_names
    if name in names:
        i = names.index(name)
        return lambda nat: nat[..., i]
    if name in law.derived_names:
        return lambda nat: derived_values(law, nat)[name]
    raise ValueError(
        f"no quantity {name!r} for law {law.name!r}: use a natural parameter "
        f"{list(names)} or a derived quantity {list(law.derived_names)}"
    )


def draw_resamples(n_draws: int, mc_resamples: int = 200, seed: int = 0) -> np.ndarray:
    """Row indices of ``mc_resamples`` resamples (with replacement) of ``n_draws`` draws.

    The Monte Carlo error of a figure computed from draws is its SD over these resamples (a
    bootstrap of the draws).

    Returns
    -------
    numpy.ndarray
        ``(mc_resamples, n_draws)`` integers from ``np.random.default_rng(seed)``.

    Raises
    ------
    ValueError
        If ``mc_resamples < 2``.
    """
    if int(mc_resamples) < 2:
        raise ValueError(f"mc_resamples must be >= 2, got {mc_resamples}")
    return np.random.default_rng(seed).integers(0, n_draws, size=(int(mc_resamples), n_draws))


def runs_needed(
    law: Law,
    nat_hat: np.ndarray,
    nat_draws: np.ndarray,
    ref: Reference,
    n: int,
    *,
    delta_at: str = "estimate",
    index: np.ndarray | None = None,
) -> dict[str, dict]:
    """Runs each of a reference's published intervals would need, from our widths.

    Parameters
    ----------
    law
        The law.
    nat_hat
        The fit in natural space, ``(P,)``.
    nat_draws
        Natural-space draws ``(n_draws, P)``.
    ref
        The reference whose ``intervals`` (``name -> (low, high, probability)``) are checked.
    n
        Number of data points of the fit.
    delta_at
        Where the delta method takes the quantity's gradient: ``"estimate"`` (``nat_hat``) or
        ``"draws_mean"`` (the mean of the natural-space draws, as Besiroglu et al. did).
    index
        Resamples of the draws (:func:`draw_resamples`) for the Monte Carlo standard errors of
        both figures; ``None`` leaves them out.

    Returns
    -------
    dict
        Per interval: ``estimate``, ``probability``, ``claimed_interval``, ``claimed_width``,
        ``our_interval``, ``our_width`` (draws' quantiles), ``delta_width``, ``sd_draws``,
        ``sd_delta``, ``delta_at``, ``n_points`` and the runs needed, ``delta_method`` and
        ``bootstrap``, with their Monte Carlo SEs ``delta_method_mc_se`` and
        ``bootstrap_mc_se`` (``None`` without ``index``).

    Raises
    ------
    ValueError
        On an interval with a non-positive width or a probability outside ``(0, 1)``, a
        quantity the law does not have (see :func:`quantity`), or an unknown ``delta_at``.
    """
    delta_at = check_delta_at(delta_at)
    nat_draws = np.asarray(nat_draws, dtype=np.float64)
    out = {}
    cov = np.atleast_2d(np.cov(nat_draws.T))
    at = np.asarray(nat_hat, dtype=np.float64) if delta_at == "estimate" else nat_draws.mean(0)
    if index is not None:
        covs = np.stack([np.atleast_2d(np.cov(nat_draws[i].T)) for i in index])
        at_b = np.stack([at if delta_at == "estimate" else nat_draws[i].mean(0) for i in index])
    for name, (lo, hi, prob) in ref.intervals.items():
        claimed = float(hi) - float(lo)
        if not (claimed > 0 and 0 < prob < 1):
            raise ValueError(f"reference {ref.name!r}: bad interval {name!r}: {(lo, hi, prob)}")
        g = quantity(law, name)
        vals = np.asarray(g(nat_draws))
        levels = [(1 - prob) / 2, (1 + prob) / 2]
        qlo, qhi = np.quantile(vals, levels)
        with enable_x64():
            grad = np.asarray(jax.grad(g)(jnp.asarray(at)))
            est = float(g(jnp.asarray(nat_hat)))
        sd_delta = float(np.sqrt(grad @ cov @ grad))
        z = normal_quantile((1 + prob) / 2)
        w_boot, w_delta = float(qhi - qlo), 2.0 * z * sd_delta
        mc_delta = mc_boot = None
        if index is not None:
            with enable_x64():
                grads = np.asarray(jax.vmap(jax.grad(g))(jnp.asarray(at_b)))
            sd_b = np.sqrt(np.einsum("bi,bij,bj->b", grads, covs, grads))
            mc_delta = float(np.std(n * (2.0 * z * sd_b / claimed) ** 2, ddof=1))
            q_b = np.quantile(vals[index], levels, axis=1)
            mc_boot = float(np.std(n * ((q_b[1] - q_b[0]) / claimed) ** 2, ddof=1))
        out[name] = {
            "estimate": est,
            "probability": float(prob),
            "claimed_interval": [float(lo), float(hi)],
            "claimed_width": claimed,
            "our_interval": [float(qlo), float(qhi)],
            "our_width": w_boot,
            "delta_width": w_delta,
            "sd_draws": float(np.std(vals, ddof=1)),
            "sd_delta": sd_delta,
            "delta_at": delta_at,
            "n_points": int(n),
            "delta_method": n * (w_delta / claimed) ** 2,
            "bootstrap": n * (w_boot / claimed) ** 2,
            "delta_method_mc_se": mc_delta,
            "bootstrap_mc_se": mc_boot,
        }
    return out
