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

Multi-host use. ``jax.sharding`` meshes here span ``jax.local_devices()``. On several hosts,
call ``jax.distributed.initialize()`` first and then either (a) let every host fit its own
slice of the groups - split the table by group key (e.g. ``hash(key) % jax.process_count()
== jax.process_index()``), call :func:`bayescale.fit_groups` on each host with the
default local mesh and concatenate the tables afterwards; curves are independent, so this needs
no communication and is the recommended route - or (b) build a global mesh with
``jax.sharding.Mesh(np.array(jax.devices()), ("curves",))``, assemble every chunk as a global
array with ``jax.make_array_from_process_local_data`` and pass that mesh to
:func:`fit_curves`; every host must then run the same sequence of chunks.
"""

from __future__ import annotations

from functools import partial

import jax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from bayescale.lanes import AXIS
from bayescale.laws.spec import Law
from bayescale.likelihood import Data, Objective
from bayescale.optimize.multistart import FitConfig, MultiStartResult, minimise_starts


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
