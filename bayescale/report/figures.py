"""The report's figures: matplotlib ``Figure`` objects rendered to PNG bytes with Agg.

Every function takes plain numpy arrays (all computation happens in the section modules,
:mod:`bayescale.report.sections` and :mod:`bayescale.report.assessment`) and returns PNG
bytes. No pyplot: figures are ``matplotlib.figure.Figure`` instances drawn on an Agg canvas
inside a temporary ``rc_context``, so nothing leaks into a user's matplotlib state. Sizes are
about 6.5 x 4 in at 120 dpi with fonts of 9 pt and more, readable in print.

Bands are 90% central intervals. The two predictive kinds have fixed styles everywhere: the
law's curve under parameter uncertainty (``kind="mean"``) is the darker, narrower band; a new
training run's loss (``kind="new_run"``) is the lighter, wider one.

This module has the figures of the data, the fit, the residuals and the parameters; the style
and shared helpers are in :mod:`bayescale.report.style`, the figures of the assessment
sections (allocation, NUTS traces, runs needed) in :mod:`bayescale.report.assessment_figures`.
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
    to_png,
)


def compute_figure(
    C: np.ndarray,
    loss: np.ndarray,
    N: np.ndarray,
    grid: np.ndarray,
    point: np.ndarray,
    mean: Band,
    new: Band,
    budgets: Sequence[float] = (),
) -> bytes:
    """Loss vs compute: the data coloured by N, the law along the compute-optimal frontier."""
    with mpl.rc_context(RC):
        fig, ax = new_figure()
        ax = ax[0, 0]
        draw_band(ax, grid, new, "C0", NEW_ALPHA)
        draw_band(ax, grid, mean, "C0", MEAN_ALPHA)
        ax.plot(grid, point, color="C0", lw=1.6)
        sc = ax.scatter(C, loss, c=N, s=14, cmap="viridis", norm=LogNorm(), edgecolor="none")
        fig.colorbar(sc, ax=ax, label=LABEL_N, pad=0.01)
        for b in budgets:
            ax.axvline(b, color="0.3", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(LABEL_C)
        ax.set_ylabel(LABEL_LOSS)
        ax.set_ylim(*loss_limits(loss, point))
        shade_beyond(ax, float(np.min(C)), float(np.max(C)))
        handles = kind_handles(mean is not None, new is not None, "C0")
        handles[0].set_label("law at compute-optimal N*, D* (point fit)")
        handles.append(Line2D([], [], ls="", marker="o", color="0.4", ms=4, label="training runs"))
        if budgets:
            handles.append(Line2D([], [], color="0.3", ls=":", label="budgets asked"))
        ax.legend(handles=handles, loc="lower left", framealpha=0.9)
        ax.set_title("Loss vs compute (grey: beyond the data's compute range)")
        return to_png(fig)


def isoflop_figure(
    curves: Sequence[Mapping[str, object]],
    N: np.ndarray,
    C: np.ndarray,
    loss: np.ndarray,
) -> bytes:
    """IsoFLOP curves: loss vs N at fixed budgets, with the runs near each budget overlaid.

    Each curve is a mapping with ``budget``, ``N`` (grid), ``point`` and the ``mean`` / ``new``
    bands (``(lo, hi)`` or ``None``).
    """
    with mpl.rc_context(RC):
        fig, ax = new_figure(height=4.8)
        ax = ax[0, 0]
        cmap = mpl.colormaps["plasma"]
        ax.scatter(N, loss, s=8, color="0.8", edgecolor="none", zorder=1)
        lows = []
        for i, c in enumerate(curves):
            color = cmap(0.05 + 0.8 * i / max(len(curves) - 1, 1))
            draw_band(ax, c["N"], c["new"], color, NEW_ALPHA)
            draw_band(ax, c["N"], c["mean"], color, MEAN_ALPHA)
            ax.plot(
                c["N"],
                c["point"],
                color=color,
                lw=1.6,
                label=f"{c['budget']:.0e}".replace("e+", "e"),
            )
            near = np.abs(np.log10(C) - math.log10(c["budget"])) < 0.08
            ax.scatter(N[near], loss[near], s=18, color=color, edgecolor="k", lw=0.4, zorder=3)
            lows.append(np.min(c["point"]))
        ax.set_xscale("log")
        ax.set_xlabel(LABEL_N)
        ax.set_ylabel(LABEL_LOSS)
        ax.set_ylim(*loss_limits(loss, np.array(lows)))
        h, _ = ax.get_legend_handles_labels()
        has_mean = any(c["mean"] is not None for c in curves)
        has_new = any(c["new"] is not None for c in curves)
        kinds = kind_handles(has_mean, has_new)[1:]
        kinds.append(
            Line2D([], [], ls="", marker="o", mfc="0.6", mec="k", ms=4, label="runs within 20%")
        )
        fig.legend(handles=h, loc="outside right upper", frameon=False, title="budget (FLOPs)")
        fig.legend(handles=kinds, loc="outside lower center", ncol=2, frameon=False)
        ax.set_title("IsoFLOP curves from the law (loss vs N at fixed compute C = 6 N D)")
        return to_png(fig)


def one_variable_figure(
    x: np.ndarray,
    loss: np.ndarray,
    grid: np.ndarray,
    point: np.ndarray,
    mean: Band,
    new: Band,
    xlabel: str,
) -> bytes:
    """Loss vs the one input of a one-variable law, with the predictive bands."""
    with mpl.rc_context(RC):
        fig, ax = new_figure()
        ax = ax[0, 0]
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
        return to_png(fig)


def residuals_figure(panels: Sequence[tuple[str, np.ndarray]], r: np.ndarray) -> bytes:
    """Residuals ``log L_obs - log L_fit`` against each input (log x axes)."""
    with mpl.rc_context(RC):
        fig, axes = new_figure(1, len(panels), height=3.2, sharey=True)
        scale = float(np.max(np.abs(r))) or 1.0
        for ax, (label, x) in zip(axes[0], panels, strict=True):
            ax.axhline(0.0, color="0.3", lw=1)
            ax.scatter(x, r, s=9, color="C0", alpha=0.75, edgecolor="none")
            ax.set_xscale("log")
            ax.set_xlabel(label)
            ax.set_ylim(-1.1 * scale, 1.1 * scale)
        axes[0, 0].set_ylabel("residual (log L_obs - log L_fit)")
        fig.suptitle("Residuals of the point fit (log loss)")
        return to_png(fig)


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
