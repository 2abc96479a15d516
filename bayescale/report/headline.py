"""The report's plain-language parts: the headline, the 5-line summary and the
reproducibility checklist.

:func:`planner_headline` answers in planner units at the first budget (N*, D* and the loss, in
SI units, and how far beyond the largest run); :func:`headline_lines` answers "how sure are
we" in five lines (law, data, key exponents, tokens per parameter, certainty);
:func:`reproducibility_section` lists what it takes to reproduce the fit, after the checklist
of the (Mis)Fitting survey of scaling-law fits (law, objective, optimiser, starts, filters,
FLOPs convention, :func:`data_hash`, :func:`package_versions`, seeds and the command line).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from importlib import metadata

import numpy as np

from bayescale.laws.spec import derived_values, to_natural
from bayescale.likelihood import Noise
from bayescale.report.context import PREDICTIVE_SEED, Context
from bayescale.report.render import Body, Code, Para, TableRef, frame
from bayescale.report.units import estimate, flops, num, si
from bayescale.results.records import Fit, draws_summary
from bayescale.results.summaries import allocation_summary, diagnostic_messages

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


def _range(v: np.ndarray, unit: str) -> str:
    if unit == "FLOPs":
        return f"{flops(float(np.min(v)))} to {flops(float(np.max(v)))} FLOPs"
    return f"{si(float(np.min(v)))} to {si(float(np.max(v)))} {unit}"


def planner_headline(fit: Fit, budget: float) -> str | None:
    """The answer in planner units at one budget, under the summary convention
    (:data:`~bayescale.report.units.CONVENTION`).

    Parameters
    ----------
    fit
        A fit of a law of ``N`` and ``D``, with or without draws.
    budget
        Compute budget in FLOPs.

    Returns
    -------
    str or None
        E.g. ``"At C = 1e24 FLOPs: N* ~ 96 B params [69-144 B], D* ~ 1.7 T tokens
        [1.2-2.4 T], loss 1.96 [1.94-1.98]; 77x beyond the largest run."``; ``None`` for a law
        whose inputs are not ``N`` and ``D``.
    """
    if set(fit.law.inputs) != {"N", "D"}:
        return None
    k = float(fit.data.flops_per_token)
    row = allocation_summary(fit, [budget], k)["budgets"][0]
    largest = k * float(np.max(np.asarray(fit.data.x["N"]) * np.asarray(fit.data.x["D"])))
    far = budget / largest
    if far >= 1.5:
        where = f"{far:,.0f}x beyond the largest run"
    else:
        where = "within the data's compute" if far <= 1 else f"{far:.1f}x the largest run"
    n, d = (estimate(row[q], "si").split(" [", 1) for q in ("N_opt", "D_opt"))
    n_txt = f"N* ~ {n[0]} params" + (f" [{n[1]}" if len(n) > 1 else "")
    d_txt = f"D* ~ {d[0]} tokens" + (f" [{d[1]}" if len(d) > 1 else "")
    loss = estimate(row["loss_opt"])
    bare = "" if fit.draws is not None else " (point fit, no intervals)"
    return f"At C = {flops(budget)} FLOPs: {n_txt}, {d_txt}, loss {loss}; {where}{bare}."


def method_text(ctx: Context) -> str:
    """How the fit's uncertainty was measured, in a few words."""
    d = ctx.draws
    if d is None:
        return "none (point estimates only)"
    n = int(np.prod(d.theta.shape[:-1]))
    if d.method == "nuts":
        return f"NUTS posterior ({d.theta.shape[0]} chains x {d.theta.shape[1]} draws)"
    if d.method == "laplace":
        cov = "robust sandwich" if d.settings.get("robust") else "Laplace"
        return f"approximate normal at the optimum ({cov} covariance, {n:,} draws)"
    clus = " cluster" if d.diagnostics.get("cluster") else ""
    return f"nonparametric{clus} bootstrap ({n:,} refits)"


def headline_lines(ctx: Context, budget: float) -> list[str]:
    """The 5-line plain summary: law, data, exponents, tokens per parameter, certainty."""
    f, law = ctx.fit, ctx.law
    lines = [f"Law {law.name}: {_equation(law)}, fitted by {_objective_text(f.objective)}."]
    n, rows = len(ctx.loss), f.data.n_input_rows
    dropped = rows - n
    filt = ", ".join(x.get("name", "?") for x in f.data.filters)
    data = f"Data: {n} runs" + (f" ({dropped} of {rows} rows dropped by {filt})" if dropped else "")
    if ctx.nd:
        data += (
            f"; N {_range(ctx.x['N'], 'parameters')}, D {_range(ctx.x['D'], 'tokens')}, "
            f"C {_range(ctx.C, 'FLOPs')} (C = {ctx.k:g} N D)."
        )
    else:
        xv, unit = ctx.x[ctx.var], {"N": "parameters", "D": "tokens", "C": "FLOPs"}.get(ctx.xvar)
        if unit:
            data += f"; {ctx.xvar} {_range(xv, unit)}."
        else:
            data += f"; {ctx.xvar} {num(float(xv.min()))} to {num(float(xv.max()))}."
    lines.append(data)
    s = draws_summary(f, f.draws) if f.draws is not None else None
    point = {k: {"point": v} for k, v in f.params.items()}
    nat_hat = to_natural(law, ctx.theta_hat[: law.n_params])
    point.update({k: {"point": float(v)} for k, v in derived_values(law, nat_hat).items()})
    summ = point if s is None else {**s["params"], **s["derived"]}
    keys = [p.label for p in law.params if p.transform == "identity"]
    parts = [f"{k} = {estimate(summ[k])}" for k in keys if k in summ]
    if "a" in summ:
        parts.append(f"a = beta/(alpha+beta) = {estimate(summ['a'])}")
    parts += [f"{k} = {estimate(summ[k])}" for k in law.derived_names if k not in ("a", "b")]
    lines.append(
        "Key exponents: " + ", ".join(parts) + ("." if s else " (point estimates, no intervals).")
    )
    if ctx.nd:
        t = allocation_summary(f, [budget], ctx.k)["budgets"][0]["tokens_per_param"]
        lines.append(
            f"Tokens per parameter at C = {flops(budget)} FLOPs: D*/N* = "
            f"{estimate(t, 'ratio')}" + ("." if "q05" in t else " (no interval).")
        )
    else:
        lines.append(
            f"Tokens per parameter: not applicable (law {law.name} is a law of one input)."
        )
    fail, _ = diagnostic_messages(f, ctx.ppc_coverage)
    if f.draws is None:
        cert = (
            "Certainty: not measured - this fit has point estimates only; rerun with "
            "--method bootstrap or --method nuts for intervals."
        )
    else:
        cert = f"Certainty: medians and 90% intervals from the {method_text(ctx)}"
        if fail:
            cert += (
                f"; WARNING: {len(fail)} diagnostic check(s) failed (see Diagnostics), so treat "
                "them as provisional."
            )
        else:
            cert += "; all diagnostics passed."
    lines.append(cert)
    return lines


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
        ("uncertainty", method_text(ctx)),
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
