"""The law catalogue: each law against its paper's formula, simulated recovery of known
parameters, guards that keep the log loss finite, and bad input."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale import enable_x64
from bayescale.data.schedule import add_annealing_areas
from bayescale.laws import predict_log, to_fit


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


# ---------------------------------------------------------------- formulas in natural space


def _lr_table(rng: np.random.Generator, noise: float, nat: dict) -> pd.DataFrame:
    """Two runs (cosine, warmup-stable-decay) of 20k steps, evaluated every 200 steps."""
    t, s = 20_000, np.arange(1, 20_001)
    cosine = 3e-5 + 2.7e-4 * 0.5 * (1 + np.cos(np.pi * np.clip((s - 500) / (t - 500), 0, 1)))
    wsd = np.r_[np.full(16_000, 3e-4), 3e-5 + 2.7e-4 * np.linspace(1, 0, 4_000)]
    rows = []
    for lr in (cosine, wsd):
        lr = np.where(s <= 500, 3e-4 * s / 500, lr)  # linear warm-up, left out of the areas
        ev = pd.DataFrame({"step": np.arange(600, t + 1, 200)})
        rows.append(add_annealing_areas(ev, lr))
    df = pd.concat(rows, ignore_index=True)
    return df.assign(
        loss=LAWS["lr_annealing"][2](nat, df) * np.exp(noise * rng.standard_normal(len(df)))
    )


def _grid2(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(a, len(b)), np.tile(b, len(a))


# name -> (true natural parameters, inputs (a table without "loss"), natural-space formula,
#          extra fit() arguments)
N_KAP, D_KAP = _grid2(np.geomspace(3e7, 3e10, 8), np.geomspace(2, 200, 6))
N_OT, M_OT = _grid2(np.geomspace(1e7, 3e9, 8), np.geomspace(5, 640, 6))
LAWS = {
    "kaplan": (
        {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
        pd.DataFrame({"N": N_KAP, "D": N_KAP * D_KAP}),
        lambda p, d: (
            ((p["N_c"] / d["N"]) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / d["D"])
            ** p["alpha_D"]
        ),
        {},
    ),
    "overtraining": (
        {"E": 1.6, "a": 160.0, "b": 280.0, "eta": 0.13},
        pd.DataFrame({"N": N_OT, "D": M_OT * N_OT}),  # C = 6 N D and M = D / N are derived
        lambda p, d: (
            p["E"]
            + (p["a"] * (d["D"] / d["N"]) ** p["eta"] + p["b"] * (d["D"] / d["N"]) ** -p["eta"])
            * (6 * d["N"] * d["D"]) ** -p["eta"]
        ),
        {},
    ),
    "power_shifted": (
        {"A": 300.0, "E": 0.45, "alpha": 0.35, "x0": 1e8},
        pd.DataFrame({"C": np.geomspace(1e6, 1e12, 60)}),
        lambda p, d: p["A"] * (d["C"] + p["x0"]) ** -p["alpha"] + p["E"],
        {"x": "C"},
    ),
    "lr_annealing": (
        {"L0": 2.5, "A": 0.4, "alpha": 0.5, "C": 0.12},
        None,  # built by _lr_table from two schedules
        lambda p, d: p["L0"] + p["A"] * d["S1"] ** -p["alpha"] - p["C"] * d["S2"],
        {},
    ),
    "broken_power": (
        {"a": 0.5, "b": 20.0, "c0": 0.1, "c1": 0.4, "d1": 1e6, "f1": 0.5},
        pd.DataFrame({"step": np.geomspace(1e2, 1e10, 80)}),
        lambda p, d: (
            p["a"]
            + p["b"]
            * d["step"] ** -p["c0"]
            * (1 + (d["step"] / p["d1"]) ** (1 / p["f1"])) ** (-p["c1"] * p["f1"])
        ),
        {"x": "step"},
    ),
    "loss_to_loss": (
        {"K": 0.8, "kappa": 1.3, "E_0": 1.6, "E_1": 1.9},
        pd.DataFrame({"L0": np.geomspace(2.2, 6.0, 50)}),
        lambda p, d: p["K"] * (d["L0"] - p["E_0"]) ** p["kappa"] + p["E_1"],
        {},
    ),
    "sigmoid_downstream": (
        {"a": 0.55, "b": 0.25, "k": 3.0, "L0": 3.2},
        pd.DataFrame({"L": np.linspace(2.0, 5.0, 50)}),
        lambda p, d: p["a"] / (1 + np.exp(p["k"] * (d["L"] - p["L0"]))) + p["b"],
        {},
    ),
}

#: Sampling SD of the relative error of each recovered parameter at 0.1% log-normal noise on
#: these designs, from 40 simulated data sets each (squared loss, started at the truth). The
#: recovery test allows 4 SD: a correct fit fails it with probability ~1e-4 per parameter,
#: while a wrong exponent, sign or factor in a law moves estimates by far more.
SD = {
    "kaplan": {"N_c": 0.018, "D_c": 0.026, "alpha_N": 0.0015, "alpha_D": 0.0022},
    "overtraining": {"E": 0.0024, "a": 0.0097, "b": 0.0121, "eta": 0.0024},
    "power_shifted": {"A": 0.030, "E": 0.0009, "alpha": 0.0044, "x0": 0.0092},
    "lr_annealing": {"L0": 0.0006, "A": 0.0037, "alpha": 0.0023, "C": 0.022},
    "broken_power": {"a": 7e-4, "b": 6e-4, "c0": 7e-4, "c1": 0.0012, "d1": 0.003, "f1": 0.0057},
    "loss_to_loss": {"K": 0.028, "kappa": 0.0089, "E_0": 0.043, "E_1": 0.026},
    "sigmoid_downstream": {"a": 7e-4, "b": 4e-4, "k": 0.0015, "L0": 2e-4},
}


def _table(name: str, rng: np.random.Generator, noise: float) -> pd.DataFrame:
    nat, inputs, formula, _ = LAWS[name]
    if inputs is None:
        return _lr_table(rng, noise, nat)
    loss = formula(nat, inputs) * np.exp(noise * rng.standard_normal(len(inputs)))
    return inputs.assign(loss=loss)


@pytest.mark.parametrize("name", sorted(LAWS))
def test_law_matches_its_formula(name: str) -> None:
    nat, _, formula, kw = LAWS[name]
    law = bs.get_law(name)
    df = _table(name, np.random.default_rng(0), 0.0)
    p = bs.prepare(df, law.inputs, **kw)
    theta = to_fit(law, np.array([nat[k] for k in law.natural_names]))
    with enable_x64():
        got = np.exp(np.asarray(predict_log(law, jnp.asarray(theta), p.x)))
    np.testing.assert_allclose(got, df["loss"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LAWS))
def test_simulated_recovery(name: str) -> None:
    nat, _, _, kw = LAWS[name]
    df = _table(name, np.random.default_rng(0), 1e-3)
    # One BFGS compilation per law (no exploration phase, no restart) keeps this file fast;
    # 24 random starts from the ParamSpec ranges also check that those ranges are sensible.
    config = bs.FitConfig(explore_steps=0, restarts=0)
    f = bs.fit(df, name, loss="squared", starts=24, seed=0, config=config, **kw)
    assert f.to_dict()["status"] == "converged"
    assert f.result.n_near_best >= 3  # the optimum is reached from several starts
    for k, v in nat.items():
        assert abs(f.params[k] / v - 1) < 4 * SD[name][k], (k, f.params[k], v)


# ---------------------------------------------------------------- guards and bad input


def test_guards_keep_log_loss_finite() -> None:
    # lr_annealing past the point where L0 + A S1^-alpha - C S2 <= 0 and loss_to_loss at
    # L_0 <= E_0: finite values with finite gradients
    cases = {
        "lr_annealing": (
            {"S1": [1.0, 1.0], "S2": [0.1, 50.0]},
            [np.log(2), np.log(0.5), 0.5, -2.3],
        ),
        "loss_to_loss": ({"L0": [3.0, 1.0]}, [0.0, 1.0, np.log(1.5), 0.5]),
    }
    out = {}
    with enable_x64():
        for name, (x, theta) in cases.items():
            law = bs.get_law(name)
            x = {k: jnp.asarray(v) for k, v in x.items()}
            value = jax.jit(lambda t, law=law, x=x: predict_log(law, t, x))
            grad = jax.jit(jax.jacfwd(value))(jnp.asarray(theta))
            out[name] = np.asarray(value(jnp.asarray(theta)))
            assert np.all(np.isfinite(out[name])) and np.all(np.isfinite(grad)), name
    # inside the valid region the guard changes nothing: L = 2 + 0.5 * 1 - e^-2.3 * 0.1
    assert out["lr_annealing"][0] == pytest.approx(np.log(2.5 - 0.1 * np.exp(-2.3)), rel=1e-12)
    # outside it, a steep wall (about (1 - C S2 / P) / 1e-3 = -1000) instead of NaN
    assert out["lr_annealing"][1] < -900
    # loss_to_loss: K (L_0 - E_0)^kappa vanishes softly, leaving its limit log E_1 = 0.5
    assert out["loss_to_loss"][1] == pytest.approx(0.5, rel=1e-12)
    assert out["loss_to_loss"][0] == pytest.approx(np.log(1.5 + np.exp(0.5)), rel=1e-12)


def test_missing_input_column_lists_what_the_law_needs() -> None:
    df = pd.DataFrame({"C": [1e18, 1e19, 1e20, 1e21, 1e22], "loss": [3.5, 3.2, 3.0, 2.8, 2.7]})
    with pytest.raises(
        bs.DataError, match=re.escape("law needs columns ['C', 'M', 'loss']; missing column 'M'")
    ):
        bs.fit(df, "overtraining")
    with pytest.raises(bs.DataError, match=re.escape("law needs columns ['S1', 'S2', 'loss']")):
        bs.fit(df, "lr_annealing")
