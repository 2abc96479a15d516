"""The report's content: what is computed for each section, and the section bodies.

:class:`~bayescale.report.context.Context` gathers a fit's arrays once (inputs, compute
``C = k N D``, point estimate, draws, noise model); each ``*_section`` function computes what
its section shows through the public APIs (:func:`~bayescale.predict.predictive`,
:func:`~bayescale.predict.allocate`, :mod:`bayescale.results.summaries`,
:func:`~bayescale.results.records.draws_summary`), draws
its figures (:mod:`bayescale.report.figures`, :mod:`bayescale.report.assessment_figures`) and
returns a :class:`~bayescale.report.render.Body`.

This module has the sections on the data and the fit: ``fit``, ``residuals`` and
``parameters``. The sections that assess the fit - ``allocation``, ``diagnostics`` and
``critique`` - are in :mod:`bayescale.report.assessment`; the summary and the reproducibility
checklist in :mod:`bayescale.report.headline`.
"""

from __future__ import annotations

import math

import numpy as np

from bayescale.laws.spec import derived_values, to_natural
from bayescale.predict.allocation import allocate
from bayescale.predict.posterior import predict_log_loss, predictive
from bayescale.report import figures as F
from bayescale.report import style as S
from bayescale.report.context import PREDICTIVE_SEED, Context
from bayescale.report.render import Body, Callout, FigureRef, Para, TableRef, frame
from bayescale.results.records import derived_draws, draws_summary, natural_draws

_LABELS = {"N": S.LABEL_N, "D": S.LABEL_D, "C": S.LABEL_C, "step": "training step"}


def _isoflop_budgets(C: np.ndarray, max_curves: int = 5) -> list[float]:
    """The data's budgets: its distinct C (IsoFLOP data), else round values with runs near them.

    Round values are powers of ten (or 1 and 3 times them when fewer than three powers of ten
    qualify) with at least three runs within 20% of the budget.
    """
    distinct = np.unique(np.round(np.log10(C), 2))
    if distinct.size <= 8:
        vals = sorted({float(f"{10**v:.2g}") for v in distinct})
    else:
        lo, hi = math.floor(math.log10(C.min())), math.ceil(math.log10(C.max()))
        logc = np.log10(C)

        def near(b: float) -> bool:
            return int(np.sum(np.abs(logc - math.log10(b)) < 0.08)) >= 3

        vals = [10.0**e for e in range(lo, hi + 1) if near(10.0**e)]
        if len(vals) < 3:
            vals = [m * 10.0**e for e in range(lo, hi + 1) for m in (1.0, 3.0) if near(m * 10.0**e)]
        if not vals:
            vals = [float(f"{10 ** np.median(logc):.1g}")]
    if len(vals) > max_curves:
        idx = np.unique(np.round(np.linspace(0, len(vals) - 1, max_curves)).astype(int))
        vals = [vals[i] for i in idx]
    return vals


# ----------------------------------------------------------------------------- 2. fit


