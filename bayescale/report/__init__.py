"""The posterior report of a fit: one self-contained HTML page (or Markdown with PNGs).

:func:`build_report` computes everything (figures as PNG bytes, tables as DataFrames, the
5-line summary) and :func:`write_report` writes it. Sections, each with a stable ``id``:

``summary`` (how sure are we), ``fit`` (data and law with mean-curve and new-run bands),
``residuals`` (residuals and a posterior predictive check), ``parameters`` (distributions and
table), ``allocation`` (N*, D*, D*/N* against compute), ``extrapolation`` ("Will it
extrapolate?": backtest coverage against nominal, error against distance, and the forecast at
the budgets with calibrated and uncalibrated intervals), ``diagnostics`` (R-hat, ESS,
divergences or refit status, start convergence), ``critique`` (with ``against``: published
values tested against the refit) and ``reproducibility`` (a checklist after the (Mis)Fitting
survey of scaling-law fits: law, objective, optimiser, starts, filters, FLOPs convention, data
hash, package versions, seeds and the command line).

Above the contents, the headline answers in planner units at the first budget (N*, D* and the
loss in SI units, and how far beyond the largest run), names the engines and the summary
convention (medians over the draws, 90% intervals). With ``others`` (e.g. the NUTS fit beside
a bootstrap fit), every engine's answer is set side by side in ``summary``.

A fit without draws gives a report too: point estimates, with notes where intervals need
``--method bootstrap`` or ``--method nuts``.

Modules: :mod:`~bayescale.report.build` (:func:`build_report`, :func:`write_report`),
:mod:`~bayescale.report.context` (a fit's arrays, gathered once),
:mod:`~bayescale.report.sections` (``fit``, ``residuals``, ``parameters``),
:mod:`~bayescale.report.assessment` (``allocation``, ``diagnostics``, ``critique``),
:mod:`~bayescale.report.forecast` (``extrapolation``; its figures, which take ``ax=``, in
:mod:`~bayescale.report.forecast_figures`),
:mod:`~bayescale.report.headline` (the headline, ``summary`` lines and ``reproducibility``),
:mod:`~bayescale.report.engines` (engines side by side, the noise scale in words),
:mod:`~bayescale.report.units` (SI units and the summary convention),
:mod:`~bayescale.report.plotting` (the figures of a fit on any Axes, public as
:mod:`bayescale.plot`), :mod:`~bayescale.report.style` (the figure style),
:mod:`~bayescale.report.figures` and :mod:`~bayescale.report.assessment_figures` (the drawing
code) and :mod:`~bayescale.report.render` (HTML and Markdown).
"""

from bayescale.report.build import (
    DEFAULT_BUDGETS,
    HEADINGS,
    Report,
    build_report,
    save_report,
    write_report,
)
from bayescale.report.headline import data_hash

__all__ = [
    "DEFAULT_BUDGETS",
    "HEADINGS",
    "Report",
    "build_report",
    "data_hash",
    "save_report",
    "write_report",
]
