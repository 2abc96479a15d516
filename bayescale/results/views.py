"""Tables a fit answers with: predictions, allocations, parameter summaries, the critique.

The methods of :class:`~bayescale.Fit` (``predict``, ``allocate``, ``summary``, ``critique``)
are thin wrappers over these functions, which take a fit's pieces (law, objective, prepared
data, point estimate, flat draws) so that records stay data. Every table follows the one summary
convention (:data:`bayescale.report.units.CONVENTION`): the median over the draws, the point fit
where there are none, and equal-tailed intervals at ``level`` (90% by default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data.columns import POSITIVE
from bayescale.data.io import DataError
from bayescale.data.preparation import Prepared, as_data
from bayescale.laws.spec import Law
from bayescale.likelihood import Loss, Noise
from bayescale.predict.allocation import allocate
from bayescale.predict.criticism import Critique, critique
from bayescale.predict.posterior import KINDS, predict_log_loss, predictive
from bayescale.predict.protocols import get_protocol
from bayescale.predict.references import Reference, get_reference
from bayescale.results.parameters import check_level

#: New-run intervals use at least this many (repeated) draws, as the report's bands do; a fit
#: without draws repeats its point estimate this often (a plug-in interval).
PLUG_IN_DRAWS = 2000
#: Seed of the noise draws of new-run intervals (the report's).
PREDICTIVE_SEED = 0
#: Relative tolerance of the data's range in the ``extrapolated`` flag.
RANGE_TOLERANCE = 1e-9


def input_names(law: Law, data: Prepared) -> dict[str, str]:
    """Name a user writes for each law input -> the law's input name.

    A one-variable law's input ``x`` goes by the canonical variable it was fitted on (``N``,
    ``D``, ``C`` or ``step``, from the data's provenance) when that is known.
    """
    out = {}
    for name in law.inputs:
        shown = name
        if name == "x":
            cols, der = data.columns, data.derived
            for k in ("N", "D", "C", "step"):
                if ("x" in cols and cols.get(k) == cols["x"]) or (
                    "x" in der and der.get(k) == der["x"]
                ):
                    shown = k
                    break
        out[shown] = name
    return out


def prediction_inputs(
    law: Law, data: Prepared, points: Mapping[str, object] | pd.DataFrame
) -> dict[str, np.ndarray]:
    """Check points at which to predict; returns them by the name a user writes.

    Parameters
    ----------
    law, data
        The law and the prepared data of the fit.
    points
        A DataFrame (columns beyond the law's inputs are ignored) or a mapping of input name ->
        value(s) (every key must be an input of the law). A one-variable law's input may be
        named by its variable (``N``) or ``x``.

    Returns
    -------
    dict
        Input name (as :func:`input_names` shows it) -> float64 array, all of one length.

    Raises
    ------
    ValueError
        On unknown or missing inputs, values that are not finite numbers, non-positive values
        of a positive input (``N``, ``D``, ``C``, ``step``, ...), or no points.
    """
    names = input_names(law, data)
    alias = {**{v: k for k, v in names.items()}, **{k: k for k in names}}
    given = dict(points.items()) if not isinstance(points, pd.DataFrame) else None
    if given is not None:
        unknown = sorted(str(k) for k in given if k not in alias)
        if unknown:
            raise ValueError(
                f"unknown input(s) {unknown} for law {law.name!r}, whose inputs are {list(names)}"
            )
    else:
        given = {k: points[k].to_numpy() for k in points.columns if k in alias}
    cols = {alias[k]: v for k, v in given.items()}
    missing = [k for k in names if k not in cols]
    if missing:
        raise ValueError(
            f"law {law.name!r} needs input(s) {list(names)} at every point; missing {missing}"
        )
    out = {}
    for k in names:
        try:
            v = np.atleast_1d(np.asarray(cols[k], dtype=np.float64)).ravel()
        except (TypeError, ValueError) as err:
            raise ValueError(f"input {k!r} must be numbers: {err}") from err
        if not np.all(np.isfinite(v)):
            bad = np.flatnonzero(~np.isfinite(v))[:5].tolist()
            raise ValueError(f"input {k!r} has non-finite values (points {bad})")
        canon = names[k] if names[k] != "x" else k
        if canon in POSITIVE and np.any(v <= 0):
            raise ValueError(f"input {k!r} must be > 0; got {v[v <= 0][:3].tolist()}")
        out[k] = v
    lengths = {k: v.size for k, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must all have the same number of points, got {lengths}")
    if not next(iter(lengths.values())):
        raise ValueError("no points to predict at")
    return out


def extrapolated(law: Law, data: Prepared, x: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per point, whether it lies outside the data: an input beyond the fitted range, or (a law
    of ``N`` and ``D``) compute ``k N D`` beyond the data's largest run.

    Parameters
    ----------
    law, data
        The law and the prepared data of the fit.
    x
        Law input name -> values, ``(m,)`` each.

    Returns
    -------
    numpy.ndarray
        Boolean ``(m,)``.
    """
    out = np.zeros(next(iter(x.values())).shape, dtype=bool)
    tol = RANGE_TOLERANCE
    for k, v in x.items():
        seen = np.asarray(data.x[k], dtype=np.float64)
        lo, hi = float(seen.min()), float(seen.max())
        out |= (v < lo - tol * abs(lo)) | (v > hi + tol * abs(hi))
    if set(law.inputs) == {"N", "D"}:
        k = float(data.flops_per_token)
        largest = k * float(np.max(np.asarray(data.x["N"]) * np.asarray(data.x["D"])))
        out |= k * x["N"] * x["D"] > largest * (1 + tol)
    return out


def prediction_table(
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    theta: np.ndarray,
    draws: np.ndarray | None,
    points: Mapping[str, object] | pd.DataFrame,
    *,
    kind: str = "mean",
    level: float = 0.9,
    seed: int = PREDICTIVE_SEED,
) -> pd.DataFrame:
    """The loss predicted at points: median and an equal-tailed interval per point.

    Parameters
    ----------
    law, objective, data
        The fit's law, objective and prepared data.
    theta
        The point estimate, fit space ``(P,)``.
    draws
        Flat fit-space draws ``(n_draws, P)``, or ``None`` for a point fit.
    points
        Where to predict (see :func:`prediction_inputs`).
    kind
        ``"mean"``: the law's curve under parameter uncertainty. ``"new_run"``: the loss of one
        new training run (the curve plus the noise model; needs a
        :class:`~bayescale.likelihood.Noise` fit). Draws are repeated to at least
        :data:`PLUG_IN_DRAWS` with fresh noise per copy, as in the report's bands; a point fit
        repeats its estimate (a plug-in interval: noise only).
    level
        Probability of the central interval.
    seed
        Seed of the noise draws (``"new_run"``).

    Returns
    -------
    pandas.DataFrame
        One row per point: the inputs, ``median``, ``lower``, ``upper`` and ``extrapolated``
        (see :func:`extrapolated`). A point fit's ``"mean"`` has the point prediction as
        ``median`` and NaN bounds (no parameter uncertainty was measured). ``attrs`` records
        ``kind``, ``level`` and ``draws`` (the number of parameter draws, 0 for a point fit).

    Raises
    ------
    ValueError
        On bad points, an unknown ``kind``, a bad ``level``, or ``"new_run"`` without a noise
        model.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    level = check_level(level)
    shown = prediction_inputs(law, data, points)
    names = input_names(law, data)
    x = {names[k]: v for k, v in shown.items()}
    probs = ((1 - level) / 2, 0.5, (1 + level) / 2)
    noise = objective if isinstance(objective, Noise) else None
    point = np.asarray(theta, dtype=np.float64)
    if draws is None and kind == "mean":
        median = np.exp(predict_log_loss(law, point, x)[0])
        lower = upper = np.full(median.shape, np.nan)
    else:
        flat = point[None] if draws is None else np.asarray(draws, dtype=np.float64)
        if kind == "new_run":
            flat = np.repeat(flat, max(1, math.ceil(PLUG_IN_DRAWS / flat.shape[0])), axis=0)
        q = predictive(law, flat, x, kind=kind, noise=noise, probs=probs, seed=seed).quantiles
        lower, median, upper = q
    table = pd.DataFrame(shown)
    table["median"], table["lower"], table["upper"] = median, lower, upper
    table["extrapolated"] = extrapolated(law, data, x)
    table.attrs.update(kind=kind, level=level, draws=0 if draws is None else len(draws))
    return table


def allocation_table(
    law: Law,
    data: Prepared,
    theta: np.ndarray,
    draws: np.ndarray | None,
    budgets: Sequence[float],
    *,
    flops_per_token: float | None = None,
    level: float = 0.9,
) -> pd.DataFrame:
    """Compute-optimal allocation at budgets: median and interval of each quantity.

    Parameters
    ----------
    law, data
        A law of ``N`` and ``D`` and the fit's prepared data.
    theta
        The point estimate, fit space.
    draws
        Flat fit-space draws ``(n_draws, P)``, or ``None``.
    budgets
        Compute budgets in FLOPs.
    flops_per_token
        ``k`` in ``C = k N D`` (default: the fit's).
    level
        Probability of the central intervals.

    Returns
    -------
    pandas.DataFrame
        One row per budget: ``compute``; for each of ``N_opt``, ``D_opt``,
        ``tokens_per_param``, ``loss_opt`` the median (point value without draws) and
        ``<name>_lower``, ``<name>_upper`` (NaN without draws); ``times_largest_run`` (the
        budget over the compute of the data's largest run).
    """
    level = check_level(level)
    k = float(data.flops_per_token if flops_per_token is None else flops_per_token)
    point = allocate(law, np.asarray(theta)[None], list(budgets), flops_per_token=k)
    alloc = point if draws is None else allocate(law, draws, list(budgets), flops_per_token=k)
    out: dict[str, Any] = {"compute": point.compute}
    for name in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
        values = getattr(alloc, name)
        if draws is None:
            out[name] = values[0]
            out[f"{name}_lower"] = out[f"{name}_upper"] = np.full(values.shape[1], np.nan)
        else:
            lo, mid, hi = np.quantile(values, [(1 - level) / 2, 0.5, (1 + level) / 2], axis=0)
            out[name], out[f"{name}_lower"], out[f"{name}_upper"] = mid, lo, hi
    largest = k * float(np.max(np.asarray(data.x["N"]) * np.asarray(data.x["D"])))
    out["times_largest_run"] = point.compute / largest
    table = pd.DataFrame(out)
    table.attrs.update(method=point.method, level=level, flops_per_token=k)
    return table


def fit_critique(
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    theta: np.ndarray,
    draws: np.ndarray | None,
    against: str | Reference,
    *,
    budgets: Sequence[float] = (5.88e23,),
    protocol: str | None = None,
    delta_at: str | None = None,
) -> Critique:
    """:func:`bayescale.critique` of a fit with draws against a published parameter set.

    Parameters
    ----------
    law, objective, data
        The fit's law, noise model and prepared data.
    theta
        The point estimate, fit space.
    draws
        Flat fit-space draws.
    against
        The reference, or its name.
    budgets
        Compute budgets (FLOPs) of the allocation comparison.
    protocol
        The protocol the draws were made under (``Draws.settings["protocol"]``), if any.
    delta_at
        ``"estimate"`` or ``"draws_mean"``; default: the protocol's, else the estimate.

    Returns
    -------
    Critique

    Raises
    ------
    DataError
        If there are no draws or no noise model.
    KeyError
        On an unknown reference.
    """
    ref = get_reference(against) if isinstance(against, str) else against
    if draws is None:
        raise DataError(
            "critique needs draws, and this fit has none: rerun `bayescale fit ... "
            "--method bootstrap --out DIR` (or --method nuts)"
        )
    if not isinstance(objective, Noise):
        raise DataError(
            "critique needs a fit with a noise model (the likelihood-ratio test "
            "compares likelihoods); refit with --noise huber or --method bootstrap"
        )
    if delta_at is None:
        delta_at = get_protocol(protocol).delta_at if protocol else "estimate"
    return critique(
        law,
        as_data(data),
        objective,
        theta,
        draws,
        ref,
        budgets=list(budgets),
        flops_per_token=data.flops_per_token,
        delta_at=delta_at,
    )
