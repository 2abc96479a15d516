"""Figures of a fit on your own matplotlib Axes: the functions behind :mod:`bayescale.plot`.

Each function takes a :class:`~bayescale.Fit` (a :class:`~bayescale.Backtest` for
:func:`plot_backtest`) and ``ax=None``, draws on ``ax`` (or, without one, on a new
``matplotlib.pyplot`` figure) and returns the Axes. Bands are 90% central intervals: the darker
one is the law's curve under parameter uncertainty (``kind="mean"``), the lighter one the loss of
one new training run (``kind="new_run"``). The report draws its figures through these same
functions (:mod:`bayescale.report.sections`, :mod:`bayescale.report.assessment`,
:mod:`bayescale.report.forecast`).

For traces, posteriors and posterior predictive checks use arviz on the draws'
InferenceData (``az.plot_trace``, ``az.plot_posterior``, ``az.plot_ppc``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from bayescale.predict.allocation import allocate, budget_grid
from bayescale.predict.posterior import predict_log_loss
from bayescale.predict.references import Reference, get_reference, reference_theta
from bayescale.report.assessment_figures import allocation_axes
from bayescale.report.context import Context
from bayescale.report.figures import compute_axes, isoflop_axes, one_variable_axes, residuals_axes
from bayescale.report.forecast_figures import coverage_axes, distance_axes
from bayescale.report.style import LABEL_C, LABEL_D, LABEL_N, WIDTH
from bayescale.report.units import centre
from bayescale.results.forecasts import Backtest
from bayescale.results.records import Fit
from bayescale.results.summaries import allocation_summary

LABELS = {"N": LABEL_N, "D": LABEL_D, "C": LABEL_C, "step": "training step"}


def new_axes(ax: object = None) -> object:
    """``ax``, or the Axes of a new pyplot figure (6.5 x 4 in) when it is ``None``."""
    if ax is not None:
        return ax
    return plt.subplots(figsize=(WIDTH, 4.0), layout="constrained")[1]


def isoflop_budgets(C: np.ndarray, max_curves: int = 5) -> list[float]:
    """The data's budgets: its distinct C (IsoFLOP data), else round values with runs near them.

    Round values are powers of ten (or 1 and 3 times them when fewer than three powers of ten
    qualify) with at least three runs within 20% of the budget.
    """
    distinct = np.unique(np.round(np.log10(C), 2))
    if distinct.size <= 8:
        vals = sorted({float(f"{10**v:.2g}") for v in distinct})
    else:
        lo, hi = math.floor(math.log10(C.min())), math.ceil(math.log10(C.max()))
        logc = np.log10(C)

        def near(b: float) -> bool:
            return int(np.sum(np.abs(logc - math.log10(b)) < 0.08)) >= 3

        vals = [10.0**e for e in range(lo, hi + 1) if near(10.0**e)]
        if len(vals) < 3:
            vals = [m * 10.0**e for e in range(lo, hi + 1) for m in (1.0, 3.0) if near(m * 10.0**e)]
        if not vals:
            vals = [float(f"{10 ** np.median(logc):.1g}")]
    if len(vals) > max_curves:
        idx = np.unique(np.round(np.linspace(0, len(vals) - 1, max_curves)).astype(int))
        vals = [vals[i] for i in idx]
    return vals


def budget_marks(fit: Fit, budgets: Sequence[float]) -> list[tuple[float, float, float, float]]:
    """``(C, loss, low, high)`` at each budget: the loss at the compute-optimal N*, D* (median
    over the draws, else the point fit) and its 90% interval (the point, twice, without draws)."""
    if not budgets:
        return []
    out = allocation_summary(fit, list(budgets), fit.data.flops_per_token)
    marks = []
    for row in out["budgets"]:
        s = row["loss_opt"]
        c = centre(s)
        marks.append((row["compute"], c, s.get("q05", c), s.get("q95", c)))
    return marks


def plot_fit(fit: Fit, *, ax: object = None, budgets: Sequence[float] = ()) -> object:
    """The data and the fitted law with its 90% bands.

    A law of ``N`` and ``D`` is drawn against compute ``C = k N D`` along its compute-optimal
    frontier, the runs coloured by N, and at each budget the predicted loss with its 90%
    interval marked and written; a law of one input is drawn against that input.

    Parameters
    ----------
    fit
        A fit, with or without draws (without: no band for the curve; with a noise model, a
        plug-in new-run band).
    ax
        Axes to draw on (default: a new pyplot figure's).
    budgets
        Compute budgets (FLOPs) to mark (laws of N and D only).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = new_axes(ax)
    ctx = Context(fit, tuple(float(b) for b in budgets))
    if ctx.nd:
        hi = max(float(ctx.C.max()) * 3, max(ctx.budgets, default=0.0) * 3)
        grid = np.logspace(math.log10(float(ctx.C.min()) / 3), math.log10(hi), 90)
        opt = allocate(ctx.law, ctx.theta_hat, grid, flops_per_token=ctx.k)
        point, mean, new = ctx.bands({"N": opt.N_opt[0], "D": opt.D_opt[0]})
        marks = budget_marks(fit, ctx.budgets)
        return compute_axes(ax, ctx.C, ctx.loss, ctx.x["N"], grid, point, mean, new, marks)
    xv = ctx.x[ctx.var]
    grid = np.logspace(math.log10(xv.min() / 2), math.log10(xv.max() * 2), 120)
    point, mean, new = ctx.bands({ctx.var: grid})
    label = LABELS.get(ctx.xvar, "x")
    return one_variable_axes(ax, xv, ctx.loss, grid, point, mean, new, label)


def plot_isoflops(fit: Fit, *, ax: object = None, budgets: Sequence[float] | None = None) -> object:
    """IsoFLOP curves: loss against N at fixed compute, with the runs near each budget.

    Parameters
    ----------
    fit
        A fit of a law of ``N`` and ``D``.
    ax
        Axes to draw on (default: a new pyplot figure's).
    budgets
        Compute budgets (FLOPs) of the curves (default: :func:`isoflop_budgets` of the data).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the law's inputs are not ``N`` and ``D``.
    """
    ctx = Context(fit, ())
    if not ctx.nd:
        raise ValueError(f"IsoFLOP curves need a law of N and D; {fit.law.name!r} has "
                         f"inputs {list(fit.law.inputs)}")  # fmt: skip
    ax = new_axes(ax)
    n = ctx.x["N"]
    n_grid = np.logspace(math.log10(n.min() / 3), math.log10(n.max() * 3), 90)
    curves = []
    for b in isoflop_budgets(ctx.C) if budgets is None else budgets:
        p, m, nr = ctx.bands({"N": n_grid, "D": b / (ctx.k * n_grid)})
        curves.append({"budget": float(b), "N": n_grid, "point": p, "mean": m, "new": nr})
    return isoflop_axes(ax, curves, n, ctx.C, ctx.loss)


def plot_allocation(
    fit: Fit,
    *,
    ax: object = None,
    quantity: str = "tokens_per_param",
    against: str | Reference | None = None,
    budgets: Sequence[float] = (),
    compute: Sequence[float] | None = None,
) -> object:
    """Compute-optimal allocation against compute: D*/N* or N* and D*, median and 90% band.

    Parameters
    ----------
    fit
        A fit of a law of ``N`` and ``D``, with or without draws.
    ax
        Axes to draw on (default: a new pyplot figure's).
    quantity
        ``"tokens_per_param"`` (D*/N*) or ``"sizes"`` (N* and D*).
    against
        A published reference (name or :class:`~bayescale.predict.references.Reference`)
        whose allocation is drawn dashed beside the fit's (Hoffmann's D*/N* line, as in
        Besiroglu et al.'s central figure).
    budgets
        Compute budgets (FLOPs) to mark.
    compute
        The compute grid (default :func:`~bayescale.predict.allocate.budget_grid`, 1e18 to
        1e26).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        On an unknown ``quantity``, a law not of ``N`` and ``D``, or a reference of another law.
    """
    if quantity not in ("tokens_per_param", "sizes"):
        raise ValueError(f"quantity must be 'tokens_per_param' or 'sizes', got {quantity!r}")
    ctx = Context(fit, ())
    if not ctx.nd:
        raise ValueError(f"allocation needs a law of N and D; {fit.law.name!r} has inputs "
                         f"{list(fit.law.inputs)}")  # fmt: skip
    grid = budget_grid() if compute is None else np.asarray(compute, dtype=np.float64)
    alloc = allocate(ctx.law, ctx.theta_hat if ctx.flat is None else ctx.flat, grid,
                     flops_per_token=ctx.k)  # fmt: skip
    rows = {}
    for key in ("N_opt", "D_opt", "tokens_per_param"):
        v = getattr(alloc, key)
        if ctx.flat is None:
            rows[key] = {"point": v[0]}
        else:
            q05, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95], axis=0)
            rows[key] = {"q05": q05, "q50": q50, "q95": q95}
    reference = None
    if against is not None:
        ref = get_reference(against) if isinstance(against, str) else against
        if ref.law != ctx.law.name:
            raise ValueError(f"reference {ref.name!r} is for law {ref.law!r}, not "
                             f"{ctx.law.name!r}")  # fmt: skip
        r = allocate(ctx.law, reference_theta(ctx.law, ref)[None], grid, flops_per_token=ctx.k)
        reference = (ref.name, {k: getattr(r, k)[0] for k in rows})
    span = (float(ctx.C.min()), float(ctx.C.max()))
    return allocation_axes(new_axes(ax), grid, rows, span, tuple(budgets), quantity, reference)


