"""The report's content: what is computed for each section, and the section bodies.

:class:`Context` gathers a fit's arrays once (inputs, compute ``C = k N D``, point estimate,
draws, noise model); each ``*_section`` function computes what its section shows through the
public APIs (:func:`~bayescale.predict.predictive`, :func:`~bayescale.predict.allocate`,
:func:`~bayescale.commands.allocation_dict`, :func:`~bayescale.commands.critique_dict`,
:func:`~bayescale.uncertainty.draws_summary`), draws its figures
(:mod:`bayescale.report.figures`) and returns a :class:`~bayescale.report.render.Body`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bayescale.laws import get_law, to_natural
from bayescale.likelihood import Noise
from bayescale.report import figures as F
from bayescale.report.render import Body, Callout, FigureRef, Para, TableRef, frame

#: Seed of the noise draws of every "new run" interval in the report.
PREDICTIVE_SEED = 0
#: At most this many draws feed the predictive curves (evenly thinned beyond).
MAX_CURVE_DRAWS = 4000
#: New-run intervals use at least this many (repeated) draws; a fit without draws repeats its
#: point estimate this often (a plug-in interval).
PLUG_IN_DRAWS = 2000
_LABELS = {"N": F.LABEL_N, "D": F.LABEL_D, "C": F.LABEL_C, "step": "training step"}


@dataclass
class Context:
    """A fit's arrays, gathered once for all sections."""

    fit: object
    budgets: tuple[float, ...]
    figures: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    ppc_coverage: float | None = None

    def __post_init__(self) -> None:
        f = self.fit
        self.law = get_law(f.law)
        self.k = float(f.data.flops_per_token)
        self.x = {k: np.asarray(v, dtype=np.float64) for k, v in f.data.x.items()}
        self.loss = np.asarray(f.data.loss, dtype=np.float64)
        self.theta_hat = np.asarray(f.result.theta, dtype=np.float64)
        self.nd = set(self.law.inputs) == {"N", "D"}
        self.C = self.k * self.x["N"] * self.x["D"] if self.nd else None
        self.noise = f.objective if isinstance(f.objective, Noise) else None
        self.draws = f.draws
        self.flat = None if f.draws is None else np.asarray(f.draws.flat(), dtype=np.float64)
        self.method = None if f.draws is None else f.draws.method
        self.has_sigma = self.theta_hat.size == self.law.n_params + 1
        if self.flat is not None:
            step = max(1, math.ceil(self.flat.shape[0] / MAX_CURVE_DRAWS))
            self.curve_draws = self.flat[::step]
            self.plug_in = False
        elif self.noise is not None:
            self.curve_draws = np.repeat(self.theta_hat[None], PLUG_IN_DRAWS, axis=0)
            self.plug_in = True
        else:
            self.curve_draws, self.plug_in = None, False
        # New-run intervals: each parameter draw repeated, with fresh noise per copy, so the
        # band's quantiles are smooth even with few draws (the distribution is unchanged).
        self.new_run_draws = None
        if self.curve_draws is not None:
            reps = max(1, math.ceil(PLUG_IN_DRAWS / self.curve_draws.shape[0]))
            self.new_run_draws = np.repeat(self.curve_draws, reps, axis=0)
        self.can_new_run = (
            self.noise is not None
            and self.has_sigma
            and self.curve_draws is not None
            and self.curve_draws.shape[1] == self.law.n_params + 1
        )

    @property
    def xvar(self) -> str:
        """Canonical variable of a one-variable law's input ``x`` (``"x"`` if unknown)."""
        cols, der = self.fit.data.columns, self.fit.data.derived
        for k in ("N", "D", "C", "step"):
            if ("x" in cols and cols.get(k) == cols["x"]) or (
                "x" in der and der.get(k) == der["x"]
            ):
                return k
        return "x"

    def bands(self, x: dict) -> tuple:
        """Point curve, ``mean`` band and ``new_run`` band (90%) of the loss at inputs ``x``."""
        from bayescale.predict import predict_log_loss, predictive

        point = np.exp(predict_log_loss(self.law, self.theta_hat, x)[0])
        mean = new = None
        if self.flat is not None:
            q = predictive(self.law, self.curve_draws, x, kind="mean", probs=(0.05, 0.95))
            mean = (q.quantiles[0], q.quantiles[1])
        if self.can_new_run:
            q = predictive(
                self.law,
                self.new_run_draws,
                x,
                kind="new_run",
                noise=self.noise,
                probs=(0.05, 0.95),
                seed=PREDICTIVE_SEED,
            )
            new = (q.quantiles[0], q.quantiles[1])
        return point, mean, new


