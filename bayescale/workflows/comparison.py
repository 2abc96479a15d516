"""Model comparison: several laws fitted to the same points, ranked, with a verdict sentence.

:func:`compare` fits every law under the same noise model (the one likelihood,
:mod:`bayescale.likelihood`) and tabulates, per law, the number of parameters, the maximum
log likelihood and AIC, PSIS-LOO (``elpd_loo``, its standard error, ``p_loo``, Pareto k;
NUTS draws only) and, given a hold-out rule, the extrapolation scores of
:func:`~bayescale.workflows.extrapolation.extrapolate`.

Verdict rule. The best law is compared with the runner-up on one basis, the first available:

1. ``"loo"`` (``method="nuts"``): the difference ``d`` of ``elpd_loo`` and its standard
   error ``se`` from :func:`arviz.compare` (paired over points).
2. ``"holdout"`` (no NUTS, a hold-out rule given): ``d`` = difference of the summed log
   predictive densities of the held-out points, ``se = sqrt(m) sd(d_i)`` over their ``m``
   paired pointwise differences.
3. ``"aic"`` (no NUTS, no hold-out): ``d = AIC_2 - AIC_1`` at the maximum likelihood; no
   standard error.

With a standard error, the preference is **strong** when ``d > 4 se``
(:data:`STRONG_SE`), **moderate** when ``d > 2 se`` (:data:`CLEAR_SE`), and there is **no
clear preference** otherwise or whenever ``d < 4`` (:data:`SMALL_ELPD`; Sivula et al. 2022:
smaller elpd differences are not reliably distinguished whatever their se). For AIC the
Burnham-Anderson thresholds apply: strong for ``AIC_2 - AIC_1 > 10``, moderate above 4.
Laws with Pareto ``k > 0.7`` (:data:`PARETO_K_MAX`) at some point get a warning: their
``elpd_loo`` is unreliable there.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.io import DataError, read_table
from bayescale.infer.idata import import_arviz
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law
from bayescale.likelihood import Noise, as_noise
from bayescale.optimize.multistart import FitConfig
from bayescale.predict.scores import draws_log_likelihood
from bayescale.results.records import Fit
from bayescale.results.summaries import to_json
from bayescale.workflows.extrapolation import Extrapolation, extrapolate, parse_holdout
from bayescale.workflows.fitting import fit as fit_law
from bayescale.workflows.uncertainty import bootstrap, nuts

METHODS = ("nuts", "bootstrap", "point")
#: Preference is strong above this many standard errors of the elpd difference.
STRONG_SE = 4.0
#: Preference is moderate above this many standard errors.
CLEAR_SE = 2.0
#: elpd differences below this are "no clear preference" whatever their standard error.
SMALL_ELPD = 4.0
#: AIC differences above which the preference is strong / moderate (Burnham & Anderson).
AIC_STRONG, AIC_CLEAR = 10.0, 4.0
#: Pareto k above which a point's PSIS-LOO estimate is unreliable.
PARETO_K_MAX = 0.7


class Comparison(NamedTuple):
    """Laws compared on the same data.

    Attributes
    ----------
    table
        One row per law (index ``law``), best first: ``rank``, ``n_params`` (law + noise
        scale), ``n_points`` (fitted), ``log_lik`` (maximum), ``aic``; with NUTS draws
        ``elpd_loo``, ``se``, ``p_loo``, ``elpd_diff``, ``dse``, ``max_pareto_k``,
        ``n_bad_k``; with a hold-out ``holdout_mean_abs_rel_error``,
        ``holdout_max_abs_rel_error``, ``holdout_coverage``, ``holdout_lpd_sum``,
        ``holdout_lpd_mean``, ``n_holdout``.
    verdict
        One or two sentences: which law is preferred, how strongly, on what basis.
    preferred
        The best-ranked law.
    strength
        ``"strong"``, ``"moderate"`` or ``"none"`` (no clear preference).
    basis
        ``"loo"``, ``"holdout"`` or ``"aic"`` (see the module docstring).
    warnings
        Pareto-k and sampler warnings, in plain language.
    fits
        Law name -> :class:`~bayescale.Fit` (draws attached).
    extrapolations
        Law name -> :class:`~bayescale.workflows.extrapolation.Extrapolation`, or ``None``.
    """

    table: pd.DataFrame
    verdict: str
    preferred: str
    strength: str
    basis: str
    warnings: tuple[str, ...]
    fits: dict
    extrapolations: dict | None = None

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``--json`` output)."""
        rows = []
        for law, rec in self.table.to_dict(orient="index").items():
            rows.append({"law": law, **{k: to_json(v) for k, v in rec.items()}})
        return {
            "verdict": self.verdict,
            "preferred": self.preferred,
            "strength": self.strength,
            "basis": self.basis,
            "table": rows,
            "warnings": list(self.warnings),
        }


