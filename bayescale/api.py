"""The one-call level: from a table (or a bundled example) to a fitted law.

:func:`fit` reads and validates the data, resolves the starts, runs the compiled multi-start
fitter (:func:`bayescale.fit.multistart.fit_multistart`) in float64, and returns a
:class:`Fit` - a NamedTuple of plain values and numpy arrays that serialises to JSON.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale._jax import enable_x64
from bayescale.data import Prepared, prepare, read_table
from bayescale.fit.multistart import STATUS, STATUS_MESSAGES, FitConfig, fit_multistart
from bayescale.laws import Law, get_law, grid_starts, random_starts
from bayescale.likelihood import Data, Loss, Noise, check_objective, extra_names, n_extra

#: Default start of the noise scale ``log_sigma`` when fitting a Noise objective.
LOG_SIGMA_START = -5.0


class Fit(NamedTuple):
    """A fitted law and how it was obtained (plain values and numpy arrays).

    Attributes
    ----------
    law
        The law's registry name.
    objective
        The :class:`~bayescale.likelihood.Loss` or :class:`~bayescale.likelihood.Noise` minimised.
    data
        The prepared data (arrays, column provenance, filters).
    starts
        Description of the starts: ``{"kind": "grid", "name": ..., "n": ...}``,
        ``{"kind": "random", "n": ..., "seed": ...}`` or ``{"kind": "array", "n": ...}``.
    config
        Optimiser settings.
    result
        :class:`~bayescale.fit.multistart.MultiStartResult` with numpy arrays.
    seconds
        Wall time of the fit, compilation included.
    draws
        :class:`~bayescale.uncertainty.Draws` from the bootstrap or NUTS, or ``None``.
    """

    law: str
    objective: Loss | Noise
    data: Prepared
    starts: dict
    config: FitConfig
    result: Any
    seconds: float
    draws: Any = None

    @property
    def names(self) -> tuple[str, ...]:
        """Natural parameter names (plus noise parameters)."""
        return get_law(self.law).natural_names + extra_names(self.objective)

    @property
    def params(self) -> dict[str, float]:
        """Best parameters in natural space, by natural name."""
        return dict(zip(self.names, map(float, self.result.params), strict=True))

    @property
    def theta(self) -> dict[str, float]:
        """Best parameters in fit space, by fit-space name."""
        names = get_law(self.law).param_names + extra_names(self.objective)
        return dict(zip(names, map(float, self.result.theta), strict=True))

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``--json`` output)."""
        r = self.result
        status = np.asarray(r.start_status)
        obj = self.objective
        return {
            "law": self.law,
            "n_points": int(len(self.data.loss)),
            "filters": list(self.data.filters),
            "params": self.params,
            "theta": self.theta,
            "objective": float(r.objective),
            "objective_spec": {"type": type(obj).__name__.lower(), **obj._asdict()},
            "status": STATUS[int(r.status)],
            "message": STATUS_MESSAGES[int(r.status)],
            "grad_norm": float(r.grad_norm),
            "starts": {
                **self.starts,
                "n": int(status.size),
                "converged": int(np.sum(status == 0)),
                "near_best": int(r.n_near_best),
                "status_counts": {s: int(np.sum(status == i)) for i, s in enumerate(STATUS)},
            },
            "optimizer": {"name": "optimistix.BFGS", **self.config._asdict()},
            "columns": {k: str(v) for k, v in self.data.columns.items()},
            "derived": dict(self.data.derived),
            "flops_per_token": self.data.flops_per_token,
            "n_input_rows": int(self.data.n_input_rows),
            "seconds": round(float(self.seconds), 4),
            **({"draws": self._draws_summary()} if self.draws is not None else {}),
        }

    def _draws_summary(self) -> dict:
        from bayescale.uncertainty import draws_summary

        return draws_summary(self, self.draws)


def to_data(prepared: Prepared) -> Data:
    """Arrays of a :class:`~bayescale.data.Prepared` as float64 JAX :class:`Data`."""
    with enable_x64():
        return Data(
            x={k: jnp.asarray(v, dtype=jnp.float64) for k, v in prepared.x.items()},
            log_y=jnp.log(jnp.asarray(prepared.loss, dtype=jnp.float64)),
            weight=jnp.ones(len(prepared.loss), dtype=jnp.float64),
        )


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
        want = (law.n_params, law.n_params + n_extra(objective))
        if arr.ndim != 2 or arr.shape[1] not in want or arr.shape[0] < 1:
            raise ValueError(
                f"explicit starts must have shape (S, {law.n_params}) for law {law.name!r} "
                f"(parameters {list(law.param_names)}, fit space); got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("explicit starts contain non-finite values")
        desc = {"kind": "array"}
    if arr.shape[1] == law.n_params and n_extra(objective):
        arr = np.concatenate([arr, np.full((arr.shape[0], 1), LOG_SIGMA_START)], axis=1)
    return arr, desc


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
        likelihood with a free noise scale).
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
        n_params=law.n_params + n_extra(objective),
    )
    arr, desc = resolve_starts(law, starts, seed, objective)
    with enable_x64():
        result = fit_multistart(jnp.asarray(arr), to_data(prepared), law, objective, config)
        result = jax.tree.map(np.asarray, result)
    return Fit(law.name, objective, prepared, desc, config, result, time.perf_counter() - t0)
