"""Draws as the ecosystem reads them: arviz ``InferenceData`` and tidy pandas tables.

One path for every engine. NUTS draws carry the sampler's ``InferenceData``
(:func:`bayescale.infer.idata.to_inferencedata`); bootstrap and Laplace draws get one here,
:func:`draws_inferencedata`, with the same natural names (``A``, ``E``, ``alpha``, ``sigma``, never
``a`` or ``log_sigma``) and one chain, so ``az.summary``, ``az.plot_trace`` and
``az.plot_posterior`` read every engine alike. :func:`posterior_frame` is the same draws as
a ``DataFrame``, one row per draw. The functions take the pieces of a fit (law, objective,
prepared data) so that the records can call them (:meth:`bayescale.Draws.to_inferencedata`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data.preparation import Prepared
from bayescale.infer.idata import import_arviz
from bayescale.laws.spec import Law, to_natural
from bayescale.likelihood import Loss, Noise, params


def natural_columns(law: Law, objective: Loss | Noise, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Fit-space draws ``(..., P)`` in natural space, by natural name (``sigma`` for the scale).

    Parameters
    ----------
    law, objective
        The law and the objective the draws belong to.
    theta
        Fit-space draws, the last axis the parameters (law, then noise).

    Returns
    -------
    dict
        Natural name -> array of ``theta``'s leading shape.
    """
    theta = np.asarray(theta, dtype=np.float64)
    specs = params(law, objective)[: theta.shape[-1]]
    nat = to_natural(specs, theta)
    return {s.label: nat[..., i] for i, s in enumerate(specs)}


def draws_inferencedata(
    method: str,
    theta: np.ndarray,
    status: np.ndarray,
    law: Law,
    objective: Loss | Noise,
    data: Prepared,
    settings: Mapping[str, Any] | None = None,
) -> Any:
    """``arviz.InferenceData`` of bootstrap or Laplace draws (one chain).

    Parameters
    ----------
    method
        ``"bootstrap"`` or ``"laplace"`` (recorded in the attributes).
    theta
        Fit-space draws ``(chain, draw, P)``; the bootstrap and Laplace have one chain.
    status
        Per-draw status code ``(chain, draw)`` (the refit's, :mod:`bayescale.status`).
    law, objective
        The law and objective of the fit the draws came from.
    data
        The prepared data of that fit.
    settings
        The draws' settings; JSON-ready scalars among them are copied into the attributes.

    Returns
    -------
    arviz.InferenceData
        Groups ``posterior`` (natural names, as NUTS's), ``sample_stats`` (``status``),
        ``observed_data`` (``log_loss``) and ``constant_data`` (the inputs); attributes
        ``inference_library = "bayescale"``, ``method``, ``law`` and the objective.
    """
    az = import_arviz()
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 2:
        theta = theta[None]
    n = int(np.asarray(data.loss).size)
    constant = {k: np.asarray(v, dtype=np.float64) for k, v in data.x.items()}
    attrs: dict[str, Any] = {
        "inference_library": "bayescale",
        "method": method,
        "law": law.name,
        "objective": type(objective).__name__.lower(),
        "kind": objective.kind,
    }
    for key, value in (settings or {}).items():
        if isinstance(value, str | int | float | bool) and not isinstance(value, np.generic):
            attrs[f"setting_{key}"] = value if not isinstance(value, bool) else int(value)
    return az.from_dict(
        posterior=natural_columns(law, objective, theta),
        sample_stats={"status": np.asarray(status, dtype=np.int64).reshape(theta.shape[:2])},
        observed_data={"log_loss": np.log(np.asarray(data.loss, dtype=np.float64))},
        constant_data=constant,
        coords={"point": np.arange(n)},
        dims={"log_loss": ["point"], **{k: ["point"] for k in constant}},
        attrs=attrs,
    )


def curve_labels(keys: pd.DataFrame) -> list:
    """One label per curve: its group value, or its values joined by ``/`` for several
    group columns."""
    if keys.shape[1] == 1:
        return keys.iloc[:, 0].tolist()
    return ["/".join(str(v) for v in row) for row in keys.itertuples(index=False)]


def batch_inferencedata(
    method: str, theta: np.ndarray, law: Law, objective: Loss | Noise, keys: pd.DataFrame
) -> Any:
    """``arviz.InferenceData`` of a batch's draws, with a ``curve`` dimension.

    Parameters
    ----------
    method
        The batch's method (recorded in the attributes).
    theta
        Fit-space draws ``(curve, chain, draw, P)``; NaN for curves that were not sampled.
    law, objective
        The law and objective of the batch fit.
    keys
        The group columns' values, one row per curve: the labels of the ``curve``
        coordinate (:func:`curve_labels`).

    Returns
    -------
    arviz.InferenceData
        ``posterior`` with natural names and dims ``(chain, draw, curve)``:
        ``idata.posterior.sel(curve=label)`` is one curve's draws, as ``az.summary`` reads
        them. Attributes ``inference_library``, ``method``, ``law``, ``objective``.
    """
    az = import_arviz()
    theta = np.moveaxis(np.asarray(theta, dtype=np.float64), 0, 2)
    nat = natural_columns(law, objective, theta)
    return az.from_dict(
        posterior=nat,
        coords={"curve": curve_labels(keys)},
        dims={k: ["curve"] for k in nat},
        attrs={
            "inference_library": "bayescale",
            "method": method,
            "law": law.name,
            "objective": type(objective).__name__.lower(),
        },
    )


def posterior_frame(idata: Any, status: np.ndarray | None = None) -> pd.DataFrame:
    """An ``InferenceData``'s posterior as a table (one row per chain and draw).

    Parameters
    ----------
    idata
        arviz ``InferenceData`` with a ``posterior`` group of scalar variables.
    status
        Per-draw status ``(chain, draw)`` to add as a column, if given.

    Returns
    -------
    pandas.DataFrame
        Columns ``chain``, ``draw``, one per posterior variable (natural names for bayescale's
        draws) and ``status``.
    """
    post = idata.posterior
    names = list(post.data_vars)
    first = np.asarray(post[names[0]].values)
    chains, draws = first.shape[:2]
    out = {
        "chain": np.repeat(np.arange(chains), draws),
        "draw": np.tile(np.arange(draws), chains),
    }
    out.update({k: np.asarray(post[k].values).ravel() for k in names})
    if status is not None:
        out["status"] = np.asarray(status).ravel()
    return pd.DataFrame(out)