def strength_of(diff: float, se: float) -> str:
    """``"strong"``, ``"moderate"`` or ``"none"`` for an elpd difference and its se."""
    if not np.isfinite(diff) or diff < SMALL_ELPD or not np.isfinite(se):
        return "none"
    if diff > STRONG_SE * se:
        return "strong"
    return "moderate" if diff > CLEAR_SE * se else "none"


def loo_idata(fit: Fit) -> Any:
    """The fit's NUTS ``InferenceData``, with a ``log_likelihood`` group for ``az.loo``.

    The sampler's InferenceData already holds the pointwise log likelihood; if it lacks the
    group, it is computed from the draws with
    :func:`~bayescale.predict.scores.draws_log_likelihood`.
    """
    idata = fit.draws.idata
    if idata is not None and "log_likelihood" in idata.groups():
        return idata
    law = fit.law
    theta = fit.draws.theta
    flat = theta.reshape(-1, theta.shape[-1])
    ll = draws_log_likelihood(law, flat, fit.data.x, fit.data.loss, fit.objective)
    return import_arviz().from_dict(
        posterior={n: theta[..., i] for i, n in enumerate(fit.draws.names)},
        log_likelihood={"log_loss": ll.reshape(theta.shape[:2] + ll.shape[-1:])},
        observed_data={"log_loss": np.log(fit.data.loss)},
        dims={"log_loss": ["point"]},
    )


def _loo_columns(fits: Mapping[str, Fit]) -> tuple[pd.DataFrame, list[str]]:
    az = import_arviz()
    idatas = {name: loo_idata(f) for name, f in fits.items()}
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loos = {name: az.loo(d, pointwise=True) for name, d in idatas.items()}
        cmp = az.compare(idatas, ic="loo")
    out = pd.DataFrame(index=list(fits))
    for name, lo in loos.items():
        k = np.asarray(lo.pareto_k)
        out.loc[name, "elpd_loo"] = float(lo.elpd_loo)
        out.loc[name, "se"] = float(lo.se)
        out.loc[name, "p_loo"] = float(lo.p_loo)
        out.loc[name, "elpd_diff"] = float(cmp.loc[name, "elpd_diff"])
        out.loc[name, "dse"] = float(cmp.loc[name, "dse"])
        out.loc[name, "max_pareto_k"] = float(np.max(k))
        out.loc[name, "n_bad_k"] = int(np.sum(k > PARETO_K_MAX))
        if np.any(k > PARETO_K_MAX):
            notes.append(
                f"law {name!r}: {int(np.sum(k > PARETO_K_MAX))} of {k.size} points have Pareto "
                f"k > {PARETO_K_MAX} (max {np.max(k):.2f}), so its elpd_loo is unreliable there; "
                "check those points or compare on held-out points"
            )
    out["n_bad_k"] = out["n_bad_k"].astype(int)
    return out, notes


def _ratio(d: float, se: float) -> str:
    return f"{d / se:.1f} standard errors" if se > 0 else "no standard error"


def _sentence(best: str, other: str, strength: str, what: str) -> str:
    if strength == "none":
        return f"No clear preference between {best} and {other} {what}."
    return f"{best} is {strength}ly preferred over {other} {what}."


