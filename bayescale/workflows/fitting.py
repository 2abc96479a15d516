"""The one-call level for fits: a table in, a record out, one curve or many.

:func:`fit` reads and validates the data, resolves the starts and runs the compiled multi-start
fitter (:func:`~bayescale.optimize.points.fit_points`) in float64, returning a
:class:`~bayescale.results.records.Fit`. :func:`fit_groups` splits a long table by one or more
group columns (:func:`bayescale.data.groups.split_groups`), pads the curves into a few shape
buckets and fits every bucket in fixed-size chunks of curves x starts through the one host
runner (:func:`bayescale.lanes.run_in_chunks`, split across all local devices), returning a
:class:`~bayescale.results.records.BatchFit` with one tidy table row per curve.

Failure isolation: problems with the table as a whole raise
:class:`~bayescale.data.DataError` before anything is computed; a curve that cannot be fitted
(fewer points than parameters, e.g. after filters, or a constant loss) is flagged in its own
row and not fitted, and a curve whose fit ends non-finite gets status ``non_finite``; neither
affects any other curve, because every curve runs in its own lanes of the vectorised
optimiser. See :mod:`bayescale.workflows.distributed` for running on several processes or hosts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import x64
from bayescale._progress import reporter
from bayescale.data.groups import curves_table, split_groups
from bayescale.data.health import constant
from bayescale.data.io import read_table
from bayescale.data.preparation import as_data, prepare
from bayescale.lanes import curve_mesh, default_chunk_size, lanes_for, run_in_chunks
from bayescale.laws.registry import get_law
from bayescale.laws.spec import Law, grid_starts, random_starts
from bayescale.likelihood import (
    Data,
    Loss,
    Noise,
    check_objective,
    natural_names,
    params,
    with_reference,
)
from bayescale.optimize.curves import (
    StartSummary,
    fit_curves,
    summarise_starts,
    unfitted_results,
)
from bayescale.optimize.multistart import FitConfig, MultiStartResult
from bayescale.optimize.points import fit_points
from bayescale.results.records import BatchFit, BucketInfo, Fit
from bayescale.status import CONSTANT_LOSS, NON_FINITE


def resolve_starts(
    law: Law, starts: str | int | np.ndarray, seed: int = 0, objective: Loss | Noise = Loss()
) -> tuple[np.ndarray, dict]:
    """Turn a start specification into an array ``(S, P)`` and a description.

    Parameters
    ----------
    law
        The law.
    starts
        A grid name (``"default"``, or one the law offers such as ``"hoffmann"``), a number of
        random starts, a string of digits, or an explicit array ``(S, P)`` in fit space (``P``
        counts the law's parameters; noise parameters may be included or are appended).
    seed
        Seed for random starts.
    objective
        The objective; a :class:`~bayescale.likelihood.Noise` appends ``log_sigma`` starts.

    Returns
    -------
    tuple
        The start array and a JSON-ready description.

    Raises
    ------
    ValueError
        On an unknown grid name, a non-positive count, or an array of the wrong shape.
    """
    if isinstance(starts, str) and starts.strip().isdigit():
        starts = int(starts)
    if isinstance(starts, str):
        arr, desc = grid_starts(law, starts), {"kind": "grid", "name": starts}
    elif isinstance(starts, (int, np.integer)) and not isinstance(starts, bool):
        arr, desc = random_starts(law, int(starts), seed), {"kind": "random", "seed": int(seed)}
    else:
        arr = np.asarray(starts, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        specs = params(law, objective)
        want = (law.n_params, len(specs))
        if arr.ndim != 2 or arr.shape[1] not in want or arr.shape[0] < 1:
            raise ValueError(
                f"explicit starts must have shape (S, {law.n_params}) for law {law.name!r} "
                f"(parameters {list(law.param_names)}, fit space); got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("explicit starts contain non-finite values")
        desc = {"kind": "array"}
    extra = params(law, objective)[law.n_params :]
    if arr.shape[1] == law.n_params and extra:
        noise_starts = np.array([s.grid[0] for s in extra])
        arr = np.concatenate([arr, np.repeat(noise_starts[None], arr.shape[0], axis=0)], axis=1)
    return arr, desc


@x64
def fit(
    data: Any,
    law: str | Law = "chinchilla",
    *,
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
    """Fit a scaling law by vectorised multi-start BFGS.

    Parameters
    ----------
    data
        A DataFrame, a path (``.csv``, ``.tsv``, ``.parquet``) or ``"example:chinchilla"``.
    law
        Registered law name or a :class:`~bayescale.laws.Law`.
    loss
        ``"huber"`` (summed, with ``delta``), ``"squared"``, or a ready
        :class:`~bayescale.likelihood.Loss` / :class:`~bayescale.likelihood.Noise` (maximum
        likelihood with a free noise scale; ``Noise(..., hetero=True)``: a scale that varies
        with the data's scale variable, its reference set here from the data).
    delta
        Huber threshold on log-loss residuals (used when ``loss`` is a string).
    starts
        Grid name, number of random starts, or explicit array; see :func:`resolve_starts`.
    seed
        Seed for random starts.
    columns
        Canonical name -> source column mapping (e.g. ``{"N": "Model Size"}``).
    x
        Variable of one-variable laws (``"N"``, ``"D"``, ``"C"`` or ``"step"``).
    flops_per_token
        ``k`` in ``C = k N D``, used to derive a missing one of N, D, C.
    drop_top_losses
        Drop the ``K`` highest-loss rows (Epoch AI's filter), recorded in the result.
    config
        Optimiser settings.

    Returns
    -------
    Fit
        The best parameters, per-start diagnostics and provenance.

    Examples
    --------
    >>> import bayescale as bs
    >>> f = bs.fit("example:chinchilla", "chinchilla", starts="hoffmann", drop_top_losses=5)
    >>> round(f.params["alpha"], 4)
    0.3473
    """
    t0 = time.perf_counter()
    law = get_law(law)
    objective = check_objective(Loss(loss, delta) if isinstance(loss, str) else loss)
    prepared = prepare(
        read_table(data),
        law.inputs,
        columns=columns,
        x=x,
        flops_per_token=flops_per_token,
        drop_top_losses=drop_top_losses,
        n_params=len(params(law, objective)),
    )
    data = as_data(prepared)
    objective = with_reference(objective, law, data)
    arr, desc = resolve_starts(law, starts, seed, objective)
    result = fit_points(jnp.asarray(arr), data, law, objective, config)
    result = MultiStartResult(*(np.asarray(a) for a in result))
    if constant(prepared.loss):  # not identified, whatever the optimiser says (as in a batch)
        result = result._replace(status=np.asarray(CONSTANT_LOSS, dtype=np.int32))
    return Fit(law, objective, prepared, desc, config, result, time.perf_counter() - t0)


def fit_bucket(
    starts: np.ndarray,
    data: Data,
    law: Law,
    objective: Loss | Noise,
    config: FitConfig,
    lanes: int,
    mesh: Any = None,
    progress: Callable[[int], object] | None = None,
    keep_starts: bool = False,
) -> MultiStartResult | StartSummary:
    """Fit every curve of ``data`` (one padded length) in chunks of ``lanes`` curves.

    Parameters
    ----------
    starts
        ``(S, P)`` starts shared by every curve, or ``(C, S, P)`` per curve, fit space.
    data
        Host arrays with a leading curve axis ``C``.
    law, objective, config
        Law, objective and optimiser settings.
    lanes
        Curves per compiled call (see :func:`~bayescale.lanes.lanes_for`).
    mesh
        Devices to split every chunk over (default: every local device).
    progress
        Called with the number of curves finished after each chunk.
    keep_starts
        Return every start's result; by default each chunk's starts are summarised as the
        chunk comes back (:func:`~bayescale.optimize.curves.summarise_starts`), so the host
        never holds more than one chunk's.

    Returns
    -------
    MultiStartResult or StartSummary
        Numpy arrays with leading axis ``C``.
    """
    mesh = curve_mesh() if mesh is None else mesh
    run_mesh = mesh if mesh.size > 1 else None
    starts = np.asarray(starts, dtype=np.float64)

    def call(block: Data, shared: Any) -> MultiStartResult | StartSummary:
        out = fit_curves(shared, block, law, objective, config, run_mesh)
        return out if keep_starts else summarise_starts(jax.tree.map(np.asarray, out))

    if starts.ndim == 2:
        return run_in_chunks(call, data, lanes=lanes, shared=starts, mesh=mesh, progress=progress)
    return run_in_chunks(
        lambda block, _: call(block[1], block[0]),
        (starts, data),
        lanes=lanes,
        mesh=mesh,
        progress=progress,
    )


@x64
def fit_groups(
    data: Any,
    law: str | Law = "chinchilla",
    *,
    group: Hashable | Sequence[Hashable],
    loss: Loss | Noise | str = "huber",
    delta: float = 1e-3,
    starts: str | int | np.ndarray = "default",
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    x: str = "N",
    flops_per_token: float = 6.0,
    drop_top_losses: int = 0,
    config: FitConfig = FitConfig(),
    chunk_size: int | None = None,
    min_length: int = 8,
    devices: Sequence[Any] | None = None,
    progress: bool | Callable[[int], object] = False,
    keep_starts: bool = False,
) -> BatchFit:
    """Fit one law to every group of a long table, every group its own curve.

    Parameters
    ----------
    data
        A DataFrame or a path (``.csv``, ``.tsv``, ``.parquet``), one row per point.
    law
        Registered law name or a :class:`~bayescale.laws.Law`.
    group
        Column name, or list of names, whose distinct values define the curves.
    loss, delta, starts, seed, columns, x, flops_per_token, config
        As for :func:`bayescale.fit`; the same starts are used for every curve.
    drop_top_losses
        Per curve, drop its ``K`` highest losses (Epoch AI's rule); 0 drops nothing.
    chunk_size
        Curves per compiled call; default from free memory
        (:func:`~bayescale.lanes.default_chunk_size`). Rounded up to a multiple of the
        device count. Fewer curves than this run in one call of the next power of two.
    min_length
        Smallest padded curve length; curves are padded to the next power of two above it.
        Raising it merges buckets (fewer compilations, more padding).
    devices
        Devices to split every chunk over (default: all local devices).
    progress
        ``True`` for a progress bar over curves (updated after every chunk), or a callable
        given the curves just finished.
    keep_starts
        Keep every start's final parameters, objective, status and steps
        (``result`` a :class:`~bayescale.optimize.multistart.MultiStartResult`; host memory
        grows with curves x starts). By default ``result`` is a
        :class:`~bayescale.optimize.curves.StartSummary` per curve, made chunk by chunk.

    Returns
    -------
    BatchFit
        The per-curve table, parameters and diagnostics.

    Raises
    ------
    DataError
        For problems with the table as a whole (missing or bad columns, non-positive or
        non-finite values, a bad group column), before any computation.

    Notes
    -----
    Cost. A chunk runs as long as its slowest start: under ``vmap`` every step is taken by all
    lanes until the last one stops. With a Huber loss some starts stall at the loss's kinks
    and run to ``config.max_steps``, and a restart (``config.restarts``) runs for all curves
    of a chunk as soon as one needs it, so a chunk costs about ``(restarts + 1) * max_steps``
    steps of ``polish`` lanes per curve. For large batches
    ``FitConfig(polish=4, max_steps=300, restarts=0)`` is about 10x faster than the default on
    30-point Chinchilla curves and found the same optima as scipy in
    ``benchmarks/bench_batch.py``; curves that then end at ``max_steps`` are flagged, not hidden.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import bayescale as bs
    >>> n = np.geomspace(1e7, 1e10, 12)
    >>> df = pd.DataFrame({"run": np.repeat(["a", "b"], 12), "N": np.tile(n, 2),
    ...                    "loss": np.tile(1.7 + 200 * n**-0.3, 2)})
    >>> out = bs.fit_groups(df, "power", group="run", starts=8)
    >>> list(out.table["status"])
    ['converged', 'converged']
    """
    t0 = time.perf_counter()
    law = get_law(law)
    objective = check_objective(Loss(loss, delta) if isinstance(loss, str) else loss)
    n_par = len(params(law, objective))
    curves = split_groups(
        read_table(data),
        law.inputs,
        group,
        n_params=n_par,
        columns=columns,
        x=x,
        flops_per_token=flops_per_token,
        drop_top_losses=drop_top_losses,
        min_length=min_length,
    )
    if curves.buckets and getattr(objective, "hetero", False):  # its reference: every point's
        flat = [jax.tree.map(np.ravel, b.data) for b in curves.buckets]
        objective = with_reference(objective, law, jax.tree.map(lambda *a: np.hstack(a), *flat))
    arr, desc = resolve_starts(law, starts, seed, objective)
    desc = {**desc, "n": int(arr.shape[0])}
    mesh = curve_mesh(devices)
    n_dev = int(mesh.size)
    if chunk_size is not None and int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    plans = []
    for b in curves.buckets:
        chunk = chunk_size or default_chunk_size(arr.shape[0], b.length, n_dev)
        lanes = lanes_for(len(b.curves), int(chunk), n_dev)
        plans.append(BucketInfo(b.length, len(b.curves), lanes, -(-len(b.curves) // lanes)))

    result = unfitted_results(np.maximum(curves.status, 0), arr.shape[0], n_par, keep_starts)
    status = curves.status.copy()
    with reporter(progress, sum(p.n_curves for p in plans), "fit_groups", "curve") as update:
        for b, plan in zip(curves.buckets, plans, strict=True):
            out = fit_bucket(
                arr, b.data, law, objective, config, plan.lanes, mesh, update, keep_starts
            )
            for field, value in zip(result._fields, out, strict=True):
                getattr(result, field)[b.curves] = value
            status[b.curves] = out.status
    names = natural_names(law, objective)
    shown = np.where((status == NON_FINITE)[:, None], np.nan, result.params)
    table = curves_table(
        curves,
        names,
        shown,
        result.objective,
        status,
        result.n_near_best,
        result.grad_norm,
    )
    return BatchFit(
        table=table,
        theta=result.theta,
        result=result,
        law=law,
        objective=objective,
        starts=desc,
        config=config,
        buckets=tuple(plans),
        seconds=time.perf_counter() - t0,
        curves=curves,
    )
