"""The numpyro model of a law under a noise density: priors and the one likelihood.

A prior is a tuple ``(kind, *values)`` with ``kind`` one of
:data:`~bayescale.laws.spec.PRIOR_KINDS`: ``("normal", loc, scale)``,
``("uniform", low, high)``, ``("halfnormal", scale)`` or ``("lognormal", loc, scale)``.
:func:`resolve_priors` gives the priors of every fitted parameter (the law's, then the noise
scale's, from :func:`bayescale.likelihood.params`) as a hashable tuple (a static argument of
the compiled samplers in :mod:`bayescale.infer.chains`); :func:`prior_distribution` turns one
into its numpyro distribution. :func:`numpyro_model` has one ``numpyro.sample`` site per fit-space
parameter and one ``numpyro.factor`` holding :func:`bayescale.likelihood.log_likelihood` - the
one likelihood, no second objective. :func:`log_posterior` is that model's log density in fit
space (numpyro's ``log_density``, no change of variables), for the samplers that work there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer.util import log_density

from bayescale.laws.spec import PRIOR_KINDS, Law
from bayescale.likelihood import Data, Noise, check_objective, log_likelihood, params

Prior = tuple
Priors = tuple[tuple[str, Prior], ...]


def check_prior(name: str, prior: object) -> Prior:
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
    """Priors of every fitted parameter in fit space (the law's, then ``log_sigma``).

    Defaults come from each :class:`~bayescale.laws.ParamSpec`, the noise scale's from
    :func:`bayescale.likelihood.noise_spec`; ``priors`` overrides them by fit-space name.

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
        ``((name, prior), ...)`` in the order of :func:`bayescale.likelihood.params`.

    Raises
    ------
    ValueError
        On an unknown parameter name or a malformed prior.
    """
    specs = params(law, noise)
    names = tuple(s.name for s in specs)
    out = {s.name: s.prior for s in specs}
    for key, value in (priors or {}).items():
        if key not in out:
            raise ValueError(
                f"prior given for unknown parameter {key!r}; law {law.name!r} has fit-space "
                f"parameters {list(names)}"
            )
        out[key] = value
    return tuple((n, check_prior(n, out[n])) for n in names)


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


def numpyro_model(
    law: Law, noise: Noise, priors: Priors, data: Data, likelihood: bool = True
) -> None:
    """The numpyro model: a sample site per fit-space parameter, then the likelihood factor.

    Parameters
    ----------
    law, noise, priors
        The law, the noise density and resolved priors (:func:`resolve_priors`).
    data
        One curve.
    likelihood
        Leave out the likelihood factor (the prior alone) when false.
    """
    theta = jnp.stack([numpyro.sample(name, prior_distribution(p)) for name, p in priors])
    if likelihood:
        numpyro.factor("log_likelihood", log_likelihood(law, theta, data, noise))


def build_model(
    law: Law, noise: Noise, priors: Mapping[str, Prior] | None = None
) -> Callable[[Data], None]:
    """The numpyro model ``model(data)`` of ``law`` under ``noise``.

    Sample sites are the fit-space parameter names and ``log_sigma``; the likelihood is the
    factor ``"log_likelihood"`` = :func:`bayescale.likelihood.log_likelihood`. The data is a
    model argument, so ``MCMC(NUTS(model), jit_model_args=True)`` does not recompile for new
    data of the same shape.
    """
    if not isinstance(noise, Noise):
        raise TypeError(f"the NUTS model needs a Noise density, got {type(noise).__name__}")
    check_objective(noise)
    return partial(numpyro_model, law, noise, resolve_priors(law, noise, priors))


def log_posterior(
    theta: jax.Array,
    data: Data,
    law: Law,
    noise: Noise,
    priors: Priors,
    likelihood: bool = True,
) -> jax.Array:
    """Unnormalised log posterior density of fit-space parameters: :func:`numpyro_model`'s.

    numpyro's ``log_density`` of the model at ``theta`` (the priors' log densities plus the
    likelihood factor) with no change of variables, so this is the density of the posterior
    NUTS samples, with respect to the fit-space parameters themselves; ``-inf`` outside the
    priors' support (numpyro's ``Uniform.log_prob`` does not check it).

    Parameters
    ----------
    theta
        Fit-space parameters ``(P + 1,)`` in the order of ``priors``.
    data
        One curve.
    law, noise, priors
        The law, the noise density and resolved priors (:func:`resolve_priors`).
    likelihood
        The prior alone when false.

    Returns
    -------
    jax.Array
        A scalar.
    """
    values = {name: theta[i] for i, (name, _) in enumerate(priors)}
    inside = jnp.all(
        jnp.stack([prior_distribution(p).support(theta[i]) for i, (_, p) in enumerate(priors)])
    )
    model = partial(numpyro_model, law, noise, priors, likelihood=likelihood)
    value, _ = log_density(model, (data,), {}, values)
    return jnp.where(inside, value, -jnp.inf)