def _holdout_diff(a: Extrapolation, b: Extrapolation) -> tuple[float, float]:
    d = a.holdout["lpd"].to_numpy() - b.holdout["lpd"].to_numpy()
    se = float(np.sqrt(d.size) * np.std(d, ddof=1)) if d.size > 1 else float("nan")
    return float(d.sum()), se


def verdict(table: pd.DataFrame, exts: Mapping[str, Extrapolation] | None, loo: bool) -> tuple:
    """``(verdict, preferred, strength, basis)`` for a comparison table sorted best first.

    Parameters
    ----------
    table
        One row per law, best first, with ``elpd_diff`` and ``dse`` (LOO) or the held-out and
        AIC columns.
    exts
        Held-out extrapolations by law, or ``None``.
    loo
        Whether the ranking is by PSIS-LOO.

    Returns
    -------
    tuple
        The sentence, the preferred law, the strength and the basis of the verdict.
    """
    best, other = table.index[0], table.index[1]
    if loo:
        d, se = float(table.loc[other, "elpd_diff"]), float(table.loc[other, "dse"])
        strength, basis = strength_of(d, se), "loo"
        text = _sentence(
            best, other, strength,
            f"by PSIS-LOO: elpd_loo higher by {d:.1f} (se {se:.1f}, {_ratio(d, se)})",
        )  # fmt: skip
    elif exts is not None:
        d, se = _holdout_diff(exts[best], exts[other])
        strength, basis = strength_of(d, se), "holdout"
        text = (
            "LOO needs NUTS draws (method='nuts'), so the laws are compared on the held-out "
            "points. "
            + _sentence(
                best, other, strength,
                f"on the {len(exts[best].holdout)} held-out points: log predictive density "
                f"higher by {d:.1f} (se {se:.1f}, {_ratio(d, se)})",
            )
        )  # fmt: skip
    else:
        d = float(table.loc[other, "aic"] - table.loc[best, "aic"])
        strength = "strong" if d > AIC_STRONG else "moderate" if d > AIC_CLEAR else "none"
        basis = "aic"
        text = (
            "LOO needs NUTS draws (method='nuts') and no hold-out rule was given, so the laws "
            "are compared by AIC at the maximum likelihood. "
            + _sentence(best, other, strength, f"by AIC: lower by {d:.1f}")
        )
    if exts is not None:
        e_best = exts[best].scores["mean_abs_rel_error"]
        e_other = exts[other].scores["mean_abs_rel_error"]
        text += (
            f" Held-out mean absolute relative error: {best} {e_best:.2%}, {other} {e_other:.2%}."
        )
        if basis == "loo":
            d, se = _holdout_diff(exts[best], exts[other])
            text += f" Held-out log predictive density difference: {d:.1f} (se {se:.1f})."
    return text, best, strength, basis


def _fit_with_draws(table: pd.DataFrame, law: Law, starts: Any, opts: dict, draw_opts: dict) -> Fit:

    opts = dict(opts)
    f = fit_law(table, law, loss=opts.pop("noise"), starts=starts, **opts)
    if draw_opts["method"] == "bootstrap":
        return f._replace(draws=bootstrap(f, draw_opts["n_resamples"], seed=opts["seed"]))
    if draw_opts["method"] == "nuts":
        return f._replace(draws=nuts(f, draw_opts["nuts_config"]))
    return f


_HOLDOUT_SCORES = ("mean_abs_rel_error", "max_abs_rel_error", "coverage", "lpd_sum", "lpd_mean")


def _row(f: Fit, ext: Extrapolation | None) -> dict:
    k, ll = len(f.result.theta), -float(f.result.objective)
    row = {"n_params": k, "n_points": len(f.data.loss), "log_lik": ll, "aic": 2 * k - 2 * ll}
    if ext is not None:
        row.update({f"holdout_{key}": ext.scores[key] for key in _HOLDOUT_SCORES})
        row["n_holdout"] = ext.scores["n_holdout"]
    return row


