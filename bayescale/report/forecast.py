"""The report's ``extrapolation`` section: "Will it extrapolate?".

From a :class:`~bayescale.results.forecasts.Backtest` of the fit's data (the law refitted
below several cutoffs and scored above them): coverage against nominal and error against
distance (:mod:`bayescale.report.forecast_figures`), then the forecast at the requested
budgets with the model's new-run interval and the interval calibrated by the backtest side by
side (:mod:`bayescale.predict.calibration`), and the assumption behind the latter in words.
Without a backtest the section says how to get one.
"""

from __future__ import annotations

import numpy as np

from bayescale.predict.allocation import allocate
from bayescale.predict.calibration import ASSUMPTION, calibrated_interval, inflation, reach
from bayescale.predict.posterior import predictive
from bayescale.predict.scores import level_name
from bayescale.report.context import PREDICTIVE_SEED, Context
from bayescale.report.forecast_figures import forecast_axes
from bayescale.report.plotting import plot_backtest
from bayescale.report.render import Body, Callout, FigureRef, Para, TableRef, frame
from bayescale.report.style import figure_png
from bayescale.results.forecasts import Backtest

#: Level of the forecast intervals of the section.
LEVEL = 0.9


def budget_inputs(ctx: Context, budgets: tuple[float, ...]) -> dict | None:
    """The law's inputs at each budget: the compute-optimal (N*, D*), or x = C; else None."""
    c = np.asarray(budgets, dtype=np.float64)
    if ctx.nd:
        alloc = allocate(ctx.law, ctx.theta_hat, c, flops_per_token=ctx.k)
        return {"N": alloc.N_opt[0], "D": alloc.D_opt[0]}
    if len(ctx.law.inputs) == 1 and ctx.xvar == "C":
        return {ctx.var: c}
    return None


def data_compute(ctx: Context) -> tuple[float, float] | None:
    """The smallest and largest training compute of the fit's data (``None``: no compute)."""
    if ctx.C is not None:
        return float(ctx.C.min()), float(ctx.C.max())
    if len(ctx.law.inputs) == 1 and ctx.xvar == "C":
        return float(ctx.x[ctx.var].min()), float(ctx.x[ctx.var].max())
    return None


