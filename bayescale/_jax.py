"""float64 for bayescale's public entry points, without changing JAX's global setting.

Importing bayescale leaves ``jax_enable_x64`` alone. Public boundary functions are decorated
with :func:`x64`, so they and everything they call compute in float64; code inside the package
does not open the context again.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import jax

P = ParamSpec("P")
R = TypeVar("R")


def enable_x64() -> contextlib.AbstractContextManager:
    """Context manager that turns on float64 (``jax.enable_x64``)."""
    return jax.enable_x64(True)


def x64(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``fn`` with float64 enabled (for public boundary functions)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper
