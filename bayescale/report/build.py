"""Building and writing the posterior report: :func:`build_report` and :func:`write_report`.

Both are re-exported by :mod:`bayescale.report` (see there for the sections). The sections'
content comes from :mod:`bayescale.report.sections`, :mod:`bayescale.report.assessment` and
:mod:`bayescale.report.headline`; the page from :mod:`bayescale.report.render`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayescale.laws.spec import derived_values
from bayescale.likelihood import Noise
from bayescale.predict.references import get_reference
from bayescale.report.assessment import (
    allocation_section,
    critique_section,
    diagnostics_section,
)
from bayescale.report.context import Context
from bayescale.report.engines import (
    NUTS_CAVEAT,
    check_others,
    engine_label,
    engines_sentence,
    engines_table,
)
from bayescale.report.forecast import extrapolation_section
from bayescale.report.headline import (
    headline_lines,
    method_text,
    planner_headline,
    reproducibility_section,
)
from bayescale.report.render import Body, Bullets, Callout, Para, TableRef
from bayescale.report.render import to_html as _to_html
from bayescale.report.render import to_markdown as _to_markdown
from bayescale.report.sections import fit_section, parameters_section, residuals_section
from bayescale.report.units import CONVENTION
from bayescale.results.atomic import check_target, write_atomic
from bayescale.results.forecasts import Backtest
from bayescale.results.records import Fit
from bayescale.results.store import load_fit
from bayescale.results.summaries import diagnostic_messages

#: Budgets (FLOPs) of the allocation table and the summary's tokens-per-parameter line.
DEFAULT_BUDGETS = (1e23, 1e24, 5.88e23)
HEADINGS = {
    "summary": "How sure are we",
    "fit": "The data and the fitted law",
    "residuals": "Residuals and posterior predictive check",
    "parameters": "Parameters",
    "allocation": "Compute-optimal allocation",
    "extrapolation": "Will it extrapolate?",
    "diagnostics": "Diagnostics",
    "critique": "Critique of published values",
    "reproducibility": "Reproducibility checklist",
}


class Report(NamedTuple):
    """A built report.

    Attributes
    ----------
    sections
        ``(id, heading, body)`` in order; a body is a :class:`~bayescale.report.render.Body`
        with ``.html(report)`` and ``.markdown(report, figure_paths)``.
    figures
        Figure name -> PNG bytes.
    tables
        Table name -> DataFrame of raw values.
    summary
        The 5-line plain summary.
    title
        Title of the page.
    headline
        The lines above the contents: the answer in planner units at the first budget
        (:func:`~bayescale.report.headline.planner_headline`), the engines behind it and the
        summary convention (:data:`~bayescale.report.units.CONVENTION`).
    """

    sections: list[tuple[str, str, Body]]
    figures: dict[str, bytes]
    tables: dict[str, pd.DataFrame]
    summary: list[str]
    title: str = "bayescale posterior report"
    headline: tuple[str, ...] = ()


def build_report(
    fit: object,
    *,
    against: str | None = None,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    command: str | None = None,
    title: str | None = None,
    backtest: Backtest | None = None,
    protocol_critique: Mapping | None = None,
    others: Mapping[str, Fit] | None = None,
) -> Report:
    """Compute the posterior report of a fit.

    Parameters
    ----------
    fit
        A :class:`~bayescale.Fit` (with or without draws) or the directory of a saved fit.
    against
        A published reference (e.g. ``"hoffmann2022"``) to critique; the critique section needs
        draws and a noise model and is left out (with a note) otherwise.
    budgets
        Compute budgets (FLOPs) for the allocation table; the first one is the summary's.
    command
        The command line that produced the fit, recorded in the reproducibility checklist.
    title
        Page title (default names the law and the number of runs).
    backtest
        A :class:`~bayescale.results.forecasts.Backtest` of the fit's law on its data: the
        ``extrapolation`` section shows its coverage and error by distance and calibrates the
        forecast at the budgets; without one the section says how to get one.
    protocol_critique
        The critique under a published protocol
        (:func:`~bayescale.workflows.replication.protocol_summary`), set beside this fit's in
        the critique section with one sentence on why they differ.
    others
        Fits of the same law and data by other engines, with draws (e.g.
        ``{"nuts": nuts_fit}`` beside a bootstrap fit): the summary sets their answers beside
        the fit's (the exponent ``a``, D*/N* and the loss at each budget, the noise SD) and says
        why they differ; the headline, figures and critique use ``fit``'s draws.

    Returns
    -------
    Report
        Sections, figures (PNG bytes), tables (DataFrames) and the 5-line summary.

    Raises
    ------
    ValueError
        If ``budgets`` is empty or not positive and finite, ``against`` is for another law, or
        one of ``others`` has no draws or another law or data.
    KeyError
        If ``against`` is not a known reference.
    """
    if isinstance(fit, str | Path):
        fit = load_fit(fit)
    others = check_others(fit, others)
    budgets = tuple(float(b) for b in budgets)
    if not budgets or not all(np.isfinite(b) and b > 0 for b in budgets):
        raise ValueError(f"budgets must be finite positive FLOPs, got {budgets}")
    ref = None
    if against is not None:
        ref = get_reference(against)
        if ref.law != fit.law.name:
            raise ValueError(f"reference {against!r} is for law {ref.law!r}, not {fit.law.name!r}")
    ctx = Context(fit, budgets)
    published = None
    if ref is not None:
        published = dict(ref.params)
        nat = np.array([published[n] for n in fit.law.natural_names])
        published.update({k: float(v) for k, v in derived_values(fit.law, nat).items()})
    bodies = {
        "fit": fit_section(ctx),
        "residuals": residuals_section(ctx),
        "parameters": parameters_section(ctx, published, f"published ({against})"),
        "allocation": allocation_section(ctx, against),
        "extrapolation": extrapolation_section(ctx, backtest),
        "diagnostics": diagnostics_section(ctx),
    }
    skipped = None
    if ref is not None:
        if fit.draws is not None and isinstance(fit.objective, Noise):
            bodies["critique"] = critique_section(ctx, against, budgets, protocol_critique)
        else:
            skipped = (
                f"No critique against {against}: it needs draws and a noise model; rerun "
                "`bayescale fit ... --method bootstrap` (or `--method nuts`)."
            )
    bodies["reproducibility"] = reproducibility_section(ctx, command)
    summary = headline_lines(ctx, budgets[0])
    head = Body(
        [
            Para(
                f"Fit of law `{fit.law.name}` to {len(ctx.loss)} runs; uncertainty: "
                f"{method_text(ctx)}. {CONVENTION}"
            ),
            Bullets(tuple(summary), ordered=True, css="summary"),
        ]
    )
    methods = [ctx.method or "none"] + [o.draws.method for o in others.values()]
    if others and fit.draws is not None:
        ctx.tables["engines"] = engines_table({"fit": fit, **others}, budgets, ctx.k)
        head.add(
            TableRef("engines", "Every engine's answer (median [90% interval])"),
            Para(engines_sentence(methods)),
        )
    if "nuts" in methods[:1] and "bootstrap" not in methods:
        head.add(Callout("note", NUTS_CAVEAT))
    fail, caution = diagnostic_messages(fit, ctx.ppc_coverage)
    for w in fail + caution:
        head.add(Callout("warn", w))
    if skipped:
        head.add(Callout("note", skipped))
    sections = [("summary", HEADINGS["summary"], head)]
    sections += [(k, HEADINGS[k], b) for k, b in bodies.items()]
    n = len(ctx.loss)
    return Report(
        sections=sections,
        figures=ctx.figures,
        tables=ctx.tables,
        summary=summary,
        title=title or f"Posterior report: {fit.law.name} law fitted to {n} runs",
        headline=top_lines(ctx, budgets[0], others),
    )


def top_lines(ctx: Context, budget: float, others: Mapping[str, Fit]) -> tuple[str, ...]:
    """The lines above the contents: the answer in planner units, the engines, the convention."""
    answer = planner_headline(ctx.fit, budget)
    if ctx.draws is None:
        engines = "Uncertainty: none measured (point fit only)."
    else:
        engines = f"Engine: {engine_label(ctx.draws)}, behind the headline, figures and critique"
        if others:
            beside = ", ".join(engine_label(o.draws) for o in others.values())
            engines += f'; {beside} beside it under "How sure are we"'
        engines += "."
        if ctx.method == "nuts" and not any(o.draws.method == "bootstrap" for o in others.values()):
            engines += ' NUTS assumes the iid noise model (see "How sure are we").'
    return tuple(x for x in (answer, engines, CONVENTION) if x)


def write_report(
    fit: object,
    out: str | Path,
    *,
    format: str = "html",
    against: str | None = None,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    command: str | None = None,
    backtest: Backtest | None = None,
    protocol_critique: Mapping | None = None,
    others: Mapping[str, Fit] | None = None,
) -> Path:
    """Build the report of a fit and write it.

    Parameters
    ----------
    fit
        A :class:`~bayescale.Fit` or the directory of a saved fit.
    out
        Output file (``report.html`` or ``report.md``).
    format
        ``"html"``: one self-contained page (figures as base64 PNG data URIs, inline CSS, no
        scripts or external resources). ``"md"``: Markdown, with the figures as PNG files in
        ``<stem>_figures/`` beside it.
    against, budgets, command, backtest, protocol_critique, others
        As in :func:`build_report`.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        On an unknown ``format`` (and as :func:`build_report`).
    """
    if format not in ("html", "md"):
        raise ValueError(f"format must be 'html' or 'md', got {format!r}")
    rep = build_report(
        fit,
        against=against,
        budgets=budgets,
        command=command,
        backtest=backtest,
        protocol_critique=protocol_critique,
        others=others,
    )
    return save_report(rep, out, format=format)


def save_report(report: Report, out: str | Path, *, format: str = "html") -> Path:
    """Write a built report (:func:`build_report`) as HTML or Markdown.

    Parameters
    ----------
    report
        The report.
    out
        Output file.
    format
        ``"html"`` or ``"md"``, as in :func:`write_report`.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        On an unknown ``format``;
        :class:`~bayescale.results.atomic.OutputError` if ``out`` is a folder. The file is
        written atomically (a hidden sibling, then a rename).
    """
    if format not in ("html", "md"):
        raise ValueError(f"format must be 'html' or 'md', got {format!r}")
    rep = report
    out = check_target(out, kind="file")
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "html":
        return write_atomic(out, _to_html(rep))
    fig_dir = out.parent / f"{out.stem}_figures"
    fig_dir.mkdir(exist_ok=True)
    paths = {}
    for name, png in rep.figures.items():
        (fig_dir / f"{name}.png").write_bytes(png)
        paths[name] = f"{fig_dir.name}/{name}.png"
    return write_atomic(out, _to_markdown(rep, paths))
