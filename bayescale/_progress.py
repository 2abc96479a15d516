"""The one progress convention: callbacks receive increments.

Every long-running function takes ``progress``: ``False`` (silent), ``True`` (a tqdm bar on
standard error) or a callable that is called with the number of units just finished (curves,
resamples, iterations). :func:`reporter` turns any of these into a callable or ``None`` for
the duration of a ``with`` block, closing the bar it opened.

Compiled NUTS scans report to the host through ``jax.debug.callback``; that callback cannot
carry a Python object, so it reaches the current reporter through :func:`tick`, which reads
the package's one piece of mutable global state (:func:`scan_reporter` sets it for one run).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import numpy as np
from tqdm.auto import tqdm

Callback = Callable[[int], object]
#: The reporter the compiled NUTS scan ticks (one run at a time).
_SCAN: dict[str, Callback | None] = {"update": None}


@contextlib.contextmanager
def reporter(
    progress: bool | Callback | None, total: int, desc: str, unit: str = "it"
) -> Iterator[Callback | None]:
    """A progress callback for a ``with`` block (``None`` when ``progress`` is falsy).

    Parameters
    ----------
    progress
        ``True`` opens a tqdm bar on standard error (closed on exit); a callable is used as it
        is; ``False`` or ``None`` gives ``None``.
    total
        Units of work, for the bar.
    desc, unit
        The bar's label and unit.

    Yields
    ------
    callable or None
        Call it with the number of units just finished.
    """
    if callable(progress):
        yield progress
        return
    if not progress:
        yield None
        return
    bar = tqdm(total=int(total), desc=desc, unit=unit, file=sys.stderr, leave=False)
    try:
        yield bar.update
    finally:
        bar.close()


@contextlib.contextmanager
def scan_reporter(update: Callback | None) -> Iterator[None]:
    """Route :func:`tick` to ``update`` while a compiled scan runs."""
    previous, _SCAN["update"] = _SCAN["update"], update
    try:
        yield
    finally:
        _SCAN["update"] = previous


def tick(n: object) -> None:
    """Host callback of a compiled scan: report ``n`` more iterations (summed over chains)."""
    update = _SCAN["update"]
    if update is not None:
        update(int(np.sum(n)))
