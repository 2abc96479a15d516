"""bs.fit and bs.fit_groups end to end: Epoch's grid replication, recovery of known parameters,
starts, saved fits, batches with unfittable curves, and real many-small-fits data sets.

Real-data laws (test-local, built with ``make_law``): a parabola in log x,
``log L = e + k (log x - m)**2``, reported as ``L_opt = exp(e)``, ``curvature = k`` and
``x_opt = exp(m)``; x is the parameter count N for IsoFLOP budgets and the learning rate for
StepLaw's (N, D) cells.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import shared_path
from helpers import COUNTED_POWER, TRACES, power_curves

import bayescale as bs
from bayescale import enable_x64
from bayescale.data import as_data
from bayescale.laws import random_starts
from bayescale.likelihood import objective
from bayescale.optimize.curves import summarise_starts
from bayescale.status import CONSTANT_LOSS, CONVERGED, TOO_FEW_POINTS
from bayescale.workflows.fitting import resolve_starts

#: Besiroglu et al. (2024), "Replicate exactly": the best of 4,500 L-BFGS-B starts.
EPOCH_GRID = {"E": 1.8172, "A": 477.84, "B": 2143.86, "alpha": 0.34731, "beta": 0.36718}
EPOCH_OBJECTIVE = 1.01827e-3
#: Every start run to convergence, no restart: one BFGS loop to compile, for fits whose
#: settings are not under test (the default strategy is, in the Epoch fit).
FULL = bs.FitConfig(explore_steps=0, restarts=0)
#: Cheap polish for batches of small curves (see fit_groups' notes).
CONFIG = bs.FitConfig(polish=4, max_steps=300, restarts=0)


def same_4_digits(got: float, want: float) -> bool:
    """True when ``got`` is within half a unit of ``want``'s 4th significant digit."""
    unit = 10 ** (np.floor(np.log10(abs(want))) - 3)
    return abs(got - want) <= 0.5 * unit


def fresh(law: bs.Law, name: str) -> bs.Law:
    """``law`` under a new name: a new static argument, so its first use must trace."""
    return law._replace(name=name)


# ---------------------------------------------------------------------------- bs.fit


@pytest.fixture(scope="module")
def epoch_fit() -> bs.Fit:
    return bs.fit("example:chinchilla", "chinchilla", starts="hoffmann", drop_top_losses=5)


def test_reproduces_epoch_grid_replication(epoch_fit: bs.Fit) -> None:
    assert len(epoch_fit.data.loss) == 240
    for name, want in EPOCH_GRID.items():
        assert same_4_digits(epoch_fit.params[name], want), (name, epoch_fit.params[name], want)
    assert same_4_digits(float(epoch_fit.result.objective), EPOCH_OBJECTIVE)
    assert int(epoch_fit.result.status) == CONVERGED and epoch_fit.status == "converged"
    assert epoch_fit.result.grad_norm < 1e-6
    assert epoch_fit.law is bs.get_law("chinchilla") and epoch_fit.starts["name"] == "hoffmann"


def test_save_load_round_trip_is_exact(epoch_fit: bs.Fit, tmp_path) -> None:
    bs.save_fit(epoch_fit, tmp_path / "fit")
    back = bs.load_fit(tmp_path / "fit")
    for a, b in zip(epoch_fit.result, back.result, strict=True):
        np.testing.assert_array_equal(a, b)
    for k in epoch_fit.data.x:
        np.testing.assert_array_equal(epoch_fit.data.x[k], back.data.x[k])
    assert back.law.name == "chinchilla" and back.objective == epoch_fit.objective
    assert back.to_dict() == json.loads(json.dumps(epoch_fit.to_dict()))
    starts = pd.read_csv(tmp_path / "fit" / "starts.csv")
    assert len(starts) == 4500 and {"objective", "status", "steps", "alpha"} <= set(starts)
    # the loaded data, law and objective give the saved optimum: its objective, and a
    # vanishing gradient (the saved grad_norm), evaluated afresh
    with enable_x64():
        value_and_grad = jax.jit(
            jax.value_and_grad(lambda t, d: objective(back.law, t, d, back.objective))
        )
        value, grad = value_and_grad(jnp.asarray(back.result.theta), as_data(back.data))
    norm = float(np.linalg.norm(np.asarray(grad)))
    assert float(value) == pytest.approx(float(back.result.objective), rel=1e-9)
    assert norm == pytest.approx(float(back.result.grad_norm), rel=1e-6) and norm < 1e-6


