"""Many independent curves in one compiled call: ``vmap`` over curves of the multi-start core.

Levels:

* :func:`minimise_curves` - pure: ``jax.vmap`` over a leading curve axis of
  :func:`~bayescale.fit.multistart.minimise_starts` (itself a ``vmap`` over starts of
  optimistix BFGS). Every curve keeps its own while-loops' results, so a curve's answer does
  not depend on which other curves share its call.
* :func:`fit_curves` - the compiled boundary (static law, objective, config and mesh). With a
  mesh of several devices the curve axis is split across them by sharding annotations
  (``NamedSharding``, partitioned by XLA): each device computes only its own curves, and the
  devices exchange one flag per optimiser step (whether any lane is still running) and, once
  per call, the explored objectives. ``jax.shard_map`` is not used because lineax, under
  optimistix, rejects the per-device abstract values it creates (jax 0.10).
* :func:`fit_chunks` - the host loop: fixed-size chunks of curves (the last one padded with
  dummy curves whose every weight is 0, which converge at once), placed on the devices with a
  :class:`~jax.sharding.NamedSharding` over a 1-D ``"curves"`` mesh. Every chunk has the same
  shape, so a bucket of curves compiles once, and memory is bounded by the chunk, not the
  number of curves.

Curves are padded to a common length with weight-0 points (see
:func:`bayescale.data.groups.split_groups`); the likelihood sanitises padded values, so they
reach neither values nor gradients.

Multi-host use. ``jax.sharding`` meshes here span ``jax.local_devices()``. On several hosts,
call ``jax.distributed.initialize()`` first and then either (a) let every host fit its own
slice of the groups - split the table by group key (e.g. ``hash(key) % jax.process_count()
== jax.process_index()``), call :func:`bayescale.batch.fit_groups` on each host with the
default local mesh and concatenate the tables afterwards; curves are independent, so this needs
no communication and is the recommended route - or (b) build a global mesh with
``jax.sharding.Mesh(np.array(jax.devices()), ("curves",))``, assemble every chunk as a global
array with ``jax.make_array_from_process_local_data`` and pass that mesh to
:func:`fit_curves`; every host must then run the same sequence of chunks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from functools import partial

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from bayescale.fit.multistart import (
    STATUS,
    STATUS_MESSAGES,
    FitConfig,
    MultiStartResult,
    minimise_starts,
)
from bayescale.laws._spec import Law
from bayescale.likelihood import Data, Objective

#: Per-curve status codes: the per-start codes of :data:`~bayescale.fit.multistart.STATUS`,
#: then codes for curves that were not fitted at all.
CURVE_STATUS = STATUS + ("too_few_points", "constant_loss")
TOO_FEW_POINTS, CONSTANT_LOSS = len(STATUS), len(STATUS) + 1
CURVE_STATUS_MESSAGES = {
    **STATUS_MESSAGES,
    TOO_FEW_POINTS: "fewer points than parameters (after filters); not fitted",
    CONSTANT_LOSS: "every point has the same loss, so the law is not identified; not fitted",
}
#: Mesh axis name of the curve axis.
AXIS = "curves"
#: Bytes per (start x padded point) of a curve, in units of 8, at the peak of a chunk: measured
#: 9.2 (Chinchilla, 64 starts, 32 and 64 points, 256-4096 curves per chunk; CPU), plus margin.
#: Multiplies ``8 * starts * padded points`` in :func:`default_chunk_size`.
BYTES_FACTOR = 12.0
#: Largest default chunk per device (CPU; accelerators use :data:`MAX_CHUNK_ACCEL`).
MAX_CHUNK_CPU = 1024
MAX_CHUNK_ACCEL = 16384


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


def curve_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh with axis ``"curves"`` over ``devices`` (default: every local device)."""
    devs = list(jax.local_devices() if devices is None else devices)
    return Mesh(np.array(devs), (AXIS,))


def available_memory(device: jax.Device | None = None) -> tuple[int, bool]:
    """Free memory in bytes, and whether it is per device.

    Uses ``device.memory_stats()`` where the backend reports it (GPU, TPU: per device), else the
    host's available memory (``MemAvailable`` in ``/proc/meminfo``, or ``os.sysconf``).
    """
    device = jax.local_devices()[0] if device is None else device
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory stats
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)), True
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, False
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), False
    except (ValueError, OSError, AttributeError):
        return 2 * 1024**3, False


