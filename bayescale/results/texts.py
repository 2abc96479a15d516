"""A fit in words: lmfit-style ``fit_report`` text, a one-line ``repr`` and a notebook table.

The functions take the pieces of a fit (law, objective, data, result, draws) so that the
records (:class:`~bayescale.Fit`) can call them from their methods. Parameters appear under
their natural names (``A``, ``E``, ``alpha``, ``sigma``); central values follow the one
convention: the median over the draws, the point fit where there are none.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayescale.data.preparation import Prepared
from bayescale.laws.spec import Law, derived_values
from bayescale.likelihood import Loss, Noise, params
from bayescale.optimize.multistart import MultiStartResult
from bayescale.results.interop import natural_columns
from bayescale.results.parameters import point_covariance, point_table
from bayescale.status import CONVERGED, name_of

#: Correlations below this (absolute) are not listed in the report, as lmfit does.
MIN_CORRELATION = 0.1


def objective_text(objective: Loss | Noise) -> str:
    """``Noise('huber', delta=0.001)``-style text of an objective."""
    fields = {"delta": objective.delta} if objective.kind == "huber" else {}
    if isinstance(objective, Noise):
        if objective.kind == "student_t":
            fields["df"] = objective.df
        if objective.hetero:
            fields["hetero"] = True
    extra = "".join(
        f", {k}={v:g}" if not isinstance(v, bool) else f", {k}={v}" for k, v in fields.items()
    )
    return f"{type(objective).__name__}({objective.kind!r}{extra})"


def equation(law: Law) -> str:
    """The law's equation, from the start of its ``doc`` (its name without one)."""
    doc = (law.doc or law.name).strip()
    cut = min((i for i in (doc.find(" ("), doc.find(": "), doc.find(";")) if i > 0), default=-1)
    return (doc[:cut] if cut > 0 else doc).rstrip(". ")


def draws_text(method: str | None, theta: np.ndarray | None) -> str:
    """``"bootstrap: 4000 draws"``, ``"nuts: 4 chains x 1000 draws"`` or ``"none"``."""
    if method is None or theta is None:
        return "none"
    chains, n = np.shape(theta)[:2]
    return f"{method}: {n} draws" if chains == 1 else f"{method}: {chains} chains x {n} draws"


def short_repr(
    law: Law,
    objective: Loss | Noise,
    n_points: int,
    result: MultiStartResult,
    method: str | None,
    theta: np.ndarray | None,
) -> str:
    """A one-line ``repr`` of a fit: law, objective, points, status, point estimates, draws."""
    names = [s.label for s in params(law, objective)]
    values = ", ".join(
        f"{k}={float(v):.4g}" for k, v in zip(names, np.asarray(result.params), strict=False)
    )
    return (
        f"Fit(law={law.name!r}, objective={objective_text(objective)}, n_points={n_points}, "
        f"status={name_of(result.status)!r}, params=({values}), "
        f"draws={draws_text(method, theta)!r})"
    )


def natural_sample(
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    result: MultiStartResult,
    theta: np.ndarray | None,
) -> dict[str, np.ndarray] | None:
    """Flat natural-space draws of every parameter and derived quantity: the draws, or for a
    point fit 4,000 normal draws from the robust sandwich at the optimum (seed 0); ``None``
    when the sandwich is not positive definite."""
    if theta is None:
        centre = np.asarray(result.theta, dtype=np.float64)
        cov = point_covariance(law, objective, data, centre)
        if cov is None:
            return None
        theta = np.random.default_rng(0).multivariate_normal(centre, cov, 4000, method="eigh")
    nat = {k: np.ravel(v) for k, v in natural_columns(law, objective, theta).items()}
    if law.derived:
        flat = np.stack(list(nat.values()), axis=-1)[:, : law.n_params]
        nat.update({k: np.ravel(v) for k, v in derived_values(law, flat).items()})
    return nat