def simulate(n: int, sigma: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), n))
    D = N * np.exp(rng.uniform(0, np.log(300), n))
    L = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
    return pd.DataFrame({"N": N, "D": D, "loss": L * np.exp(rng.normal(0, sigma, n))})


def test_recovers_known_chinchilla_parameters() -> None:
    # At sigma = 0.02 / 250 points the posterior SDs are alpha 0.026, beta 0.008, e 0.016
    # (shared/notes/jax-stack-measured.md section 2); they scale ~ sigma / sqrt(n), so at
    # sigma = 0.005 / 400 points ~0.005, 0.0016, 0.003 and the tolerances are ~4 SD. 240 points
    # at sigma = 0.005 sqrt(240 / 400) have the same SDs (and the default Huber fit has the
    # shapes of the Epoch fit above, so it reuses that compilation).
    df = simulate(240, 0.005 * np.sqrt(240 / 400), seed=7)
    f = bs.fit(df, "chinchilla", loss="squared", starts=64, config=FULL)
    assert f.params["alpha"] == pytest.approx(0.34, abs=0.02)
    assert f.params["beta"] == pytest.approx(0.28, abs=0.007)
    assert f.params["E"] == pytest.approx(1.69, rel=0.015)
    # Huber fit of the same data agrees with the truth too
    h = bs.fit(df, "chinchilla")
    assert h.params["beta"] == pytest.approx(0.28, abs=0.007)
    assert f.status == h.status == "converged"


def test_recovers_known_power_law_over_steps() -> None:
    rng = np.random.default_rng(3)
    step = np.geomspace(100, 1e5, 60)
    loss = (1.8 + 30.0 * step**-0.3) * np.exp(rng.normal(0, 0.003, 60))
    df = pd.DataFrame({"step": step, "loss": loss})
    f = bs.fit(df, "power", x="step", loss="squared", config=FULL)
    # with 0.3% noise over three decades the exponent is determined to ~0.01
    assert f.params["alpha"] == pytest.approx(0.3, abs=0.03)
    assert f.params["E"] == pytest.approx(1.8, rel=0.02)
    assert f.data.columns["x"] == "step"


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
    assert e[0, 5] == -5.0  # the noise scale's one start, log_sigma = LOG_SIGMA_START
    g, desc = resolve_starts(law, "hoffmann", objective=bs.Noise())
    assert g.shape == (4500, 6) and desc == {"kind": "grid", "name": "hoffmann"}
    np.testing.assert_array_equal(g[:, 5], -5.0)


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


# ---------------------------------------------------------------------------- bs.fit_groups


@pytest.fixture(scope="module")
def power_batch():
    """1,000 power-law curves, 5% of them degenerate, in chunks of 128."""
    rng = np.random.default_rng(1)
    healthy = power_curves(950, rng)
    bad = []
    for j in range(20):  # constant loss
        bad.append(pd.DataFrame({"run": 1000 + j, "N": np.geomspace(1e7, 1e9, 10), "loss": 2.5}))
    for j in range(20):  # 2 points
        bad.append(pd.DataFrame({"run": 2000 + j, "N": [1e8, 1e9], "loss": [2.6, 2.4]}))
    for j in range(10):  # the law is NaN there: every start ends non-finite
        x = np.geomspace(1e14, 1e15, 12)
        bad.append(pd.DataFrame({"run": 3000 + j, "N": x, "loss": 1.7 + 200 * x**-0.3}))
    df = pd.concat([healthy, *bad], ignore_index=True)
    df = df.sample(frac=1.0, random_state=0)  # curves interleaved in the table
    out = bs.fit_groups(
        df, COUNTED_POWER, group="run", loss="squared", starts=16, config=CONFIG, chunk_size=128
    )
    return df, out


