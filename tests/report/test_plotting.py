"""``bayescale.plot``: each function draws a fit (or a backtest) on the Axes given and returns
it; without one it opens a pyplot figure. The loss-vs-compute figure keeps its legend and its
budget labels off the law's extrapolated curve and writes the headline's loss at each budget;
the allocation figure overlays the reference's D*/N* line. The fits are the shared small
replication's (tests/report/conftest.py); nothing is fitted here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import bayescale as bs
import bayescale.plot
from bayescale.report.headline import planner_headline
from bayescale.results.forecasts import Backtest, coverage_table, distance_table


def axes_grid(n: int) -> np.ndarray:
    fig = Figure(figsize=(6 * n, 4), layout="constrained")
    FigureCanvasAgg(fig)
    return fig.subplots(1, n, squeeze=False)[0]


def saved_backtest(replication) -> Backtest:
    """The replication's backtest, rebuilt from its saved points (coverage and distance)."""
    points = pd.read_csv(replication[0] / "backtest" / "points.csv")
    levels = (0.5, 0.8, 0.9)
    empty = Backtest(*[None] * len(Backtest._fields))
    return empty._replace(
        points=points,
        coverage=coverage_table(points, levels),
        by_distance=distance_table(points, levels),
    )


def test_every_function_draws_on_the_axes_given(fits, replication) -> None:
    assert bs.plot is bayescale.plot and bs.plot.plot_fit is bayescale.plot.plot_fit
    boot = fits["boot"]
    axes = axes_grid(6)
    assert bs.plot.plot_fit(boot, ax=axes[0], budgets=[5.88e23]) is axes[0]
    assert bs.plot.plot_isoflops(boot, ax=axes[1]) is axes[1]
    assert bs.plot.plot_allocation(boot, ax=axes[2], quantity="sizes") is axes[2]
    assert bs.plot.plot_residuals(fits["loss"], ax=axes[3], x="N") is axes[3]
    bt = saved_backtest(replication)
    assert bs.plot.plot_backtest(bt, ax=axes[4]) is axes[4]
    assert bs.plot.plot_backtest(bt, ax=axes[5], kind="distance", law="chinchilla") is axes[5]
    assert axes[3].get_xlabel() == "parameters N" and len(axes[4].get_lines()) == 2
    ax = bs.plot.plot_fit(fits["mle"])  # no ax: a new pyplot figure
    try:
        assert ax.figure is plt.gcf()
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="quantity"):
        bs.plot.plot_allocation(boot, quantity="ratio")
    with pytest.raises(ValueError, match="kind"):
        bs.plot.plot_backtest(bt, kind="scores")
    with pytest.raises(ValueError, match="'N', 'D' or 'C'"):
        bs.plot.plot_residuals(boot, x="step")


def test_fit_figure_keeps_legend_off_the_extrapolation_and_marks_the_budgets(fits) -> None:
    boot, budgets = fits["boot"], (5.88e23, 1e24, 1e25)
    ax = bs.plot.plot_fit(boot, ax=axes_grid(1)[0], budgets=budgets)
    ax.figure.canvas.draw()
    curve = max(ax.get_lines(), key=lambda line: len(line.get_xdata()))
    c_max = 6 * float(np.max(boot.data.x["N"] * boot.data.x["D"]))
    x, y = curve.get_xdata(), curve.get_ydata()
    beyond = ax.transData.transform(np.column_stack([x, y])[x > c_max])
    (box,) = [t for t in ax.texts if t.get_text().startswith("loss at the budgets")]
    for artist in (ax.get_legend(), box):
        bbox = artist.get_window_extent()
        assert not bbox.count_contains(beyond), artist
    # the loss written at each budget is the headline's (one convention: medians)
    loss = planner_headline(boot, 5.88e23).split("loss ")[1].split(";")[0]
    assert f"C = 5.88e23: {loss}" in box.get_text()
    assert box.get_text().count("C = ") == 3 and len(ax.containers) == 3  # errorbars


def test_allocation_figure_overlays_the_references_line(fits) -> None:
    ax = bs.plot.plot_allocation(
        fits["boot"], ax=axes_grid(1)[0], against="hoffmann2022", compute=[5.88e23, 1e24]
    )
    (ref,) = [line for line in ax.get_lines() if "hoffmann2022" in line.get_label()]
    # Hoffmann et al.'s published values imply 92.8 tokens per parameter at 5.88e23 FLOPs
    assert ref.get_linestyle() == "--" and ref.get_ydata()[0] == pytest.approx(92.8, abs=0.1)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "D*/N* implied by hoffmann2022" in labels and "D*/N*, median" in labels
