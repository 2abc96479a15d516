"""Learning-rate areas for the annealing scaling law (Tissue et al. 2024).

Tissue, Wang and Wang, "Scaling Law with Learning Rate Annealing" (arXiv:2408.11029), model the
validation loss at step ``s`` as ``L(s) = L0 + A S1^-alpha - C S2`` with two areas under the
per-step learning-rate schedule ``eta_1, eta_2, ...``:

* forward area ``S1(s) = sum_{i=1..s} eta_i``;
* annealing area with momentum ``S2(s) = sum_{i=1..s} m_i``, where
  ``m_i = lambda m_{i-1} + (eta_{i-1} - eta_i)``, ``m_0 = 0`` and ``lambda`` is a fixed decay
  factor (0.999 in the paper; it is a setting, not a fitted parameter).

Conventions here: the warm-up is left out of both areas (``warmup="auto"``: the steps before
the learning rate first reaches the peak of its initial non-decreasing run; their areas are 0),
and ``eta_0`` is the learning rate of the first step counted, so a constant schedule has
``S2 = 0``. Counting a warm-up from 0 to ``eta_max`` would add about ``-eta_max / (1 - lambda)``
to ``S2`` (``-1000 eta_max`` at ``lambda = 0.999``), which swamps a whole cosine anneal.
``warmup=w`` leaves out the first ``w`` steps instead, and ``warmup=0`` counts every step. A rise
later on (re-warm-up) gives negative ``eta_{i-1} - eta_i`` and lowers ``S2``, as the paper treats
re-warm-up. At step 0 (before any update) ``S1 = S2 = 0``.

:func:`annealing_areas` works on one per-step schedule (a numpy array); :func:`add_annealing_areas`
adds ``S1`` and ``S2`` columns to a table of evaluations, from the table's own per-step learning
rates or from a separate schedule (one array, or a table with one schedule per group). Both are
pure: inputs are validated (:class:`~bayescale.data.DataError`) and never modified.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from bayescale.data.io import DataError

#: The paper's decay factor of the annealing momentum.
DEFAULT_DECAY = 0.999
#: Relative change of the learning rate below which ``warmup="auto"`` sees no change.
_AUTO_RTOL = 1e-6


class Areas(NamedTuple):
    """Learning-rate areas after each step of a schedule.

    Attributes
    ----------
    S1
        Forward area after steps ``1..T``, ``(T,)``.
    S2
        Annealing area after steps ``1..T``, ``(T,)``.
    """

    S1: np.ndarray
    S2: np.ndarray


def _check_lr(lr: object, what: str = "learning-rate schedule") -> np.ndarray:
    try:
        arr = np.asarray(lr, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"the {what} must be numeric, got {type(lr).__name__}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise DataError(
            f"the {what} must be a non-empty 1-D array (one learning rate per step), "
            f"got shape {arr.shape}"
        )
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr >= 0)))
    if bad.size:
        shown = ", ".join(str(i + 1) for i in bad[:10]) + (", ..." if bad.size > 10 else "")
        raise DataError(
            f"the {what} has {bad.size} negative or non-finite learning rates (at steps "
            f"{shown}); learning rates must be finite and >= 0"
        )
    return arr


def _warmup_steps(eta: np.ndarray, warmup: object) -> int:
    """Number of steps left out; for ``"auto"`` the steps before the warm-up's peak.

    The warm-up is the initial run over which the learning rate never decreases (flat stretches,
    e.g. a stepwise warm-up or a floor, included); it ends at the first step that reaches that
    run's maximum, which is the first step counted. Changes below :data:`_AUTO_RTOL` (relative)
    are round-off, not a rise or a fall.
    """
    if isinstance(warmup, str) and warmup == "auto":
        down = np.flatnonzero(eta[1:] < eta[:-1] * (1.0 - _AUTO_RTOL))
        run = eta[: int(down[0]) + 1] if down.size else eta
        return int(np.argmax(run >= run.max() * (1.0 - _AUTO_RTOL)))
    if isinstance(warmup, bool) or not isinstance(warmup, int | np.integer) or warmup < 0:
        raise DataError(
            f"warmup must be 'auto' or an integer >= 0 (steps left out), got {warmup!r}"
        )
    if warmup >= eta.size:
        raise DataError(f"warmup={warmup} leaves out every step of a {eta.size}-step schedule")
    return int(warmup)


def _check_decay(decay: float) -> float:
    try:
        lam = float(decay)
    except (TypeError, ValueError):
        lam = math.nan
    if not 0.0 <= lam <= 1.0:
        raise DataError(f"decay (the momentum factor lambda) must be in [0, 1], got {decay!r}")
    return lam


def _momentum(d: np.ndarray, lam: float) -> np.ndarray:
    """``m_i = lam m_{i-1} + d_i`` (``m_0 = 0``), vectorised and without overflow.

    Within a block of ``K`` steps ``m_{t+j} = lam^j (lam m_{t-1} + sum_{k<=j} lam^-k d_{t+k})``;
    ``K`` keeps ``lam^-K`` below ``e^300``, so one block covers 300,000 steps at ``lam = 0.999``.
    """
    if lam == 0.0:
        return d.copy()
    block = d.size if lam == 1.0 else max(1, int(300.0 / -math.log(lam)))
    out = np.empty_like(d)
    carry = 0.0
    for start in range(0, d.size, block):
        seg = d[start : start + block]
        j = np.arange(seg.size, dtype=np.float64)
        up = lam**j
        out[start : start + seg.size] = up * (lam * carry + np.cumsum(seg / up))
        carry = out[start + seg.size - 1]
    return out


def annealing_areas(
    lr: object, *, decay: float = DEFAULT_DECAY, warmup: int | str = "auto"
) -> Areas:
    """Forward and annealing areas of a per-step learning-rate schedule.

    Parameters
    ----------
    lr
        Learning rate of every step, ``lr[i]`` for step ``i + 1``, shape ``(T,)``.
    decay
        Momentum factor ``lambda`` of the annealing area (0.999 in Tissue et al.).
    warmup
        Initial steps left out of both areas (their areas are 0): ``"auto"`` leaves out the
        warm-up, the steps before the learning rate first reaches the peak of its initial
        non-decreasing run (none if the first step is that peak); an integer, that many steps.

    Returns
    -------
    Areas
        ``S1`` and ``S2`` after each step, each ``(T,)``.

    Raises
    ------
    DataError
        If the schedule is empty, not 1-D, non-numeric, has negative or non-finite values, or
        an option is out of range.

    Examples
    --------
    >>> a = annealing_areas([1.0, 1.0, 0.5, 0.5], decay=0.5)
    >>> a.S1.tolist(), a.S2.tolist()
    ([1.0, 2.0, 2.5, 3.0], [0.0, 0.0, 0.5, 0.75])
    >>> annealing_areas([0.5, 1.0, 1.0, 0.5], decay=0.5).S2.tolist()  # warm-up step left out
    [0.0, 0.0, 0.0, 0.5]
    """
    eta = _check_lr(lr)
    lam = _check_decay(decay)
    w = _warmup_steps(eta, warmup)
    s1 = np.zeros_like(eta)
    s2 = np.zeros_like(eta)
    live = eta[w:]
    d = np.concatenate([[0.0], live[:-1] - live[1:]])
    s1[w:] = np.cumsum(live)
    s2[w:] = np.cumsum(_momentum(d, lam))
    return Areas(s1, s2)


def _group_list(group: Hashable | Sequence[Hashable] | None) -> list[Hashable]:
    if group is None:
        return []
    if isinstance(group, str) or not isinstance(group, Sequence):
        return [group]
    return list(group)


def _steps(df: pd.DataFrame, column: Hashable, what: str) -> np.ndarray:
    if column not in df.columns:
        raise DataError(f"{what} has no step column {column!r}; it has columns {list(df.columns)}")
    s = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~(np.isfinite(s) & (s >= 0) & (s == np.round(s)))
    if bad.any():
        rows = list(df.index[bad][:10])
        raise DataError(
            f"{what}: column {column!r} must hold whole step numbers >= 0; {int(bad.sum())} "
            f"rows do not (rows {', '.join(map(str, rows))}{', ...' if bad.sum() > 10 else ''})"
        )
    return s.astype(np.int64)


def _with_zero(step: Hashable, a: Areas) -> pd.DataFrame:
    """Areas per step ``0..T`` as a table (zero areas at step 0)."""
    n = a.S1.size
    return pd.DataFrame({step: np.arange(n + 1), "S1": np.r_[0.0, a.S1], "S2": np.r_[0.0, a.S2]})


def _areas_table(
    sched: pd.DataFrame,
    keys: list[Hashable],
    step: Hashable,
    lr: Hashable,
    lam: float,
    w: int | str,
) -> pd.DataFrame:
    """Per-step areas of every schedule in a long table; adds step 0 with zero areas."""
    if lr not in sched.columns:
        raise DataError(
            f"the schedule has no learning-rate column {lr!r}; it has columns {list(sched.columns)}"
        )
    sched = sched.reset_index(drop=True)
    steps = _steps(sched, step, "the schedule")
    parts = []
    groups = sched.groupby(keys, dropna=False, sort=False) if keys else [((), sched)]
    for key, part in groups:
        pos = part.index.to_numpy()
        pos = pos[steps[pos] > 0]
        s = steps[pos]
        order = np.argsort(s, kind="stable")
        label = f" of group {key!r}" if keys else ""
        if s.size == 0 or not np.array_equal(s[order], np.arange(1, s.size + 1)):
            raise DataError(
                f"the schedule{label} must list every step 1..T exactly once (one learning "
                f"rate per optimiser step); it has {s.size} steps from {s.min() if s.size else 0} "
                f"to {s.max() if s.size else 0}. Evaluations logged every few steps need the full "
                "per-step schedule passed as schedule="
            )
        eta = _check_lr(sched[lr].to_numpy()[pos][order], f"learning-rate schedule{label}")
        a = annealing_areas(eta, decay=lam, warmup=w)
        frame = _with_zero(step, a)
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True):
            frame[k] = v
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def add_annealing_areas(
    table: pd.DataFrame,
    schedule: object = None,
    *,
    step: Hashable = "step",
    lr: Hashable = "lr",
    group: Hashable | Sequence[Hashable] | None = None,
    decay: float = DEFAULT_DECAY,
    warmup: int | str = "auto",
) -> pd.DataFrame:
    """Add the learning-rate areas ``S1`` and ``S2`` to a table of evaluations.

    Parameters
    ----------
    table
        One row per evaluation, with a ``step`` column (whole steps >= 0) and, with ``group``,
        the group columns. Not modified.
    schedule
        Where the per-step learning rates come from:

        * ``None``: the table itself lists every step ``1..T`` (per group) with its learning
          rate in column ``lr``; a row at step 0 gets zero areas.
        * a 1-D array: one schedule for every row, ``schedule[i]`` the learning rate of step
          ``i + 1``; it must cover the table's largest step.
        * a DataFrame with ``step`` and ``lr`` columns (and the group columns): every step
          ``1..T`` of every group's schedule.
    step, lr
        Names of the step and learning-rate columns.
    group
        Column name(s) identifying a run; each run has its own schedule.
    decay
        Momentum factor ``lambda`` of the annealing area (0.999 in Tissue et al.).
    warmup
        Initial steps of every schedule left out of both areas: ``"auto"`` (the warm-up, up to
        the first peak of the learning rate) or a number of steps; see
        :func:`annealing_areas`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with float64 columns ``S1`` and ``S2`` (the law ``lr_annealing``'s
        inputs), in the table's row order.

    Raises
    ------
    DataError
        If a schedule is shorter than the steps it must cover (a schedule of the wrong length),
        skips or repeats steps, has negative or non-finite learning rates, a row's group has no
        schedule, or a column is missing.

    Examples
    --------
    >>> evals = pd.DataFrame({"step": [2, 4], "loss": [3.1, 2.9]})
    >>> add_annealing_areas(evals, [1.0, 1.0, 0.5, 0.5], decay=0.5)[["S1", "S2"]].values.tolist()
    [[2.0, 0.0], [3.0, 0.75]]
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"add_annealing_areas needs a pandas DataFrame, got {type(table).__name__}")
    if len(table) == 0:
        raise DataError("the table is empty: it has no rows")
    keys = _group_list(group)
    missing = [k for k in keys if k not in table.columns]
    if missing:
        raise DataError(f"group columns {missing} are not in the table {list(table.columns)}")
    lam = _check_decay(decay)
    steps = _steps(table, step, "the table")
    if schedule is None:
        areas = _areas_table(table, keys, step, lr, lam, warmup)
    elif isinstance(schedule, pd.DataFrame):
        absent = [k for k in keys if k not in schedule.columns]
        if absent:
            raise DataError(f"the schedule lacks the group columns {absent}")
        areas = _areas_table(schedule, keys, step, lr, lam, warmup)
    else:
        eta = _check_lr(schedule)
        if steps.max() > eta.size:
            raise DataError(
                f"the learning-rate schedule has the wrong length: it has {eta.size} entries "
                f"(steps 1..{eta.size}) but the table has steps up to {steps.max()}; pass one "
                "learning rate per optimiser step, not one per evaluation"
            )
        areas = _with_zero(step, annealing_areas(eta, decay=lam, warmup=warmup))
        keys = []
    left = table[keys].copy() if keys else pd.DataFrame(index=table.index)
    left[step] = steps
    merged = left.reset_index(drop=True).merge(
        areas, how="left", on=[*keys, step], validate="many_to_one"
    )
    lost = merged["S1"].isna().to_numpy()
    if lost.any():
        rows = list(table.index[lost][:10])
        raise DataError(
            f"{int(lost.sum())} rows have no learning rate for their step in the schedule (rows "
            f"{', '.join(map(str, rows))}): their step is beyond the end of their group's "
            "schedule, or their group has no schedule (a schedule of the wrong length?)"
        )
    out = table.copy()
    out["S1"] = merged["S1"].to_numpy(dtype=np.float64)
    out["S2"] = merged["S2"].to_numpy(dtype=np.float64)
    return out
