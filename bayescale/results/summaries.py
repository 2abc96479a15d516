"""What is said about records: allocation and critique summaries, diagnostics, per-curve
tables, and the one JSON cleaner.

The command line, the report and the replication all read these functions; none of them
computes a summary of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayescale.laws.spec import to_natural
from bayescale.likelihood import fit_names, natural_names, params
from bayescale.optimize.curves import StartSummary
from bayescale.optimize.multistart import MultiStartResult
from bayescale.predict.allocation import allocate
from bayescale.predict.posterior import summarise
from bayescale.results.records import BatchFit, Fit
from bayescale.results.views import fit_critique
from bayescale.status import OPTIMIZER_NAMES, counts

QUANTILES = (0.05, 0.5, 0.95)


def to_json(obj: object) -> object:
    """``obj`` with numpy values as Python ones and non-finite floats as ``None`` (for JSON)."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def allocation_summary(fit: Fit, compute: Sequence[float], flops_per_token: float) -> dict:
    """Compute-optimal allocation of a fit at budgets: point values plus summaries of its draws.

    Parameters
    ----------
    fit
        A fit of a law of ``N`` and ``D``, with or without draws.
    compute
        Budgets in FLOPs.
    flops_per_token
        ``k`` in ``C = k N D``.

    Returns
    -------
    dict
        JSON-ready: ``law``, ``method``, ``flops_per_token``, ``draws``, ``budgets`` (per budget
        ``N_opt``, ``D_opt``, ``tokens_per_param``, ``loss_opt``: ``point`` and, with draws,
        mean, sd and 5/50/95% quantiles), ``notes`` and, for one exponent per draw,
        ``exponents``.
    """
    law = fit.law
    compute = list(compute)
    point = allocate(law, fit.result.theta[None], compute, flops_per_token=flops_per_token)
    has = fit.draws is not None
    alloc = (
        allocate(law, fit.draws.flat(), compute, flops_per_token=flops_per_token) if has else point
    )
    rows = []
    for j, c in enumerate(point.compute):
        row = {"compute": float(c)}
        for k in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
            row[k] = {"point": float(getattr(point, k)[0, j])}
            if has:
                row[k].update(summarise(getattr(alloc, k)[:, j]))
        rows.append(row)
    notes = []
    if point.method == "numerical":
        notes.append(
            f"law {law.name!r} has no closed-form allocation; N* was found numerically "
            "by minimising the loss along each budget"
        )
    if not has:
        notes.append(
            "this fit has no draws: point values only; rerun `bayescale fit` with "
            "--method bootstrap or nuts for intervals"
        )
    out = {
        "law": law.name,
        "method": point.method,
        "flops_per_token": flops_per_token,
        "draws": fit.draws.method if has else None,
        "budgets": rows,
        "notes": notes,
    }
    if point.a.ndim == 1:
        out["exponents"] = {"a": {"point": float(point.a[0])}, "b": {"point": float(point.b[0])}}
        if has:
            out["exponents"]["a"].update(summarise(alloc.a))
            out["exponents"]["b"].update(summarise(alloc.b))
    return out


def critique_summary(
    fit: Fit, against: str, budgets: Sequence[float], delta_at: str | None = None
) -> dict:
    """Run :func:`bayescale.critique` on a fit with draws; JSON-ready.

    Parameters
    ----------
    fit
        A maximum-likelihood fit (noise model) with draws.
    against
        The reference's name.
    budgets
        Compute budgets (FLOPs) of the allocation comparison.
    delta_at
        Where the runs-needed delta method takes its gradient, ``"estimate"`` or
        ``"draws_mean"``; default: the protocol's when the draws were made under one
        (``Draws.settings["protocol"]``; ``besiroglu2024``: the draws' mean), else the
        estimate.

    Returns
    -------
    dict
        The :class:`~bayescale.predict.criticism.Critique`'s fields, and ``protocol``.

    Raises
    ------
    DataError
        If the fit has no draws or no noise model.
    KeyError
        On an unknown reference.
    """
    protocol = None if fit.draws is None else fit.draws.settings.get("protocol")
    flat = None if fit.draws is None else fit.draws.flat()
    c = fit_critique(
        fit.law,
        fit.objective,
        fit.data,
        fit.result.theta,
        flat,
        against,
        budgets=budgets,
        protocol=protocol,
        delta_at=delta_at,
    )
    return to_json({**c._asdict(), "protocol": protocol})


