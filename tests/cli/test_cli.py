"""The command line, in-process through :func:`bayescale.cli.main` (exit code returned, output
captured), plus two subprocess smoke tests of the entry points a user types: the ``bayescale``
console script and ``python -m bayescale``.

Contract: exit 0 on success; exit 2 and exactly one line ``bayescale: error: ...`` on stderr for
bad input; ``--debug`` (accepted before or after the command) raises instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.cli import main

COMMANDS = [
    "fit",
    "laws",
    "allocate",
    "critique",
    "replicate",
    "report",
    "extrapolate",
    "compare",
    "backtest",
]


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``bayescale ARGS`` in-process: ``(exit code, stdout, stderr)``."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(capsys, args: list[str], match: str) -> None:
    """Exit 2 with one line on stderr naming the problem."""
    code, _, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (args, err)
    assert lines[0].startswith("bayescale: error:") and match in lines[0], (args, err)


# ----------------------------------------------------------------------------- help, laws


@pytest.mark.parametrize("cmd", [[], *([c] for c in COMMANDS)], ids=["top", *COMMANDS])
def test_help(cmd: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*cmd, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith(" ".join(["usage: bayescale", *cmd]))
    if not cmd:
        assert all(c in out for c in COMMANDS)
    if cmd == ["extrapolate"]:
        assert "C=1e21" in out
    if cmd == ["compare"]:
        assert "--law" in out and "4 standard errors" in out
    if cmd == ["extrapolate"]:
        assert "--calibrate" in out and "--test-column" in out and "--level" in out
    if cmd == ["backtest"]:
        assert "--cutoffs" in out and "points.csv" in out


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    code, out, _ = run(capsys)
    assert code == 2 and out.startswith("usage: bayescale")


def test_laws_lists_builtins(capsys) -> None:
    code, out, _ = run(capsys, "laws", "--json")
    laws = {law["name"]: law for law in json.loads(out)}
    assert code == 0 and {"chinchilla", "power"} <= set(laws)
    assert laws["chinchilla"]["inputs"] == ["N", "D"] and "hoffmann" in laws["chinchilla"]["grids"]
    code, out, _ = run(capsys, "laws")
    assert code == 0 and "chinchilla  inputs: N, D" in out and "start grids: " in out


# ----------------------------------------------------------------------------- fit


def test_fit_json_is_the_epoch_replication(tmp_path, capsys, replication) -> None:
    """(``replication`` is requested first so that this worker compiles the grid fit once.)"""
    args = ["fit", "example:chinchilla", "--law", "chinchilla", "--drop-top-losses", "5"]
    args += ["--starts", "hoffmann"]
    code, out, err = run(capsys, *args, "--json", "--out", str(tmp_path / "fit"))
    assert code == 0, err
    out = json.loads(out)
    assert {"law", "n_points", "filters", "params", "objective", "starts", "seconds"} <= set(out)
    assert out["n_points"] == 240 and out["filters"][0]["name"] == "drop_top_losses"
    assert set(out["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert round(out["params"]["alpha"], 4) == 0.3473
    assert {"n", "converged", "near_best"} <= set(out["starts"]) and out["starts"]["n"] == 4500
    saved = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert saved["params"] == out["params"]
    assert (tmp_path / "fit" / "starts.csv").read_text().count("\n") == 4501
    # the same fit as text
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert out.startswith("law chinchilla: 240 points, 4500 starts")
    assert re.search(r"alpha = 0\.3473", out) and "(huber)" in out


FIT = ["fit", "example:chinchilla"]
BOOT = [*FIT, "--method", "bootstrap"]
EPOCH = [*BOOT, "--protocol", "besiroglu2024"]


@pytest.mark.parametrize(
    "args, match",
    [
        (["fit", "missing.csv"], "missing.csv"),
        (["fit", "example:chinchilla", "--col", "N=nope"], "'nope'"),
        (["fit", "example:chinchilla", "--col", "N=C", "--col", "N=x"], "duplicate"),
        (["fit", "example:chinchilla", "--law", "nolaw"], "unknown law"),
        (["fit", "example:chinchilla", "--starts", "nogrid"], "no start grid"),
        (["fit", "example:chinchilla", "--method", "bootstrap", "--resamples", "1"], ">= 2"),
        (["fit", "example:chinchilla", "--group", "N", "--cluster", "N"], "--cluster"),
        ([*FIT, "--method", "nuts", "--boot-objective", "loss"], "goes with --method bootstrap"),
        ([*FIT, "--protocol", "besiroglu2024"], "--protocol goes with --method bootstrap"),
        ([*BOOT, "--protocol", "epoch"], "unknown protocol 'epoch'"),
        ([*EPOCH, "--resamples", "100", "--boot-objective", "loss"], "drop --resamples, --boot-"),
        ([*EPOCH, "--boot-starts", "2"], "drop --boot-starts"),
        ([*BOOT, "--group", "N", "--boot-objective", "loss"], "is for single fits"),
        (["replicate", "gpt5"], "unknown replication"),
        (["replicate", "chinchilla", "--resamples", "1"], "--resamples must be >= 2"),
    ],
)
def test_bad_input_exit_2_one_line(args: list[str], match: str, capsys) -> None:
    assert_bad_input(capsys, args, match)


def test_fit_bootstrap_of_the_loss(curve_csv, tmp_path, capsys) -> None:
    """``--boot-objective loss``: every resample refits the summed Huber loss (no sigma in the
    draws) from the maximum-likelihood fit; the choice is saved with the draws."""
    args = ["fit", str(curve_csv[0]), "--law", "power", "--x", "step", "--starts", "16"]
    args += ["--method", "bootstrap", "--boot-objective", "loss", "--resamples", "32"]
    code, out, err = run(capsys, *args, "--json", "--out", str(tmp_path / "fit"))
    assert code == 0, err
    d = json.loads(out)["draws"]
    assert d["n_draws"] == 32 and set(d["params"]) == {"E", "A", "alpha"}  # no sigma
    assert d["settings"]["refit"] == "loss" and d["settings"]["protocol"] is None
    assert d["settings"]["objective"] == {"type": "Loss", "kind": "huber", "delta": 1e-3}
    assert d["diagnostics"]["n_unconverged"] == 0
    saved = bs.load_fit(tmp_path / "fit")
    assert saved.objective == bs.Noise("huber", 1e-3) and saved.draws.theta.shape == (1, 32, 3)


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_raises_instead_of_exit_2(where: str, capsys) -> None:
    """``--debug`` before or after the command shows the exception (here: the DataError)."""
    args = ["fit", "missing.csv"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    with pytest.raises(bs.DataError, match="missing.csv"):
        main(args)


def test_strategies_record_their_optimiser_and_reach_one_optimum(curve_csv, capsys) -> None:
    """``--strategy``: adam exploration (the default), BFGS exploration, or every start run in
    full; each is recorded in fit.json's optimizer block and all three find one optimum."""
    args = ["fit", str(curve_csv[0]), "--law", "power", "--x", "step", "--starts", "32"]
    got = {}
    for strategy in ("explore", "explore-bfgs", "full"):
        code, out, err = run(capsys, *args, "--strategy", strategy, "--json")
        assert code == 0, err
        got[strategy] = json.loads(out)
    opt = {k: v["optimizer"] for k, v in got.items()}
    assert opt["explore"]["explore_optimizer"] == ["adam", 0.1]
    assert opt["explore-bfgs"]["explore_optimizer"] == "bfgs"
    assert opt["full"]["explore_steps"] == 0 and opt["explore"]["explore_steps"] == 20
    for name, value in got["full"]["params"].items():
        for strategy in ("explore", "explore-bfgs"):
            assert got[strategy]["params"][name] == pytest.approx(value, rel=1e-6), strategy