def fit_section(ctx: Context) -> Body:
    """The data and the fitted law, with mean-curve and new-run bands."""
    body = Body()
    if ctx.nd:
        c_lo, c_hi = float(ctx.C.min()), float(ctx.C.max())
        grid = np.logspace(
            math.log10(c_lo / 3), math.log10(max(c_hi * 3, max(ctx.budgets) * 1.5)), 90
        )
        opt = allocate(ctx.law, ctx.theta_hat, grid, flops_per_token=ctx.k)
        point, mean, new = ctx.bands({"N": opt.N_opt[0], "D": opt.D_opt[0]})
        ctx.figures["fit_compute"] = F.compute_figure(
            ctx.C, ctx.loss, ctx.x["N"], grid, point, mean, new, ctx.budgets
        )
        curves = []
        n_lo, n_hi = float(ctx.x["N"].min()), float(ctx.x["N"].max())
        n_grid = np.logspace(math.log10(n_lo / 3), math.log10(n_hi * 3), 90)
        for b in _isoflop_budgets(ctx.C):
            p, m, nr = ctx.bands({"N": n_grid, "D": b / (ctx.k * n_grid)})
            curves.append({"budget": b, "N": n_grid, "point": p, "mean": m, "new": nr})
        ctx.figures["fit_isoflop"] = F.isoflop_figure(curves, ctx.x["N"], ctx.C, ctx.loss)
        body.add(
            FigureRef(
                "fit_compute",
                f"Training runs (dots, coloured by N) and the law along its compute-optimal "
                f"frontier: the lowest loss reachable at each compute C = {ctx.k:g} N D. Every "
                "run lies on or above it.",
            ),
            FigureRef(
                "fit_isoflop",
                "IsoFLOP curves: at a fixed budget the law is U-shaped in N; its minimum is the "
                "compute-optimal model size. Runs within 20% of each budget are drawn in its "
                "colour, all others in grey.",
            ),
        )
    else:
        xv = ctx.x["x"]
        grid = np.logspace(math.log10(xv.min() / 2), math.log10(xv.max() * 2), 120)
        point, mean, new = ctx.bands({"x": grid})
        label = _LABELS.get(ctx.xvar, "x")
        ctx.figures["fit"] = F.one_variable_figure(xv, ctx.loss, grid, point, mean, new, label)
        body.add(FigureRef("fit", f"The data and the fitted law against {label}."))
    if ctx.curve_draws is not None:
        body.add(
            Para(
                "Two bands, never to be confused: the darker one is where the law's **curve** lies "
                'given the parameter uncertainty (`kind="mean"`); the lighter, wider one is where '
                'the loss of **one new training run** will land (`kind="new_run"`: the curve plus '
                "run-to-run noise from the fitted noise model). Both are 90% central intervals."
            )
        )
    if ctx.plug_in:
        body.add(
            Callout(
                "note",
                "This fit has no draws, so there is no band for the curve; the new-run band is a "
                "plug-in interval (noise only, parameters fixed at the point fit) and is too "
                "narrow. Rerun with `--method bootstrap` or `--method nuts` for intervals.",
            )
        )
    elif ctx.curve_draws is None:
        body.add(
            Callout(
                "note",
                "No bands: this fit has neither draws nor a noise model. Rerun with "
                "`--method bootstrap` or `--method nuts` for intervals.",
            )
        )
    elif not ctx.can_new_run:
        body.add(
            Callout(
                "note",
                "No new-run band: the fit minimised a loss, not a likelihood, so it has no noise "
                "model to sample runs from (refit with `--noise huber`).",
            )
        )
    return body


# ----------------------------------------------------------------------------- 3. residuals


