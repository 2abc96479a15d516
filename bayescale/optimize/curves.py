"""Many independent curves in one compiled call: ``vmap`` over curves of the multi-start core.

Levels:

* :func:`minimise_curves` - pure: ``jax.vmap`` over a leading curve axis of
  :func:`~bayescale.optimize.multistart.minimise_starts` (itself a ``vmap`` over starts of
  optimistix BFGS). Every curve keeps its own while-loops' results, so a curve's answer does
  not depend on which other curves share its call.
* :func:`fit_curves` - the compiled boundary (static law, objective, config and mesh). With a
  mesh of several devices the curve axis is split across them by sharding annotations
  (``NamedSharding``, partitioned by XLA): each device computes only its own curves, and the
  devices exchange one flag per optimiser step (whether any lane is still running) and, once
  per call, the explored objectives. ``jax.shard_map`` is not used because lineax, under
  optimistix, rejects the per-device abstract values it creates (jax 0.10).
* the host runner, :func:`bayescale.lanes.run_in_chunks`, feeds it fixed-size
  chunks of curves placed on the devices with a :class:`~jax.sharding.NamedSharding` over a
  1-D ``"curves"`` mesh, so a bucket of curves compiles once and memory is bounded by the
  chunk, not the number of curves.

Curves are padded to a common length with weight-0 points (see
:func:`bayescale.data.groups.split_groups`); the likelihood sanitises padded values, so they
reach neither values nor gradients.

Per-start detail. A multi-start fit of ``C`` curves ends with ``C x S`` starts' parameters,
objectives, statuses and steps; a batch of a million curves cannot keep them on the host. The
host runner can reduce every chunk, as it comes back from the devices, to a
:class:`StartSummary` per curve (:func:`summarise_starts`: the best start and counts), so the
host keeps ``O(C)`` values (one compiled function serves both; see
:func:`bayescale.workflows.fitting.fit_bucket`).

Several hosts. ``jax.sharding`` meshes here span ``jax.local_devices()``; curves are
independent, so several processes (one per host) each fit their own share of a table's curves
with no communication but one gather at the end: see :mod:`bayescale.workflows.distributed`.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from bayescale.lanes import AXIS
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Objective
from bayescale.optimize.multistart import FitConfig, MultiStartResult, minimise_starts
from bayescale.status import OPTIMIZER_NAMES


class StartSummary(NamedTuple):
    """Per-curve summary of a multi-start fit: the best start and how the starts ended.

    The first six fields are those of :class:`~bayescale.optimize.multistart.MultiStartResult`
    (same values); the per-start arrays are replaced by counts. Batch axes lead every field.

    Attributes
    ----------
    theta, params, objective, n_near_best, grad_norm, status
        As in :class:`~bayescale.optimize.multistart.MultiStartResult`.
    start_counts
        Starts that ended with each optimiser status, ``(K,)`` indexed by code
        (:data:`bayescale.status.OPTIMIZER_NAMES`: converged, max_steps, non_finite, screened,
        failed); 0 everywhere for a curve that was not fitted.
    steps
        Optimiser steps taken over all starts, ``()``.
    """

    theta: jax.Array
    params: jax.Array
    objective: jax.Array
    n_near_best: jax.Array
    grad_norm: jax.Array
    status: jax.Array
    start_counts: jax.Array
    steps: jax.Array


def summarise_starts(result: MultiStartResult) -> StartSummary:
    """The :class:`StartSummary` of a multi-start result (pure; jax or numpy arrays).

    Parameters
    ----------
    result
        Any leading batch axes, then ``S`` starts on the per-start fields.

    Returns
    -------
    StartSummary
    """
    xp = jnp if isinstance(result.start_status, jax.Array) else np
    status = result.start_status[..., None]
    codes = xp.arange(len(OPTIMIZER_NAMES), dtype=xp.int32).reshape(
        (1,) * (status.ndim - 1) + (-1,)
    )
    counts = xp.sum(status == codes, axis=-2, dtype=xp.int32)
    return StartSummary(
        theta=result.theta,
        params=result.params,
        objective=result.objective,
        n_near_best=result.n_near_best,
        grad_norm=result.grad_norm,
        status=result.status,
        start_counts=counts,
        steps=xp.sum(result.start_steps, axis=-1, dtype=xp.int32),
    )


def unfitted_results(
    status: np.ndarray, n_starts: int, n_params: int, keep_starts: bool
) -> MultiStartResult | StartSummary:
    """Host results for curves not (yet) fitted: NaN parameters and objectives, no steps.

    Parameters
    ----------
    status
        Status code per curve, ``(C,)``.
    n_starts, n_params
        Starts per curve and parameters per start.
    keep_starts
        A :class:`~bayescale.optimize.multistart.MultiStartResult` (per-start arrays, each
        start given the curve's status) or a :class:`StartSummary`.

    Returns
    -------
    MultiStartResult or StartSummary
        Numpy arrays with leading axis ``C``, to be filled in by the fitted curves.
    """
    n = len(status)
    status = np.asarray(status, dtype=np.int32)
    best = {
        "theta": np.full((n, n_params), np.nan),
        "params": np.full((n, n_params), np.nan),
        "objective": np.full(n, np.nan),
        "n_near_best": np.zeros(n, dtype=np.int32),
        "grad_norm": np.full(n, np.nan),
        "status": status,
    }
    if not keep_starts:
        counts = np.zeros((n, len(OPTIMIZER_NAMES)), dtype=np.int32)
        return StartSummary(**best, start_counts=counts, steps=np.zeros(n, dtype=np.int32))
    return MultiStartResult(
        **best,
        start_theta=np.full((n, n_starts, n_params), np.nan),
        start_objective=np.full((n, n_starts), np.nan),
        start_status=np.repeat(status[:, None], n_starts, axis=1),
        start_steps=np.zeros((n, n_starts), dtype=np.int32),
    )


def minimise_curves(
    starts: jax.Array, data: Data, law: Law, obj: Objective, config: FitConfig = FitConfig()
) -> MultiStartResult:
    """Multi-start minimisation of every curve (pure).

    Parameters
    ----------
    starts
        Starts in fit space: ``(S, P)`` shared by every curve, or ``(C, S, P)`` per curve.
    data
        Arrays with a leading curve axis: ``x[k]``, ``log_y`` and ``weight`` are ``(C, n)``.
    law, obj, config
        Static: law, objective and optimiser settings.

    Returns
    -------
    MultiStartResult
        Every field with a leading curve axis ``C``.
    """
    start_axis = None if starts.ndim == 2 else 0
    return jax.vmap(lambda s, d: minimise_starts(s, d, law, obj, config), in_axes=(start_axis, 0))(
        starts, data
    )


@partial(jax.jit, static_argnames=("law", "obj", "config", "mesh"))
def fit_curves(
    starts: jax.Array,
    data: Data,
    law: Law,
    obj: Objective,
    config: FitConfig = FitConfig(),
    mesh: Mesh | None = None,
) -> MultiStartResult:
    """Compiled :func:`minimise_curves`, split over the devices of ``mesh`` (same shapes never
    retrace).

    With a mesh of more than one device, inputs and outputs are constrained to
    ``NamedSharding(mesh, P("curves"))``: the curve axis, whose length must be a multiple of
    the mesh size, is split over the devices.
    """
    run = partial(minimise_curves, law=law, obj=obj, config=config)
    if mesh is None or mesh.size == 1:
        return run(starts, data)
    curves = NamedSharding(mesh, P(AXIS))
    if starts.ndim == 3:
        starts = jax.lax.with_sharding_constraint(starts, curves)
    data = jax.lax.with_sharding_constraint(data, curves)
    return jax.lax.with_sharding_constraint(run(starts, data), curves)
