"""Figures of fits and backtests on your own matplotlib Axes.

Each function takes a :class:`~bayescale.Fit` (a :class:`~bayescale.Backtest` for
:func:`plot_backtest`) and ``ax=None``, draws on ``ax`` (or on a new pyplot figure) and
returns the Axes, so they compose with ``plt.subplots``::

    import matplotlib.pyplot as plt
    import bayescale as bs

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    bs.plot.plot_fit(fit, ax=left, budgets=[5.88e23])
    bs.plot.plot_allocation(fit, ax=right, against="hoffmann2022")

* :func:`plot_fit` - the data and the law with its 90% bands (against compute along the
  compute-optimal frontier for a law of N and D, with the loss marked at each budget);
* :func:`plot_isoflops` - loss against N at fixed compute;
* :func:`plot_allocation` - N*, D* or D*/N* against compute, with a published reference's;
* :func:`plot_residuals` - log-loss residuals against one input;
* :func:`plot_backtest` - a backtest's coverage against nominal, or error against distance.

The report (:func:`bayescale.write_report`) draws its figures with these same functions. For
traces, posteriors and posterior predictive checks use arviz on the draws' InferenceData
(``az.plot_trace``, ``az.plot_posterior``, ``az.plot_ppc``).
"""

from bayescale.report.plotting import (
    plot_allocation,
    plot_backtest,
    plot_fit,
    plot_isoflops,
    plot_residuals,
)

__all__ = ["plot_allocation", "plot_backtest", "plot_fit", "plot_isoflops", "plot_residuals"]