def test_fit_group_batch(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for g in range(6):
        x = np.geomspace(1e6, 1e10, 12 + g)
        loss = (1.7 + 200 * x**-0.3) * np.exp(rng.normal(0, 0.01, x.size))
        rows += [{"model": f"m{g}", "N": a, "loss": b} for a, b in zip(x, loss, strict=True)]
    pd.DataFrame(rows).to_csv(tmp_path / "g.csv", index=False)
    args = ["fit", str(tmp_path / "g.csv"), "--law", "power", "--group", "model"]
    code, out, err = run(capsys, *args, "--json", "--out", str(tmp_path / "out"))
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_curves"] == 6 and summary["status_counts"] == {"converged": 6}
    table = pd.read_csv(tmp_path / "out" / "curves.csv")
    assert len(table) == 6 and set(table["status"]) == {"converged"}
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["n_curves"] == 6
    code, out, err = run(
        capsys, *args, "--no-progress", "--keep-starts", "--out", str(tmp_path / "all")
    )
    assert code == 0, err
    assert out.startswith("law power, point: 6 curves in ") and "converged 6" in out
    # every start kept on request: the same table, and the summary's counts are the starts'
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "all" / "curves.csv"), table)
    with np.load(tmp_path / "all" / "starts.npz") as z:
        assert z["theta"].shape == (6, 180, 3) and z["names"].tolist() == ["a", "e", "alpha"]
        starts = summary["starts"]
        assert sum(starts.values()) == 6 * 180 == z["status"].size
        assert starts["converged"] == int(np.sum(z["status"] == 0))
    assert_bad_input(capsys, [*args[:4], "--group", "nocol"], "nocol")
    assert_bad_input(capsys, [*args[:4], "--distributed"], "add --group COLUMN")
    assert_bad_input(capsys, [*args, "--process-id", "1"], "need --distributed")


