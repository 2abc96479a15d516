"""A fit with its draws in one call: :func:`fit` (``bayescale.fit``) and :func:`with_draws`.

``bs.fit(data, law, method="bootstrap")`` is the point fit of
:func:`bayescale.workflows.fitting.fit` followed by the engine ``method`` names, its draws
attached to the returned :class:`~bayescale.Fit`; :func:`with_draws` attaches draws to a fit
you already have. Both replace ``fit._replace(draws=bs.bootstrap(fit))``. (The records cannot
offer ``fit.bootstrap()``: they sit below the workflows that run the engines.)

This module sits above :mod:`~bayescale.workflows.uncertainty` and
:mod:`~bayescale.workflows.approximation`, which themselves use the point fit, so the point
fit keeps its own module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayescale.laws.spec import Law
from bayescale.likelihood import Loss, Noise
from bayescale.optimize.multistart import FitConfig
from bayescale.results.records import BatchFit, Fit
from bayescale.workflows.approximation import laplace
from bayescale.workflows.fitting import fit as point_fit
from bayescale.workflows.uncertainty import bootstrap, nuts

#: The values of ``method``: the fit alone, or the fit and one engine's draws.
METHODS = ("point", "bootstrap", "nuts", "laplace")
#: What a string ``loss`` means once a method draws: the noise model of that name (a squared
#: loss is Gaussian noise), as the command line's ``--method`` does.
NOISE_OF_LOSS = {"squared": "gaussian"}


def with_draws(fit: Fit, method: str, **options: Any) -> Fit:
    """The fit with draws from one engine attached (``method="point"`` removes them).

    Parameters
    ----------
    fit
        A fit of one curve (for a :class:`~bayescale.BatchFit` call
        :func:`bayescale.bootstrap` or :func:`bayescale.nuts`, which return a
        :class:`~bayescale.BatchDraws` table).
    method
        ``"bootstrap"`` (:func:`bayescale.bootstrap`), ``"nuts"`` (:func:`bayescale.nuts`),
        ``"laplace"`` (:func:`bayescale.laplace`) or ``"point"`` (no draws).
    **options
        Keyword arguments of that engine, e.g. ``n_resamples=1000, seed=1`` (bootstrap),
        ``config=bs.NutsConfig(num_chains=4)`` (NUTS) or ``robust=True`` (Laplace).

    Returns
    -------
    Fit
        ``fit`` with ``draws`` set; everything else unchanged.

    Raises
    ------
    ValueError
        On an unknown method, a batch fit, or options given with ``"point"``; the engines
        raise their own errors (e.g. NUTS of a fit without a noise model).

    Examples
    --------
    >>> import bayescale as bs
    >>> f = bs.fit("example:chinchilla", loss=bs.Noise("huber"), starts="hoffmann",
    ...            drop_top_losses=5)
    >>> f = bs.with_draws(f, "laplace", robust=True)
    >>> f.draws.method, f.draws.theta.shape
    ('laplace', (1, 4000, 6))
    """
    if isinstance(fit, BatchFit):
        raise ValueError(
            "with_draws takes the Fit of one curve; for a batch call bs.bootstrap(batch) or "
            "bs.nuts(batch), which return a per-curve table (BatchDraws)"
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if method == "point":
        if options:
            raise ValueError(f"method='point' draws nothing; got options {sorted(options)}")
        return fit._replace(draws=None)
    engine = {"bootstrap": bootstrap, "nuts": nuts, "laplace": laplace}[method]
    return fit._replace(draws=engine(fit, **options))


def fit(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    method: str = "point",
    options: Mapping[str, Any] | None = None,
    loss: Loss | Noise | str = "huber",
    delta: float = 1e-3,
    starts: str | int | np.ndarray = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    config: FitConfig = FitConfig(),
) -> Fit:
    """Fit a scaling law by vectorised multi-start BFGS, and by ``method`` draw its uncertainty.

    Parameters
    ----------
    data
        A DataFrame, a path (``.csv``, ``.tsv``, ``.parquet``) or ``"example:chinchilla"``.
    law
        Registered law name or a :class:`~bayescale.laws.Law` (one made with
        :func:`~bayescale.laws.make_law` works unregistered).
    method
        ``"point"`` (the fit alone), ``"bootstrap"``, ``"nuts"`` or ``"laplace"``: the fit,
        then that engine's draws attached (:func:`with_draws`).
    options
        Keyword arguments of the engine, e.g. ``{"n_resamples": 1000, "seed": 1}`` or
        ``{"config": bs.NutsConfig(num_chains=4)}``.
    loss
        ``"huber"`` (summed, with ``delta``), ``"squared"``, or a ready
        :class:`~bayescale.likelihood.Loss` / :class:`~bayescale.likelihood.Noise`. With a
        method other than ``"point"`` a string names the noise model, as the command line's
        ``--method`` does: ``"huber"`` is ``Noise("huber", delta)`` (maximum likelihood with a
        free scale, Besiroglu et al.'s set-up) and ``"squared"`` is ``Noise("gaussian")``.
    delta
        Huber threshold on log-loss residuals (used when ``loss`` is a string).
    starts
        Grid name, number of random starts, or explicit array; see
        :func:`~bayescale.workflows.fitting.resolve_starts`.
    seed
        Seed for random starts (the engines take their own, in ``options``).
    columns
        Canonical name -> source column mapping (e.g. ``{"N": "Model Size"}``).
    x
        Variable of one-variable laws (``"N"``, ``"D"``, ``"C"`` or ``"step"``).
    flops_per_token
        ``k`` in ``C = k N D``, used to derive a missing one of N, D, C.
    drop_top_losses
        Drop the ``K`` highest-loss rows (Epoch AI's filter), recorded in the result.
    config
        Optimiser settings (the bootstrap's refits use them too).

    Returns
    -------
    Fit
        The best parameters, per-start diagnostics, provenance and, with a method, the draws.
        Ask it with :meth:`~bayescale.Fit.predict`, :meth:`~bayescale.Fit.summary`,
        :meth:`~bayescale.Fit.fit_report`, ...

    Examples
    --------
    >>> import bayescale as bs
    >>> f = bs.fit("example:chinchilla", "chinchilla", starts="hoffmann", drop_top_losses=5)
    >>> round(f.params["alpha"], 4)
    0.3473
    >>> b = bs.fit("example:chinchilla", starts="hoffmann", drop_top_losses=5,
    ...            method="bootstrap", options={"n_resamples": 200, "seed": 0})
    >>> b.draws.method, b.draws.theta.shape
    ('bootstrap', (1, 200, 6))
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if options and method == "point":
        raise ValueError(f"options go to the method's engine; method='point' has none: {options}")
    if isinstance(loss, str) and method != "point":
        loss = Noise(NOISE_OF_LOSS.get(loss, loss), delta)
    f = point_fit(
        data,
        law,
        loss=loss,
        delta=delta,
        starts=starts,
        seed=seed,
        columns=columns,
        x=x,
        flops_per_token=flops_per_token,
        drop_top_losses=drop_top_losses,
        config=config,
    )
    return with_draws(f, method, **dict(options or {}))
