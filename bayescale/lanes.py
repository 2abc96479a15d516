"""The one host runner, below every engine: lanes in chunks, padded, placed, with progress.

Every batched engine - multi-start fits of many curves, bootstrap refits of one curve or of
many, batched NUTS - runs a compiled function over a leading *lane* axis (curves, resamples,
or curve x resample pairs). :func:`run_in_chunks` is the one loop that feeds it: it cuts the
lanes into chunks of a fixed size (the last one padded by repeating its first lane, whose
results are dropped), places each chunk on the devices of a 1-D ``"curves"`` mesh (split
along the lane axis when there are several), calls the function, trims the padding, reports
progress in lanes and concatenates the results on the host. Every chunk has the same shape,
so one compiled executable serves them all, and memory is bounded by the chunk.

:func:`default_chunk_size` sizes a chunk from free memory and :func:`lanes_for` shrinks it for
small batches (next power of two, so shapes still repeat).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

#: Mesh axis name of the lane (curve) axis.
AXIS = "curves"
#: Bytes per (start x padded point) of a curve, in units of 8, at the peak of a chunk: measured
#: 9.2 (Chinchilla, 64 starts, 32 and 64 points, 256-4096 curves per chunk; CPU), plus margin.
#: Multiplies ``8 * starts * padded points`` in :func:`default_chunk_size`.
BYTES_FACTOR = 12.0
#: Largest default chunk per device (CPU; accelerators use :data:`MAX_CHUNK_ACCEL`).
MAX_CHUNK_CPU = 1024
MAX_CHUNK_ACCEL = 16384


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


def run_in_chunks(
    fn: Callable[[Any, Any], Any],
    lane_data: Any,
    *,
    lanes: int,
    shared: Any = None,
    mesh: Mesh | None = None,
    prepare: Callable[[Any], Any] | None = None,
    progress: Callable[[int], object] | None = None,
) -> Any:
    """Call ``fn`` on fixed-size chunks of lanes; returns the results for every lane (numpy).

    Parameters
    ----------
    fn
        ``fn(block, shared)`` -> a pytree whose leaves have a leading axis of ``lanes`` (one
        entry per lane of the block). Normally a thin call of a compiled function.
    lane_data
        A pytree of host arrays sharing a leading lane axis of length ``n >= 1``.
    lanes
        Lanes per call (see :func:`lanes_for`); a multiple of the mesh size.
    shared
        A pytree passed to every call unchanged (replicated on the mesh's devices).
    mesh
        Devices to split every chunk over along its lane axis (default: :func:`curve_mesh`).
    prepare
        Host-side transform of a padded block before it is placed on the devices (for
        example, expanding each curve into its bootstrap resamples); its leaves must keep a
        leading axis divisible by the mesh size.
    progress
        Called with the number of real lanes finished, after each chunk.

    Returns
    -------
    pytree
        ``fn``'s outputs as numpy arrays with leading axis ``n``, in lane order.

    Raises
    ------
    ValueError
        On an empty lane axis or leaves of different lengths.
    """
    mesh = curve_mesh() if mesh is None else mesh
    leaves = jax.tree.leaves(lane_data)
    sizes = {int(np.shape(a)[0]) for a in leaves}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"run_in_chunks needs lanes of one non-zero length, got {sorted(sizes)}")
    n = sizes.pop()
    lanes = max(1, int(lanes))
    split = mesh.size > 1
    if split:
        sharded = NamedSharding(mesh, P(AXIS))
        shared = jax.device_put(shared, NamedSharding(mesh, P()))
    parts = []
    for lo in range(0, n, lanes):
        real = min(lanes, n - lo)
        idx = np.arange(lo, lo + lanes)
        idx[real:] = lo
        block = jax.tree.map(lambda a, i=idx: np.asarray(a)[i], lane_data)
        if prepare is not None:
            block = prepare(block)
        if split:
            block = jax.device_put(block, sharded)
        out = fn(block, shared)
        parts.append(jax.tree.map(lambda a, k=real: np.asarray(a)[:k], out))
        if progress is not None:
            progress(real)
    return jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *parts)


# ----------------------------------------------------------------------------- resource plans

#: Share of the available memory one run may plan to use.
MEMORY_FRACTION = 0.8


class ResourceError(ValueError):
    """A run that would need more memory than is available, refused before it starts."""


def gigabytes(n: float) -> str:
    """``n`` bytes as a short human figure (``"1.2 GB"``, ``"340 MB"``)."""
    if n >= 1e12:
        return f"{n / 1e12:.3g} TB"
    return f"{n / 1e9:.3g} GB" if n >= 1e9 else f"{n / 1e6:.3g} MB"


def round_down(n: int) -> int:
    """``n`` rounded down to two significant figures (``2500555 -> 2500000``)."""
    if n < 100:
        return int(n)
    unit = 10 ** (len(str(int(n))) - 2)
    return int(n) // unit * unit


def fit_bytes(n_starts: int, n_points: int, n_params: int) -> float:
    """Peak bytes of a multi-start fit of one curve: every start's residuals and BFGS state
    (the :data:`BYTES_FACTOR` measured per start x point, plus ``P x P`` per start)."""
    per_start = 8.0 * (BYTES_FACTOR * max(1, n_points) + 4 * n_params**2 + 32 * n_params)
    return max(1, n_starts) * per_start


def bootstrap_bytes(
    n_resamples: int, n_points: int, n_params: int, lanes: int = 1000, n_starts: int = 1
) -> tuple[float, float]:
    """``(fixed, per_resample)`` bytes of a bootstrap of one curve: the compiled chunk of
    ``lanes`` refits, then per resample its counts on the host and its draws."""
    fixed = min(lanes, max(1, n_resamples)) * fit_bytes(n_starts, n_points, n_params)
    return fixed, 8.0 * (max(1, n_points) + 4 * n_params + 4)


def nuts_bytes(n_points: int, n_params: int) -> float:
    """Bytes per kept draw of one chain: the draws, their statistics, and the pointwise
    log-likelihood and predictions kept for LOO and the report."""
    return 8.0 * (3 * n_params + 3 * max(1, n_points) + 16)


def require_memory(
    need: float,
    what: str,
    option: str,
    per_unit: float,
    fixed: float = 0.0,
    memory: tuple[int, bool] | None = None,
) -> None:
    """Refuse a run whose memory estimate exceeds :data:`MEMORY_FRACTION` of what is free.

    Parameters
    ----------
    need
        Estimated peak bytes.
    what
        The run, for the message (e.g. ``"--starts 50000000 on 240 points"``).
    option
        The setting that scales the run, named in the suggestion (e.g. ``"--starts"``).
    per_unit, fixed
        Bytes per unit of ``option`` and bytes that do not depend on it, to say how many
        units fit.
    memory
        ``(bytes, per_device)`` as from :func:`available_memory` (queried when ``None``).

    Raises
    ------
    ResourceError
        With one sentence: the estimate, the limit, and a setting that fits.
    """
    free, per_device = available_memory() if memory is None else memory
    limit = MEMORY_FRACTION * free
    if need <= limit:
        return
    fits = round_down(int(max(0.0, limit - fixed) // max(per_unit, 1.0)))
    where = "on the accelerator" if per_device else "in the memory available"
    advice = (
        f"use {option} {fits} or fewer"
        if fits >= 1
        else "even 1 does not fit; use a machine with more memory"
    )
    raise ResourceError(
        f"{what} needs ~{gigabytes(need)} of memory; at most {gigabytes(limit)} fit {where} "
        f"({gigabytes(free)} free): {advice}"
    )
