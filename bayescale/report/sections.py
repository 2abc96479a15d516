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

import numpy as np

from bayescale.laws.spec import derived_values, to_natural
from bayescale.predict.posterior import predict_log_loss, predictive, summarise
from bayescale.report import figures as F
from bayescale.report import style as S
from bayescale.report.context import PREDICTIVE_SEED, Context
from bayescale.report.engines import noise_sd, noise_text
from bayescale.report.plotting import LABELS, plot_fit, plot_isoflops, plot_residuals
from bayescale.report.render import Body, Callout, FigureRef, Para, TableRef, frame
from bayescale.report.style import figure_png
from bayescale.report.units import num
from bayescale.results.records import derived_draws, draws_summary, natural_draws

# ----------------------------------------------------------------------------- 2. fit


def fit_section(ctx: Context) -> Body:
    """The data and the fitted law, with mean-curve and new-run bands."""
    body = Body()
    fit = ctx.fit
    if ctx.nd:
        ctx.figures["fit_compute"] = figure_png(
            lambda a: plot_fit(fit, ax=a[0, 0], budgets=ctx.budgets)
        )
        ctx.figures["fit_isoflop"] = figure_png(
            lambda a: plot_isoflops(fit, ax=a[0, 0]), height=4.8
        )
        body.add(
            FigureRef(
                "fit_compute",
                f"Training runs (dots, coloured by N) and the law along its compute-optimal "
                f"frontier: the lowest loss reachable at each compute C = {ctx.k:g} N D. Every "
                "run lies on or above it. At each budget asked (dotted), the loss of the law's "
                "curve at the compute-optimal N*, D* with its 90% interval.",
            ),
            FigureRef(
                "fit_isoflop",
                "IsoFLOP curves: at a fixed budget the law is U-shaped in N; its minimum is the "
                "compute-optimal model size. Runs within 20% of each budget are drawn in its "
                "colour, all others in grey.",
            ),
        )
    else:
        label = LABELS.get(ctx.xvar, "x")
        ctx.figures["fit"] = figure_png(lambda a: plot_fit(fit, ax=a[0, 0]))
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
        body.add(Callout("note", "No new-run band: " + no_noise_reason(ctx)))
    return body


def no_noise_reason(ctx: Context) -> str:
    """Why a report has no noise scale to sample new runs from (one sentence)."""
    if ctx.noise is not None:
        return (
            "the bootstrap refits minimised a loss (`--boot-objective loss` or a protocol such "
            "as `besiroglu2024`), so the draws carry no noise scale to sample runs from "
            "(bootstrap with `--boot-objective likelihood` for one)."
        )
    return (
        "the fit minimised a loss, not a likelihood, so it has no noise model to sample runs "
        "from (refit with `--noise huber`)."
    )


# ----------------------------------------------------------------------------- 3. residuals


def residuals_section(ctx: Context) -> Body:
    """Residuals against each input, and the posterior predictive check."""
    body = Body()
    r = np.log(ctx.loss) - predict_log_loss(ctx.law, ctx.theta_hat, ctx.x)[0]
    inputs = ("N", "D", "C") if ctx.nd else (None,)
    if ctx.nd:
        xs, xlabel = ctx.C, S.LABEL_C
    else:
        xs, xlabel = ctx.x[ctx.var], LABELS.get(ctx.xvar, "x")

    def draw(axes: np.ndarray) -> None:
        for ax, x in zip(axes[0], inputs, strict=True):
            plot_residuals(ctx.fit, ax=ax, x=x)
        for ax in axes[0, 1:]:
            ax.set_ylabel("")
        axes[0, 0].figure.suptitle("Residuals of the point fit (log loss)")

    ctx.figures["residuals"] = figure_png(draw, 1, len(inputs), height=3.2, sharey=True)
    body.add(
        FigureRef(
            "residuals",
            "Residuals r = log L_obs - log L_fit of the point fit. A good law leaves no trend "
            "against any input.",
        ),
        Para(
            f"Residuals: median |r| = {num(np.median(np.abs(r)))} "
            f"({100 * np.expm1(np.median(np.abs(r))):.2f}% of the loss), largest "
            f"|r| = {num(np.max(np.abs(r)))}, root mean square {num(np.sqrt(np.mean(r**2)))}."
        ),
    )
    if not ctx.can_new_run:
        body.add(
            Callout(
                "note",
                "No posterior predictive check: " + no_noise_reason(ctx),
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

#: The row of the parameters table (and panel) with the SD of one run's log loss.
NOISE_SD = "noise SD"
_NEEDS_DRAWS = (
    "Intervals need draws: rerun `bayescale fit ... --method bootstrap` (or `--method nuts`)."
)


def parameters_section(ctx: Context, published: dict | None, published_label: str) -> Body:
    """Parameter distributions (natural space) and their summary table."""
    body = Body()
    point = dict(ctx.fit.params)
    nat_hat = to_natural(ctx.law, ctx.theta_hat[: ctx.law.n_params])
    point.update({k: float(v) for k, v in derived_values(ctx.law, nat_hat).items()})
    noise = noise_text(ctx)
    if noise is not None:
        point[NOISE_SD] = float(noise_sd(ctx.noise, point["sigma"]))
    if ctx.flat is None:
        ctx.tables["parameters"] = frame(
            [{"parameter": k, "point": v} for k, v in point.items()], "parameter"
        )
        body.add(
            Callout("note", "This fit has point estimates only. " + _NEEDS_DRAWS),
            TableRef("parameters", "Point estimates (natural space)"),
        )
        if noise is not None:
            body.add(Para(noise))
        return body
    s = draws_summary(ctx.fit, ctx.draws)
    samples = {**natural_draws(ctx.fit, ctx.draws), **derived_draws(ctx.fit, ctx.draws)}
    extra = {}
    if noise is not None and "sigma" in samples:
        samples[NOISE_SD] = noise_sd(ctx.noise, samples["sigma"])
        extra[NOISE_SD] = summarise(samples[NOISE_SD])
    rows = []
    for name, d in {**s["params"], **s["derived"], **extra}.items():
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
    ctx.figures["parameters"] = F.parameters_figure(samples, point, published, published_label)
    what = {"bootstrap": "bootstrap refits", "laplace": "approximate normal draws"}.get(
        ctx.method, "NUTS posterior draws"
    )
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
                "compute-optimal allocation: N* grows as C^a and D* as C^b."
            )
        )
    if noise is not None:
        body.add(Para(noise))
    return body
