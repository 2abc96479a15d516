"""The report's sections that assess a fit: ``allocation``, ``diagnostics`` and ``critique``.

Like :mod:`bayescale.report.sections`, each ``*_section`` function takes the
:class:`~bayescale.report.context.Context`, computes what its section shows through the public
APIs (:func:`~bayescale.predict.allocate` and :mod:`bayescale.results.summaries`), adds its
figures (:mod:`bayescale.report.assessment_figures`) and tables, and returns a
:class:`~bayescale.report.render.Body`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bayescale.laws.spec import to_natural
from bayescale.likelihood import params
from bayescale.predict.references import get_reference
from bayescale.report.assessment_figures import runs_needed_figure, trace_figure
from bayescale.report.context import Context
from bayescale.report.plotting import plot_allocation
from bayescale.report.render import Body, Callout, FigureRef, Para, TableRef, frame
from bayescale.report.style import figure_png
from bayescale.report.units import estimate, pvalue
from bayescale.results.summaries import (
    allocation_summary,
    critique_summary,
    diagnostic_messages,
)

# ----------------------------------------------------------------------------- 5. allocation


def allocation_section(ctx: Context, against: str | None = None) -> Body:
    """N*(C), D*(C) and D*/N* over a budget grid (with ``against``: the reference's too), and
    the table at the budgets asked."""
    body = Body()
    if not ctx.nd:
        body.add(
            Callout(
                "note",
                f"Compute-optimal allocation needs a law of N and D; law `{ctx.law.name}` has "
                f"inputs {list(ctx.law.inputs)}.",
            )
        )
        return body
    fit, budgets = ctx.fit, ctx.budgets

    def draw(axes: np.ndarray) -> None:
        plot_allocation(fit, ax=axes[0, 0], quantity="sizes", budgets=budgets)
        plot_allocation(fit, ax=axes[0, 1], against=against, budgets=budgets)
        axes[0, 0].figure.suptitle(
            "Compute-optimal allocation (grey: beyond the data; dotted: budgets asked)"
        )

    ctx.figures["allocation"] = figure_png(draw, 1, 2, height=4.2)
    data_range = (float(ctx.C.min()), float(ctx.C.max()))
    out = allocation_summary(ctx.fit, list(ctx.budgets), ctx.k)
    labels = {
        "N_opt": "N* (parameters)",
        "D_opt": "D* (tokens)",
        "tokens_per_param": "D*/N*",
        "loss_opt": "loss at optimum",
    }
    trows = []
    for b in out["budgets"]:
        for key, label in labels.items():
            v = b[key]
            trows.append(
                {"budget C (FLOPs)": b["compute"], "quantity": label, "point": v["point"]}
                | ({"5%": v["q05"], "50%": v["q50"], "95%": v["q95"]} if "q05" in v else {})
            )
    ctx.tables["allocation"] = frame(trows, "budget C (FLOPs)")
    band = "median and 90% band over the draws" if ctx.flat is not None else "point fit only"
    body.add(
        FigureRef(
            "allocation",
            f"Compute-optimal N*, D* and tokens per parameter against compute ({band}; "
            f"{out['method'].replace('_', ' ')})"
            + (f"; dashed red: what {against}'s published values imply." if against else "."),
        ),
        TableRef("allocation", f"Allocation at the budgets asked (C = {ctx.k:g} N D)"),
    )
    if "exponents" in out and ctx.flat is not None:
        a = out["exponents"]["a"]
        body.add(Para(f"N* grows as C^a with a = {estimate(a)} (median and 90% interval)."))
    for note in out["notes"]:
        body.add(Callout("note", note[:1].upper() + note[1:] + "."))
    far = max(ctx.budgets) / data_range[1]
    if far > 3:
        body.add(
            Callout(
                "note",
                f"The largest budget is {far:,.0f}x the largest run's compute: these allocations "
                "extrapolate the law, and any interval assumes the law still holds there.",
            )
        )
    return body


# ----------------------------------------------------------------------------- 6. diagnostics


def diagnostics_section(ctx: Context) -> Body:
    """Sampler or refit diagnostics and the point fit's start convergence."""
    body = Body()
    d = ctx.fit.to_dict()
    st = d["starts"]
    fail, caution = diagnostic_messages(ctx.fit, ctx.ppc_coverage)
    for w in fail:
        body.add(Callout("warn", w))
    for w in caution:
        body.add(Callout("warn", w))
    if not fail and not caution:
        body.add(Callout("ok", "No diagnostic failed."))
    srows = [
        {"item": "starts", "value": st["n"]},
        {"item": "converged", "value": st["converged"]},
        {"item": "within 1e-6 of the best objective", "value": st["near_best"]},
    ]
    srows += [{"item": k, "value": v} for k, v in st["status_counts"].items() if k != "converged"]
    srows += [
        {"item": "best start's status", "value": d["status"]},
        {"item": "gradient norm at the optimum", "value": d["grad_norm"]},
        {"item": "objective at the optimum", "value": d["objective"]},
    ]
    ctx.tables["starts"] = frame(srows, "item")
    body.add(
        Para(
            f"**Point fit**: {st['n']:,} starts ({st.get('name') or st['kind']}); "
            f"{st['converged']} ran to convergence and {st['near_best']} reached the best "
            "objective. 'Screened' starts were stopped after the exploration steps because "
            "others were better (by design, not a failure)."
        ),
        TableRef("starts", "Start convergence of the point fit"),
    )
    if ctx.method == "nuts":
        diag = ctx.draws.diagnostics
        chains = ctx.draws.theta.shape[0]
        ess_min = 100 * chains
        rows = [
            {
                "parameter": k,
                "R-hat": rh,
                "R-hat ok (<= 1.01)": bool(rh <= 1.01),
                "bulk ESS": diag["ess_bulk"][k],
                f"ESS ok (>= {ess_min})": bool(diag["ess_bulk"][k] >= ess_min),
            }
            for k, rh in diag["rhat"].items()
        ]
        ctx.tables["nuts"] = frame(rows, "parameter")
        th = ctx.draws.theta
        specs = params(ctx.law, ctx.fit.objective)[: th.shape[-1]]
        nat = np.asarray(to_natural(specs, th))
        ctx.figures["trace"] = trace_figure(nat, [s.label for s in specs])
        body.add(
            Para(
                f"**NUTS**: {chains} chains x {th.shape[1]} draws; {diag['divergences']} divergent "
                "transitions. R-hat compares chains (1.00 means they agree); the bulk effective "
                "sample size (ESS) counts how many independent draws they are worth."
            ),
            TableRef("nuts", "NUTS convergence per parameter"),
            FigureRef("trace", "Trace of every chain (natural space)."),
        )
    elif ctx.method == "bootstrap":
        counts = ctx.draws.diagnostics.get("status_counts", {})
        n = int(np.prod(ctx.draws.theta.shape[:-1]))
        ctx.tables["bootstrap"] = frame(
            [{"refit status": k, "resamples": v} for k, v in counts.items()], "refit status"
        )
        cluster = ctx.draws.diagnostics.get("cluster")
        body.add(
            Para(
                f"**Bootstrap**: {n:,} resamples{' of whole runs (cluster)' if cluster else ''}, "
                f"each refitted from the full-data optimum; {counts.get('converged', 0):,} "
                "refits converged."
            ),
            TableRef("bootstrap", "Bootstrap refit status"),
        )
    elif ctx.method == "laplace":
        body.add(Callout("note", "No sampler diagnostics: " + ctx.draws.warnings[0] + "."))
    else:
        body.add(Callout("note", "No sampler diagnostics: this fit has no draws."))
    return body


# ----------------------------------------------------------------------------- 7. critique


def protocol_sentence(e: Mapping) -> str:
    """One sentence on how a published protocol's critique differs from the default's, and why
    (``e``: :func:`~bayescale.workflows.replication.protocol_summary`)."""
    return (
        f"Under Epoch AI's protocol ({e['n_resamples']:,} resamples refitted by the summed Huber "
        f"loss, no scale, from Hoffmann's unrounded values; delta method at the draws' mean) the "
        f"Wald statistic against {e['reference']} is {e['wald_chi2']:.1f} +- "
        f"{e['wald_mc_se']:.1f} (this report's bootstrap: {e['default_wald_chi2']:.1f}) and the "
        f"runs needed for the 80% interval on a {e['runs_needed_delta']:,.0f} +- "
        f"{e['runs_needed_delta_mc_se']:,.0f}. They differ because this report's bootstrap "
        "refits the Huber likelihood it tests (scale included) and Epoch's the Huber loss: the "
        "two objectives give different covariances, and W is carried mostly by the "
        f"least-determined direction ({e['smallest_share']:.0%} and "
        f"{e['default_smallest_share']:.0%} of W), so a small change there moves W a lot"
        + (
            " while the verdict stays the same."
            if (e["wald_p"] < 0.05) == (e["default_wald_p"] < 0.05)
            else "; here the verdicts differ at the 5% level."
        )
    )


def critique_section(
    ctx: Context, against: str, budgets: Sequence[float], protocol: Mapping | None = None
) -> Body:
    """Published values tested against the refit, runs needed, and their allocation;
    ``protocol``: a published protocol's critique to set beside it
    (:func:`~bayescale.workflows.replication.protocol_summary`)."""
    ref = get_reference(against)
    c = critique_summary(ctx.fit, against, list(budgets))
    ctx.tables["critique_tests"] = frame(
        [
            {
                "parameter": k,
                "published": t["reference"],
                "refit": t["estimate"],
                "se (draws)": t["se"],
                "t": t["t"],
                "p (two-sided)": t["p"],
            }
            for k, t in c["tests"].items()
        ],
        "parameter",
    )
    ctx.tables["critique_tests_joint"] = frame(
        [
            {
                "test": "Wald (fit space)",
                "statistic": c["wald_chi2"],
                "df": c["wald_df"],
                "p": c["wald_p"],
            },
            {
                "test": "likelihood ratio",
                "statistic": c["lr_stat"],
                "df": c["lr_df"],
                "p": c["lr_p"],
            },
        ],
        "test",
    )
    reject = (c["wald_p"] or 0.0) < 0.05 or (c["lr_p"] or 0.0) < 0.05
    verdict = (
        f"The data **reject** {ref.name}'s values (p < 0.05)."
        if reject
        else f"The data are consistent with {ref.name}'s values at the 5% level."
    )
    body = Body(
        [
            Para(f"Reference: {ref.citation}. {ref.notes}"),
            Para(
                f"{verdict} Wald chi2({c['wald_df']}) = {c['wald_chi2']:.1f}, "
                f"p = {pvalue(c['wald_p'])}; likelihood ratio {c['lr_stat']:.1f}, "
                f"p = {pvalue(c['lr_p'])} ({c['n_points']} points, {c['n_draws']:,} draws)."
            ),
            TableRef("critique_tests_joint", "Joint tests of all published values"),
            TableRef("critique_tests", "Published values against the refit (t-tests)"),
        ]
    )
    if protocol is not None:
        body.add(Para(protocol_sentence(protocol)))
    if c["runs_needed"]:
        ctx.tables["runs_needed"] = frame(
            [
                {
                    "quantity": k,
                    "claimed interval": f"{r['claimed_interval'][0]:.4g}-"
                    f"{r['claimed_interval'][1]:.4g} ({100 * r['probability']:.0f}%)",
                    "claimed width": r["claimed_width"],
                    "our width": r["our_width"],
                    "runs we have": r["n_points"],
                    "runs needed (draws)": r["bootstrap"],
                    "runs needed (delta method)": r["delta_method"],
                }
                for k, r in c["runs_needed"].items()
            ],
            "quantity",
        )
        ctx.figures["runs_needed"] = runs_needed_figure(c["runs_needed"], ref.name)
        body.add(
            FigureRef(
                "runs_needed",
                "Our interval width shrinks as 1/sqrt(n); where it meets the claimed width is the "
                "number of runs that claim would need.",
            ),
            TableRef(
                "runs_needed", "Runs needed for the claimed intervals: n (w_ours/w_claimed)^2"
            ),
        )
    if c["allocation"]:
        rows = []
        for a in c["allocation"].values():
            for key, label in (("N_opt", "N*"), ("D_opt", "D*"), ("tokens_per_param", "D*/N*")):
                f = a["fit"][key]
                rows.append(
                    {
                        "budget C (FLOPs)": a["compute"],
                        "quantity": label,
                        f"{ref.name}": a["reference"][key],
                        "refit (point)": f["point"],
                        "refit 5%": f["q05"],
                        "refit 50%": f["median"],
                        "refit 95%": f["q95"],
                    }
                )
        ctx.tables["critique_allocation"] = frame(rows, "budget C (FLOPs)")
        body.add(
            TableRef(
                "critique_allocation",
                f"What {ref.name}'s values would have recommended, against the refit",
            )
        )
    return body
