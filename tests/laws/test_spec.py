"""make_law's checks, parameter transforms, start grids, derived quantities and the closed-form
allocation field."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import bayescale as bs
from bayescale import enable_x64
from bayescale.laws import derived_values, grid_starts, random_starts, to_fit, to_natural
from bayescale.likelihood import Noise, noise_spec, params

BASE = {
    "name": "bad",
    "fn": lambda p, x: p["a"] + 0 * x["N"],
    "params": [bs.ParamSpec("a")],
    "inputs": ("N",),
}


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
        ({"grids": {"g": [(0.0, 1.0), (2.0,)]}}, "grid 'g' needs one non-empty value list"),
        ({"derived": {"a": lambda p: p["a"]}}, "derived quantity 'a' must be callable and not"),
        ({"derived": {"twice": 2.0}}, "derived quantity 'twice' must be callable"),
        ({"allocation": lambda th, lx: (th, lx)}, "closed-form allocation needs a callable and"),
    ],
)
def test_make_law_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bs.make_law(**{**BASE, **kwargs})


def test_derived_quantities_of_a_user_law() -> None:
    law = bs.make_law(
        **{
            **BASE,
            "params": [bs.ParamSpec("a", "A", "exp"), bs.ParamSpec("k")],
            "fn": lambda p, x: p["a"] + p["k"] * x["N"],
            "derived": {"ratio": lambda p: p["A"] / p["k"], "double": lambda p: 2 * p["A"]},
        }
    )
    assert law.derived_names == ("ratio", "double")
    natural = np.array([[3.0, 2.0], [6.0, 4.0]])
    got = derived_values(law, natural)
    assert list(got) == ["ratio", "double"]
    np.testing.assert_array_equal(got["ratio"], [1.5, 1.5])
    np.testing.assert_array_equal(got["double"], [6.0, 12.0])
    # trailing columns (a noise scale) are ignored
    np.testing.assert_array_equal(
        derived_values(law, np.c_[natural, [0.1, 0.2]])["double"], [6, 12]
    )
    assert derived_values(bs.get_law("power"), natural[:, [0, 1, 1]]) == {}


def test_chinchilla_declares_its_allocation_exponents() -> None:
    law = bs.get_law("chinchilla")
    assert law.derived_names == ("a", "b")
    # Hoffmann et al.'s fit (alpha 0.34, beta 0.28): a = 0.28 / 0.62, b = 0.34 / 0.62
    hoffmann = np.array([[406.4, 410.7, 1.69, 0.34, 0.28], [477.8, 2143.9, 1.817, 0.3473, 0.3672]])
    got = derived_values(law, hoffmann)
    np.testing.assert_allclose(got["a"], [0.28 / 0.62, 0.3672 / (0.3473 + 0.3672)], rtol=1e-15)
    np.testing.assert_allclose(got["a"] + got["b"], 1.0, rtol=1e-15)
    assert law.allocation is not None
    others = ("kaplan", "overtraining", "power", "power_shifted", "broken_power")
    assert all(bs.get_law(n).allocation is None for n in others)  # allocated numerically
    with enable_x64():
        log_c = jnp.log(jnp.array([1e21, 5.76e23])) - jnp.log(6.0)
        log_n, log_d, a, b = map(
            np.asarray, law.allocation(jnp.asarray(to_fit(law, hoffmann)), log_c)
        )
    np.testing.assert_allclose(a, got["a"], rtol=1e-14)
    np.testing.assert_allclose(b, got["b"], rtol=1e-14)
    np.testing.assert_allclose(log_n + log_d, np.tile(np.asarray(log_c), (2, 1)), rtol=1e-14)
    # N* = G (C/6)^a with G = (alpha A / (beta B))^(1 / (alpha + beta))
    A, B, _, al, be = hoffmann[0]
    g = (al * A / (be * B)) ** (1 / (al + be))
    np.testing.assert_allclose(
        np.exp(log_n[0]), g * np.exp(np.asarray(log_c)) ** got["a"][0], rtol=1e-12
    )


def test_transforms_accept_a_law_or_specs() -> None:
    law = bs.get_law("chinchilla")
    theta = np.array([[np.log(406.4), np.log(410.7), np.log(1.69), 0.34, 0.28, np.log(0.02)]])
    specs = params(law, Noise("gaussian"))
    assert specs[-1] == noise_spec(Noise("gaussian"))
    natural = to_natural(specs, theta)
    np.testing.assert_allclose(natural, [[406.4, 410.7, 1.69, 0.34, 0.28, 0.02]], rtol=1e-14)
    np.testing.assert_allclose(to_natural(law, theta[:, :5]), natural[:, :5], rtol=0)
    np.testing.assert_allclose(to_fit(specs, natural), theta, rtol=1e-14)
    with enable_x64():
        as_jax = to_natural(specs, jnp.asarray(theta))
    assert isinstance(as_jax, jnp.ndarray)
    np.testing.assert_allclose(np.asarray(as_jax), natural, rtol=1e-15)


def test_param_spec_label_and_grid_errors() -> None:
    assert bs.ParamSpec("a", "A").label == "A" and bs.ParamSpec("k").label == "k"
    law = bs.make_law(**BASE)
    with pytest.raises(ValueError, match="law 'bad' has no default start grid"):
        grid_starts(law)
    with pytest.raises(
        ValueError, match=r"has no start grid 'epoch'; it has \['default', 'hoffmann'\]"
    ):
        grid_starts(bs.get_law("chinchilla"), "epoch")
    with pytest.raises(ValueError, match="number of random starts must be >= 1, got 0"):
        random_starts(law, 0)
    np.testing.assert_array_equal(random_starts(law, 5, seed=3), random_starts(law, 5, seed=3))
