"""The figures of the report's assessment sections: allocation, NUTS traces, runs needed.

Same conventions as :mod:`bayescale.report.figures` (whose style and helpers these use): plain
numpy arrays in, PNG bytes out, no pyplot, drawn inside a temporary ``rc_context``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from bayescale.report.style import LABEL_C, RC, new_figure, shade_beyond, to_png


def allocation_figure(
    C: np.ndarray,
    rows: Mapping[str, Mapping[str, np.ndarray]],
    data_range: tuple[float, float],
    budgets: Sequence[float],
) -> bytes:
    """N*(C), D*(C) (left) and D*/N* (right): medians and 90% bands, log axes.

    ``rows`` maps ``"N_opt"``, ``"D_opt"``, ``"tokens_per_param"`` to
    ``{"point": ..., "q05": ..., "q50": ..., "q95": ...}`` (quantiles may be absent).
    """
    with mpl.rc_context(RC):
        fig, axes = new_figure(1, 2, height=4.0)
        left, right = axes[0]
        for ax, keys in ((left, ("N_opt", "D_opt")), (right, ("tokens_per_param",))):
            for key, color, label in zip(
                keys,
                ("C0", "C1") if len(keys) == 2 else ("C2",),
                ("N* (parameters)", "D* (tokens)") if len(keys) == 2 else ("D*/N*",),
                strict=True,
            ):
                r = rows[key]
                if "q50" in r:
                    ax.fill_between(C, r["q05"], r["q95"], color=color, alpha=0.3, lw=0)
                    ax.plot(C, r["q50"], color=color, lw=1.6, label=f"{label}, median")
                else:
                    ax.plot(C, r["point"], color=color, lw=1.6, label=f"{label}, point fit")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(LABEL_C)
            for b in budgets:
                ax.axvline(b, color="0.3", ls=":", lw=1)
            shade_beyond(ax, *data_range)
        left.set_ylabel("compute-optimal N* (parameters), D* (tokens)")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        right.yaxis.set_major_formatter(plain)
        right.yaxis.set_minor_formatter(plain)
        right.set_ylabel("tokens per parameter D*/N*")
        h, _ = left.get_legend_handles_labels()
        if "q50" in rows["N_opt"]:
            h.append(Patch(color="0.5", alpha=0.3, label="90% band over draws"))
        left.legend(handles=h, loc="upper left", framealpha=0.9)
        right.legend(loc="upper left", framealpha=0.9)
        fig.suptitle("Compute-optimal allocation (grey: beyond the data; dotted: budgets asked)")
        return to_png(fig)


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
