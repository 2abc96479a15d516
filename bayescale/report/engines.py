"""Every engine the job ran, side by side, and the noise scale in words.

:func:`engines_table` sets the bootstrap's and NUTS's answers (the exponent ``a``, D*/N* and
the loss at each budget, the noise SD) side by side, :func:`engines_sentence` says in one
sentence why they differ and which the critique uses, and :data:`NUTS_CAVEAT` is the warning of
a NUTS-only report. :func:`noise_sd` turns a noise model's scale ``sigma`` into the standard
deviation of one run's log loss, which :func:`noise_text` sets beside the residuals' own spread
(the Huber scale ``sigma`` is tiny by construction and means little on its own).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayescale.likelihood import Noise, huber_log_norm
from bayescale.predict.posterior import predict_log_loss, summarise
from bayescale.report.context import Context
from bayescale.report.headline import data_hash
from bayescale.report.render import frame
from bayescale.report.units import estimate, flops, num
from bayescale.results.records import Fit, derived_draws, natural_draws
from bayescale.results.summaries import allocation_summary

#: Display names of the engines.
ENGINE_NAMES = {"bootstrap": "bootstrap", "nuts": "NUTS", "laplace": "Laplace"}
#: The warning of a report whose only draws are NUTS's.
NUTS_CAVEAT = (
    "NUTS assumes the iid noise model: independent log-loss residuals of one shape and one "
    "scale. Where that is wrong (losses read off a plot are quantised; a law that misfits "
    "leaves correlated residuals) the likelihood overstates what the data know, and NUTS "
    "intervals come out narrower than the nonparametric bootstrap's, which does not rely on "
    "the noise model. Read them beside a bootstrap (`bayescale fit ... --method bootstrap`; "
    "`build_report(fit, others={'bootstrap': boot_fit})`), not instead of it."
)


def engine_label(draws: object) -> str:
    """``"bootstrap (4,000 refits)"``, ``"NUTS (4 chains x 1,000 draws)"``, ..."""
    name = ENGINE_NAMES.get(draws.method, draws.method)
    if draws.method == "nuts":
        return f"{name} ({draws.theta.shape[0]} chains x {draws.theta.shape[1]:,} draws)"
    n = int(np.prod(draws.theta.shape[:-1]))
    return f"{name} ({n:,} {'refits' if draws.method == 'bootstrap' else 'draws'})"


def check_others(fit: Fit, others: Mapping[str, Fit] | None) -> dict[str, Fit]:
    """The other engines' fits, checked: each has draws, the same law and the same data.

    Raises
    ------
    ValueError
        If one has no draws, another law, or other data (by :func:`~bayescale.report.data_hash`).
    """
    out = {}
    for key, other in (others or {}).items():
        if other.draws is None:
            raise ValueError(f"others[{key!r}] has no draws to set beside the fit's")
        if other.law.name != fit.law.name or data_hash(other.data) != data_hash(fit.data):
            raise ValueError(
                f"others[{key!r}] is a fit of another law or other data; an engine's draws are "
                "compared only on the same law and data"
            )
        out[key] = other
    return out


def noise_sd(noise: Noise, sigma: object) -> np.ndarray:
    """The standard deviation of one run's log-loss residual under a noise model of scale
    ``sigma``: ``sigma`` (gaussian), ``sqrt(2) sigma`` (laplace), ``sigma sqrt(df/(df-2))``
    (student_t; infinite for ``df <= 2``), and for the Huber density of ``delta``
    ``sigma sqrt(V)`` with ``V`` its exact variance (about ``2/delta**2``: 1,414 sigma at
    ``delta = 1e-3``). For a heteroscedastic model, at the reference scale."""
    s = np.asarray(sigma, dtype=np.float64)
    if noise.kind == "gaussian":
        return s
    if noise.kind == "laplace":
        return math.sqrt(2.0) * s
    if noise.kind == "student_t":
        return s * (math.sqrt(noise.df / (noise.df - 2.0)) if noise.df > 2 else math.inf)
    d = float(noise.delta)
    centre = math.sqrt(2 * math.pi) * math.erf(d / math.sqrt(2)) - 2 * d * math.exp(-d * d / 2)
    tails = 2 * math.exp(-d * d / 2) * (d + 2 / d + 2 / d**3)
    return s * math.sqrt((centre + tails) / math.exp(huber_log_norm(d)))


def sigma_draws(fit: Fit) -> np.ndarray | None:
    """The noise scale ``sigma`` per draw (``None``: no draws, or draws without it)."""
    if fit.draws is None or not isinstance(fit.objective, Noise):
        return None
    return natural_draws(fit, fit.draws).get("sigma")


def noise_text(ctx: Context) -> str | None:
    """One paragraph: the residuals' spread, the noise model's implied SD, and what ``sigma``
    is (``None`` without a noise model)."""
    if ctx.noise is None or not ctx.has_sigma:
        return None
    r = np.log(ctx.loss) - np.asarray(predict_log_loss(ctx.law, ctx.theta_hat, ctx.x)[0])
    sd, mad = float(np.std(r, ddof=1)), 1.4826 * float(np.median(np.abs(r - np.median(r))))
    sigma = float(ctx.fit.params["sigma"])
    sig = sigma_draws(ctx.fit)
    implied = num(float(noise_sd(ctx.noise, sigma)), 2)
    if sig is not None:
        implied = estimate(summarise(noise_sd(ctx.noise, sig)), digits=2)
    where = " at the reference scale" if ctx.noise.hetero else ""
    text = (
        f"**Noise**: the point fit's log-loss residuals have SD {num(sd, 2)} (robust, 1.4826 x "
        f"MAD: {num(mad, 2)}), about {100 * sd:.2g}% of the loss; the {ctx.noise.kind} noise "
        f"model implies an SD of {implied} for one run's log loss{where} (the row `noise SD`)."
    )
    if ctx.noise.kind == "huber":
        ratio = float(noise_sd(ctx.noise, 1.0))
        text += (
            f" Its scale sigma = {num(sigma, 2)} is not that spread: the Huber density with "
            f"delta = {ctx.noise.delta:g} has almost all its mass in exponential tails of rate "
            f"delta/sigma, so a residual's typical size is sigma/delta and sigma comes out "
            f"{ratio:,.0f} times smaller than the SD."
        )
    return text


def engines_table(
    fits: Mapping[str, Fit], budgets: Sequence[float], flops_per_token: float
) -> pd.DataFrame:
    """One column per engine (median [90%]): ``a``, D*/N* and the loss at each budget, N* and
    D* at the first, and the noise SD of one run's log loss."""
    cols: dict[str, dict[str, str]] = {}
    for f in fits.values():
        col = {}
        derived = {k: summarise(v) for k, v in derived_draws(f, f.draws).items()}
        if "a" in derived:
            col["a = beta/(alpha+beta)"] = estimate(derived["a"])
        if set(f.law.inputs) == {"N", "D"}:
            rows = allocation_summary(f, list(budgets), flops_per_token)["budgets"]
            for i, row in enumerate(rows):
                c = flops(row["compute"])
                if i == 0:
                    col[f"N* at C = {c}"] = estimate(row["N_opt"], "si")
                    col[f"D* at C = {c}"] = estimate(row["D_opt"], "si")
                col[f"D*/N* at C = {c}"] = estimate(row["tokens_per_param"], "ratio")
                col[f"loss at C = {c}"] = estimate(row["loss_opt"])
        sig = sigma_draws(f)
        if sig is not None:
            col["noise SD (log loss)"] = estimate(summarise(noise_sd(f.objective, sig)), digits=2)
        cols[engine_label(f.draws)] = col
    names = list(dict.fromkeys(k for col in cols.values() for k in col))
    rows = [{"quantity": k, **{e: col.get(k, "-") for e, col in cols.items()}} for k in names]
    return frame(rows, "quantity")


def engines_sentence(methods: Sequence[str]) -> str:
    """Why the engines' intervals differ, and which one the headline and the critique use
    (``methods[0]``: the report's own fit)."""
    main = ENGINE_NAMES.get(methods[0], methods[0])
    text = f"The headline, the figures and the critique use the {main}'s draws."
    if {"bootstrap", "nuts"} <= set(methods):
        text = (
            "They differ because NUTS samples the posterior under the iid noise model "
            "(independent residuals of one scale) while the bootstrap refits resampled runs "
            "and does not assume that model, so NUTS intervals are narrower where the model is "
            "wrong. " + text
        )
    return text


__all__ = [
    "ENGINE_NAMES",
    "NUTS_CAVEAT",
    "check_others",
    "engine_label",
    "engines_sentence",
    "engines_table",
    "noise_sd",
    "noise_text",
    "sigma_draws",
]
