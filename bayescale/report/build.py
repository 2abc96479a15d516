"""Building and writing the posterior report: :func:`build_report` and :func:`write_report`.

Both are re-exported by :mod:`bayescale.report` (see there for the sections). The sections'
content comes from :mod:`bayescale.report.sections`, :mod:`bayescale.report.assessment` and
:mod:`bayescale.report.headline`; the page from :mod:`bayescale.report.render`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from bayescale.report.headline import headline_lines, method_text, reproducibility_section
from bayescale.report.render import Body, Bullets, Callout, Para
from bayescale.report.render import to_html as _to_html
from bayescale.report.render import to_markdown as _to_markdown
from bayescale.report.sections import fit_section, parameters_section, residuals_section
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
    """

    sections: list[tuple[str, str, Body]]
    figures: dict[str, bytes]
    tables: dict[str, pd.DataFrame]
    summary: list[str]
    title: str = "bayescale posterior report"


def build_report(
    fit: object,
    *,
    against: str | None = None,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    command: str | None = None,
    title: str | None = None,
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

    Returns
    -------
    Report
        Sections, figures (PNG bytes), tables (DataFrames) and the 5-line summary.

    Raises
    ------
    ValueError
        If ``budgets`` is empty or not positive and finite, or ``against`` is for another law.
    KeyError
        If ``against`` is not a known reference.
    """
    if isinstance(fit, str | Path):
        fit = load_fit(fit)
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
        "allocation": allocation_section(ctx),
        "diagnostics": diagnostics_section(ctx),
    }
    skipped = None
    if ref is not None:
        if fit.draws is not None and isinstance(fit.objective, Noise):
            bodies["critique"] = critique_section(ctx, against, budgets)
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
                f"{method_text(ctx)}."
            ),
            Bullets(tuple(summary), ordered=True, css="summary"),
        ]
    )
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
    )


def write_report(
    fit: object,
    out: str | Path,
    *,
    format: str = "html",
    against: str | None = None,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    command: str | None = None,
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
    against, budgets, command
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
    rep = build_report(fit, against=against, budgets=budgets, command=command)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "html":
        out.write_text(_to_html(rep), encoding="utf-8")
        return out
    fig_dir = out.parent / f"{out.stem}_figures"
    fig_dir.mkdir(exist_ok=True)
    paths = {}
    for name, png in rep.figures.items():
        (fig_dir / f"{name}.png").write_bytes(png)
        paths[name] = f"{fig_dir.name}/{name}.png"
    out.write_text(_to_markdown(rep, paths), encoding="utf-8")
    return out
