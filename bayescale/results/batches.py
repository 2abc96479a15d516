"""The records of a batch: fits and draws of many curves (see :mod:`bayescale.results.records`
for one curve; :mod:`~bayescale.results.records` re-exports these)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.groups import Curves
from bayescale.laws.spec import Law
from bayescale.likelihood import Loss, Noise
from bayescale.optimize.curves import StartSummary
from bayescale.optimize.multistart import FitConfig, MultiStartResult
from bayescale.results.interop import batch_inferencedata


class BucketInfo(NamedTuple):
    """How one shape bucket of a batch was run.

    Attributes
    ----------
    length
        Padded points per curve.
    n_curves
        Curves fitted in the bucket.
    lanes
        Curves per compiled call (the compiled shape; the last chunk is padded to it).
    n_chunks
        Compiled calls made.
    """

    length: int
    n_curves: int
    lanes: int
    n_chunks: int


class BatchFit(NamedTuple):
    """Fits of many curves (plain values, numpy arrays and a DataFrame).

    Attributes
    ----------
    table
        One row per curve: group keys, ``n_points``, natural parameters (``sigma`` for a noise
        model), ``objective``, ``status`` (a name from :data:`bayescale.status.NAMES`),
        ``message``, ``n_near_best``, ``grad_norm``. Parameters are NaN for curves that were
        not fitted or whose fit ended non-finite.
    theta
        Best parameters in fit space, ``(n_curves, P)``.
    result
        Per curve, a :class:`~bayescale.optimize.curves.StartSummary` (the default: the best
        start, counts of how the starts ended, steps) or, with ``keep_starts=True``, a
        :class:`~bayescale.optimize.multistart.MultiStartResult` (every start's parameters,
        objective, status and steps). Either way a leading curve axis; curves that were not
        fitted hold NaN parameters and objectives, 0 steps, and their status code in
        ``status`` (and ``start_status``).
    law
        The law fitted.
    objective
        The :class:`~bayescale.likelihood.Loss` or :class:`~bayescale.likelihood.Noise`.
    starts
        Description of the starts (as in :class:`Fit`), with ``"n"``.
    config
        Optimiser settings.
    buckets
        One :class:`BucketInfo` per shape bucket; each distinct ``(length, lanes)`` compiled
        once (unless already compiled earlier in the process).
    seconds
        Wall time, compilation included.
    curves
        The split table (:class:`~bayescale.data.groups.Curves`): keys, row-to-curve map,
        per-curve filters, validation record.
    """

    table: pd.DataFrame
    theta: np.ndarray
    result: StartSummary | MultiStartResult
    law: Law
    objective: Loss | Noise
    starts: dict
    config: FitConfig
    buckets: tuple[BucketInfo, ...]
    seconds: float
    curves: Curves

    @property
    def n_compiled_shapes(self) -> int:
        """Number of distinct compiled chunk shapes this fit used."""
        return len({(b.length, b.lanes) for b in self.buckets})


class BatchDraws(NamedTuple):
    """Bootstrap or posterior draws of many curves.

    Attributes
    ----------
    table
        One row per curve: the group keys, ``n_points``, ``status`` and ``message`` (the fit's
        and the sampler's), the maximum-likelihood natural parameters, then for every natural
        parameter ``<name>_mean``, ``_sd``, ``_q05``, ``_q50``, ``_q95``, and diagnostics:
        ``converged_frac`` (bootstrap: share of resamples whose refit converged) or
        ``sampler_status`` (``ok``, ``warning``, ``failed``, ``not_sampled``), ``max_rhat``,
        ``min_ess``, ``divergences`` (NUTS), and from :func:`bayescale.posterior_groups`
        ``engine`` and ``pareto_k``. ``status`` is the maximum-likelihood fit's.
    theta
        Fit-space draws ``(curve, chain, draw, P + 1)`` (the bootstrap has one "chain");
        NaN for curves that were not sampled.
    names
        Fit-space names of the last axis of ``theta``.
    method
        ``"bootstrap"``, or the posterior engine asked for: ``"nuts"``, ``"laplace"`` or
        ``"auto"`` (the table's ``engine`` column says which engine drew each curve).
    fit
        The batch maximum-likelihood fit the draws started from.
    seconds
        Wall time, the fit and compilation included.
    """

    table: pd.DataFrame
    theta: np.ndarray
    names: tuple[str, ...]
    method: str
    fit: BatchFit
    seconds: float

    def to_inferencedata(self) -> Any:
        """arviz ``InferenceData`` of every curve's draws, natural names, dims ``(chain, draw,
        curve)``; the ``curve`` labels are the group values (joined by ``/`` for several
        group columns). One curve: ``idata.posterior.sel(curve=label)``.

        Returns
        -------
        arviz.InferenceData
        """
        keys = self.fit.curves.keys
        return batch_inferencedata(self.method, self.theta, self.fit.law, self.fit.objective, keys)
