"""Named bootstrap protocols: a published critique's resampling and refit choices, by name.

A :class:`Protocol` records how a paper bootstrapped its fit and computed its critique, so that
``bootstrap(fit, protocol=...)`` reproduces its draws and a critique of those draws reproduces
its figures. The choice is recorded in the draws (``Draws.settings["protocol"]``), and
:func:`bayescale.results.summaries.critique_summary` reads it back.

``besiroglu2024`` is Besiroglu, Erdil, Barnett & You (2024), "Chinchilla Scaling: A
replication attempt", notebook ``data_analysis.ipynb`` of ``epoch-research/analyzing-chinchilla``
(cells 15, 16, 21, 34, 55, 57, 59):

* ``np.random.seed(42)``, then 4,000 times ``np.random.choice(indices, size=240,
  replace=True)`` with numpy's legacy generator over the 240 kept rows in file order;
* every resample refitted by minimising the *summed Huber loss* (``delta = 1e-3`` on log-loss
  residuals, no scale parameter) with BFGS from Hoffmann et al.'s unrounded values, one start;
* the delta method of the runs-needed figure takes the gradient of ``beta / (alpha + beta)``
  at the *bootstrap means* of alpha and beta (with the natural-space covariance of the refits).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayescale.laws.spec import Law
from bayescale.likelihood import Loss
from bayescale.predict.references import reference_theta

#: Where the delta method of the runs-needed figures takes its gradient.
DELTA_AT = ("estimate", "draws_mean")


class Protocol(NamedTuple):
    """A published bootstrap protocol.

    Attributes
    ----------
    name
        Registry key.
    n_resamples, seed
        Resamples and the seed of their generator.
    resample_scheme
        ``"default"`` or ``"numpy_legacy"`` (see
        :func:`bayescale.optimize.resampling.resample_counts`).
    refit
        The objective every resample minimises: a :class:`~bayescale.likelihood.Loss`, or
        ``None`` for the fit's own likelihood.
    start
        Name of the reference (:mod:`bayescale.predict.references`) whose fit-space values
        start every refit, or ``None`` for the fit's optimum.
    delta_at
        Where the critique's delta method takes its gradient: ``"estimate"`` or
        ``"draws_mean"``.
    reference
        The reference the published critique tests.
    citation
        Where the protocol comes from.
    """

    name: str
    n_resamples: int
    seed: int
    resample_scheme: str
    refit: Loss | None
    start: str | None
    delta_at: str
    reference: str
    citation: str


PROTOCOLS: dict[str, Protocol] = {
    "besiroglu2024": Protocol(
        name="besiroglu2024",
        n_resamples=4000,
        seed=42,
        resample_scheme="numpy_legacy",
        refit=Loss("huber", 1e-3),
        start="hoffmann2022_unrounded",
        delta_at="draws_mean",
        reference="hoffmann2022_unrounded",
        citation="Besiroglu, Erdil, Barnett & You 2024, 'Chinchilla Scaling: A replication "
        "attempt' (arXiv:2404.10102), epoch-research/analyzing-chinchilla, data_analysis.ipynb",
    ),
}


def get_protocol(name: str) -> Protocol:
    """Look up a named protocol.

    Raises
    ------
    KeyError
        If ``name`` is unknown; the message lists the known names.
    """
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise KeyError(f"unknown protocol {name!r}; known protocols: {sorted(PROTOCOLS)}") from None


def list_protocols() -> list[str]:
    """Names of the registered protocols."""
    return sorted(PROTOCOLS)


def protocol_options(name: str, n_resamples: int | None = None) -> dict:
    """Keyword arguments of :func:`~bayescale.bootstrap` that follow a protocol.

    Parameters
    ----------
    name
        The protocol's name.
    n_resamples
        ``None`` (or the protocol's count) for ``{"protocol": name}``; another count spells the
        protocol's settings out with that many resamples (under ``numpy_legacy`` the first
        ``n_resamples`` of the protocol's resamples), for quick runs at small sizes.

    Returns
    -------
    dict

    Raises
    ------
    KeyError
        On an unknown protocol.
    """
    proto = get_protocol(name)
    if n_resamples is None or int(n_resamples) == proto.n_resamples:
        return {"protocol": name}
    return {
        "n_resamples": int(n_resamples),
        "seed": proto.seed,
        "resample_scheme": proto.resample_scheme,
        "refit": proto.refit,
        "start": proto.start,
    }


def check_delta_at(delta_at: str) -> str:
    """``delta_at`` in canonical form (``"draws-mean"`` is accepted for ``"draws_mean"``).

    Raises
    ------
    ValueError
        If it is neither ``"estimate"`` nor ``"draws_mean"``.
    """
    value = str(delta_at).replace("-", "_")
    if value not in DELTA_AT:
        raise ValueError(f"unknown delta_at {delta_at!r}; choose 'estimate' or 'draws-mean'")
    return value


class BootstrapSettings(NamedTuple):
    """What a one-curve bootstrap does, resolved from a protocol and the arguments given.

    Attributes
    ----------
    n_resamples, seed, resample_scheme
        Resamples, their seed and scheme.
    refit
        The :class:`~bayescale.likelihood.Loss` every resample minimises, or ``None`` for the
        fit's own objective.
    start
        Fit-space start of the law's parameters for every refit ``(P,)``, or ``None`` for the
        fit's optimum.
    start_label
        How the start was chosen (a reference name, ``"given"`` or ``"full-data optimum"``).
    protocol
        The protocol's name, or ``None``.
    """

    n_resamples: int
    seed: int
    resample_scheme: str
    refit: Loss | None
    start: np.ndarray | None
    start_label: str
    protocol: str | None


def bootstrap_settings(
    law: Law,
    protocol: str | None = None,
    *,
    n_resamples: int | None = None,
    seed: int | None = None,
    resample_scheme: str | None = None,
    refit: Loss | None = None,
    start: np.ndarray | str | None = None,
) -> BootstrapSettings:
    """Resolve a bootstrap's settings: the protocol's, else those given, else the defaults.

    Parameters
    ----------
    law
        The law (to place a reference-named start in its fit space).
    protocol
        A protocol name (:func:`list_protocols`), or ``None``.
    n_resamples, seed, resample_scheme, refit, start
        Settings given; ``None`` leaves them to the protocol or to the defaults (4,000, 0,
        ``"default"``, the fit's objective, the fit's optimum). ``start`` is a fit-space
        vector of the law's parameters or a reference name.

    Returns
    -------
    BootstrapSettings

    Raises
    ------
    KeyError
        On an unknown protocol or reference.
    ValueError
        If a setting given contradicts the protocol, ``refit`` is not a ``Loss``, or
        ``start`` has the wrong shape.
    """
    if refit is not None and not isinstance(refit, Loss):
        raise ValueError(
            f"refit must be a Loss (the summed loss every resample minimises) or None (the "
            f"fit's own objective), got {type(refit).__name__}; to bootstrap another noise "
            "model, fit under it and leave refit=None"
        )
    given = {
        "n_resamples": n_resamples,
        "seed": seed,
        "resample_scheme": resample_scheme,
        "refit": refit,
        "start": start,
    }
    values = {"n_resamples": 4000, "seed": 0, "resample_scheme": "default"}
    if protocol is not None:
        proto = get_protocol(protocol)
        for key in given:
            want, got = getattr(proto, key), given[key]
            if got is not None and (isinstance(got, np.ndarray) or got != want):
                raise ValueError(
                    f"protocol {protocol!r} sets {key}={want!r}; leave {key} unset, got {got!r}"
                )
            values[key] = want
    values.update({k: v for k, v in given.items() if v is not None})
    start = values.get("start")
    label = "full-data optimum" if start is None else "given"
    if isinstance(start, str):
        label, start = start, reference_theta(law, start)
    if start is not None:
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (law.n_params,):
            raise ValueError(
                f"start must be a fit-space vector of law {law.name!r}'s {law.n_params} "
                f"parameters {list(law.param_names)}, got shape {start.shape}"
            )
    return BootstrapSettings(
        n_resamples=int(values["n_resamples"]),
        seed=int(values["seed"]),
        resample_scheme=str(values["resample_scheme"]),
        refit=values.get("refit"),
        start=start,
        start_label=label,
        protocol=protocol,
    )