def test_fit_laplace_reports_labelled_approximate_sds(runs_csv, capsys) -> None:
    """``--method laplace [--robust]``: SDs in the JSON's draws summary, labelled approximate,
    the same as the API's; ``--robust`` without it, or with ``--group``, is a usage error."""
    path, _ = runs_csv
    fit = bs.fit(path, "chinchilla", loss=bs.Noise("huber"))
    for extra, covariance in (([], "inverse Fisher information"), (["--robust"], "sandwich")):
        args = ["fit", str(path), "--law", "chinchilla", "--method", "laplace", *extra]
        code, out, err = run(capsys, *args, "--json")
        assert code == 0, err
        draws = json.loads(out)["draws"]
        assert draws["method"] == "laplace" and draws["n_draws"] == 4000
        assert draws["settings"]["approximate"] is True
        assert draws["settings"]["covariance"] == covariance
        assert draws["warnings"][0].startswith("approximate:")
        api = bs.draws_summary(fit, bs.laplace(fit, robust=bool(extra)))
        for name in ("E", "alpha", "beta"):
            assert draws["params"][name]["sd"] == pytest.approx(api["params"][name]["sd"])
        code, out, err = run(capsys, *args)
        assert code == 0, err
        assert f"laplace ({covariance}, approximate): 4000 draws" in out
    assert_bad_input(capsys, ["fit", str(path), "--robust"], "--robust goes with --method laplace")
    group = ["fit", str(path), "--group", "N", "--method", "laplace"]
    assert_bad_input(capsys, group, "--method laplace is for single fits")


# ----------------------------------------------------------------------------- replicate


@pytest.mark.slow
def test_replicate_prints_the_summary(replication) -> None:
    out, code, stdout = replication
    assert code == 0, stdout
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert [line[:5] for line in lines[:5]] == ["[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"]
    summary = lines[-8:-1]
    assert summary[0].startswith("At C = 5.88e23 FLOPs: N* ~ ")  # the report's headline
    assert summary[1].startswith("Refit (Hoffmann grid")
    assert summary[5].startswith("Hoffmann's parameters are rejected: Wald chi2(5)")
    assert summary[6].startswith("Epoch's protocol (100 Huber-loss refits")
    assert lines[-1].endswith(f"everything is in {out}/)")
    for d in ("grid", "bootstrap", "nuts"):
        assert (out / d / "fit.json").is_file()
    assert json.loads((out / "critique.json").read_text())["wald_p"] < 1e-20