def residuals_section(ctx: Context) -> Body:
    """Residuals against each input, and the posterior predictive check."""
    body = Body()
    r = np.log(ctx.loss) - predict_log_loss(ctx.law, ctx.theta_hat, ctx.x)[0]
    if ctx.nd:
        panels = [(S.LABEL_N, ctx.x["N"]), (S.LABEL_D, ctx.x["D"]), (S.LABEL_C, ctx.C)]
        xs, xlabel = ctx.C, S.LABEL_C
    else:
        xs, xlabel = ctx.x["x"], _LABELS.get(ctx.xvar, "x")
        panels = [(xlabel, xs)]
    ctx.figures["residuals"] = F.residuals_figure(panels, r)
    body.add(
        FigureRef(
            "residuals",
            "Residuals r = log L_obs - log L_fit of the point fit. A good law leaves no trend "
            "against any input.",
        ),
        Para(
            f"Residuals: median |r| = {np.median(np.abs(r)):.3g} "
            f"({100 * np.expm1(np.median(np.abs(r))):.2f}% of the loss), largest "
            f"|r| = {np.max(np.abs(r)):.3g}, root mean square {np.sqrt(np.mean(r**2)):.3g}."
        ),
    )
    if not ctx.can_new_run:
        body.add(
            Callout(
                "note",
                "No posterior predictive check: it needs a noise model (refit with `--noise "
                "huber`, or `--method bootstrap` / `--method nuts`).",
            )
        )
        return body
    q = predictive(
        ctx.law,
        ctx.new_run_draws,
        ctx.x,
        kind="new_run",
        noise=ctx.noise,
        probs=(0.05, 0.5, 0.95),
        seed=PREDICTIVE_SEED,
    )
    lo, med, hi = q.quantiles
    inside = (ctx.loss >= lo) & (ctx.loss <= hi)
    ctx.ppc_coverage = cov = float(inside.mean())
    ctx.figures["ppc"] = F.ppc_figure(xs, ctx.loss, lo, med, hi, xlabel, cov, ctx.plug_in)
    order = np.argsort(xs, kind="stable")
    rows = [{"runs": "all", "n": int(inside.size), "inside": int(inside.sum()), "coverage": cov}]
    for name, part in zip(("smallest", "middle", "largest"), np.array_split(order, 3), strict=True):
        rows.append(
            {
                "runs": f"{name} third by {'C' if ctx.nd else ctx.xvar}",
                "n": int(part.size),
                "inside": int(inside[part].sum()),
                "coverage": float(inside[part].mean()) if part.size else float("nan"),
            }
        )
    ctx.tables["coverage"] = frame(rows, "runs")
    kind = "plug-in new-run" if ctx.plug_in else "new-run"
    body.add(
        FigureRef(
            "ppc",
            f"Posterior predictive check: each run's observed loss against its {kind} 90% "
            "interval, relative to the predictive median.",
        ),
        Para(
            f"**Coverage: {100 * cov:.1f}%** of the {inside.size} runs fall inside their {kind} "
            "90% interval (a calibrated model gives about 90%; these runs were also used for the "
            "fit, so the check is lenient)."
        ),
        TableRef("coverage", "Coverage of the new-run 90% interval, overall and by scale"),
    )
    if cov < 0.8:
        body.add(
            Callout(
                "warn",
                f"Only {100 * cov:.0f}% of runs fall inside their 90% new-run interval: the "
                "noise model or the law misses the spread of the data.",
            )
        )
    return body


# ----------------------------------------------------------------------------- 4. parameters

_NEEDS_DRAWS = (
    "Intervals need draws: rerun `bayescale fit ... --method bootstrap` (or `--method nuts`)."
)


def parameters_section(ctx: Context, published: dict | None, published_label: str) -> Body:
    """Parameter distributions (natural space) and their summary table."""
    body = Body()
    point = dict(ctx.fit.params)
    nat_hat = to_natural(ctx.law, ctx.theta_hat[: ctx.law.n_params])
    point.update({k: float(v) for k, v in derived_values(ctx.law, nat_hat).items()})
    if ctx.flat is None:
        ctx.tables["parameters"] = frame(
            [{"parameter": k, "point": v} for k, v in point.items()], "parameter"
        )
        body.add(
            Callout("note", "This fit has point estimates only. " + _NEEDS_DRAWS),
            TableRef("parameters", "Point estimates (natural space)"),
        )
        return body
    s = draws_summary(ctx.fit, ctx.draws)
    rows = []
    for name, d in {**s["params"], **s["derived"]}.items():
        rows.append(
            {
                "parameter": name,
                "point": point.get(name, float("nan")),
                "mean": d["mean"],
                "sd": d["sd"],
                "5%": d["q05"],
                "50%": d["q50"],
                "95%": d["q95"],
            }
        )
    ctx.tables["parameters"] = frame(rows, "parameter")
    samples = {**natural_draws(ctx.fit, ctx.draws), **derived_draws(ctx.fit, ctx.draws)}
    ctx.figures["parameters"] = F.parameters_figure(samples, point, published, published_label)
    what = "bootstrap refits" if ctx.method == "bootstrap" else "NUTS posterior draws"
    body.add(
        FigureRef(
            "parameters",
            f"Distributions of {s['n_draws']:,} {what} per parameter (natural space), with the "
            "point fit and the 5% and 95% quantiles"
            + (f"; red: {published_label}." if published else "."),
        ),
        TableRef("parameters", f"Parameters over {s['n_draws']:,} {what} (natural space)"),
    )
    if ctx.law.derived_names == ("a", "b"):
        body.add(
            Para(
                "a = beta/(alpha+beta) and b = alpha/(alpha+beta) are the exponents of the "
                "compute-optimal allocation: N* grows as C^a and D* as C^b. sigma is the scale "
                "of the noise model on log-loss residuals."
            )
        )
    return body
