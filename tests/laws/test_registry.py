"""The registry: one conformance test of every registered law, lookup and user registration."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import enable_x64
from bayescale.laws import grid_starts, predict_log, random_starts, to_fit, to_natural

#: The paper each law's doc must cite; any law not listed here must at least cite a year.
PAPERS = {
    "chinchilla": "Hoffmann et al. 2022",
    "kaplan": "Kaplan et al. 2020",
    "overtraining": "Gadre et al. 2024",
    "power_shifted": "Nezhurina et al. 2025",
    "lr_annealing": "Tissue et al. 2024",
    "broken_power": "Caballero et al. 2022",
    "loss_to_loss": "Brandfonbrener et al. 2024",
    "sigmoid_downstream": "Bhagia et al. 2024",
    "power": "Hestness et al. 2017",
}

#: Plausible ranges of each input: (low, high, spacing).
RANGES = {
    "N": (1e6, 1e12, "log"),
    "D": (1e8, 1e14, "log"),
    "C": (1e15, 1e26, "log"),
    "M": (1.0, 1e3, "log"),
    "x": (1.0, 1e12, "log"),
    "step": (1.0, 1e6, "log"),
    "S1": (1e-3, 1e3, "log"),
    "S2": (-1.0, 10.0, "lin"),
    "L0": (1.2, 8.0, "lin"),
    "L": (1.0, 8.0, "lin"),
}


def plausible(law: bs.Law, n: int = 40) -> dict[str, np.ndarray]:
    """``n`` points per input over its plausible range, shuffled (float64 numpy)."""
    out = {}
    for k in law.inputs:
        lo, hi, spacing = RANGES.get(k, (1.0, 1e6, "log"))
        v = np.geomspace(lo, hi, n) if spacing == "log" else np.linspace(lo, hi, n)
        out[k] = np.random.default_rng(len(out)).permutation(v)
    return out


def prior_centre(law: bs.Law) -> np.ndarray:
    centre = {"normal": lambda a, b: a, "uniform": lambda a, b: (a + b) / 2}
    return np.array(
        [
            centre[s.prior[0]](*s.prior[1:])
            if s.prior[0] in centre
            else (s.prior[1] if s.prior[0] == "halfnormal" else np.exp(s.prior[1]))
            for s in law.params
        ]
    )


@pytest.mark.parametrize("name", bs.list_laws())
def test_registry_conformance(name: str) -> None:
    """Names, ranges, grids, transforms and docs; finite values and gradients under jit and
    vmap at the prior centre, the range midpoints, every default-grid start and 64 random
    starts, on plausible inputs and on inputs spread over 1e2..1e10; eager == compiled."""
    law = bs.get_law(name)
    assert len(set(law.param_names)) == law.n_params
    assert len(set(law.natural_names)) == law.n_params
    lo = np.array([p.lower for p in law.params])
    hi = np.array([p.upper for p in law.params])
    grid = grid_starts(law)  # every built-in law has a default grid
    assert grid.shape == (int(np.prod([len(p.grid) for p in law.params])), law.n_params)
    assert 1 <= len(grid) <= 5000
    assert np.all((grid >= lo) & (grid <= hi)), "a default-grid start lies outside its range"
    rand = random_starts(law, 64, seed=1)
    assert rand.shape == (64, law.n_params)
    assert np.all((rand >= lo) & (rand <= hi)), "a random start lies outside its range"
    thetas = np.vstack([prior_centre(law), (lo + hi) / 2, grid, rand])
    pick = np.linspace(0, len(thetas) - 1, 4).astype(int)
    rng = np.random.default_rng(0)
    with enable_x64():
        x = {k: jnp.asarray(v) for k, v in plausible(law).items()}
        wide = {k: jnp.asarray(10 ** rng.uniform(2, 10, 50)) for k in law.inputs}
        ones = {k: jnp.ones(3) for k in law.inputs}  # what the likelihood feeds padded points
        th = jnp.asarray(thetas)
        plain = np.stack(
            [np.asarray(law.fn(dict(zip(law.param_names, t, strict=True)), x)) for t in th[pick]]
        )

        @jax.jit
        def batch(th):
            value = jax.vmap(lambda t: predict_log(law, t, x))(th)
            spread = jax.vmap(lambda t: predict_log(law, t, wide))(th)
            grad = jax.vmap(jax.grad(lambda t: jnp.sum(predict_log(law, t, ones))))(th)
            return value, spread, grad

        batched, spread, grads = map(np.asarray, batch(th))
    assert th.dtype == jnp.float64 and batched.shape == (len(thetas), 40)
    assert spread.shape == (len(thetas), 50)
    assert np.all(np.isfinite(batched)), "non-finite prediction on plausible inputs"
    assert np.all(np.isfinite(spread)), "non-finite prediction on inputs in 1e2..1e10"
    assert np.all(np.isfinite(grads)), "non-finite gradient at inputs of 1 (padding)"
    np.testing.assert_allclose(batched[pick], plain, rtol=1e-12, atol=1e-12)
    both = np.vstack([grid, rand])
    np.testing.assert_allclose(to_fit(law, to_natural(law, both)), both, rtol=1e-12, atol=1e-12)
    assert "=" in law.doc
    if name in PAPERS:
        assert PAPERS[name] in law.doc
    else:
        assert re.search(r"\b(19|20)\d\d\b", law.doc), f"law {name!r}: its doc cites no paper"


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
    assert law.grid_names == ("default", "hoffmann")
    np.testing.assert_array_equal(grid_starts(law), g)  # the default grid is Hoffmann's


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

    assert isinstance(floor_power, bs.Law) and floor_power.doc == "L = E + A N^-alpha."
    assert "test_floor_power" in bs.list_laws()
    assert bs.get_law("test_floor_power") is floor_power
    n = np.geomspace(1e6, 1e9, 30)
    df = {"N": n, "loss": 1.5 + 40 * n**-0.3}
    config = bs.FitConfig(explore_steps=0, restarts=0)  # one BFGS loop to compile
    f = bs.fit(
        pd.DataFrame(df), "test_floor_power", loss="squared", starts="default", config=config
    )
    np.testing.assert_allclose(
        [f.params["E"], f.params["A"], f.params["alpha"]], [1.5, 40, 0.3], rtol=1e-5
    )
    with pytest.raises(ValueError, match="already registered"):
        bs.register_law(bs.get_law("test_floor_power"))


def test_registration_errors() -> None:
    with pytest.raises(TypeError, match="register_law expects a Law, got str"):
        bs.register_law("power")
    with pytest.raises(TypeError, match="needs name=, params= and inputs="):
        bs.register_law(name="half_specified")


def test_get_law_unknown_lists_registered() -> None:
    with pytest.raises(KeyError, match="registered laws: .*chinchilla"):
        bs.get_law("chinchila")
    law = bs.get_law("power")
    assert bs.get_law(law) is law  # a Law passes through