@pytest.mark.slow
def test_allocate_on_a_saved_fit(replication, capsys) -> None:
    out = replication[0]
    code, stdout, err = run(
        capsys, "allocate", str(out / "bootstrap"), "--compute", "5.88e23", "--json"
    )
    assert code == 0, err
    a = json.loads(stdout)
    assert a["method"] == "closed_form" and a["draws"] == "bootstrap"
    assert 17 < a["budgets"][0]["tokens_per_param"]["point"] < 19.5
    code, stdout, err = run(
        capsys, "allocate", str(out / "bootstrap"), "--compute", "5.88e23", "--compute", "1e25"
    )
    assert code == 0, err
    assert "intervals over bootstrap draws" in stdout and stdout.count("D*/N* = ") == 2
    # planner units: N* in params, D* in tokens with SI prefixes; e-notation only for FLOPs
    assert re.search(r"N\* = \d+(\.\d)? B params  \[", stdout) and " T tokens" in stdout
    flops_free = stdout.replace("5.88e23 FLOPs", "").replace("1e25 FLOPs", "")
    assert not re.search(r"\de[+-]?\d", flops_free), stdout


@pytest.mark.slow
def test_critique_on_a_saved_fit(replication, capsys) -> None:
    out = replication[0]
    code, stdout, err = run(
        capsys, "critique", str(out / "bootstrap"), "--against", "hoffmann2022", "--json"
    )
    assert code == 0, err
    c = json.loads(stdout)
    assert c["wald_df"] == 5 and c["wald_p"] < 1e-20 and c["reference"] == "hoffmann2022"
    code, stdout, err = run(capsys, "critique", str(out / "bootstrap"))
    assert code == 0, err
    assert "Wald chi2(5) = " in stdout and "runs needed for the claimed interval on a" in stdout


@pytest.mark.slow
def test_report_on_a_saved_fit(replication, tmp_path, capsys) -> None:
    out = replication[0]
    args = ("report", str(out / "nuts"), "--beside", str(out / "bootstrap"), "--budget", "1e24")
    code, stdout, err = run(capsys, *args, "--out", str(tmp_path / "r.md"))
    assert code == 0, err
    lines = stdout.strip().splitlines()
    # the page's headline and 5-line summary, then the file
    assert lines[0].startswith("At C = 1e24 FLOPs: N* ~ ") and " B params [" in lines[0]
    assert "NUTS (2 chains x 50 draws)" in lines[1] and "bootstrap (100 refits)" in lines[1]
    assert lines[2].startswith("Central values are medians") and lines[3] == ""
    assert lines[4].startswith("Law chinchilla") and len(lines) == 10
    assert lines[-1] == f"wrote {tmp_path / 'r.md'}"
    text = (tmp_path / "r.md").read_text()
    assert "## Diagnostics" in text and (tmp_path / "r_figures").is_dir()
    assert "NUTS samples the posterior under the iid noise model" in text  # engines side by side


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, match",
    [
        (["allocate", "{out}/bootstrap", "--compute", "-1"], "> 0"),
        (["critique", "{out}/grid"], "needs draws"),
        (["critique", "{out}/bootstrap", "--against", "nope"], "unknown reference"),
        (["report", "{out}/bootstrap", "--against", "nope"], "unknown reference"),
        (["report", "{tmp}/nofit"], "nofit' not found"),
        (["report", "{out}/bootstrap", "--beside", "{out}/grid"], "grid: this saved fit has no"),
    ],
)
def test_saved_fit_bad_input(replication, tmp_path, args, match, capsys) -> None:
    args = [a.format(out=replication[0], tmp=tmp_path) for a in args]
    assert_bad_input(capsys, args, match)


# ----------------------------------------------------------------------------- extrapolate