def _interval(s: dict, digits: int = 3) -> str:
    return f"[90%: {s['q05']:.{digits}g}-{s['q95']:.{digits}g}]"


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
        from bayescale.predict import allocate

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
    from bayescale.predict import predict_log_loss, predictive

    body = Body()
    r = np.log(ctx.loss) - predict_log_loss(ctx.law, ctx.theta_hat, ctx.x)[0]
    if ctx.nd:
        panels = [(F.LABEL_N, ctx.x["N"]), (F.LABEL_D, ctx.x["D"]), (F.LABEL_C, ctx.C)]
        xs, xlabel = ctx.C, F.LABEL_C
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
    from bayescale.uncertainty import derived_draws, draws_summary, natural_draws

    body = Body()
    point = dict(ctx.fit.params)
    if "log_sigma" in point:
        point["sigma"] = math.exp(point.pop("log_sigma"))
    if "alpha" in point and "beta" in point:
        point["a"] = point["beta"] / (point["alpha"] + point["beta"])
        point["b"] = point["alpha"] / (point["alpha"] + point["beta"])
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
    if "a" in samples:
        body.add(
            Para(
                "a = beta/(alpha+beta) and b = alpha/(alpha+beta) are the exponents of the "
                "compute-optimal allocation: N* grows as C^a and D* as C^b. sigma is the scale "
                "of the noise model on log-loss residuals."
            )
        )
    return body


# ----------------------------------------------------------------------------- 5. allocation


def allocation_section(ctx: Context) -> Body:
    """N*(C), D*(C) and D*/N* over a budget grid, and the table at the budgets asked."""
    from bayescale.commands import allocation_dict
    from bayescale.predict import allocate, budget_grid

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
    grid = budget_grid()
    theta = ctx.theta_hat if ctx.flat is None else ctx.flat
    alloc = allocate(ctx.law, theta, grid, flops_per_token=ctx.k)
    rows = {}
    for key in ("N_opt", "D_opt", "tokens_per_param"):
        v = getattr(alloc, key)
        if ctx.flat is None:
            rows[key] = {"point": v[0]}
        else:
            q05, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95], axis=0)
            rows[key] = {"q05": q05, "q50": q50, "q95": q95}
    data_range = (float(ctx.C.min()), float(ctx.C.max()))
    ctx.figures["allocation"] = F.allocation_figure(grid, rows, data_range, ctx.budgets)
    out = allocation_dict(ctx.fit, list(ctx.budgets), ctx.k)
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
            f"{out['method'].replace('_', ' ')}).",
        ),
        TableRef("allocation", f"Allocation at the budgets asked (C = {ctx.k:g} N D)"),
    )
    if "exponents" in out and ctx.flat is not None:
        a = out["exponents"]["a"]
        body.add(Para(f"N* grows as C^a with a = {a['point']:.3f} {_interval(a)}."))
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


def diagnostic_messages(ctx: Context) -> tuple[list[str], list[str]]:
    """``(failures, cautions)``: failed diagnostics and softer warnings, in plain language."""
    fail, caution = [], []
    d = ctx.fit.to_dict()
    st = d["starts"]
    if d["status"] != "converged":
        fail.append(
            f"The point fit's best start stopped with status '{d['status']}' ({d['message']}): "
            "the optimum is not certified; rerun with more steps or more starts."
        )
    if st["n"] > 1 and st["near_best"] < 2:
        caution.append(
            f"Only {st['near_best']} of {st['n']} starts reached the best objective (within "
            "1e-6): the optimum rests on one start; rerun with more starts to confirm it."
        )
    if ctx.draws is not None:
        fail.extend(ctx.draws.warnings)
    if ctx.ppc_coverage is not None and ctx.ppc_coverage < 0.8:
        caution.append(
            f"Only {100 * ctx.ppc_coverage:.0f}% of runs fall inside their 90% new-run interval."
        )
    return fail, caution


def diagnostics_section(ctx: Context) -> Body:
    """Sampler or refit diagnostics and the point fit's start convergence."""
    body = Body()
    d = ctx.fit.to_dict()
    st = d["starts"]
    fail, caution = diagnostic_messages(ctx)
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
        nat = np.concatenate(
            [np.asarray(to_natural(ctx.law, th[..., : ctx.law.n_params]))]
            + ([np.exp(th[..., ctx.law.n_params :])] if th.shape[-1] > ctx.law.n_params else []),
            axis=-1,
        )
        names = list(ctx.law.natural_names) + ["sigma"] * (th.shape[-1] - ctx.law.n_params)
        ctx.figures["trace"] = F.trace_figure(nat, names)
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
    else:
        body.add(Callout("note", "No sampler diagnostics: this fit has no draws."))
    return body


# ----------------------------------------------------------------------------- 7. critique


def critique_section(ctx: Context, against: str, budgets: Sequence[float]) -> Body:
    """Published values tested against the refit, runs needed, and their allocation."""
    from bayescale.commands import critique_dict
    from bayescale.predict import get_reference

    ref = get_reference(against)
    c = critique_dict(ctx.fit, against, list(budgets))
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
                f"p = {c['wald_p']:.2g}; likelihood ratio {c['lr_stat']:.1f}, "
                f"p = {c['lr_p']:.2g} ({c['n_points']} points, {c['n_draws']:,} draws)."
            ),
            TableRef("critique_tests_joint", "Joint tests of all published values"),
            TableRef("critique_tests", "Published values against the refit (t-tests)"),
        ]
    )
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
        ctx.figures["runs_needed"] = F.runs_needed_figure(c["runs_needed"], ref.name)
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
