"""Multi-start fitting: Epoch's grid replication, recovery, compile counts, start errors."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale._jax import enable_x64
from bayescale.api import resolve_starts, to_data
from bayescale.data.store import load_fit, save_fit
from bayescale.fit.multistart import CONVERGED, FitConfig, fit_multistart
from bayescale.laws import grid_starts, make_law
from bayescale.laws.chinchilla import chinchilla

#: Besiroglu et al. (2024), "Replicate exactly": the best of 4,500 L-BFGS-B starts.
EPOCH_GRID = {"E": 1.8172, "A": 477.84, "B": 2143.86, "alpha": 0.34731, "beta": 0.36718}
EPOCH_OBJECTIVE = 1.01827e-3


def same_4_digits(got: float, want: float) -> bool:
    """True when ``got`` is within half a unit of ``want``'s 4th significant digit."""
    unit = 10 ** (np.floor(np.log10(abs(want))) - 3)
    return abs(got - want) <= 0.5 * unit


@pytest.fixture(scope="module")
def epoch_fit() -> bs.Fit:
    return bs.fit("example:chinchilla", "chinchilla", starts="hoffmann", drop_top_losses=5)


def test_reproduces_epoch_grid_replication(epoch_fit: bs.Fit) -> None:
    assert len(epoch_fit.data.loss) == 240
    for name, want in EPOCH_GRID.items():
        assert same_4_digits(epoch_fit.params[name], want), (name, epoch_fit.params[name], want)
    assert same_4_digits(float(epoch_fit.result.objective), EPOCH_OBJECTIVE)
    assert int(epoch_fit.result.status) == CONVERGED
    assert epoch_fit.result.grad_norm < 1e-6


def test_explore_strategy_finds_the_full_run_optimum(chinchilla_240) -> None:
    """Every start run to convergence (Epoch's way) reaches the same optimum as the default."""
    law = bs.get_law("chinchilla")
    d = chinchilla_240
    with enable_x64():
        data = bs.Data(
            {"N": jnp.asarray(d["N"]), "D": jnp.asarray(d["D"])},
            jnp.log(jnp.asarray(d["loss"])),
            jnp.ones(240),
        )
        starts = jnp.asarray(grid_starts(law, "hoffmann")[::5])  # 900 starts keep CI fast
        full = fit_multistart(starts, data, law, bs.Loss(), FitConfig(explore_steps=0))
        fast = fit_multistart(starts, data, law, bs.Loss(), FitConfig())
    assert float(full.objective) == pytest.approx(float(fast.objective), rel=1e-9)
    np.testing.assert_allclose(full.params, fast.params, rtol=1e-4)
    # in a full run many starts converge to the best basin; they are counted
    assert int(full.n_near_best) > 50


def _simulate(n: int, sigma: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), n))
    D = N * np.exp(rng.uniform(0, np.log(300), n))
    L = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
    return pd.DataFrame({"N": N, "D": D, "loss": L * np.exp(rng.normal(0, sigma, n))})


def test_recovers_known_chinchilla_parameters() -> None:
    # sigma = 0.005 on log loss, 400 points. At sigma = 0.02 / 250 points the posterior SDs are
    # alpha 0.026, beta 0.008, e 0.016 (shared/notes/jax-stack-measured.md section 2); they
    # scale ~ sigma / sqrt(n), so here ~0.005, 0.0016, 0.003. Tolerances are ~4 SD.
    f = bs.fit(_simulate(400, 0.005, seed=7), "chinchilla", loss="squared")
    assert f.params["alpha"] == pytest.approx(0.34, abs=0.02)
    assert f.params["beta"] == pytest.approx(0.28, abs=0.007)
    assert f.params["E"] == pytest.approx(1.69, rel=0.015)
    # Huber fit of the same data agrees with the truth too
    h = bs.fit(_simulate(400, 0.005, seed=7), "chinchilla")
    assert h.params["beta"] == pytest.approx(0.28, abs=0.007)


