"""Model comparison: PSIS-LOO on the Chinchilla data, held-out scores on simulated data, CLI.

Every fit here has 217 training points, the default start grids and the NUTS settings of
tests/test_extrapolate.py, so compiled fitters and samplers are shared within a session. The
CLI subprocesses start with the module and run on the second core while the in-process tests
compile.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bayescale.data import DataError
from bayescale.infer.nuts import NutsConfig
from bayescale.predict.compare import _verdict, compare, loo_idata, strength_of

TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
NUTS = NutsConfig(num_chains=2, num_warmup=300, num_samples=300)


def simulate(seed: int = 0, n_train: int = 217, n_hold: int = 23) -> tuple[pd.DataFrame, float]:
    """Runs from the Chinchilla law with 1% log-normal noise and the compute cap leaving
    ``n_train`` of them for training (as in tests/test_extrapolate.py)."""
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
    return compare(
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
    c = compare(df, ["kaplan", "chinchilla"], holdout_above=f"C={cap!r}", method="point")
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
        text, best, s, basis = _verdict(table, None, loo=False)
        assert (best, s, basis) == ("a", strength, "aic") and f"{gap:.1f}" in text


def test_bad_laws_raise() -> None:
    with pytest.raises(DataError, match="two or more distinct laws"):
        compare("example:chinchilla", ["chinchilla"])
    with pytest.raises(DataError, match="two or more distinct laws"):
        compare("example:chinchilla", ["chinchilla", "chinchilla"])
    with pytest.raises(KeyError, match="unknown law 'nolaw'"):
        compare("example:chinchilla", ["chinchilla", "nolaw"])
    with pytest.raises(ValueError, match="method must be one of"):
        compare("example:chinchilla", ["chinchilla", "power"], method="mcmc")


# ----------------------------------------------------------------------------- CLI


def run(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bayescale.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module", autouse=True)
def cli(tmp_path_factory):
    """The CLI runs of this module, started at once in the background: ``--help``, bad input
    and a good bootstrap comparison of two laws on 40 simulated runs, 10 of them held out."""
    tmp = tmp_path_factory.mktemp("compare_cli")
    df = simulate(n_train=39, n_hold=1)[0]
    df.to_csv(tmp / "runs.csv", index=False)
    csv = str(tmp / "runs.csv")
    procs = {
        "good": run("compare", csv, "--law", "chinchilla", "--law", "power", "--x", "C",
                    "--holdout-above", "C=1e21", "--method", "bootstrap", "--resamples", "100",
                    "--starts", "32", "--json", "--out", str(tmp / "out")),
        "help": run("compare", "--help"),
        "two or more laws": run("compare", csv, "--law", "chinchilla"),
        "unknown law 'nolaw'": run("compare", csv, "--law", "chinchilla", "--law", "nolaw"),
        "must be a finite number": run(
            "compare", csv, "--law", "chinchilla", "--law", "kaplan", "--holdout-above", "C=big"
        ),
    }  # fmt: skip
    yield tmp, int(np.sum(6 * df["N"] * df["D"] > 1e21)), procs
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.communicate()


def test_cli_compare(cli) -> None:
    """--help, bad input (exit 2, one line) and a good run, as a user runs them."""
    tmp, n_hold, procs = cli
    results = {k: (p.communicate(timeout=300), p.returncode) for k, p in procs.items()}
    (out, err), rc = results.pop("help")
    assert rc == 0 and "usage: bayescale compare" in out and "--law" in out
    assert "4 standard errors" in out
    (out, err), rc = results.pop("good")
    assert rc == 0, err
    for match, ((_, err), rc) in results.items():
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1, err
        assert lines[0].startswith("bayescale: error:") and match in lines[0], err
    res = json.loads(out)
    # on 30 training runs both laws extrapolate the 10 largest to ~1%: an elpd gap of ~1 is
    # below the 4 that any preference needs
    assert n_hold == 10 and res["basis"] == "holdout" and res["strength"] == "none"
    assert res["verdict"].startswith("LOO needs NUTS draws")
    assert "No clear preference between chinchilla and power on the 10 held-out" in res["verdict"]
    rows = {r["law"]: r for r in res["table"]}
    assert set(rows) == {"chinchilla", "power"}
    assert rows["chinchilla"]["n_points"] == 30 and rows["power"]["n_holdout"] == 10
    assert all(r["holdout_mean_abs_rel_error"] < 0.03 for r in rows.values())
    assert any("bootstrap refits did not converge" in w for w in res["warnings"])
    table = pd.read_csv(tmp / "out" / "comparison.csv", index_col="law")
    assert list(table.index) == [r["law"] for r in res["table"]]