def default_chunk_size(
    n_starts: int,
    length: int,
    n_devices: int = 1,
    fraction: float = 0.25,
    memory: tuple[int, bool] | None = None,
) -> int:
    """Curves per compiled call so that one chunk uses at most ``fraction`` of free memory.

    A curve costs about ``BYTES_FACTOR * 8 * n_starts * length`` bytes at the peak of a call
    (measured, float64). The result is a multiple of ``n_devices``, at least ``n_devices``, and
    at most ``MAX_CHUNK_CPU`` (CPU) or ``MAX_CHUNK_ACCEL`` (accelerators) per device.

    Parameters
    ----------
    n_starts
        Starts per curve.
    length
        Padded points per curve.
    n_devices
        Devices the chunk is split over.
    fraction
        Share of the free memory one chunk may use.
    memory
        ``(bytes, per_device)`` as from :func:`available_memory` (queried when ``None``).

    Returns
    -------
    int
        The chunk size.
    """
    free, per_device = available_memory() if memory is None else memory
    per_curve = BYTES_FACTOR * 8.0 * max(1, n_starts) * max(1, length)
    budget = fraction * free * (n_devices if per_device else 1)
    cap = MAX_CHUNK_ACCEL if per_device else MAX_CHUNK_CPU
    per_dev = int(budget // per_curve) // n_devices
    return n_devices * max(1, min(cap, per_dev))


def lanes_for(n_curves: int, chunk: int, n_devices: int = 1) -> int:
    """Curves per compiled call for ``n_curves`` curves and a chunk size ``chunk``.

    Fewer curves than ``chunk`` use the next power of two instead (so small batches stay small
    yet shapes repeat); the result is rounded up to a multiple of ``n_devices``.
    """
    want = min(int(chunk), 1 << max(0, math.ceil(math.log2(max(1, n_curves)))))
    return n_devices * max(1, math.ceil(want / n_devices))


def _pad_rows(a: np.ndarray, n: int, fill: float) -> np.ndarray:
    if a.shape[0] == n:
        return a
    pad = np.full((n - a.shape[0],) + a.shape[1:], fill, dtype=a.dtype)
    return np.concatenate([a, pad], axis=0)


def fit_chunks(
    starts: np.ndarray,
    data: Data,
    law: Law,
    obj: Objective,
    config: FitConfig = FitConfig(),
    chunk: int = 1024,
    mesh: Mesh | None = None,
    progress: Callable[[int], object] | None = None,
) -> MultiStartResult:
    """Fit every curve of ``data`` in fixed-size chunks; returns numpy arrays.

    Parameters
    ----------
    starts
        ``(S, P)`` shared starts or ``(C, S, P)`` per-curve starts, fit space.
    data
        Host (numpy) arrays with a leading curve axis ``C``, all curves padded to one length.
    law, obj, config
        Law, objective and optimiser settings.
    chunk
        Curves per compiled call (see :func:`lanes_for`); the last chunk is padded with dummy
        curves (weight 0 everywhere, which converge at once) and their results dropped.
    mesh
        Devices to split every chunk over (default: :func:`curve_mesh`).
    progress
        Called with the number of curves just finished, after each chunk.

    Returns
    -------
    MultiStartResult
        Numpy arrays with leading axis ``C``.

    Notes
    -----
    Call inside :func:`bayescale._jax.enable_x64` to compute in float64 (as
    :func:`bayescale.batch.fit_groups` does).
    """
    mesh = curve_mesh() if mesh is None else mesh
    n = int(data.log_y.shape[0])
    if n == 0:
        raise ValueError("fit_chunks needs at least one curve")
    lanes = lanes_for(n, chunk, mesh.size)
    sharding = NamedSharding(mesh, P(AXIS))
    replicated = NamedSharding(mesh, P())
    starts = np.asarray(starts, dtype=np.float64)
    shared = starts.ndim == 2
    shared_starts = jax.device_put(starts, replicated) if shared else None
    run_mesh = mesh if mesh.size > 1 else None
    parts = []
    for lo in range(0, n, lanes):
        hi = min(lo + lanes, n)
        block = Data(
            x={k: _pad_rows(np.asarray(v[lo:hi]), lanes, 1.0) for k, v in data.x.items()},
            log_y=_pad_rows(np.asarray(data.log_y[lo:hi]), lanes, 0.0),
            weight=_pad_rows(np.asarray(data.weight[lo:hi]), lanes, 0.0),
        )
        block = jax.device_put(block, sharding)
        if shared:
            s = shared_starts
        else:
            s = jax.device_put(_pad_rows(starts[lo:hi], lanes, 0.0), sharding)
        out = fit_curves(s, block, law, obj, config, run_mesh)
        parts.append(jax.tree.map(lambda a, k=hi - lo: np.asarray(a)[:k], out))
        if progress is not None:
            progress(hi - lo)
    return jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *parts)