def estimates(
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    result: MultiStartResult,
    sample: dict[str, np.ndarray] | None,
    from_draws: bool,
    level: float = 0.9,
) -> pd.DataFrame:
    """Per natural parameter and derived quantity: ``point``, ``centre``, ``sd``, ``lower``,
    ``upper``.

    Parameters
    ----------
    law, objective, data, result
        The fit's law, objective, prepared data and multi-start result (the point estimate).
    sample
        :func:`natural_sample`'s draws, or ``None`` (then NaN beyond the point).
    from_draws
        Whether ``sample`` holds the fit's draws (``centre`` is then their median) or the
        sandwich's normal draws (``centre`` is the point fit; the parameters' ``sd`` and
        bounds are :func:`~bayescale.results.parameters.point_table`'s, derived quantities'
        from ``sample``).
    level
        Probability of the equal-tailed intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by natural name.
    """
    point = dict(zip([s.label for s in params(law, objective)], result.params, strict=False))
    if law.derived:
        nat = np.asarray(result.params, dtype=np.float64)[None, : law.n_params]
        point.update({k: np.ravel(v)[0] for k, v in derived_values(law, nat).items()})
    rows = {}
    if not from_draws:  # the parameters' standard errors by the delta method, as summary()
        table = point_table(law, objective, data, result.theta, level)
        for k, r in table.iterrows():
            rows[k] = (r["estimate"], r["estimate"], r["se"], r["lower"], r["upper"])
    for k, v in point.items():
        if k in rows:
            continue
        if sample is None:
            rows[k] = (v, v, np.nan, np.nan, np.nan)
            continue
        lo, mid, hi = np.quantile(sample[k], [(1 - level) / 2, 0.5, (1 + level) / 2])
        sd = float(np.std(sample[k], ddof=1))
        rows[k] = (v, mid if from_draws else v, sd, lo, hi)
    columns = ["point", "centre", "sd", "lower", "upper"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype(float)


def fit_report_text(
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    result: MultiStartResult,
    starts: dict,
    method: str | None,
    theta: np.ndarray | None,
    warnings: Sequence[str] = (),
    level: float = 0.9,
) -> str:
    """lmfit-style text: ``[[Model]]``, ``[[Fit Statistics]]``, ``[[Variables]]``,
    ``[[Derived]]``, ``[[Correlations]]`` and ``[[Warnings]]``.

    Parameters
    ----------
    law, objective, data, result, starts
        The fit's law, objective, prepared data, multi-start result and start description.
    method, theta
        The draws' method and fit-space draws ``(chain, draw, P)``, or ``None`` for a point fit.
    warnings
        The draws' warnings.
    level
        Probability of the intervals.

    Returns
    -------
    str
    """
    names = [s.label for s in params(law, objective)]
    status = np.asarray(result.start_status)
    sample = natural_sample(law, objective, data, result, theta)
    table = estimates(law, objective, data, result, sample, theta is not None, level)
    pct = f"{100 * level:g}%"
    if theta is None:
        how = f"point fit +/- se [{pct}], from the robust sandwich at the optimum (approximate)"
    else:
        how = f"median over the draws +/- their sd [{pct} interval]"
    lines = [
        "[[Model]]",
        f"    {law.name}: {equation(law)}",
        f"    objective          = {objective_text(objective)}",
        "[[Fit Statistics]]",
        f"    # fitting method   = multi-start BFGS ({starts.get('kind', 'grid')} starts)",
        f"    # starts           = {status.size} ({int(np.sum(status == CONVERGED))} converged, "
        f"{int(result.n_near_best)} near the best)",
        f"    # data points      = {np.asarray(data.loss).size}",
        f"    # variables        = {len(names)}",
        f"    objective          = {float(result.objective):.8g}",
        f"    gradient norm      = {float(result.grad_norm):.3g}",
        f"    status             = {name_of(result.status)}",
        f"    uncertainty        = {draws_text(method, theta)}",
        f"[[Variables]] ({how})",
    ]
    width = max(len(str(n)) for n in table.index) + 1
    for k, row in table.iterrows():
        if law.derived and k == law.derived_names[0]:
            lines.append("[[Derived]]")
        if np.isfinite(row["sd"]):
            rel = f" ({100 * abs(row['sd'] / row['centre']):.2f}%)" if row["centre"] else ""
            spread = f" +/- {row['sd']:.4g}{rel} [{row['lower']:.5g}, {row['upper']:.5g}]"
        else:
            spread = " +/- (not estimated)"
        lines.append(f"    {str(k) + ':':<{width}} {row['centre']:.6g}{spread}")
    pairs = correlations(sample, names)
    if pairs:
        lines.append(f"[[Correlations]] (unreported correlations are < {MIN_CORRELATION:.3f})")
        lines.extend(f"    C({a}, {b}) = {c:+.4f}" for a, b, c in pairs)
    if warnings:
        lines.append("[[Warnings]]")
        lines.extend(f"    {w}" for w in warnings)
    return "\n".join(lines)


def correlations(sample: dict[str, np.ndarray] | None, names: Sequence[str]) -> list:
    """``(name, name, r)`` for pairs of parameters whose draws correlate beyond
    :data:`MIN_CORRELATION` (natural space), strongest first."""
    if sample is None or sample[names[0]].size < 3:
        return []
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(np.stack([sample[n] for n in names]))
    pairs = [
        (names[i], names[j], float(c[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if np.isfinite(c[i, j]) and abs(c[i, j]) >= MIN_CORRELATION
    ]
    return sorted(pairs, key=lambda p: -abs(p[2]))


def html_table(
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    result: MultiStartResult,
    method: str | None,
    theta: np.ndarray | None,
) -> str:
    """A notebook's view of a fit: one header line and a table of the parameters (point
    estimate; with draws, the median and 90% interval)."""
    n = np.asarray(data.loss).size
    head = (
        f"<p><b>bayescale Fit</b>: law <code>{html.escape(law.name)}</code>, "
        f"{html.escape(objective_text(objective))}, {n} points, status "
        f"<code>{name_of(result.status)}</code>, draws: {html.escape(draws_text(method, theta))}"
        "</p>"
    )
    specs = params(law, objective)
    point = dict(zip([s.label for s in specs], np.asarray(result.params), strict=False))
    cols = ["parameter", "point"]
    rows = []
    nat = None if theta is None else natural_columns(law, objective, theta)
    if nat is not None:
        cols += ["median", "5%", "95%"]
    for k, v in point.items():
        cells = [html.escape(k), f"{float(v):.5g}"]
        if nat is not None:
            lo, mid, hi = np.quantile(np.ravel(nat[k]), [0.05, 0.5, 0.95])
            cells += [f"{mid:.5g}", f"{lo:.5g}", f"{hi:.5g}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"
    return f"{head}<table>{header}{''.join(rows)}</table>"
