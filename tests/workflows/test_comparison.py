"""Model comparison (:func:`bayescale.compare`): PSIS-LOO on the Chinchilla data, held-out
scores on simulated data. The command line is tested in tests/cli/test_cli.py.

Every fit here has 217 training points, the default start grids and the NUTS settings of
tests/workflows/test_extrapolation.py, so compiled fitters and samplers are shared within a
worker. NUTS runs 2 chains x 150 warmup x 150 draws: the compiled sampler, not the draws,
is most of the cost, and at this size the LOO bounds below hold with room over seeds 0-3
(measured: elpd 809.8-811.3 and 608.5-609.4, differences 201.0-202.1 with se 22.2-22.5, the
largest Pareto k 0.40).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.workflows.comparison import loo_idata, strength_of, verdict

TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
NUTS = bs.NutsConfig(num_chains=2, num_warmup=150, num_samples=150)


def simulate(seed: int = 0, n_train: int = 217, n_hold: int = 23) -> tuple[pd.DataFrame, float]:
    """Runs from the Chinchilla law with 1% log-normal noise and the compute cap leaving
    ``n_train`` of them for training (as in tests/workflows/test_extrapolation.py)."""
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(np.log(5e7), np.log(1e10), n_train + n_hold))
    d = n * np.exp(rng.uniform(np.log(2.0), np.log(60.0), n.size))
    mean = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
    loss = mean * np.exp(rng.normal(0.0, 0.01, n.size))
    c = np.sort(6 * n * d)
    return pd.DataFrame({"N": n, "D": d, "loss": loss}), float(np.sqrt(c[n_train - 1] * c[n_train]))


@pytest.fixture(scope="module")
def chinchilla_vs_kaplan():
    """The acceptance case: both laws on Epoch AI's 240 points, held out above 1e21 FLOPs."""
    return bs.compare(
        "example:chinchilla",
        ["chinchilla", "kaplan"],
        holdout_above=("C", 1e21),
        method="nuts",
        drop_top_losses=5,
        nuts_config=NUTS,
    )


def test_chinchilla_vs_kaplan_table_and_verdict(chinchilla_vs_kaplan) -> None:
    c = chinchilla_vs_kaplan
    t = c.table
    assert isinstance(t, pd.DataFrame) and list(t.index) == ["chinchilla", "kaplan"]
    assert list(t["rank"]) == [0, 1] and list(t["n_params"]) == [6, 5]
    assert list(t["n_points"]) == [217, 217] and list(t["n_holdout"]) == [23, 23]
    # maximum log likelihood on the 217 training runs: 818.8 against 616.2
    assert t.loc["chinchilla", "log_lik"] == pytest.approx(818.81, abs=0.05)
    assert t.loc["kaplan", "log_lik"] == pytest.approx(616.22, abs=0.05)
    # PSIS-LOO: elpd 811 against 609, a difference of ~200 with a standard error of ~22
    assert 780 < t.loc["chinchilla", "elpd_loo"] < 830
    assert 580 < t.loc["kaplan", "elpd_loo"] < 630
    diff, dse = t.loc["kaplan", "elpd_diff"], t.loc["kaplan", "dse"]
    assert 170 < diff < 230 and 12 < dse < 35 and diff > 4 * dse
    assert t.loc["chinchilla", "elpd_diff"] == 0
    assert (t["max_pareto_k"] < 0.7).all() and (t["n_bad_k"] == 0).all()
    assert (t["p_loo"] > 3).all()
    # held out: Chinchilla's law extrapolates with half Kaplan's error
    assert t.loc["chinchilla", "holdout_mean_abs_rel_error"] == pytest.approx(0.01075, rel=0.02)
    assert t.loc["kaplan", "holdout_mean_abs_rel_error"] == pytest.approx(0.02145, rel=0.02)
    assert c.extrapolations["kaplan"].scores["n_train"] == 217
    assert (c.preferred, c.strength, c.basis) == ("chinchilla", "strong", "loo")
    assert c.verdict.startswith("chinchilla is strongly preferred over kaplan by PSIS-LOO")
    assert "standard errors" in c.verdict and "Held-out mean absolute relative error" in c.verdict
    out = json.loads(json.dumps(c.to_dict()))
    assert [r["law"] for r in out["table"]] == ["chinchilla", "kaplan"]


