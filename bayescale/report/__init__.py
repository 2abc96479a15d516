"""The posterior report of a fit: one self-contained HTML page (or Markdown with PNGs).

:func:`build_report` computes everything (figures as PNG bytes, tables as DataFrames, the
5-line summary) and :func:`write_report` writes it. Sections, each with a stable ``id``:

``summary`` (how sure are we), ``fit`` (data and law with mean-curve and new-run bands),
``residuals`` (residuals and a posterior predictive check), ``parameters`` (distributions and
table), ``allocation`` (N*, D*, D*/N* against compute), ``diagnostics`` (R-hat, ESS,
divergences or refit status, start convergence), ``critique`` (with ``against``: published
values tested against the refit) and ``reproducibility`` (a checklist after the (Mis)Fitting
survey of scaling-law fits: law, objective, optimiser, starts, filters, FLOPs convention, data
hash, package versions, seeds and the command line).

A fit without draws gives a report too: point estimates, with notes where intervals need
``--method bootstrap`` or ``--method nuts``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayescale.likelihood import Noise
from bayescale.report.render import Body, Bullets, Callout, Code, Para, TableRef, frame
from bayescale.report.render import to_html as _to_html
from bayescale.report.render import to_markdown as _to_markdown
from bayescale.report.sections import (
    PREDICTIVE_SEED,
    Context,
    allocation_section,
    critique_section,
    diagnostic_messages,
    diagnostics_section,
    fit_section,
    parameters_section,
    residuals_section,
)

#: Budgets (FLOPs) of the allocation table and the summary's tokens-per-parameter line.
DEFAULT_BUDGETS = (1e23, 1e24, 5.88e23)
#: Packages whose versions the reproducibility checklist records.
PACKAGES = (
    "bayescale",
    "jax",
    "jaxlib",
    "numpyro",
    "optax",
    "optimistix",
    "arviz",
    "numpy",
    "pandas",
    "matplotlib",
)
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


def data_hash(prepared: object) -> str:
    """SHA-256 of the fitted arrays: each law input (in order), then the loss, as float64 bytes.

    Parameters
    ----------
    prepared
        A :class:`~bayescale.data.Prepared` (``fit.data``).

    Returns
    -------
    str
        Hex digest; equal data give equal hashes across machines (little-endian float64).
    """
    h = hashlib.sha256()
    for arr in [*prepared.x.values(), prepared.loss]:
        h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Installed versions of bayescale's stack and Python."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def _equation(law: object) -> str:
    doc = (law.doc or law.name).strip()
    cut = min((i for i in (doc.find(" ("), doc.find(": "), doc.find(";")) if i > 0), default=-1)
    return (doc[:cut] if cut > 0 else doc).rstrip(". ")


def _objective_text(obj: object) -> str:
    if isinstance(obj, Noise):
        extra = f" (delta {obj.delta:g})" if obj.kind == "huber" else ""
        extra += f" (df {obj.df:g})" if obj.kind == "student_t" else ""
        return f"maximum likelihood under {obj.kind} noise{extra} with a free scale sigma"
    extra = f" (delta {obj.delta:g})" if obj.kind == "huber" else ""
    return f"minimising the summed {obj.kind} loss{extra} on log-loss residuals"


def _sci(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _range(v: np.ndarray) -> str:
    return f"{_sci(float(np.min(v)))} to {_sci(float(np.max(v)))}"


def _method_text(ctx: Context) -> str:
    d = ctx.draws
    if d is None:
        return "none (point estimates only)"
    n = int(np.prod(d.theta.shape[:-1]))
    if d.method == "nuts":
        return f"NUTS posterior ({d.theta.shape[0]} chains x {d.theta.shape[1]} draws)"
    clus = " cluster" if d.diagnostics.get("cluster") else ""
    return f"nonparametric{clus} bootstrap ({n:,} refits)"


def summary_lines(ctx: Context, budget: float) -> list[str]:
    """The 5-line plain summary: law, data, exponents, tokens per parameter, certainty."""
    from bayescale.uncertainty import draws_summary

    f, law = ctx.fit, ctx.law
    lines = [f"Law {law.name}: {_equation(law)}, fitted by {_objective_text(f.objective)}."]
    n, rows = len(ctx.loss), f.data.n_input_rows
    dropped = rows - n
    filt = ", ".join(x.get("name", "?") for x in f.data.filters)
    data = f"Data: {n} runs" + (f" ({dropped} of {rows} rows dropped by {filt})" if dropped else "")
    if ctx.nd:
        data += (
            f"; N {_range(ctx.x['N'])} parameters, D {_range(ctx.x['D'])} tokens, C "
            f"{_range(ctx.C)} FLOPs (C = {ctx.k:g} N D)."
        )
    else:
        data += f"; {ctx.xvar} {_range(ctx.x['x'])}."
    lines.append(data)
    s = draws_summary(f, f.draws) if f.draws is not None else None
    point = f.params
    keys = [p.label for p in law.params if p.transform == "identity"]
    parts = []
    for k in keys:
        txt = f"{k} = {point[k]:.3f}"
        parts.append(txt + (f" {_ci(s['params'][k])}" if s else ""))
    if "alpha" in point and "beta" in point:
        a = point["beta"] / (point["alpha"] + point["beta"])
        txt = f"a = beta/(alpha+beta) = {a:.3f}"
        parts.append(txt + (f" {_ci(s['derived']['a'])}" if s and "a" in s["derived"] else ""))
    lines.append(
        "Key exponents: " + ", ".join(parts) + ("." if s else " (point estimates, no intervals).")
    )
    if ctx.nd:
        from bayescale.commands import allocation_dict

        t = allocation_dict(f, [budget], ctx.k)["budgets"][0]["tokens_per_param"]
        ci = f" [90%: {t['q05']:.1f}-{t['q95']:.1f}]" if "q05" in t else " (no interval)"
        lines.append(
            f"Tokens per parameter at C = {_sci(budget, 3)} FLOPs: D*/N* = {t['point']:.1f}{ci}."
        )
    else:
        lines.append(
            f"Tokens per parameter: not applicable (law {law.name} is a law of one input)."
        )
    fail, _ = diagnostic_messages(ctx)
    if f.draws is None:
        cert = (
            "Certainty: not measured - this fit has point estimates only; rerun with "
            "--method bootstrap or --method nuts for intervals."
        )
    else:
        cert = f"Certainty: intervals are 90% intervals from the {_method_text(ctx)}"
        if fail:
            cert += (
                f"; WARNING: {len(fail)} diagnostic check(s) failed (see Diagnostics), so treat "
                "them as provisional."
            )
        else:
            cert += "; all diagnostics passed."
    lines.append(cert)
    return lines


def _ci(s: dict) -> str:
    return f"[90%: {s['q05']:.3f}-{s['q95']:.3f}]"


def reproducibility_section(ctx: Context, command: str | None) -> Body:
    """The checklist of what it takes to reproduce the fit."""
    f, law = ctx.fit, ctx.law
    d = f.to_dict()
    st = d["starts"]
    starts = f"{st['kind']}" + (f" '{st['name']}'" if st.get("name") else "") + f", n = {st['n']:,}"
    seeds = []
    if "seed" in f.starts:
        seeds.append(f"random starts: {f.starts['seed']}")
    if f.draws is not None and "seed" in f.draws.settings:
        seeds.append(f"{f.draws.method}: {f.draws.settings['seed']}")
    seeds.append(f"report's new-run intervals: {PREDICTIVE_SEED}")
    versions = package_versions()
    rows = [
        ("law", f"{law.name}: {law.doc or _equation(law)}"),
        (
            "loss / noise model",
            f"{type(f.objective).__name__}{tuple(f.objective)}: " + _objective_text(f.objective),
        ),
        ("optimiser", json.dumps(d["optimizer"])),
        ("starts", starts),
        ("uncertainty", _method_text(ctx)),
        (
            "uncertainty settings",
            json.dumps(f.draws.settings, default=str) if f.draws is not None else "-",
        ),
        (
            "data",
            f"{len(ctx.loss)} points from {f.data.n_input_rows} rows; columns "
            f"{json.dumps(d['columns'])}; derived {json.dumps(d['derived'])}",
        ),
        ("filters", json.dumps(list(f.data.filters)) if f.data.filters else "none"),
        ("FLOPs convention", f"C = {ctx.k:g} N D (flops_per_token = {ctx.k:g})"),
        ("data hash (sha256)", data_hash(f.data)),
        ("seeds", "; ".join(seeds)),
        ("package versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ("command", command or "not recorded (report built from the Python API)"),
        ("generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    ctx.tables["reproducibility"] = frame([{"item": k, "value": v} for k, v in rows], "item")
    ctx.tables["versions"] = frame(
        [{"package": k, "version": v} for k, v in versions.items()], "package"
    )
    return Body(
        [
            Para(
                "What another person needs to reproduce this fit (after the checklist of the "
                "(Mis)Fitting survey of scaling-law fitting). The data hash is SHA-256 over the "
                "fitted arrays (law inputs in order, then the loss; little-endian float64)."
            ),
            TableRef("reproducibility", "Reproducibility checklist"),
            Para("Command line:"),
            Code(command or "# not recorded: built from the Python API"),
        ]
    )


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
        A :class:`~bayescale.api.Fit` (with or without draws) or the directory of a saved fit.
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
    if isinstance(fit, (str, Path)):
        from bayescale.data.store import load_fit

        fit = load_fit(fit)
    budgets = tuple(float(b) for b in budgets)
    if not budgets or not all(np.isfinite(b) and b > 0 for b in budgets):
        raise ValueError(f"budgets must be finite positive FLOPs, got {budgets}")
    ref = None
    if against is not None:
        from bayescale.predict import get_reference

        ref = get_reference(against)
        if ref.law != fit.law:
            raise ValueError(f"reference {against!r} is for law {ref.law!r}, not {fit.law!r}")
    ctx = Context(fit, budgets)
    published = None
    if ref is not None:
        published = dict(ref.params)
        if "alpha" in published and "beta" in published:
            s = published["alpha"] + published["beta"]
            published.update(a=published["beta"] / s, b=published["alpha"] / s)
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
    summary = summary_lines(ctx, budgets[0])
    head = Body(
        [
            Para(
                f"Fit of law `{fit.law}` to {len(ctx.loss)} runs; uncertainty: {_method_text(ctx)}."
            ),
            Bullets(tuple(summary), ordered=True, css="summary"),
        ]
    )
    fail, caution = diagnostic_messages(ctx)
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
        title=title or f"Posterior report: {fit.law} law fitted to {n} runs",
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
        A :class:`~bayescale.api.Fit` or the directory of a saved fit.
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


__all__ = ["DEFAULT_BUDGETS", "Report", "build_report", "data_hash", "write_report"]
