"""Registry conformance: every registered law, plus user registration and its errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayescale as bs
from bayescale._jax import enable_x64
from bayescale.laws import grid_starts, predict_log, random_starts, to_fit, to_natural


@pytest.mark.parametrize("name", bs.list_laws())
def test_registry_conformance(name: str) -> None:
    law = bs.get_law(name)
    assert len(set(law.param_names)) == law.n_params
    rng = np.random.default_rng(0)
    x = {k: jnp.asarray(10 ** rng.uniform(2, 10, 50)) for k in law.inputs}
    starts = random_starts(law, 64, seed=1)
    lo = np.array([p.lower for p in law.params])
    hi = np.array([p.upper for p in law.params])
    assert np.all((starts >= lo) & (starts <= hi))
    with enable_x64():
        mid = jnp.asarray((lo + hi) / 2)
        out = jax.jit(lambda th, x: predict_log(law, th, x))(mid, x)
        assert out.shape == (50,) and bool(jnp.all(jnp.isfinite(out)))
        batched = jax.vmap(lambda th: predict_log(law, th, x))(jnp.asarray(starts))
        assert batched.shape == (64, 50) and bool(jnp.all(jnp.isfinite(batched)))
    nat = to_natural(law, starts)
    np.testing.assert_allclose(to_fit(law, nat), starts, rtol=1e-12, atol=1e-12)
    if all(p.grid for p in law.params):
        g = grid_starts(law)
        assert g.shape == (int(np.prod([len(p.grid) for p in law.params])), law.n_params)


def test_hoffmann_grid_is_exactly_the_published_grid() -> None:
    law = bs.get_law("chinchilla")
    g = grid_starts(law, "hoffmann")
    assert g.shape == (4500, 5)
    assert law.param_names == ("a", "b", "e", "alpha", "beta")
    for j, values in enumerate(
        [[0, 5, 10, 15, 20, 25]] * 2 + [[-1, -0.5, 0, 0.5, 1]] + [[0, 0.5, 1, 1.5, 2]] * 2
    ):
        assert sorted(set(g[:, j])) == values
    assert len({tuple(r) for r in g}) == 4500


def test_chinchilla_matches_the_formula() -> None:
    law = bs.get_law("chinchilla")
    N, D = np.array([1e8, 7e10]), np.array([2e9, 1.4e12])
    E, A, B, al, be = 1.69, 406.4, 410.7, 0.34, 0.28
    with enable_x64():
        theta = jnp.asarray([np.log(A), np.log(B), np.log(E), al, be])
        got = np.exp(
            np.asarray(predict_log(law, theta, {"N": jnp.asarray(N), "D": jnp.asarray(D)}))
        )
    np.testing.assert_allclose(got, E + A / N**al + B / D**be, rtol=1e-13)


def test_user_law_registration_and_use() -> None:
    spec = [
        bs.ParamSpec("e", "E", "exp", -1, 1, ("normal", 0, 1), (0.0, 0.5)),
        bs.ParamSpec("a", "A", "exp", 0, 10, ("normal", 3, 3), (2.0, 5.0)),
        bs.ParamSpec("alpha", "alpha", "identity", 0, 1, ("uniform", 0, 2), (0.2, 0.5)),
    ]

    @bs.register_law(name="test_floor_power", params=spec, inputs=("N",), overwrite=True)
    def floor_power(p, x):
        """L = E + A N^-alpha."""
        return jnp.logaddexp(p["e"], p["a"] - p["alpha"] * jnp.log(x["N"]))

    assert "test_floor_power" in bs.list_laws()
    n = np.geomspace(1e6, 1e9, 30)
    df = {"N": n, "loss": 1.5 + 40 * n**-0.3}
    import pandas as pd

    f = bs.fit(pd.DataFrame(df), "test_floor_power", loss="squared", starts="default")
    np.testing.assert_allclose(
        [f.params["E"], f.params["A"], f.params["alpha"]], [1.5, 40, 0.3], rtol=1e-5
    )
    with pytest.raises(ValueError, match="already registered"):
        bs.register_law(bs.get_law("test_floor_power"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"params": [bs.ParamSpec("a"), bs.ParamSpec("a")]}, "duplicate parameter names"),
        ({"params": [bs.ParamSpec("a", transform="log")]}, "transform must be one of"),
        ({"params": [bs.ParamSpec("a", lower=1, upper=0)]}, "finite lower < upper"),
        ({"params": [bs.ParamSpec("a", prior=("cauchy", 0, 1))]}, "prior must be one of"),
        ({"inputs": ()}, "at least one input"),
        ({"fn": lambda p, x: p["a"]}, "one log-loss per point"),
        ({"fn": lambda p, x: p["missing"] + x["N"]}, "failed on a trial trace"),
    ],
)
def test_make_law_errors(kwargs: dict, match: str) -> None:
    base = {
        "name": "bad",
        "fn": lambda p, x: p["a"] + 0 * x["N"],
        "params": [bs.ParamSpec("a")],
        "inputs": ("N",),
    }
    with pytest.raises(ValueError, match=match):
        bs.make_law(**{**base, **kwargs})


def test_get_law_unknown_lists_registered() -> None:
    with pytest.raises(KeyError, match="registered laws: .*chinchilla"):
        bs.get_law("chinchila")
