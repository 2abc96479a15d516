"""The explore stage's options: an optax first-order optimiser in lock-step over the starts,
and exploring in float32. Both must reach the float64 BFGS optimum of Epoch's 240 Chinchilla
points from Hoffmann's 4,500-start grid (Huber loss, delta 1e-3), and same shapes must not
retrace."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest
from helpers import COUNTED_POWER, TRACES

import bayescale as bs
from bayescale import enable_x64
from bayescale.laws import grid_starts, random_starts
from bayescale.optimize.multistart import FitConfig, fit_multistart
from bayescale.status import CONVERGED

#: E, A, B, alpha, beta: the parameters compared to 4 significant digits.
NAMES = ("E", "A", "B", "alpha", "beta")


def _chinchilla(d: dict[str, np.ndarray]) -> bs.Data:
    return bs.Data(
        {"N": jnp.asarray(d["N"]), "D": jnp.asarray(d["D"])},
        jnp.log(jnp.asarray(d["loss"])),
        jnp.ones(len(d["loss"])),
    )


def _named(law: bs.Law, result: bs.MultiStartResult) -> dict[str, float]:
    # natural space, in the law's order a, b, e, alpha, beta: A = exp(a), B, E likewise
    assert [p.name for p in law.params] == ["a", "b", "e", "alpha", "beta"]
    return dict(zip(("A", "B", "E", "alpha", "beta"), map(float, result.params), strict=True))


@pytest.fixture(scope="module")
def reference(chinchilla_240) -> dict[str, float]:
    """The float64 optimum with BFGS exploration (the default before issue 15)."""
    law = bs.get_law("chinchilla")
    config = FitConfig(explore_optimizer="bfgs")
    with enable_x64():
        starts = jnp.asarray(grid_starts(law, "hoffmann"))
        data = _chinchilla(chinchilla_240)
        return _named(law, fit_multistart(starts, data, law, bs.Loss(), config))


@pytest.mark.parametrize(
    "config",
    [
        FitConfig(),
        FitConfig(explore_dtype="float32"),
        FitConfig(explore_optimizer="bfgs", explore_dtype="float32"),
    ],
    ids=["adam-default", "adam-float32", "bfgs-float32"],
)
def test_explore_option_reaches_the_float64_optimum(chinchilla_240, reference, config) -> None:
    """The default adam exploration, and float32 exploration (adam or BFGS) with a float64
    polish, reproduce the BFGS-explored float64 optimum to 4 significant digits in E, A, B,
    alpha and beta."""
    law = bs.get_law("chinchilla")
    with enable_x64():
        starts = jnp.asarray(grid_starts(law, "hoffmann"))
        res = fit_multistart(starts, _chinchilla(chinchilla_240), law, bs.Loss(), config)
    got = _named(law, res)
    assert res.params.dtype == jnp.float64 and res.start_theta.dtype == jnp.float64
    assert int(res.status) == CONVERGED
    for name in NAMES:
        assert f"{got[name]:.4g}" == f"{reference[name]:.4g}", name
        assert got[name] == pytest.approx(reference[name], rel=1e-5), name


def test_optax_explore_same_shapes_do_not_retrace() -> None:
    """A spec ``(name, *args)`` is hashable and equal across calls, so a same-shaped second
    fit reuses the compiled call; so does the same transformation object."""
    law = COUNTED_POWER._replace(name="counted_power_optax_explore")
    x = np.geomspace(1e7, 1e10, 24)
    starts = jnp.asarray(random_starts(law, 8, seed=0))
    tx = optax.sgd(1e-2, momentum=0.9)
    configs = (
        FitConfig(explore_optimizer=("adam", 0.1), polish=2, max_steps=100, restarts=0),
        FitConfig(explore_optimizer=tx, explore_dtype="float32", polish=2, max_steps=100),
    )
    for config in configs:
        with enable_x64():
            for i, scale in enumerate((1.0, 1.01, 0.99)):
                data = bs.Data(
                    {"x": jnp.asarray(x * scale)},
                    jnp.log(jnp.asarray(1.7 + 200 * x**-0.3)),
                    jnp.ones(24),
                )
                res = fit_multistart(starts, data, law, bs.Loss("squared"), config)
                if i == 0:
                    after_first = TRACES["n"]
        assert TRACES["n"] == after_first, f"a same-shaped second fit retraced ({config})"
        assert np.isfinite(float(res.objective))
    assert FitConfig() == configs[0]._replace(polish=16, max_steps=1000, restarts=1)
    assert isinstance(configs[1].settings()["explore_optimizer"], str)  # JSON-ready


def test_an_optax_explored_fit_saves_and_loads(tmp_path) -> None:
    """The spec survives a save/load round trip (JSON has no tuples); an optax object is
    saved by its type name."""
    x = np.geomspace(1e7, 1e10, 16)
    table = pd.DataFrame({"N": x, "loss": 1.7 + 200 * x**-0.3})
    config = FitConfig(explore_optimizer=("adam", 0.1), polish=2, max_steps=200, restarts=0)
    fit = bs.fit(table, "power", starts=8, config=config)
    loaded = bs.load_fit(bs.save_fit(fit, tmp_path / "fit"))
    assert loaded.config == config
    # to_dict is JSON-ready: the spec is a list, before and after the round trip
    assert fit.to_dict()["optimizer"]["explore_optimizer"] == ["adam", 0.1]
    assert loaded.to_dict() == json.loads(json.dumps(fit.to_dict()))
    with pytest.raises(ValueError, match="explore_optimizer"):
        bs.fit(table, "power", starts=8, config=config._replace(explore_optimizer="lbfgs"))
