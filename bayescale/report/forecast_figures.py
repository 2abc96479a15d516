"""Figures of backtests and forecasts: coverage against nominal, error against distance, and
forecasts with calibrated and uncalibrated intervals side by side.

Each ``*_axes`` function draws on the ``ax`` given (any matplotlib Axes, e.g. from a user's
``plt.subplots()``) or, without one, on a new Agg figure, and returns the Axes;
:func:`backtest_figure` puts the first two side by side and returns PNG bytes (no pyplot, as
everywhere in :mod:`bayescale.report`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd

from bayescale.report.style import RC, new_figure, to_png


def _axes(ax: object) -> object:
    return new_figure()[1][0, 0] if ax is None else ax


def coverage_axes(coverage: pd.DataFrame, ax: object = None) -> object:
    """Coverage against nominal, one line per law, with the range of a calibrated interval.

    Parameters
    ----------
    coverage
        :func:`~bayescale.results.forecasts.coverage_table` (``law``, ``nominal``,
        ``coverage``, ``range_low``, ``range_high``).
    ax
        Axes to draw on (default: a new figure's).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    nominal = np.sort(coverage["nominal"].unique())
    lo = coverage.groupby("nominal")["range_low"].min().reindex(nominal)
    hi = coverage.groupby("nominal")["range_high"].max().reindex(nominal)
    ax.fill_between(nominal, lo, hi, color="0.5", alpha=0.18, lw=0, label="95% range if calibrated")
    ax.plot([0, 1], [0, 1], color="0.3", lw=1, ls="--", label="nominal")
    for i, (law, g) in enumerate(coverage.groupby("law", sort=False)):
        ax.plot(g["nominal"], g["coverage"], "o-", color=f"C{i}", lw=1.5, label=law)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("nominal central probability")
    ax.set_ylabel("share of held-out points covered")
    ax.set_title("Coverage against nominal")
    ax.legend(loc="upper left", frameon=False)
    return ax


def distance_axes(by_distance: pd.DataFrame, ax: object = None) -> object:
    """Median absolute log error (~ relative error) against extrapolation distance, per law.

    Parameters
    ----------
    by_distance
        :func:`~bayescale.results.forecasts.distance_table` (``law``, ``distance``,
        ``median_abs_error``, ``n``).
    ax
        Axes to draw on (default: a new figure's).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    for i, (law, g) in enumerate(by_distance.groupby("law", sort=False)):
        ax.plot(g["distance"], 100 * g["median_abs_error"], "o-", color=f"C{i}", lw=1.5, label=law)
    ax.set_xlabel("distance beyond the training data (decades)")
    ax.set_ylabel("median |log error| (%)")
    ax.set_ylim(bottom=0)
    ax.set_title("Error against distance")
    ax.legend(loc="upper left", frameon=False)
    return ax


def forecast_axes(
    x: Sequence[float],
    median: Sequence[float],
    raw: tuple[Sequence[float], Sequence[float]],
    calibrated: tuple[Sequence[float], Sequence[float]] | None,
    *,
    xlabel: str = "training compute C (FLOPs)",
    level: float = 0.9,
    ax: object = None,
) -> object:
    """Forecasts at new inputs: the model's interval and the calibrated one side by side.

    Parameters
    ----------
    x
        Where the forecasts are (e.g. compute budgets).
    median
        Predictive medians.
    raw, calibrated
        ``(lower, upper)`` of the model's and of the calibrated interval (``None``: none).
    xlabel, level
        Axis label and the intervals' level.
    ax
        Axes to draw on (default: a new figure's).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    x, m = np.asarray(x, float), np.asarray(median, float)
    shift = 1.08 if calibrated is not None else 1.0
    ax.errorbar(
        x / shift,
        m,
        yerr=[m - np.asarray(raw[0]), np.asarray(raw[1]) - m],
        fmt="o",
        color="C0",
        capsize=3,
        label=f"{level:.0%} new-run interval (model)",
    )
    if calibrated is not None:
        lo, hi = np.asarray(calibrated[0]), np.asarray(calibrated[1])
        ax.errorbar(
            x * shift,
            m,
            yerr=[m - lo, hi - m],
            fmt="s",
            color="C3",
            capsize=3,
            label=f"{level:.0%} calibrated by the backtest",
        )
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title("Forecast at the requested budgets")
    ax.legend(loc="best", frameon=False)
    return ax


def backtest_figure(coverage: pd.DataFrame, by_distance: pd.DataFrame) -> bytes:
    """Coverage against nominal and error against distance, side by side, as PNG bytes."""
    with mpl.rc_context(RC):
        fig, axes = new_figure(1, 2, height=3.6)
        coverage_axes(coverage, axes[0, 0])
        distance_axes(by_distance, axes[0, 1])
        return to_png(fig)


__all__ = ["backtest_figure", "coverage_axes", "distance_axes", "forecast_axes"]