def test_loo_idata_computes_a_missing_log_likelihood(chinchilla_vs_kaplan) -> None:
    import arviz as az

    f = chinchilla_vs_kaplan.fits["kaplan"]
    built = loo_idata(f._replace(draws=f.draws._replace(idata=None)))
    assert "log_likelihood" in built.groups()
    np.testing.assert_allclose(
        built.log_likelihood["log_loss"].values, f.draws.idata.log_likelihood["log_loss"].values
    )
    elpd = az.loo(built).elpd_loo
    assert elpd == pytest.approx(chinchilla_vs_kaplan.table.loc["kaplan", "elpd_loo"], rel=1e-3)


def test_held_out_comparison_finds_the_true_law() -> None:
    df, cap = simulate()
    c = bs.compare(df, ["kaplan", "chinchilla"], holdout_above=f"C={cap!r}", method="point")
    t = c.table
    assert list(t.index) == ["chinchilla", "kaplan"] and c.basis == "holdout"
    assert c.verdict.startswith("LOO needs NUTS draws")
    # the true law's held-out log density is higher by 12.5 with a paired se of 4.2: 3 se,
    # a moderate preference; its point predictions are off by 0.76% against Kaplan's 1.24%
    assert c.preferred == "chinchilla" and c.strength == "moderate"
    assert "chinchilla is moderately preferred over kaplan on the 23 held-out points" in c.verdict
    assert t.loc["chinchilla", "holdout_lpd_sum"] == pytest.approx(73.30, abs=0.05)
    assert t.loc["kaplan", "holdout_lpd_sum"] == pytest.approx(60.79, abs=0.05)
    assert t.loc["chinchilla", "holdout_mean_abs_rel_error"] == pytest.approx(0.00763, rel=0.02)
    assert t.loc["kaplan", "holdout_mean_abs_rel_error"] == pytest.approx(0.01237, rel=0.02)
    # on the training runs the misspecified law is far behind too
    assert t.loc["chinchilla", "aic"] < t.loc["kaplan", "aic"] - 300
    assert "elpd_loo" not in t.columns


def test_verdict_rule() -> None:
    assert strength_of(50.0, 10.0) == "strong"  # 5 se
    assert strength_of(30.0, 10.0) == "moderate"  # 3 se
    assert strength_of(15.0, 10.0) == "none"  # 1.5 se
    assert strength_of(3.0, 0.1) == "none"  # 30 se, but below 4 elpd
    assert strength_of(8.0, float("nan")) == "none"
    # without draws for LOO and without a hold-out, AIC decides (Burnham-Anderson thresholds)
    for gap, strength in ((20.0, "strong"), (6.0, "moderate"), (2.0, "none")):
        table = pd.DataFrame({"aic": [-100.0, -100.0 + gap]}, index=["a", "b"])
        text, best, s, basis = verdict(table, None, loo=False)
        assert (best, s, basis) == ("a", strength, "aic") and f"{gap:.1f}" in text


def test_bad_laws_raise() -> None:
    with pytest.raises(bs.DataError, match="two or more distinct laws"):
        bs.compare("example:chinchilla", ["chinchilla"])
    with pytest.raises(bs.DataError, match="two or more distinct laws"):
        bs.compare("example:chinchilla", ["chinchilla", "chinchilla"])
    with pytest.raises(KeyError, match="unknown law 'nolaw'"):
        bs.compare("example:chinchilla", ["chinchilla", "nolaw"])
    with pytest.raises(ValueError, match="method must be one of"):
        bs.compare("example:chinchilla", ["chinchilla", "power"], method="mcmc")