def test_recovers_known_power_law_over_steps() -> None:
    rng = np.random.default_rng(3)
    step = np.geomspace(100, 1e5, 60)
    loss = (1.8 + 30.0 * step**-0.3) * np.exp(rng.normal(0, 0.003, 60))
    f = bs.fit(pd.DataFrame({"step": step, "loss": loss}), "power", x="step", loss="squared")
    # with 0.3% noise over three decades the exponent is determined to ~0.01
    assert f.params["alpha"] == pytest.approx(0.3, abs=0.03)
    assert f.params["E"] == pytest.approx(1.8, rel=0.02)


def test_same_shapes_do_not_recompile(chinchilla_240) -> None:
    calls = {"n": 0}

    def counted(p, x):
        calls["n"] += 1
        return chinchilla(p, x)

    law = make_law("counted_chinchilla", counted, bs.get_law("chinchilla").params, ("N", "D"))
    d = chinchilla_240
    starts = jnp.asarray(grid_starts(law)[::50])
    with enable_x64():
        for i, scale in enumerate((1.0, 1.01, 0.99)):
            data = bs.Data(
                {"N": jnp.asarray(d["N"] * scale), "D": jnp.asarray(d["D"])},
                jnp.log(jnp.asarray(d["loss"])),
                jnp.ones(240),
            )
            fit_multistart(starts, data, law, bs.Loss(), FitConfig())
            if i == 0:
                after_first = calls["n"]
    assert after_first > 0
    assert calls["n"] == after_first, "a same-shaped second fit retraced the law"


def test_random_and_explicit_starts() -> None:
    law = bs.get_law("chinchilla")
    a, desc = resolve_starts(law, 32, seed=5)
    b, _ = resolve_starts(law, "32", seed=5)
    assert a.shape == (32, 5) and desc == {"kind": "random", "seed": 5}
    np.testing.assert_array_equal(a, b)
    c, _ = resolve_starts(law, 32, seed=6)
    assert not np.array_equal(a, c)
    e, desc = resolve_starts(law, np.zeros(5), objective=bs.Noise())
    assert e.shape == (1, 6) and desc["kind"] == "array"


@pytest.mark.parametrize(
    "starts, match",
    [
        ("nogrid", "no start grid 'nogrid'"),
        (0, "must be >= 1"),
        (np.zeros((3, 4)), r"shape \(S, 5\)"),
        (np.full((2, 5), np.nan), "non-finite"),
    ],
)
def test_bad_starts(starts, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve_starts(bs.get_law("chinchilla"), starts)


def test_fewer_points_than_parameters_is_refused() -> None:
    df = pd.DataFrame({"N": [1e8, 1e9, 1e10], "D": [1e9, 1e10, 1e11], "loss": [3.0, 2.5, 2.2]})
    with pytest.raises(bs.DataError, match="5 parameters"):
        bs.fit(df, "chinchilla")


def test_save_load_round_trip_is_exact(epoch_fit: bs.Fit, tmp_path) -> None:
    save_fit(epoch_fit, tmp_path / "fit")
    back = load_fit(tmp_path / "fit")
    for a, b in zip(epoch_fit.result, back.result, strict=True):
        np.testing.assert_array_equal(a, b)
    for k in epoch_fit.data.x:
        np.testing.assert_array_equal(epoch_fit.data.x[k], back.data.x[k])
    assert back.to_dict() == json.loads(json.dumps(epoch_fit.to_dict()))
    starts = pd.read_csv(tmp_path / "fit" / "starts.csv")
    assert len(starts) == 4500 and {"objective", "status", "steps", "alpha"} <= set(starts)
    with enable_x64():
        refit = fit_multistart(
            jnp.asarray(back.result.theta)[None],
            to_data(back.data),
            bs.get_law(back.law),
            back.objective,
            FitConfig(),
        )
    assert float(refit.objective) == pytest.approx(float(back.result.objective), rel=1e-9)