def plot_residuals(fit: Fit, *, ax: object = None, x: str | None = None) -> object:
    """Residuals ``log L_obs - log L_fit`` of the point fit against one input.

    Parameters
    ----------
    fit
        A fit.
    ax
        Axes to draw on (default: a new pyplot figure's).
    x
        ``"N"``, ``"D"`` or ``"C"`` for a law of N and D (default ``"C"``); a law of one input
        is drawn against it.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        On an ``x`` the law does not have.
    """
    ctx = Context(fit, ())
    r = np.log(ctx.loss) - np.asarray(predict_log_loss(ctx.law, ctx.theta_hat, ctx.x)[0])
    if ctx.nd:
        x = x or "C"
        if x not in ("N", "D", "C"):
            raise ValueError(f"x must be 'N', 'D' or 'C' for law {ctx.law.name!r}, got {x!r}")
        values, label = (ctx.C if x == "C" else ctx.x[x]), LABELS[x]
    else:
        if x not in (None, "x", ctx.var, ctx.xvar):
            raise ValueError(f"law {ctx.law.name!r} has one input ({ctx.xvar}), got x={x!r}")
        values, label = ctx.x[ctx.var], LABELS.get(ctx.xvar, ctx.xvar)
    return residuals_axes(new_axes(ax), values, r, label)


def plot_backtest(
    backtest: Backtest, *, ax: object = None, kind: str = "coverage", law: str | None = None
) -> object:
    """A backtest's coverage against nominal, or its error against extrapolation distance.

    Parameters
    ----------
    backtest
        A :class:`~bayescale.Backtest` (:func:`bayescale.backtest`).
    ax
        Axes to draw on (default: a new pyplot figure's).
    kind
        ``"coverage"`` (share of held-out runs inside each nominal interval, one line per law)
        or ``"distance"`` (median absolute log error against decades beyond the data).
    law
        Only this law (default: every law of the backtest).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        On an unknown ``kind``.
    """
    if kind not in ("coverage", "distance"):
        raise ValueError(f"kind must be 'coverage' or 'distance', got {kind!r}")
    table = backtest.coverage if kind == "coverage" else backtest.by_distance
    if law is not None:
        table = table[table["law"] == law]
    draw = coverage_axes if kind == "coverage" else distance_axes
    return draw(table, new_axes(ax))


__all__ = [
    "budget_marks",
    "isoflop_budgets",
    "new_axes",
    "plot_allocation",
    "plot_backtest",
    "plot_fit",
    "plot_isoflops",
    "plot_residuals",
]
