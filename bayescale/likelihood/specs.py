"""What an objective is: the data record, the losses and noise models, and the parameters an
objective fits (the law's, then the noise model's, each with its
:class:`~bayescale.laws.ParamSpec`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import jax
import numpy as np

from bayescale.laws.spec import Law, ParamSpec

LOSS_KINDS = ("huber", "squared")
NOISE_KINDS = ("huber", "laplace", "student_t", "gaussian")
#: Fit-space name of the noise scale (reported as ``sigma = exp(log_sigma)``).
LOG_SIGMA = "log_sigma"
#: Default start of ``log_sigma`` when fitting a Noise objective.
LOG_SIGMA_START = -5.0
#: A typical log-loss residual scale; centres the default prior on ``log_sigma``.
TYPICAL_RESIDUAL = 0.02
#: Standard deviation of the default Normal prior on ``log_sigma`` (a factor e^3 ~ 20).
LOG_SIGMA_PRIOR_SCALE = 3.0
#: Fit-space (and reported) name of the slope of ``log sigma`` per decade of the scale variable.
SIGMA_SLOPE = "sigma_slope"
#: Standard deviation of the default Normal(0, .) prior on ``sigma_slope``: a factor e per
#: decade is one standard deviation (weakly informative; log-loss noise rarely changes faster).
SIGMA_SLOPE_PRIOR_SCALE = 1.0


class Data(NamedTuple):
    """Arrays one law is fitted to; batch axes (curve, resample) may lead every field.

    Attributes
    ----------
    x
        Input name -> raw values, each ``(..., n_points)``.
    log_y
        Observed log loss, ``(..., n_points)``.
    weight
        Point weights, ``(..., n_points)``; 0 marks padding (and bootstrap-absent points).
    """

    x: Mapping[str, jax.Array]
    log_y: jax.Array
    weight: jax.Array


class Loss(NamedTuple):
    """A classic fitting loss: ``sum_i w_i rho(r_i)``.

    Attributes
    ----------
    kind
        ``"huber"`` or ``"squared"`` (``rho(r) = r**2 / 2``).
    delta
        Huber threshold on log-loss residuals (ignored for ``"squared"``).
    """

    kind: str = "huber"
    delta: float = 1e-3


class Noise(NamedTuple):
    """A noise density on log-loss residuals with a free scale ``sigma = exp(log_sigma)``.

    Attributes
    ----------
    kind
        ``"huber"``, ``"laplace"``, ``"student_t"`` or ``"gaussian"``.
    delta
        Huber threshold applied to the standardised residual ``r / sigma`` (``"huber"`` only).
    df
        Degrees of freedom (``"student_t"`` only).
    hetero
        Let the scale vary with the law's scale variable ``z`` (:func:`scale_variable`):
        ``log sigma_i = log_sigma + sigma_slope (log10 z_i - log10_ref)``, one more fitted
        parameter, ``sigma_slope`` (the change of ``log sigma`` per decade of ``z``).
    log10_ref
        ``log10 z`` at which the scale is ``sigma = exp(log_sigma)`` (``hetero`` only). Left
        ``None``, :func:`~bayescale.fit` sets it to the middle of the data's ``log10 z``
        range (:func:`with_reference`), so that ``log_sigma`` and ``sigma_slope`` are nearly
        uncorrelated; predictions use the fit's, so the scale at new points follows the slope.
    """

    kind: str = "huber"
    delta: float = 1e-3
    df: float = 4.0
    hetero: bool = False
    log10_ref: float | None = None


Objective = Loss | Noise


def check_objective(obj: Objective) -> Objective:
    """Validate an objective description; return it unchanged.

    Raises
    ------
    ValueError
        On an unknown kind, a non-positive ``delta`` / ``df``, or a bad ``hetero`` /
        ``log10_ref``.
    """
    if not isinstance(obj, (Loss, Noise)):
        raise TypeError(f"expected a Loss or Noise, got {type(obj).__name__}")
    kinds = LOSS_KINDS if isinstance(obj, Loss) else NOISE_KINDS
    what = "loss" if isinstance(obj, Loss) else "noise model"
    if obj.kind not in kinds:
        raise ValueError(f"unknown {what} {obj.kind!r}; choose one of {kinds}")
    if obj.kind == "huber" and not (obj.delta > 0 and math.isfinite(obj.delta)):
        raise ValueError(f"Huber delta must be a positive finite number, got {obj.delta}")
    if isinstance(obj, Noise) and obj.kind == "student_t" and not obj.df > 0:
        raise ValueError(f"Student-t degrees of freedom must be > 0, got {obj.df}")
    if isinstance(obj, Noise) and not isinstance(obj.hetero, (bool, np.bool_)):
        raise ValueError(f"Noise hetero must be True or False, got {obj.hetero!r}")
    ref = getattr(obj, "log10_ref", None)
    if ref is not None and not (isinstance(ref, (int, float)) and math.isfinite(ref)):
        raise ValueError(f"Noise log10_ref must be a finite number or None, got {ref!r}")
    return obj


def as_noise(noise: Noise | str, delta: float = 1e-3, what: str = "this") -> Noise:
    """A checked :class:`Noise` from a Noise or its kind (``"huber"`` with ``delta``, ...).

    Parameters
    ----------
    noise
        A :class:`Noise`, or its kind.
    delta
        Huber threshold when ``noise`` is a kind.
    what
        What needs the noise model, for the error message.

    Raises
    ------
    ValueError
        On an unknown kind or bad settings, or a :class:`Loss` (it has no density and no
        noise scale).
    """
    obj = Noise(noise, delta) if isinstance(noise, str) else noise
    if not isinstance(obj, Noise):
        raise ValueError(
            f"{what} needs a noise model (maximum likelihood with a free scale), got "
            f"{type(obj).__name__}; pass noise='huber' (or 'laplace', 'student_t', 'gaussian')"
        )
    return check_objective(obj)


def noise_spec(noise: Noise) -> ParamSpec:
    """The noise scale's :class:`~bayescale.laws.ParamSpec`: ``log_sigma``, reported as ``sigma``.

    Its default prior is ``Normal(log(0.02) [+ log(delta) for Huber], 3)``: 0.02 is a typical
    scale of log-loss residuals, and for the Huber density the residual is standardised by
    ``sigma`` with tails decaying like ``exp(-delta |r| / sigma)`` (a Laplace density of scale
    ``sigma / delta``), so ``sigma`` is about ``delta`` times the residual scale. Its one start
    is :data:`LOG_SIGMA_START`.

    Parameters
    ----------
    noise
        The noise model.

    Returns
    -------
    ParamSpec
    """
    loc = math.log(TYPICAL_RESIDUAL)
    if noise.kind == "huber":
        loc += math.log(noise.delta)
    return ParamSpec(
        LOG_SIGMA,
        "sigma",
        "exp",
        LOG_SIGMA_START - 5.0,
        LOG_SIGMA_START + 5.0,
        ("normal", loc, LOG_SIGMA_PRIOR_SCALE),
        (LOG_SIGMA_START,),
    )


def slope_spec() -> ParamSpec:
    """The :class:`~bayescale.laws.ParamSpec` of ``sigma_slope`` (``Noise(hetero=True)``).

    The change of ``log sigma`` per decade of the scale variable (``sigma`` is multiplied by
    ``exp(sigma_slope)`` per decade); prior ``Normal(0, 1)``, random starts in ``[-1, 1]``,
    one start at 0 (constant scale).

    Returns
    -------
    ParamSpec
    """
    return ParamSpec(
        SIGMA_SLOPE, SIGMA_SLOPE, "identity", -1.0, 1.0,
        ("normal", 0.0, SIGMA_SLOPE_PRIOR_SCALE), (0.0,),
    )  # fmt: skip


def params(law: Law, obj: Objective) -> tuple[ParamSpec, ...]:
    """Every parameter fitted under ``obj``, in vector order: the law's, then the noise's.

    Parameters
    ----------
    law
        The law.
    obj
        A :class:`Loss` (the law's parameters only) or a :class:`Noise` (plus ``log_sigma``,
        and ``sigma_slope`` when ``hetero``).

    Returns
    -------
    tuple of ParamSpec
    """
    if not isinstance(obj, Noise):
        return law.params
    return law.params + (noise_spec(obj),) + ((slope_spec(),) if obj.hetero else ())


def fit_names(law: Law, obj: Objective) -> tuple[str, ...]:
    """Fit-space names of every fitted parameter (``log_sigma`` last for a Noise)."""
    return tuple(p.name for p in params(law, obj))


def natural_names(law: Law, obj: Objective) -> tuple[str, ...]:
    """Reported (natural) names of every fitted parameter (``sigma`` last for a Noise)."""
    return tuple(p.label for p in params(law, obj))