def compare(
    data: Any,
    laws: Sequence[str | Law],
    *,
    holdout_above: tuple[str, float] | str | None = None,
    method: str = "nuts",
    noise: Noise | str = "huber",
    delta: float = 1e-3,
    prob: float = 0.9,
    starts: str | int | np.ndarray | Mapping[str, Any] = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    n_resamples: int = 1000,
    nuts_config: Any = None,
    config: FitConfig = FitConfig(),
) -> Comparison:
    """Fit several laws to the same points and say which is preferred, and how strongly.

    Parameters
    ----------
    data
        A DataFrame, a path or ``"example:NAME"``.
    laws
        Two or more registered law names (or :class:`~bayescale.laws.Law` objects).
    holdout_above
        Optional ``(column, cap)`` / ``"COLUMN=CAP"``: fit every law below the cap and score
        its extrapolation above it (:func:`~bayescale.workflows.extrapolation.extrapolate`);
        LOO and the likelihood columns then refer to the training points.
    method
        ``"nuts"`` (PSIS-LOO from the posterior), ``"bootstrap"`` or ``"point"``; the latter
        two compare on held-out points, or AIC without a hold-out.
    noise, delta, prob
        Noise model of every fit and the central probability of held-out intervals.
    starts
        Starts for every law, or a mapping law name -> starts (missing laws: ``"default"``).
    seed, columns, x, flops_per_token, drop_top_losses, n_resamples, nuts_config, config
        As in :func:`~bayescale.workflows.extrapolation.extrapolate`.

    Returns
    -------
    Comparison
        The table (best law first), the verdict and the fits.

    Raises
    ------
    DataError
        On fewer than two distinct laws, or bad data / hold-out options.
    KeyError
        On an unknown law.

    Examples
    --------
    >>> from bayescale import compare
    >>> c = compare("example:chinchilla", ["chinchilla", "power"], method="point", x="C",
    ...             drop_top_losses=5)
    >>> c.preferred, c.basis
    ('chinchilla', 'aic')
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    resolved = [get_law(law) for law in laws]
    names = [law.name for law in resolved]
    if len(set(names)) < 2 or len(set(names)) != len(names):
        raise DataError(f"compare needs two or more distinct laws, got {names}")
    noise = as_noise(noise, delta, "compare")
    table = read_table(data)
    if holdout_above is not None:
        holdout_above = parse_holdout(holdout_above)
    opts = dict(columns=columns, x=x, flops_per_token=flops_per_token, seed=seed, config=config)
    opts.update(drop_top_losses=drop_top_losses, noise=noise)
    draw_opts = dict(method=method, n_resamples=n_resamples, nuts_config=nuts_config)
    fits: dict[str, Fit] = {}
    exts: dict[str, Extrapolation] | None = {} if holdout_above is not None else None
    for law in resolved:
        s = starts.get(law.name, "default") if isinstance(starts, Mapping) else starts
        if exts is not None:
            ex = extrapolate(table, law, holdout_above=holdout_above, prob=prob, starts=s,
                             **opts, **draw_opts)  # fmt: skip
            exts[law.name], fits[law.name] = ex, ex.fit
        else:
            fits[law.name] = _fit_with_draws(table, law, s, opts, draw_opts)
    rows = {name: _row(f, exts[name] if exts is not None else None) for name, f in fits.items()}
    out = pd.DataFrame.from_dict(rows, orient="index")
    notes = [
        f"law {n!r}: {w}" for n, f in fits.items() if f.draws is not None for w in f.draws.warnings
    ]
    loo = method == "nuts"
    if loo:
        cols, k_notes = _loo_columns(fits)
        out = out.join(cols)
        notes += k_notes
        order = out["elpd_loo"].sort_values(ascending=False).index
    elif exts is not None:
        order = out["holdout_lpd_sum"].sort_values(ascending=False).index
    else:
        order = out["aic"].sort_values().index
    out = out.loc[order]
    out.insert(0, "rank", np.arange(len(out)))
    out.index.name = "law"
    text, preferred, strength, basis = verdict(out, exts, loo)
    if loo and out["n_bad_k"].any():
        text += f" Warning: some points have Pareto k > {PARETO_K_MAX}; see warnings."
    return Comparison(out, text, preferred, strength, basis, tuple(notes), fits, exts)


__all__ = ["Comparison", "compare", "loo_idata", "strength_of", "verdict"]
