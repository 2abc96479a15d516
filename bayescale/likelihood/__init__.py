"""The one likelihood: objectives and noise models on log-loss residuals.

Residuals are ``r = log L_obs - log L_pred``. Every engine (multi-start fitting, bootstrap,
NUTS) evaluates a law through :func:`objective` or :func:`log_likelihood` here; there is no
second copy of an objective anywhere in the package.

Two kinds of static, hashable objective descriptions:

* :class:`Loss` - a classic fitting loss, ``sum_i w_i rho(r_i)``: ``"huber"`` (with ``delta``;
  **summed over points, not averaged**, because averaging makes quasi-Newton solvers stop
  early) or ``"squared"``.
* :class:`Noise` - a normalised density with a free scale, for maximum likelihood, bootstrap and
  NUTS: ``"huber"`` (Besiroglu et al.'s Huber density), ``"laplace"``, ``"student_t"``,
  ``"gaussian"``. Its scale is one extra parameter, ``log_sigma`` (reported as ``sigma``),
  appended to the law's; :func:`noise_spec` is its :class:`~bayescale.laws.ParamSpec` and
  :func:`params` lists every parameter an objective fits, by name. With ``hetero=True`` the
  scale varies with the law's scale variable ``z`` (:func:`scale_variable`): one more
  parameter, ``sigma_slope`` (:func:`slope_spec`), and
  ``log sigma_i = log_sigma + sigma_slope (log10 z_i - log10_ref)`` (:func:`log_scale`).

Point weights ``w`` multiply each point's term; a weight of 0 marks a padded point.

Modules: :mod:`~bayescale.likelihood.specs` (the records and the fitted parameters),
:mod:`~bayescale.likelihood.densities` (elementwise densities) and
:mod:`~bayescale.likelihood.evaluation` (the likelihood itself); import from here.
"""

from __future__ import annotations

from bayescale.likelihood.densities import (
    gaussian_logpdf,
    huber,
    huber_log_norm,
    huber_logpdf,
    huber_sample,
    laplace_logpdf,
    student_t_logpdf,
)
from bayescale.likelihood.evaluation import (
    kept_inputs,
    log_likelihood,
    log_scale,
    noise_logpdf,
    noise_scale,
    objective,
    objective_scale,
    pointwise_log_likelihood,
    residuals,
    sample_noise,
    scale_variable,
    scale_variable_name,
    with_reference,
)
from bayescale.likelihood.specs import (
    LOG_SIGMA,
    LOG_SIGMA_PRIOR_SCALE,
    LOG_SIGMA_START,
    LOSS_KINDS,
    NOISE_KINDS,
    SIGMA_SLOPE,
    SIGMA_SLOPE_PRIOR_SCALE,
    TYPICAL_RESIDUAL,
    Data,
    Loss,
    Noise,
    Objective,
    as_noise,
    check_objective,
    fit_names,
    natural_names,
    noise_spec,
    params,
    slope_spec,
)

__all__ = [
    "LOG_SIGMA",
    "LOG_SIGMA_PRIOR_SCALE",
    "LOG_SIGMA_START",
    "LOSS_KINDS",
    "NOISE_KINDS",
    "SIGMA_SLOPE",
    "SIGMA_SLOPE_PRIOR_SCALE",
    "TYPICAL_RESIDUAL",
    "Data",
    "Loss",
    "Noise",
    "Objective",
    "as_noise",
    "check_objective",
    "fit_names",
    "gaussian_logpdf",
    "huber",
    "huber_log_norm",
    "huber_logpdf",
    "huber_sample",
    "kept_inputs",
    "laplace_logpdf",
    "log_likelihood",
    "log_scale",
    "natural_names",
    "noise_logpdf",
    "noise_scale",
    "noise_spec",
    "objective",
    "objective_scale",
    "params",
    "pointwise_log_likelihood",
    "residuals",
    "sample_noise",
    "scale_variable",
    "scale_variable_name",
    "slope_spec",
    "student_t_logpdf",
    "with_reference",
]
