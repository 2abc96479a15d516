"""Runs needed to narrow a published interval: our interval widths against the claimed ones.

Part of the critique (:mod:`bayescale.predict.criticism`). For
each interval a reference publishes (:attr:`~bayescale.predict.references.Reference.intervals`)
:func:`runs_needed` compares the claimed width with ours at the same probability, and scales
the number of points by ``n (w_ours / w_claimed)^2`` (widths shrink as ``1/sqrt(n)``). Our
width comes from the draws' central quantile interval (``"bootstrap"``) or from the delta
method (gradient at the estimate, covariance of the draws, normal quantile).
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


def runs_needed(
    law: Law, nat_hat: np.ndarray, nat_draws: np.ndarray, ref: Reference, n: int
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

    Returns
    -------
    dict
        Per interval: ``estimate``, ``probability``, ``claimed_interval``, ``claimed_width``,
        ``our_interval``, ``our_width`` (draws' quantiles), ``delta_width``, ``sd_draws``,
        ``sd_delta``, ``n_points`` and the runs needed, ``delta_method`` and ``bootstrap``.

    Raises
    ------
    ValueError
        On an interval with a non-positive width or a probability outside ``(0, 1)``, or a
        quantity the law does not have (see :func:`quantity`).
    """
    out = {}
    cov = np.atleast_2d(np.cov(nat_draws.T))
    for name, (lo, hi, prob) in ref.intervals.items():
        claimed = float(hi) - float(lo)
        if not (claimed > 0 and 0 < prob < 1):
            raise ValueError(f"reference {ref.name!r}: bad interval {name!r}: {(lo, hi, prob)}")
        g = quantity(law, name)
        vals = np.asarray(g(nat_draws))
        qlo, qhi = np.quantile(vals, [(1 - prob) / 2, (1 + prob) / 2])
        with enable_x64():
            grad = np.asarray(jax.grad(g)(jnp.asarray(nat_hat)))
            est = float(g(jnp.asarray(nat_hat)))
        sd_delta = float(np.sqrt(grad @ cov @ grad))
        z = normal_quantile((1 + prob) / 2)
        w_boot, w_delta = float(qhi - qlo), 2.0 * z * sd_delta
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
            "n_points": int(n),
            "delta_method": n * (w_delta / claimed) ** 2,
            "bootstrap": n * (w_boot / claimed) ** 2,
        }
    return out
