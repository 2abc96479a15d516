"""Small compatibility helpers for the range of JAX versions bayescale supports."""

from __future__ import annotations

import contextlib

import jax


def enable_x64() -> contextlib.AbstractContextManager:
    """Context manager that turns on float64 (``jax.enable_x64`` where it exists)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64 as _enable  # JAX < 0.8

    return _enable()
