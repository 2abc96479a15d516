"""Test helpers shared across directories: simulated curves and a trace-counting law.

Import as ``from helpers import ...`` (``tests/`` is on ``sys.path`` through ``conftest.py``'s
rootdir insertion by pytest).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd

import bayescale as bs
from bayescale.laws.power import power_log_loss as power

TRACES = {"n": 0}


def counted_power(p, x):
    """The power law, counting traces; NaN for x > 1e13 (to build non-finite curves)."""
    TRACES["n"] += 1
    return jnp.where(x["x"] > 1e13, jnp.nan, power(p, x))


#: The power law under another name, counting how often JAX traces it.
COUNTED_POWER = bs.make_law("counted_power", counted_power, bs.get_law("power").params, ("x",))


def power_curves(n: int, rng: np.random.Generator, lengths=(12, 20, 32)) -> pd.DataFrame:
    """``n`` power-law curves (group ``run``), E, A, alpha jittered around 1.7, 200, 0.3."""
    frames = []
    for g in range(n):
        k = int(rng.choice(lengths))
        x = np.exp(rng.uniform(np.log(1e7), np.log(1e10), k))
        e, a = 1.7 * np.exp(rng.normal(0, 0.05)), 200 * np.exp(rng.normal(0, 0.2))
        loss = (e + a * x ** -(0.3 + rng.normal(0, 0.02))) * np.exp(
            rng.normal(0, rng.uniform(0.01, 0.02), k)
        )
        frames.append(pd.DataFrame({"run": g, "N": x, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


def chinchilla_curves(n: int, rng: np.random.Generator, lengths=(12, 30)) -> pd.DataFrame:
    """``n`` chinchilla-law curves (group ``run``) around Hoffmann et al.'s parameters."""
    frames = []
    for g in range(n):
        k = int(rng.choice(lengths))
        big_n = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), k))
        d = big_n * np.exp(rng.uniform(0.0, np.log(300.0), k))
        e, a, b = (
            v * np.exp(rng.normal(0, s)) for v, s in ((1.69, 0.05), (406.4, 0.2), (410.7, 0.2))
        )
        alpha, beta = 0.34 + rng.normal(0, 0.02), 0.28 + rng.normal(0, 0.02)
        loss = (e + a * big_n**-alpha + b * d**-beta) * np.exp(
            rng.normal(0, rng.uniform(0.01, 0.02), k)
        )
        frames.append(pd.DataFrame({"run": g, "N": big_n, "D": d, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


def bent_curves(n: int, rng: np.random.Generator, n_points: int = 24) -> pd.DataFrame:
    """``n`` curves (group ``run``) from a smoothly broken power law (Caballero et al.), for
    fitting with ``power``: a law other than the one that made them. One x grid, 1e6 to 1e10."""
    frames = []
    x = np.geomspace(1e6, 1e10, n_points)
    for g in range(n):
        a, b = 1.7 * np.exp(rng.normal(0, 0.1)), 60 * np.exp(rng.normal(0, 0.3))
        d1, c1 = 10 ** rng.uniform(7.5, 9.5), rng.uniform(-0.15, 0.2)
        y = a + b * x**-0.25 * (1 + (x / d1) ** 2) ** (-c1 / 2)
        loss = y * np.exp(rng.normal(0, rng.uniform(0.005, 0.015), n_points))
        frames.append(pd.DataFrame({"run": g, "N": x, "loss": loss}))
    return pd.concat(frames, ignore_index=True)


#: A law that ignores its input (L = E): a clearly wrong law for stacking tests.
FLAT = bs.make_law(
    "flat",
    lambda p, x: p["e"] + 0.0 * jnp.log(x["x"]),
    [bs.ParamSpec("e", "E", "exp", -1.0, 2.0, ("normal", 0.5, 1.0), (0.0, 0.5, 1.0))],
    ("x",),
)
