"""Priors of the NUTS model: fit-space prior tuples, their defaults, checks and distributions.

A prior is a tuple ``(kind, *values)`` with ``kind`` one of
:data:`~bayescale.laws._spec.PRIOR_KINDS`: ``("normal", loc, scale)``,
``("uniform", low, high)``, ``("halfnormal", scale)`` or ``("lognormal", loc, scale)``.
:func:`resolve_priors` gives the priors of a law's fit-space parameters and ``log_sigma`` as a
hashable tuple (a static argument of the compiled samplers in :mod:`bayescale.infer.nuts`);
:func:`prior_distribution` turns one into its numpyro distribution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpyro.distributions as dist

from bayescale.laws._spec import PRIOR_KINDS, Law
from bayescale.likelihood import Noise

#: A typical log-loss residual scale; centres the default prior on ``log_sigma``.
TYPICAL_RESIDUAL = 0.02
#: Standard deviation of the default Normal prior on ``log_sigma`` (a factor e^3 ~ 20).
LOG_SIGMA_PRIOR_SCALE = 3.0

Prior = tuple
Priors = tuple[tuple[str, Prior], ...]


def default_log_sigma_prior(noise: Noise) -> Prior:
    """Default prior on ``log_sigma``: ``Normal(log(0.02) [+ log(delta) for Huber], 3)``.

    0.02 is a typical scale of log-loss residuals. For the Huber density the residual
    ``r`` is standardised by ``sigma`` and its tails decay like ``exp(-delta |r| / sigma)``:
    a Laplace density of scale ``sigma / delta``, so ``sigma`` itself is about ``delta``
    times the residual scale and the prior is centred at ``log(0.02 delta)``.

    Parameters
    ----------
    noise
        The noise model of the fit.

    Returns
    -------
    Prior
        ``("normal", loc, LOG_SIGMA_PRIOR_SCALE)``.
    """
    loc = math.log(TYPICAL_RESIDUAL)
    if noise.kind == "huber":
        loc += math.log(noise.delta)
    return ("normal", loc, LOG_SIGMA_PRIOR_SCALE)


def _check_prior(name: str, prior: object) -> Prior:
    """Validate one prior tuple; return it with float entries."""
    ok = isinstance(prior, tuple | list) and len(prior) >= 1 and prior[0] in PRIOR_KINDS
    ok = ok and len(prior) == 1 + PRIOR_KINDS[prior[0]]
    if ok:
        kind, *vals = prior
        try:
            vals = [float(v) for v in vals]
        except (TypeError, ValueError):
            ok = False
    if ok:
        ok = all(math.isfinite(v) for v in vals)
        if kind == "uniform":
            ok = ok and vals[0] < vals[1]
        else:
            ok = ok and vals[-1] > 0
    if not ok:
        raise ValueError(
            f"prior for {name!r} must be ('normal', loc, scale), ('uniform', low, high), "
            f"('halfnormal', scale) or ('lognormal', loc, scale) with finite numbers, "
            f"scale > 0 and low < high; got {prior!r}"
        )
    return (kind, *vals)


def resolve_priors(law: Law, noise: Noise, priors: Mapping[str, Prior] | None = None) -> Priors:
    """Priors of ``law.param_names + ("log_sigma",)`` in fit space, as a hashable tuple.

    Defaults come from each :class:`~bayescale.laws.ParamSpec` and
    :func:`default_log_sigma_prior`; ``priors`` overrides them by fit-space name.

    Parameters
    ----------
    law
        The scaling law.
    noise
        The noise model (sets the default prior on ``log_sigma``).
    priors
        Overrides keyed by fit-space name (``"log_sigma"`` included).

    Returns
    -------
    Priors
        ``((name, prior), ...)`` in the order of ``law.param_names + ("log_sigma",)``.

    Raises
    ------
    ValueError
        On an unknown parameter name or a malformed prior.
    """
    names = law.param_names + ("log_sigma",)
    out = {s.name: s.prior for s in law.params}
    out["log_sigma"] = default_log_sigma_prior(noise)
    for key, value in (priors or {}).items():
        if key not in out:
            raise ValueError(
                f"prior given for unknown parameter {key!r}; law {law.name!r} has fit-space "
                f"parameters {list(names)}"
            )
        out[key] = value
    return tuple((n, _check_prior(n, out[n])) for n in names)


def prior_distribution(prior: Prior) -> dist.Distribution:
    """The numpyro distribution of a prior tuple.

    Parameters
    ----------
    prior
        A checked prior tuple (see :func:`resolve_priors`).

    Returns
    -------
    numpyro.distributions.Distribution
        ``Normal``, ``Uniform``, ``HalfNormal`` or ``LogNormal``.
    """
    kind, *v = prior
    if kind == "normal":
        return dist.Normal(v[0], v[1])
    if kind == "uniform":
        return dist.Uniform(v[0], v[1])
    if kind == "halfnormal":
        return dist.HalfNormal(v[0])
    return dist.LogNormal(v[0], v[1])
