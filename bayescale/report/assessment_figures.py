"""The figures of the report's assessment sections: allocation, NUTS traces, runs needed.

Same conventions as :mod:`bayescale.report.figures`: :func:`allocation_axes` draws plain numpy
arrays on an Axes (for :func:`bayescale.plot.plot_allocation`); the trace and runs-needed
figures are report-only and return PNG bytes (no pyplot; for a user's own traces,
``arviz.plot_trace`` on the draws' InferenceData).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from bayescale.report.style import LABEL_C, RC, new_figure, shade_beyond, si_axis, to_png


def _round(v: float) -> bool:
    """Whether ``v`` is 2, 3 or 5 times a power of ten (the minor ticks worth a label)."""
    return v > 0 and round(v / 10 ** math.floor(math.log10(v)), 6) in (2.0, 3.0, 5.0)


def allocation_axes(
    ax: object,
    C: np.ndarray,
    rows: Mapping[str, Mapping[str, np.ndarray]],
    data_range: tuple[float, float],
    budgets: Sequence[float] = (),
    quantity: str = "tokens_per_param",
    reference: tuple[str, Mapping[str, np.ndarray]] | None = None,
) -> object:
    """Compute-optimal allocation against compute on ``ax``, log axes: N* and D*
    (``quantity="sizes"``) or D*/N* (``"tokens_per_param"``), median and 90% band.

    ``rows`` maps ``"N_opt"``, ``"D_opt"``, ``"tokens_per_param"`` to
    ``{"point": ..., "q05": ..., "q50": ..., "q95": ...}`` (quantiles may be absent);
    ``reference`` is ``(label, {"N_opt": ..., "D_opt": ..., "tokens_per_param": ...})``, a
    published parameter set's allocation over ``C``, drawn dashed in red.
    """
    sizes = quantity == "sizes"
    keys = ("N_opt", "D_opt") if sizes else ("tokens_per_param",)
    colors = ("C0", "C1") if sizes else ("C2",)
    labels = ("N* (parameters)", "D* (tokens)") if sizes else ("D*/N*",)
    for key, color, label in zip(keys, colors, labels, strict=True):
        r = rows[key]
        if "q50" in r:
            ax.fill_between(C, r["q05"], r["q95"], color=color, alpha=0.3, lw=0)
            ax.plot(C, r["q50"], color=color, lw=1.6, label=f"{label}, median")
        else:
            ax.plot(C, r["point"], color=color, lw=1.6, label=f"{label}, point fit")
        if reference is not None:
            ax.plot(C, reference[1][key], color="C3", ls="--", lw=1.4,
                    label=f"{label.split(' ')[0]} implied by {reference[0]}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABEL_C)
    for b in budgets:
        ax.axvline(b, color="0.3", ls=":", lw=1)
    shade_beyond(ax, *data_range)
    h, _ = ax.get_legend_handles_labels()
    if "q50" in rows[keys[0]]:
        h.append(Patch(color="0.5", alpha=0.3, label="90% band over draws"))
    if sizes:
        si_axis(ax.yaxis)
        ax.set_ylabel("compute-optimal N* (parameters), D* (tokens)")
        ax.set_title("Compute-optimal N* and D*")
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if _round(v) else ""))
        ax.set_ylabel("tokens per parameter D*/N*")
        ax.set_title("Tokens per parameter")
    ax.legend(handles=h, loc="upper left", framealpha=0.9, fontsize=8)
    return ax


def trace_figure(values: np.ndarray, names: Sequence[str]) -> bytes:
    """NUTS trace per parameter and chain; ``values`` is ``(chain, draw, P)`` natural space."""
    p = len(names)
    ncols = 2
    nrows = math.ceil(p / ncols)
    with mpl.rc_context(RC | {"axes.grid": False}):
        fig, axes = new_figure(nrows, ncols, height=1.35 * nrows + 0.5, sharex=True)
        for ax in axes.ravel()[p:]:
            ax.set_axis_off()
        for j, (ax, name) in enumerate(zip(axes.ravel(), names, strict=False)):
            for c in range(values.shape[0]):
                ax.plot(values[c, :, j], lw=0.6, alpha=0.8, label=f"chain {c + 1}")
            ax.set_ylabel(name)
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False)
        for ax in axes[-1]:
            ax.set_xlabel("draw (after warmup)")
        h, _ = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles=h, loc="outside lower center", ncol=min(len(h), 6), frameon=False)
        fig.suptitle("NUTS traces: chains should overlap and look like noise")
        return to_png(fig)


def runs_needed_figure(rows: Mapping[str, Mapping[str, float]], reference: str) -> bytes:
    """Interval width against the number of runs, ``w(n) = w_ours sqrt(n_ours / n)``.

    Each quantity's line crosses its claimed width at the number of runs that width needs.
    """
    with mpl.rc_context(RC):
        fig, ax = new_figure()
        ax = ax[0, 0]
        styles = ("-", "--", "-.", ":")
        n0 = None
        for i, (name, r) in enumerate(rows.items()):
            n0 = float(r["n_points"])
            need = float(r["bootstrap"])
            w0, wc = float(r["our_width"]), float(r["claimed_width"])
            n = np.logspace(math.log10(n0 / 3), math.log10(max(need, n0) * 5), 200)
            color = f"C{i}"
            p = 100 * float(r["probability"])
            ax.plot(
                n,
                w0 * np.sqrt(n0 / n),
                color=color,
                ls=styles[i % 4],
                lw=1.6,
                label=f"{name}: our {p:.0f}% width at n runs",
            )
            ax.axhline(wc, color=color, ls=styles[i % 4], lw=0.9, alpha=0.7)
            ax.plot([need], [wc], "o", color=color, ms=6)
            ax.annotate(
                f"{name}: claimed width {wc:.3g} needs ~{need:,.0f} runs",
                (need, wc),
                textcoords="offset points",
                xytext=(-10, -14 - 13 * i),
                ha="right",
                va="top",
                fontsize=9,
                color=color,
            )
        if n0 is not None:
            ax.axvline(n0, color="0.3", lw=1, ls=":")
            ax.text(n0, 0.45, f" this fit: {n0:,.0f} runs", transform=ax.get_xaxis_transform())
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of training runs n (log)")
        ax.set_ylabel("central interval width")
        ax.legend(loc="upper right", framealpha=0.9)
        ax.set_title(f"Runs needed for the interval widths {reference} claims")
        return to_png(fig)
