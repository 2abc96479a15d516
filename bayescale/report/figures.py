"""The report's figures of the data, the fit, the residuals and the parameters.

The ``*_axes`` functions draw plain numpy arrays on a matplotlib Axes and return it; the
public :mod:`bayescale.plot` functions (:mod:`bayescale.report.plotting`) compute those arrays
from a fit and call them, and the report draws through :mod:`bayescale.plot` too, so there is
one copy of every figure. The posterior predictive check and the parameter histograms are
report-only figures (``*_figure``, PNG bytes); for a user's own traces, posteriors and
predictive checks, arviz's ``plot_trace``, ``plot_posterior`` and ``plot_ppc`` on the draws'
InferenceData serve better. No pyplot here: the report's figures are
``matplotlib.figure.Figure`` instances on an Agg canvas inside a temporary ``rc_context``.

Bands are 90% central intervals. The two predictive kinds have fixed styles everywhere: the
law's curve under parameter uncertainty (``kind="mean"``) is the darker, narrower band; a new
training run's loss (``kind="new_run"``) is the lighter, wider one. Style and shared helpers:
:mod:`bayescale.report.style`; the assessment figures (allocation, NUTS traces, runs needed):
:mod:`bayescale.report.assessment_figures`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bayescale.report.style import (
    LABEL_C,
    LABEL_D,
    LABEL_LOSS,
    LABEL_N,
    MEAN_ALPHA,
    NEW_ALPHA,
    RC,
    Band,
    draw_band,
    kind_handles,
    loss_limits,
    new_figure,
    shade_beyond,
    si_axis,
    to_png,
)
from bayescale.report.units import flops, num


def compute_axes(
    ax: object,
    C: np.ndarray,
    loss: np.ndarray,
    N: np.ndarray,
    grid: np.ndarray,
    point: np.ndarray,
    mean: Band,
    new: Band,
    marks: Sequence[tuple[float, float, float, float]] = (),
) -> object:
    """Loss vs compute on ``ax``: the data coloured by N, the law along the compute-optimal
    frontier, and at each budget of ``marks`` (``(C, median, low, high)``) the predicted loss
    with its 90% interval, written beside it."""
    draw_band(ax, grid, new, "C0", NEW_ALPHA)
    draw_band(ax, grid, mean, "C0", MEAN_ALPHA)
    ax.plot(grid, point, color="C0", lw=1.6)
    sc = ax.scatter(C, loss, c=N, s=14, cmap="viridis", norm=LogNorm(), edgecolor="none")
    bar = ax.figure.colorbar(sc, ax=ax, label=LABEL_N, pad=0.01)
    si_axis(bar.ax.yaxis)
    lines = []
    for b, med, lo, hi in sorted(marks):
        ax.axvline(b, color="0.3", ls=":", lw=1)
        ax.errorbar([b], [med], yerr=[[med - lo], [hi - med]], fmt="o", color="k", ms=4,
                    capsize=3, zorder=5)  # fmt: skip
        lines.append(f"C = {flops(b)}: {num(med)}" + (f" [{num(lo)}-{num(hi)}]" if hi > lo else ""))
    if lines:
        # Lower left: below the data (losses fall with compute), away from the extrapolation.
        ax.text(0.02, 0.03, "loss at the budgets (dots)\n" + "\n".join(lines),
                transform=ax.transAxes, ha="left", va="bottom", fontsize=8.5,
                bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9})  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel(LABEL_C)
    ax.set_ylabel(LABEL_LOSS)
    lows = [m[2] for m in marks]
    ax.set_ylim(*loss_limits(loss, point, np.array(lows) if lows else None))
    shade_beyond(ax, float(np.min(C)), float(np.max(C)))
    handles = kind_handles(mean is not None, new is not None, "C0")
    handles[0].set_label("law at compute-optimal N*, D*")
    handles.append(Line2D([], [], ls="", marker="o", color="0.4", ms=4, label="training runs"))
    if marks:
        handles.append(
            Line2D([], [], color="k", marker="o", ms=4, ls=":", label="loss at a budget, 90%")
        )
    ax.legend(handles=handles, loc="upper right", framealpha=0.9, fontsize=8.5)
    ax.set_title("Loss vs compute (grey: beyond the data's compute range)")
    return ax


def isoflop_axes(
    ax: object,
    curves: Sequence[Mapping[str, object]],
    N: np.ndarray,
    C: np.ndarray,
    loss: np.ndarray,
) -> object:
    """IsoFLOP curves on ``ax``: loss vs N at fixed budgets, with the runs near each budget.

    Each curve is a mapping with ``budget``, ``N`` (grid), ``point`` and the ``mean`` / ``new``
    bands (``(lo, hi)`` or ``None``). The legend sits below the axes.
    """
    cmap = mpl.colormaps["plasma"]
    ax.scatter(N, loss, s=8, color="0.8", edgecolor="none", zorder=1)
    lows = []
    for i, c in enumerate(curves):
        color = cmap(0.05 + 0.8 * i / max(len(curves) - 1, 1))
        draw_band(ax, c["N"], c["new"], color, NEW_ALPHA)
        draw_band(ax, c["N"], c["mean"], color, MEAN_ALPHA)
        ax.plot(c["N"], c["point"], color=color, lw=1.6, label=f"C = {flops(c['budget'])}")
        near = np.abs(np.log10(C) - math.log10(c["budget"])) < 0.08
        ax.scatter(N[near], loss[near], s=18, color=color, edgecolor="k", lw=0.4, zorder=3)
        lows.append(np.min(c["point"]))
    ax.set_xscale("log")
    si_axis(ax.xaxis)
    ax.set_xlabel(LABEL_N)
    ax.set_ylabel(LABEL_LOSS)
    ax.set_ylim(*loss_limits(loss, np.array(lows)))
    h, _ = ax.get_legend_handles_labels()
    has_mean = any(c["mean"] is not None for c in curves)
    has_new = any(c["new"] is not None for c in curves)
    h += kind_handles(has_mean, has_new)[1:]
    h.append(Line2D([], [], ls="", marker="o", mfc="0.6", mec="k", ms=4, label="runs within 20%"))
    ax.legend(handles=h, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False,
              ncol=3, fontsize=8.5)  # fmt: skip
    ax.set_title("IsoFLOP curves (loss vs N at fixed compute C = 6 N D)")
    return ax


def one_variable_axes(
    ax: object,
    x: np.ndarray,
    loss: np.ndarray,
    grid: np.ndarray,
    point: np.ndarray,
    mean: Band,
    new: Band,
    xlabel: str,
) -> object:
    """Loss vs the one input of a one-variable law on ``ax``, with the predictive bands."""
    draw_band(ax, grid, new, "C0", NEW_ALPHA)
    draw_band(ax, grid, mean, "C0", MEAN_ALPHA)
    ax.plot(grid, point, color="C0", lw=1.6)
    ax.scatter(x, loss, s=12, color="k", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(LABEL_LOSS)
    h = kind_handles(mean is not None, new is not None, "C0")
    h.append(Line2D([], [], ls="", marker="o", color="k", ms=4, label="data"))
    ax.legend(handles=h, loc="upper right", framealpha=0.9)
    ax.set_title("The data and the fitted law")
    return ax


def residuals_axes(ax: object, x: np.ndarray, r: np.ndarray, xlabel: str) -> object:
    """Residuals ``log L_obs - log L_fit`` against one input (log x axis) on ``ax``."""
    scale = float(np.max(np.abs(r))) or 1.0
    ax.axhline(0.0, color="0.3", lw=1)
    ax.scatter(x, r, s=9, color="C0", alpha=0.75, edgecolor="none")
    ax.set_xscale("log")
    if xlabel in (LABEL_N, LABEL_D):
        si_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylim(-1.1 * scale, 1.1 * scale)
    ax.set_ylabel("residual (log L_obs - log L_fit)")
    return ax


def ppc_figure(
    x: np.ndarray,
    obs: np.ndarray,
    lo: np.ndarray,
    med: np.ndarray,
    hi: np.ndarray,
    xlabel: str,
    coverage: float,
    plug_in: bool = False,
) -> bytes:
    """Posterior predictive check: each run's loss against its new-run 90% interval.

    Values are shown relative to the predictive median, in percent, so intervals of ~1% of
    the loss are visible.
    """
    with mpl.rc_context(RC):
        fig, ax = new_figure()
        ax = ax[0, 0]
        rel = lambda v: 100.0 * (v / med - 1.0)  # noqa: E731
        inside = (obs >= lo) & (obs <= hi)
        ax.vlines(x, rel(lo), rel(hi), color="C0", alpha=0.45, lw=2.2)
        ax.axhline(0.0, color="0.3", lw=1)
        ax.scatter(x[inside], rel(obs)[inside], s=10, color="k", zorder=3, label="inside")
        ax.scatter(
            x[~inside], rel(obs)[~inside], s=16, color="C3", marker="x", zorder=4, label="outside"
        )
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss vs predictive median (%)")
        what = "plug-in new-run 90% interval" if plug_in else "new-run 90% interval"
        h, _ = ax.get_legend_handles_labels()
        h = [Patch(color="C0", alpha=0.45, label=what)] + h
        h[1].set_label("observed, inside")
        h[2].set_label("observed, outside")
        ax.legend(handles=h, loc="upper right", framealpha=0.9)
        ax.set_title(f"Posterior predictive check: {100 * coverage:.0f}% of runs inside (aim 90%)")
        return to_png(fig)


def parameters_figure(
    samples: Mapping[str, np.ndarray],
    point: Mapping[str, float],
    published: Mapping[str, float] | None = None,
    published_label: str = "published",
) -> bytes:
    """Histograms of the draws per parameter (natural space) with point and 90% interval."""
    names = list(samples)
    ncols = 3
    nrows = math.ceil(len(names) / ncols)
    with mpl.rc_context(RC | {"axes.grid": False}):
        fig, axes = new_figure(nrows, ncols, height=1.9 * nrows + 0.4)
        for ax in axes.ravel()[len(names) :]:
            ax.set_axis_off()
        for ax, name in zip(axes.ravel(), names, strict=False):
            v = np.asarray(samples[name], dtype=np.float64)
            ax.hist(v, bins=min(40, max(10, v.size // 25)), density=True, color="C0", alpha=0.6)
            q05, q95 = np.quantile(v, [0.05, 0.95])
            for q in (q05, q95):
                ax.axvline(q, color="C0", ls="--", lw=1)
            if name in point:
                ax.axvline(point[name], color="k", lw=1.4)
            if published and name in published:
                ax.axvline(published[name], color="C3", lw=1.4)
            ax.set_xlabel(name)
            ax.set_yticks([])
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useOffset=False)
        h = [
            Patch(color="C0", alpha=0.6, label="draws"),
            Line2D([], [], color="C0", ls="--", label="5% / 95%"),
            Line2D([], [], color="k", label="point fit"),
        ]
        if published:
            h.append(Line2D([], [], color="C3", label=published_label))
        fig.legend(handles=h, loc="outside lower center", ncol=len(h), frameon=False)
        fig.suptitle("Parameter draws (natural space; density, arbitrary units)")
        return to_png(fig)
