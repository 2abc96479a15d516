"""What a fit says about its parameters: a summary table for every engine.

:func:`parameter_table` is ``az.summary`` of the draws' InferenceData (every engine has one,
:mod:`bayescale.results.interop`); :func:`point_table` gives a point fit approximate standard
errors from the robust sandwich at the optimum (:func:`bayescale.laplace` with ``robust=True``
draws from the same covariance). :meth:`bayescale.Fit.summary` and
:meth:`bayescale.Fit.fit_report` read these.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from bayescale._jax import enable_x64
from bayescale.data.preparation import Prepared, as_data
from bayescale.infer.idata import import_arviz
from bayescale.infer.laplace import approximation, default_bandwidth
from bayescale.laws.spec import Law, to_natural
from bayescale.likelihood import Loss, Noise, params


def check_level(level: float) -> float:
    """``level`` as a float strictly between 0 and 1; ``ValueError`` otherwise."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.9), got {level}")
    return level


def point_covariance(
    law: Law, objective: Loss | Noise, data: Prepared, theta: np.ndarray
) -> np.ndarray | None:
    """The robust sandwich covariance at a point fit (fit space), or ``None`` when it is not
    positive definite; see :func:`bayescale.laplace` (``robust=True``)."""
    theta = np.asarray(theta, dtype=np.float64)
    if not np.all(np.isfinite(theta)):
        return None
    with enable_x64():
        d = as_data(data)
        h = default_bandwidth(law, theta, d, objective)
        approx = approximation(law, theta, d, objective, True, h)
        return np.asarray(approx.cov) if bool(approx.ok) else None


def point_table(
    law: Law, objective: Loss | Noise, data: Prepared, theta: np.ndarray, level: float = 0.9
) -> pd.DataFrame:
    """Parameters of a point fit with approximate standard errors (the robust sandwich).

    Parameters
    ----------
    law, objective, data
        The fit's law, objective and prepared data.
    theta
        The point estimate, fit space.
    level
        Probability of the normal-approximation intervals (formed in fit space, so an
        exponentiated parameter's interval is asymmetric and positive).

    Returns
    -------
    pandas.DataFrame
        Indexed by natural name: ``estimate``, ``se`` (delta method from the fit-space
        sandwich), ``lower``, ``upper`` (NaN when the sandwich is not positive definite).
    """
    level = check_level(level)
    specs = params(law, objective)[: np.size(theta)]
    theta = np.asarray(theta, dtype=np.float64)
    est = to_natural(specs, theta)
    cov = point_covariance(law, objective, data, theta)
    sd = np.full(theta.shape, np.nan) if cov is None else np.sqrt(np.diag(cov))
    slope = np.array([e if s.transform == "exp" else 1.0 for s, e in zip(specs, est, strict=True)])
    z = NormalDist().inv_cdf((1 + level) / 2)
    table = pd.DataFrame(
        {
            "estimate": est,
            "se": np.abs(slope) * sd,
            "lower": to_natural(specs, theta - z * sd),
            "upper": to_natural(specs, theta + z * sd),
        },
        index=[s.label for s in specs],
    )
    table.attrs.update(method="robust sandwich at the optimum (approximate)", level=level)
    return table


def parameter_table(idata: Any, method: str, level: float = 0.9, **options: Any) -> pd.DataFrame:
    """``az.summary`` of draws' InferenceData: mean, sd, HDI and, for NUTS, MCSE, ESS, R-hat.

    Parameters
    ----------
    idata
        The draws' InferenceData (natural names).
    method
        ``"nuts"`` (every column) or ``"bootstrap"`` / ``"laplace"`` (one chain: statistics
        only, ``kind="stats"``, as convergence diagnostics do not apply).
    level
        ``hdi_prob``.
    **options
        Passed on to ``arviz.summary`` (e.g. ``stat_focus="median"``, ``var_names``;
        ``round_to=None`` for arviz's display rounding, which shows a Huber noise scale of
        ``4.7e-06`` as ``0.000``).

    Returns
    -------
    pandas.DataFrame
        Exactly ``az.summary(idata, hdi_prob=level, round_to="none", ...)``: raw numbers.
    """
    az = import_arviz()
    options = {"hdi_prob": check_level(level), "round_to": "none", **options}
    if method != "nuts":
        options.setdefault("kind", "stats")
    return az.summary(idata, **options)