def test_power_batch_statuses(power_batch) -> None:
    _, out = power_batch
    t = out.table
    assert len(t) == 1000 and list(t.columns[:2]) == ["run", "n_points"]
    assert list(t.columns[2:5]) == ["A", "E", "alpha"]
    status = dict(zip(t["run"], t["status"], strict=True))
    assert all(status[g] == "converged" for g in range(950))
    assert all(status[1000 + j] == "constant_loss" for j in range(20))
    assert all(status[2000 + j] == "too_few_points" for j in range(20))
    assert all(status[3000 + j] == "non_finite" for j in range(10))
    bad = t[t["run"] >= 1000]
    assert bad[["A", "E", "alpha"]].isna().all().all()
    assert (t.loc[t["run"] >= 3000, "message"] == "objective or parameters became non-finite").all()
    assert (t.loc[t["run"] < 1000, "grad_norm"] < 1e-6).all()
    assert np.median(np.abs(t.loc[t["run"] < 1000, "alpha"] - 0.3)) < 0.05
    assert {(b.length, b.lanes) for b in out.buckets} == {(16, 128), (32, 128)}
    assert sum(b.n_curves for b in out.buckets) == 960 and out.n_compiled_shapes == 2
    assert all(b.n_chunks == -(-b.n_curves // 128) for b in out.buckets)
    assert out.theta.shape == (1000, 3) and out.result.start_counts.shape == (1000, 5)
    assert not hasattr(out.result, "start_theta")  # per-start detail only on request
    counted = out.result.start_counts.sum(axis=1)
    fitted = (t["run"] < 1000) | (t["run"] >= 3000)  # the others were not fitted
    assert (counted[fitted] == 16).all() and (counted[~fitted] == 0).all()
    assert out.starts == {"kind": "random", "seed": 0, "n": 16}


def test_batch_rows_follow_the_sorted_group_keys(power_batch) -> None:
    df, out = power_batch
    assert out.table["run"].tolist() == sorted(df["run"].unique())
    counts = df.groupby("run").size()
    healthy = out.table["run"] < 1000
    np.testing.assert_array_equal(
        out.table.loc[healthy, "n_points"], counts.loc[out.table.loc[healthy, "run"]]
    )
    np.testing.assert_array_equal(out.table.loc[healthy, "alpha"], out.result.params[healthy, 2])


def test_per_start_detail_on_request_summarises_to_the_default(power_batch) -> None:
    """keep_starts=True keeps every start; summarised, it is the default batch, curve by curve."""
    df, _ = power_batch
    sizes = df.groupby("run").size()
    runs = [*sizes.index[(sizes == 12) & (sizes.index < 1000)][:5], 1000, 2000, 3000]
    sub = df[df["run"].isin(runs)]  # one bucket of 16 points, a curve of each status
    kw = {"group": "run", "loss": "squared", "starts": 16, "config": FULL._replace(max_steps=300)}
    full = bs.fit_groups(sub, COUNTED_POWER, keep_starts=True, **kw)
    short = bs.fit_groups(sub, COUNTED_POWER, **kw)
    assert full.result.start_theta.shape == (8, 16, 3) and len(full.buckets) == 1
    pd.testing.assert_frame_equal(full.table, short.table, check_exact=True)
    for name, value in summarise_starts(full.result)._asdict().items():
        np.testing.assert_array_equal(value, getattr(short.result, name), err_msg=name)
    assert (full.result.start_status[-3:-1] == [[CONSTANT_LOSS], [TOO_FEW_POINTS]]).all()


def test_unfittable_curves_are_flagged_without_fitting() -> None:
    law = fresh(COUNTED_POWER, "counted_power_unfittable")
    df = pd.DataFrame(
        {
            "run": ["two"] * 2 + ["flat"] * 4 + ["tied"] * 5,
            "N": [1e8, 2e8] + [1e8, 2e8, 3e8, 4e8] + [1e8, 2e8, 3e8, 4e8, 5e8],
            "loss": [3.0, 2.9] + [2.5] * 4 + [3.0, 3.0, 3.0, 2.9, 2.8],
        }
    )
    traced = TRACES["n"]
    out = bs.fit_groups(df, law, group="run", drop_top_losses=3)
    t = out.table.set_index("run")
    assert t.loc["two", "status"] == "too_few_points"
    assert t.loc["two", "message"].startswith("no points left (of 2 rows, 2 dropped")
    # ties with the threshold are dropped too (Epoch's rule): all 4 flat points go
    assert t.loc["flat", "n_points"] == 0
    assert t.loc["tied", "message"].startswith("only 2 points (of 5 rows, 3 dropped")
    assert out.buckets == () and np.isnan(out.theta).all()
    out = bs.fit_groups(df[df["run"] != "tied"], law, group="run")
    assert out.table.set_index("run").loc["flat", "status"] == "constant_loss"
    assert out.result.status.tolist() == [CONSTANT_LOSS, TOO_FEW_POINTS]
    assert TRACES["n"] == traced, "a batch with nothing to fit traced the law"


@pytest.mark.parametrize(
    "change, kwargs, error, match",
    [
        (lambda d: d.drop(columns="loss"), {}, bs.DataError, "missing column 'loss'"),
        (lambda d: d, {"group": "nope"}, bs.DataError, "group column"),
        (lambda d: d.assign(N=d["N"].where(d.index != 3, -1.0)), {}, bs.DataError, "non-positive"),
        (lambda d: d, {"chunk_size": 0}, ValueError, "chunk_size must be >= 1, got 0"),
    ],
)
def test_whole_batch_problems_raise_before_compute(change, kwargs, error, match) -> None:
    law = fresh(COUNTED_POWER, "counted_power_refused")
    traced = TRACES["n"]
    df = power_curves(3, np.random.default_rng(0))
    with pytest.raises(error, match=match):
        bs.fit_groups(change(df), law, **{"group": "run", **kwargs})
    assert TRACES["n"] == traced, "the law was traced before the problem was found"


def parabola(p, x):
    """log L = e + k (log x - m)^2."""
    u = jnp.log(x["x"]) - p["m"]
    return p["e"] + p["k"] * u * u


def parabola_law(name: str, m_lo: float, m_hi: float) -> bs.Law:
    return bs.make_law(
        name,
        parabola,
        [
            bs.ParamSpec("e", "L_opt", "exp", 0.5, 2.0),
            bs.ParamSpec("k", "curvature", "identity", 0.0, 0.1),
            bs.ParamSpec("m", "x_opt", "exp", m_lo, m_hi),
        ],
        ("x",),
    )


#: One law for both data sets, so both compile one shape (128 points, 32 curves per call); each
#: starts from 16 random starts over its own range of m (x = N for IsoFLOP, x = lr for StepLaw).
PARABOLA = parabola_law("parabola", -9.0, 25.0)
REAL = {"law": PARABOLA, "config": FULL, "min_length": 128, "chunk_size": 32}


def test_isoflop_budgets_give_growing_optimal_size() -> None:
    df = pd.read_csv(
        shared_path("isoflops_openathena", "data", "isoflops", "transform", "isoflops.csv")
    )
    df = df[~df["outlier"]]  # the source's own quality flags
    starts = random_starts(parabola_law("isoflop_parabola", 16.0, 25.0), 16)
    out = bs.fit_groups(
        df, group=["experiment", "budget"], columns={"N": "params"}, x="N", starts=starts, **REAL
    )
    t = out.table
    assert len(t) == 62 and len(out.buckets) == 1
    assert (t["status"] == "converged").all(), t[t["status"] != "converged"]
    assert (t["curvature"] > 0).all()
    for name, g in t.groupby("experiment"):  # N* grows with the budget C
        assert g["budget"].corr(g["x_opt"], method="spearman") >= 0.95, name


def test_steplaw_cells_give_learning_rate_bowls() -> None:
    df = pd.read_csv(shared_path("steplaw", "data", "dense_lr_bs_loss.csv"))
    starts = random_starts(parabola_law("lr_parabola", -9.0, -3.5), 16)
    out = bs.fit_groups(
        df, group=["N", "D"], columns={"step": "lr"}, x="step", starts=starts, **REAL
    )
    t = out.table
    assert len(t) == 17 and len(out.buckets) == 1
    assert (t["status"] == "converged").all(), t[t["status"] != "converged"]
    assert (t["curvature"] > 0).all()
    assert t["x_opt"].between(df["lr"].min(), df["lr"].max()).all()
    # optimal learning rate falls with model size and rises with data (StepLaw's signs)
    design = np.c_[np.ones(len(t)), np.log(t["N"]), np.log(t["D"])]
    coef = np.linalg.lstsq(design, np.log(t["x_opt"]), rcond=None)[0]
    assert coef[1] < -0.2 and coef[2] > 0.05, coef