def test_extrapolate_point_fit_of_a_training_curve(curve_csv, tmp_path, capsys) -> None:
    csv, step = curve_csv
    args = ["extrapolate", str(csv), "--law", "power", "--x", "step", "--holdout-above"]
    args += ["step=2e4", "--method", "point", "--starts", "16"]
    code, out, err = run(capsys, *args, "--json", "--out", str(tmp_path / "out"))
    assert code == 0, err
    res = json.loads(out)
    n_hold = int(np.sum(step > 2e4))
    assert res["scores"]["n_holdout"] == n_hold and res["scores"]["n_train"] == 40 - n_hold
    assert res["method"] == "point" and "draws" not in res["fit"]
    assert "sigma" in res["fit"]["params"] and "log_sigma" not in res["fit"]["params"]
    assert res["scores"]["mean_abs_rel_error"] < 0.02 and len(res["points"]) == n_hold
    assert res["scores"]["coverage"] >= 0.5
    assert pd.read_csv(tmp_path / "out" / "holdout.csv").shape[0] == n_hold
    assert json.loads((tmp_path / "out" / "extrapolation.json").read_text()) == res
    saved = bs.load_fit(tmp_path / "out" / "fit")
    assert saved.data.filters[-1]["name"] == "holdout_above"
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert out.startswith(f"law power: fitted to {40 - n_hold} points with step <= 20000;")


@pytest.mark.parametrize(
    "rule, match",
    [
        (None, "extrapolate needs --holdout-above"),
        ("nope=1", "unknown hold-out column 'nope'"),
        ("step=130", "leaves 2 training points, fewer than the 4 parameters"),
        ("step=1e6", "holds out nothing"),
        ("step=big", "must be a finite number"),
    ],
)
def test_extrapolate_bad_input(curve_csv, rule, match: str, capsys) -> None:
    args = ["extrapolate", str(curve_csv[0]), "--law", "power", "--x", "step"]
    assert_bad_input(capsys, args + (["--holdout-above", rule] if rule else []), match)


def test_extrapolate_test_column_calibrated_to_files(curve_csv, tmp_path, capsys) -> None:
    """--test-column, --calibrate, --level and --out: points.csv, scores.csv, summary.json."""
    csv, step = curve_csv
    df = pd.read_csv(csv).assign(held=(step > 2e4).astype(int))
    path = tmp_path / "curve.csv"
    df.to_csv(path, index=False)
    args = [
        "extrapolate",
        str(path),
        "--law",
        "power",
        "--x",
        "step",
        "--test-column",
        "held",
        "--calibrate",
        "--level",
        "0.8",
        "--method",
        "point",
        "--starts",
        "16",
        "--cutoffs",
        "3",
        "--out",
        str(tmp_path / "out"),
    ]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    n_hold = int(np.sum(step > 2e4))
    assert f"{n_hold} held out (test column 'held', distances in step; point)" in out
    assert "80% interval covers" in out and "uncalibrated" in out and "continues beyond" in out
    pts = pd.read_csv(tmp_path / "out" / "points.csv")
    assert list(pts.columns[:7]) == [
        "step",
        "observed",
        "pred_median",
        "pred_lower",
        "pred_upper",
        "covered",
        "law",
    ]
    assert len(pts) == n_hold and set(pts["law"]) == {"power"}
    assert {"raw_lower", "raw_upper", "raw_covered", "calibrated"} <= set(pts.columns)
    scores = pd.read_csv(tmp_path / "out" / "scores.csv")
    assert len(scores) == 1 and {"coverage", "raw_coverage", "interval_score"} <= set(scores)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["forecast"]["level"] == 0.8 and summary["forecast"]["calibrated"]
    assert (tmp_path / "out" / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    assert bs.load_fit(tmp_path / "out" / "fit").data.filters[-1]["name"] == "test_column"


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--holdout-above", "step=2e4", "--test-column", "step"], "not both"),
        (["--test-column", "nope"], "unknown test column 'nope'"),
        (["--holdout-above", "step=2e4", "--cutoffs", "0"], "--cutoffs must be >= 1"),
    ],
)
def test_extrapolate_bad_forecast_input(curve_csv, extra, match: str, capsys) -> None:
    args = ["extrapolate", str(curve_csv[0]), "--law", "power", "--x", "step", *extra]
    assert_bad_input(capsys, args, match)


