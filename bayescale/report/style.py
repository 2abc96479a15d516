"""The report's figure style and the helpers every figure shares (matplotlib, no pyplot).

Figures are ``matplotlib.figure.Figure`` instances drawn on an Agg canvas inside a temporary
``rc_context`` (:data:`RC`), so nothing leaks into a user's matplotlib state; sizes are about
6.5 x 4 in at 120 dpi with fonts of 9 pt and more. The two predictive kinds have fixed styles
everywhere: the law's curve under parameter uncertainty (``kind="mean"``) is the darker,
narrower band; a new training run's loss (``kind="new_run"``) the lighter, wider one.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from bayescale.report.units import si

DPI = 120
WIDTH = 6.5
RC = {
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 10.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
MEAN_ALPHA, NEW_ALPHA = 0.45, 0.16
LABEL_C = "training compute C (FLOPs)"
LABEL_N = "parameters N"
LABEL_D = "training tokens D"
LABEL_LOSS = "loss (nats/token)"
MEAN_LABEL = "law's curve, 90% (kind='mean')"
NEW_LABEL = "one new run, 90% (kind='new_run')"

Band = tuple[np.ndarray, np.ndarray] | None


def new_figure(nrows: int = 1, ncols: int = 1, height: float = 4.0, **kw: object) -> tuple:
    """A constrained-layout figure on an Agg canvas and its axes grid (``squeeze=False``)."""
    fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (white background, no software metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def figure_png(
    draw: Callable[[np.ndarray], None], nrows: int = 1, ncols: int = 1, height: float = 4.0, **kw
) -> bytes:
    """PNG bytes of a new figure (:func:`new_figure`, inside the report's style :data:`RC`)
    on whose axes grid ``draw(axes)`` draws."""
    with mpl.rc_context(RC):
        fig, axes = new_figure(nrows, ncols, height, **kw)
        draw(axes)
        return to_png(fig)


def tick_si(value: float) -> str:
    """A tick label in SI units, without a trailing ``.0``: ``1 B``, ``300 M``."""
    return si(value).replace(".0 ", " ").removesuffix(".0")


def si_axis(axis: object) -> None:
    """Label a log axis of counts in SI units (``100 M``, ``1 B``, ``10 B``), decades only."""
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(lambda v, _: tick_si(v)))
    axis.set_minor_formatter(NullFormatter())


def draw_band(ax: object, x: np.ndarray, band: Band, color: object, alpha: float) -> None:
    """Fill a band ``(lower, upper)`` over ``x`` (nothing for ``None``)."""
    if band is not None:
        ax.fill_between(x, band[0], band[1], color=color, alpha=alpha, lw=0)


def kind_handles(has_mean: bool, has_new: bool, color: object = "0.35") -> list:
    """Legend handles for the point fit and the two predictive kinds."""
    out = [Line2D([], [], color=color, lw=1.6, label="law (point fit)")]
    if has_mean:
        out.append(Patch(color=color, alpha=MEAN_ALPHA, label=MEAN_LABEL))
    if has_new:
        out.append(Patch(color=color, alpha=NEW_ALPHA, label=NEW_LABEL))
    return out


def shade_beyond(ax: object, lo: float, hi: float) -> None:
    """Grey out x ranges outside the data's ``[lo, hi]``."""
    x0, x1 = ax.get_xlim()
    for a, b in ((x0, lo), (hi, x1)):
        if b > a:
            ax.axvspan(a, b, color="0.5", alpha=0.08, lw=0)
    ax.set_xlim(x0, x1)


def loss_limits(loss: np.ndarray, *extra: np.ndarray) -> tuple[float, float]:
    """Y limits covering the losses and the lower ends of ``extra`` bands, padded 6%."""
    lo = float(np.min([np.min(loss)] + [np.nanmin(e) for e in extra if e is not None]))
    hi = float(np.max(loss))
    pad = 0.06 * (hi - lo)
    return lo - pad, hi + pad