def diagnostic_messages(fit: Fit, ppc_coverage: float | None = None) -> tuple[list, list]:
    """``(failures, cautions)``: failed diagnostics and softer warnings, in plain language.

    Parameters
    ----------
    fit
        The fit (and its draws, whose warnings are failures, but for the label of an
        approximation, which is a caution).
    ppc_coverage
        Share of runs inside their 90% new-run interval, when known.
    """
    fail, caution = [], []
    status = np.asarray(fit.result.start_status)
    near = int(fit.result.n_near_best)
    if fit.status != "converged":
        fail.append(
            f"The point fit's best start stopped with status '{fit.status}' ({fit.message}): "
            "the optimum is not certified; rerun with more steps or more starts."
        )
    if status.size > 1 and near < 2:
        caution.append(
            f"Only {near} of {status.size} starts reached the best objective (within "
            "1e-6): the optimum rests on one start; rerun with more starts to confirm it."
        )
    if fit.draws is not None:
        # An approximation's label (Laplace draws) is a caution, not a failed diagnostic.
        for w in fit.draws.warnings:
            (caution if w.startswith("approximate:") else fail).append(w)
    if ppc_coverage is not None and ppc_coverage < 0.8:
        caution.append(
            f"Only {100 * ppc_coverage:.0f}% of runs fall inside their 90% new-run interval."
        )
    return fail, caution


def curve_summary_table(
    fit: BatchFit, theta: np.ndarray, extra: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Per-curve table: the fit's table plus draw summaries of every natural parameter.

    Parameters
    ----------
    fit
        The batch fit.
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)``.
    extra
        Further per-curve columns (diagnostics), appended in order.

    Returns
    -------
    pandas.DataFrame
    """
    specs = params(fit.law, fit.objective)
    flat = theta.reshape(theta.shape[0], -1, theta.shape[-1])
    nat = to_natural(specs, flat)
    names = natural_names(fit.law, fit.objective)
    table = fit.table.drop(columns=["n_near_best", "grad_norm"]).copy()
    ok = np.any(np.all(np.isfinite(nat), axis=-1), axis=1)
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        v = nat[..., j]
        mean = np.full(len(v), np.nan)
        sd = np.full(len(v), np.nan)
        qs = np.full((len(QUANTILES), len(v)), np.nan)
        if ok.any():
            mean[ok] = np.nanmean(v[ok], axis=1)
            sd[ok] = np.nanstd(v[ok], axis=1, ddof=1)
            qs[:, ok] = np.nanquantile(v[ok], QUANTILES, axis=1)
        cols[f"{name}_mean"], cols[f"{name}_sd"] = mean, sd
        for q, row in zip(QUANTILES, qs, strict=True):
            cols[f"{name}_q{round(100 * q):02d}"] = row
    table = pd.concat([table, pd.DataFrame(cols, index=table.index)], axis=1)
    for k, v in extra.items():
        table[k] = v
    return table


def start_status_counts(result: StartSummary | MultiStartResult) -> dict[str, int]:
    """How many starts, over every curve of a batch, ended with each optimiser status.

    Parameters
    ----------
    result
        A batch fit's ``result``: per-curve summaries or every start's results.

    Returns
    -------
    dict
        Status name -> count (JSON-ready).
    """
    if isinstance(result, StartSummary):
        total = np.asarray(result.start_counts).reshape(-1, len(OPTIMIZER_NAMES)).sum(axis=0)
        return {name: int(k) for name, k in zip(OPTIMIZER_NAMES, total, strict=True)}
    return counts(result.start_status)


def start_arrays(fit: BatchFit) -> dict[str, np.ndarray]:
    """Every start of every curve of a batch fitted with ``keep_starts=True``, as arrays.

    Parameters
    ----------
    fit
        The batch fit.

    Returns
    -------
    dict
        ``names`` (fit-space parameter names), ``theta`` ``(curve, start, P)``, ``objective``,
        ``status`` (codes of :data:`bayescale.status.NAMES`) and ``steps`` ``(curve, start)``;
        curves in the order of ``fit.table``.

    Raises
    ------
    ValueError
        If the batch kept per-curve summaries only.
    """
    r = fit.result
    if not isinstance(r, MultiStartResult):
        raise ValueError(
            "this batch kept a summary of each curve's starts: refit with keep_starts=True"
        )
    return {
        "names": np.array(fit_names(fit.law, fit.objective)),
        "theta": np.asarray(r.start_theta),
        "objective": np.asarray(r.start_objective),
        "status": np.asarray(r.start_status),
        "steps": np.asarray(r.start_steps),
    }