# ----------------------------------------------------------------------------- backtest


def test_backtest_of_a_training_curve(curve_csv, tmp_path, capsys) -> None:
    csv, _ = curve_csv
    args = [
        "backtest",
        str(csv),
        "--law",
        "power",
        "--x",
        "step",
        "--method",
        "point",
        "--starts",
        "16",
        "--cutoffs",
        "3",
    ]
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "bt"))
    assert code == 0, err
    assert out.startswith("backtest of power on step: 3 lanes (1 curve(s) x cutoffs)")
    assert "coverage against nominal" in out and "90%: " in out and "interval score (90%)" in out
    for name in ("points.csv", "lanes.csv", "coverage.csv", "distance.csv", "scores.csv"):
        assert (tmp_path / "bt" / name).is_file(), name
    cov = pd.read_csv(tmp_path / "bt" / "coverage.csv")
    assert list(cov["nominal"]) == [0.5, 0.8, 0.9]
    assert (tmp_path / "bt" / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    code, out, err = run(capsys, *args, "--levels", "0.5,0.95", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_lanes"] == 3 and summary["levels"] == [0.5, 0.95]


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--levels", "0.5,1.5"], "--levels must be probabilities"),
        (["--cutoffs", "0"], "--cutoffs must be >= 1"),
        (["--cutoff", "1e9"], "too few points to backtest"),
        (["--group", "nope"], "group column(s) ['nope'] not in the table"),
    ],
)
def test_backtest_bad_input(curve_csv, extra, match: str, capsys) -> None:
    args = ["backtest", str(curve_csv[0]), "--law", "power", "--x", "step", *extra]
    assert_bad_input(capsys, args, match)


# ----------------------------------------------------------------------------- compare


@pytest.mark.slow
def test_compare_bootstrap_on_held_out_runs(runs_csv, tmp_path, capsys) -> None:
    """Two laws on 40 simulated runs, the 10 above 1e21 FLOPs held out."""
    csv, n_hold = runs_csv
    args = ["compare", str(csv), "--law", "chinchilla", "--law", "power", "--x", "C"]
    args += ["--holdout-above", "C=1e21", "--method", "bootstrap", "--resamples", "100"]
    args += ["--starts", "32", "--json", "--out", str(tmp_path / "out")]
    code, out, err = run(capsys, *args)
    assert code == 0, err
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
    table = pd.read_csv(tmp_path / "out" / "comparison.csv", index_col="law")
    assert list(table.index) == [r["law"] for r in res["table"]]
    assert json.loads((tmp_path / "out" / "comparison.json").read_text()) == res


@pytest.mark.parametrize(
    "laws, extra, match",
    [
        (["chinchilla"], [], "two or more laws"),
        (["chinchilla", "nolaw"], [], "unknown law 'nolaw'"),
        (["chinchilla", "kaplan"], ["--holdout-above", "C=big"], "must be a finite number"),
        (["chinchilla", "kaplan"], ["--warmup", "0"], "--warmup"),
    ],
)
def test_compare_bad_input(runs_csv, laws, extra, match: str, capsys) -> None:
    args = ["compare", str(runs_csv[0]), *(a for law in laws for a in ("--law", law)), *extra]
    assert_bad_input(capsys, args, match)


# ----------------------------------------------------------------------------- entry points


def test_console_script_smoke() -> None:
    """The ``bayescale`` script installed beside the interpreter runs a command."""
    script = Path(sys.executable).parent / "bayescale"
    p = subprocess.run([str(script), "laws", "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert {"chinchilla", "power"} <= {law["name"] for law in json.loads(p.stdout)}


def test_python_m_bayescale_smoke() -> None:
    """``python -m bayescale`` passes main's exit code and its one-line error through."""
    p = subprocess.run(
        [sys.executable, "-m", "bayescale", "fit", "missing.csv"], capture_output=True, text=True
    )
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and "missing.csv" in lines[0], p.stderr
