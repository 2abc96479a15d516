"""Very long curves: the objective summed in chunks equals the objective over every point, and
the two-stage fit (multi-start on a subsample, polish on every point) reaches the optimum of a
multi-start over every point, with bounded shapes and no retracing."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from helpers import COUNTED_POWER, TRACES

import bayescale as bs
import bayescale.likelihood.evaluation as evaluation
from bayescale import enable_x64
from bayescale.laws import get_law, random_starts
from bayescale.optimize.multistart import FitConfig, fit_multistart
from bayescale.optimize.points import fit_points, subsample
from bayescale.status import CONVERGED, MAX_STEPS, SCREENED

TRUE = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}


def chinchilla_rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size, tokens = 10 ** rng.uniform(7, 10, n), 10 ** rng.uniform(9, 12, n)
    loss = TRUE["E"] + TRUE["A"] / size ** TRUE["alpha"] + TRUE["B"] / tokens ** TRUE["beta"]
    return pd.DataFrame({"N": size, "D": tokens, "loss": loss * np.exp(0.01 * rng.normal(size=n))})


def as_data(df: pd.DataFrame) -> bs.Data:
    """Float64 arrays of a table (whatever the x64 state of the caller)."""
    with enable_x64():
        return bs.Data(
            {"N": jnp.asarray(df["N"].to_numpy()), "D": jnp.asarray(df["D"].to_numpy())},
            jnp.log(jnp.asarray(df["loss"].to_numpy())),
            jnp.ones(len(df)),
        )


@pytest.mark.parametrize("obj", [bs.Loss("huber", 1e-3), bs.Noise("student_t", df=4.0)])
def test_chunked_objective_and_gradient_equal_the_whole_sum(monkeypatch, obj) -> None:
    law = get_law("chinchilla")
    n = 1_003  # not a multiple of the chunk: the padded tail must not count
    data = as_data(chinchilla_rows(n))
    theta = [6.0, 6.0, 0.52, 0.34, 0.28] + ([-4.6] if isinstance(obj, bs.Noise) else [])
    with enable_x64():
        theta = jnp.asarray(theta)
        whole = jax.value_and_grad(lambda t: evaluation.objective(law, t, data, obj))(theta)
        monkeypatch.setattr(evaluation, "POINT_CHUNK", 100)
        chunked = jax.value_and_grad(lambda t: evaluation.objective(law, t, data, obj))(theta)
    # the chunked path really ran: 11 chunks of 100, the last one padded
    assert evaluation.chunks_of(data, 100).log_y.shape == (11, 100)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-10)


def test_subsample_is_fixed_and_reweighted() -> None:
    data = as_data(chinchilla_rows(1_000))
    a, b = subsample(data, 100), subsample(data, 100)
    np.testing.assert_array_equal(a.log_y, b.log_y)
    assert a.log_y.shape == (100,) and np.all(a.weight == 10.0)
    rows = [int(np.flatnonzero(np.asarray(data.log_y) == v)[0]) for v in a.log_y]
    assert len(set(rows)) == 100 and rows == sorted(rows)  # distinct points, in table order
    assert not np.array_equal(subsample(data, 100, seed=1).log_y, a.log_y)


def test_two_stage_fit_reaches_the_optimum_over_every_point() -> None:
    law = get_law("chinchilla")
    obj = bs.Loss("huber", 1e-3)
    data = as_data(chinchilla_rows(3_000, seed=1))
    with enable_x64():
        starts = jnp.asarray(random_starts(law, 8, seed=0))
        full = fit_multistart(starts, data, law, obj, FitConfig())
        two = fit_points(starts, data, law, obj, FitConfig(subsample=500))
    assert int(full.status) == int(two.status) == CONVERGED
    np.testing.assert_allclose(two.params, full.params, rtol=2e-6)
    # the objective is the whole curve's, and no start is lower than the reported best
    np.testing.assert_allclose(two.objective, full.objective, rtol=1e-9)
    assert np.all(np.asarray(two.start_objective) >= float(two.objective) * (1 - 1e-12))
    # one start converged on every point; the others were screened, or stalled (max_steps)
    # on the subsample or in an earlier attempt on every point
    status = np.asarray(two.start_status)
    assert np.sum(status == CONVERGED) == 1
    assert set(status.tolist()) <= {CONVERGED, SCREENED, MAX_STEPS}


def test_fit_of_a_long_table_uses_the_subsample_and_recovers_the_truth() -> None:
    fit = bs.fit(chinchilla_rows(12_000, seed=2), "chinchilla", starts=8,
                 config=FitConfig(subsample=1_500))  # fmt: skip
    assert fit.status == "converged" and fit.config.subsample == 1_500
    # 12,000 points at 1% noise: E and the exponents within 1%, A and B (weakly identified
    # along a ridge with the exponents) within 5%
    for name, value in TRUE.items():
        rel = 0.05 if name in ("A", "B") else 0.01
        assert fit.params[name] == pytest.approx(value, rel=rel), name


def test_two_stage_fit_does_not_retrace_for_same_shapes() -> None:
    law = COUNTED_POWER._replace(name="counted_power_points")
    rng = np.random.default_rng(3)
    with enable_x64():
        starts = jnp.asarray(random_starts(law, 6, seed=0))
    config = FitConfig(subsample=200, explore_steps=0, restarts=0, max_steps=200)
    counts = []
    with enable_x64():
        for _ in range(3):
            x = np.geomspace(1e7, 1e10, 1_000) * rng.uniform(0.9, 1.1)
            y = np.log(1.7 + 200 * x**-0.3) + 0.01 * rng.normal(size=x.size)
            data = bs.Data({"x": jnp.asarray(x)}, jnp.asarray(y), jnp.ones(x.size))
            fit_points(starts, data, law, bs.Loss("squared"), config)
            counts.append(TRACES["n"])
    assert counts[0] > 0 and counts[1] == counts[0] == counts[2]