def extrapolation_section(ctx: Context, backtest: Backtest | None) -> Body:
    """Backtest coverage and error by distance; the forecast at the budgets, calibrated."""
    body = Body()
    if backtest is None:
        return body.add(
            Para(
                "Will the law hold beyond the data? A backtest answers inside the data: refit "
                "below several cutoffs and score the predictions above them."
            ),
            Callout(
                "note",
                "No backtest was given: run `bayescale backtest DATA --law LAW` (or "
                "`bayescale.backtest`) and pass it to `build_report(..., backtest=...)`; "
                "`bayescale replicate` includes one.",
            ),
        )
    law = ctx.law.name
    pts = backtest.points[(backtest.points["law"] == law) & backtest.points["fitted"]]
    if pts.empty:
        return body.add(Callout("warn", f"The backtest has no predictions of law `{law}`."))

    def draw(axes: np.ndarray) -> None:
        plot_backtest(backtest, ax=axes[0, 0], kind="coverage")
        plot_backtest(backtest, ax=axes[0, 1], kind="distance")

    ctx.figures["backtest"] = figure_png(draw, 1, 2, height=3.6)
    cov = backtest.coverage[backtest.coverage["law"] == law]
    ctx.tables["backtest_coverage"] = frame(
        [
            {
                "nominal": r.nominal,
                "coverage": r.coverage,
                "points": r.n,
                "95% range if calibrated": f"{r.range_low:.2f}-{r.range_high:.2f}",
            }
            for r in cov.itertuples()
        ],
        "nominal",
    )
    body.add(
        Para(
            f"The law was refitted below {backtest.lanes['cutoff'].nunique()} cutoffs of "
            f"{backtest.column} ({len(backtest.lanes)} fits, one batch; {backtest.method}) and "
            f"each fit predicted the runs above its cutoff: {len(pts)} predictions, up to "
            f"{pts['distance'].max():.2f} decades beyond the data of their fit."
        ),
        FigureRef(
            "backtest",
            "Backtest: coverage of the new-run intervals against nominal, "
            "and the median error against extrapolation distance.",
        ),
        TableRef("backtest_coverage", "Backtest coverage against nominal"),
    )
    span = data_compute(ctx)
    x = budget_inputs(ctx, ctx.budgets)
    if span is None or x is None or not ctx.can_new_run or backtest.column != "C":
        return body.add(
            Callout(
                "note",
                "No forecast at the budgets: it needs a law of N and D (or of x = C), a noise "
                "model, and a backtest by compute C.",
            )
        )
    lo_q, hi_q = (1 - LEVEL) / 2, (1 + LEVEL) / 2
    q = predictive(
        ctx.law,
        ctx.new_run_draws,
        x,
        kind="new_run",
        noise=ctx.noise,
        probs=(lo_q, 0.5, hi_q),
        seed=PREDICTIVE_SEED,
    ).quantiles
    lo, med, hi = q
    d = np.log10(np.asarray(ctx.budgets) / span[1])
    r = reach(d, np.log10(span[1] / span[0]))
    cal = backtest.calibration.get(law)
    k = None
    if cal is not None and np.ndim(cal.n_points) == 0 and LEVEL in cal.levels:
        k, ok = inflation(cal, r, LEVEL)
        k = k if ok.all() else None
    rows = []
    c_lo, c_hi = (None, None) if k is None else calibrated_interval(*np.log([med, lo, hi]), k)
    for i, b in enumerate(ctx.budgets):
        row = {
            "budget C (FLOPs)": b,
            "decades beyond the data": d[i],
            "reach": r[i],
            "median loss": med[i],
            f"model {LEVEL:.0%}": f"{lo[i]:.4g}-{hi[i]:.4g}",
        }
        if k is not None:
            row[f"calibrated {LEVEL:.0%}"] = f"{c_lo[i]:.4g}-{c_hi[i]:.4g}"
            row["inflation"] = k[i]
        rows.append(row)
    ctx.tables["forecast"] = frame(rows, "budget C (FLOPs)")
    calibrated = None if k is None else (c_lo, c_hi)
    ctx.figures["forecast"] = figure_png(
        lambda a: forecast_axes(ctx.budgets, med, (lo, hi), calibrated, level=LEVEL, ax=a[0, 0])
    )
    where = "the compute-optimal N*, D*" if ctx.nd else "x = C"
    body.add(
        FigureRef(
            "forecast",
            f"Forecast of a new run's loss at the budgets ({where}): the "
            "model's interval and the one calibrated by the backtest.",
        ),
        TableRef("forecast", f"Forecast at the budgets ({LEVEL:.0%} intervals)"),
    )
    if k is None:
        body.add(
            Callout(
                "warn",
                "The backtest had too few points to calibrate the "
                f"{LEVEL:.0%} interval; only the model's interval is shown.",
            )
        )
    else:
        rate = float(np.exp(cal.slope[list(cal.levels).index(LEVEL)]))
        body.add(
            Callout(
                "note",
                f"Calibrated intervals: the model's {LEVEL:.0%} interval stretched about its "
                f"median by the factor the backtest needed at that reach (distance over the span "
                f"of the data; x{rate:.2f} per unit of reach). The {ASSUMPTION}; the largest "
                f"budget is {d.max():.1f} decades beyond the data (reach {r.max():.2f}) and the "
                f"backtest reached {float(cal.max_distance):.2f}.",
            )
        )
    name = level_name(LEVEL)
    short = cov[cov["nominal"] == LEVEL]
    if len(short) and not bool(short["within"].iloc[0]):
        body.add(
            Callout(
                "warn",
                f"Inside the data the model's {name}% intervals covered "
                f"{float(short['coverage'].iloc[0]):.0%} of the held-out runs.",
            )
        )
    return body


__all__ = ["LEVEL", "budget_inputs", "data_compute", "extrapolation_section"]
