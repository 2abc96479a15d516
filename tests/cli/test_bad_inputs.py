"""The bad-input catalogue: every bad input is exit 2 and one line on stderr, never a traceback.

One table of cases across ``fit``, ``fit --group``, saved folders (``allocate``, ``critique``,
``report``), ``extrapolate``, ``compare``, ``replicate`` and ``backtest``: the arguments, the
exit code and words the one line must contain. Almost every case fails in validation, before
anything is compiled; the saved folders come from one small fit (its draws are made up, so no
bootstrap is compiled). Memory is fixed at 16 GB (:func:`bayescale.lanes.available_memory` is
replaced) so that the resource cases do not depend on the machine.

Beside the table: data that is legal but suspect succeeds with a warning; a fuzz test of the
table reader (random dtypes, NaN patterns, column names) exits 0 or 2, never 1; and SIGINT in
the middle of a bootstrap exits 130 with one line and leaves no folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayescale as bs
from bayescale.cli import main
from bayescale.cli.guard import Guard
from bayescale.likelihood import fit_names
from bayescale.results.atomic import partial_path
from bayescale.results.manifest import write_manifest

#: Memory the resource checks see during these tests (bytes, not per device).
MEMORY = (16 * 10**9, False)


@pytest.fixture(autouse=True)
def fixed_memory(monkeypatch) -> None:
    monkeypatch.setattr("bayescale.lanes.available_memory", lambda device=None: MEMORY)


def cli(capsys, args: list[str]) -> tuple[int, str, str]:
    """``bayescale ARGS`` in-process: ``(exit code, stdout, stderr)``; argparse's exits too."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def made_up_draws(fit: bs.Fit, n: int, rng: np.random.Generator) -> bs.Draws:
    """Bootstrap-like draws around the fit's optimum (nothing compiled)."""
    theta = fit.result.theta[None, None] + 0.01 * rng.normal(size=(1, n, fit.result.theta.size))
    return bs.Draws(
        method="bootstrap",
        theta=theta,
        names=fit_names(fit.law, fit.objective),
        status=np.zeros((1, n), dtype=np.int32),
        diagnostics={"status_counts": {}, "n_unconverged": 0, "cluster": False, "n_groups": None},
        warnings=(),
        settings={"n_resamples": n, "seed": 0, "resample_scheme": "default", "protocol": None},
        seconds=0.0,
    )


def corrupt(root: Path, name: str, source: str, change) -> None:
    shutil.copytree(root / source, root / name)
    change(root / name)


def empty_draws(folder: Path) -> None:
    """A consistent folder (manifest rewritten) whose draws.npz holds no draws."""
    np.savez(folder / "draws.npz", theta=np.zeros((1, 0, 6)), status=np.zeros((1, 0)))
    write_manifest(folder, 2)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def alpha_half(doc: dict) -> None:
    doc["params"]["alpha"] = 0.5  # a hand-edited parameter


def law_kaplan(doc: dict) -> None:
    doc["law"] = "kaplan"


def version_99(doc: dict) -> None:
    doc["format_version"] = 99


@pytest.fixture(scope="module")
def world(tmp_path_factory, runs_csv, curve_csv) -> Path:
    """Tables, saved folders (whole and damaged) and obstacles, in one folder."""
    d = tmp_path_factory.mktemp("bad_inputs")
    runs = pd.read_csv(runs_csv[0])
    curve = pd.read_csv(curve_csv[0])
    shutil.copy(runs_csv[0], d / "runs.csv")
    shutil.copy(curve_csv[0], d / "curve.csv")
    (d / "dup.csv").write_text("N,D,loss,loss\n1e8,1e10,3.0,3.1\n2e8,2e10,2.9,2.8\n")
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("N,D,loss\n")
    runs.assign(loss=["x"] * len(runs)).to_csv(d / "text.csv", index=False)
    runs.assign(loss=runs["loss"].where(runs.index != 3, np.nan)).to_csv(d / "nan.csv")
    runs.assign(N=-runs["N"]).to_csv(d / "neg.csv", index=False)
    runs.head(3).to_csv(d / "three.csv", index=False)
    curve.assign(loss=2.5).to_csv(d / "const.csv", index=False)
    runs.drop(columns="D").to_csv(d / "nod.csv", index=False)
    (d / "bad.parquet").write_bytes(b"not a parquet file")
    (d / "data.txt").write_text("N,loss\n1,2\n")
    groups = curve.assign(run=np.repeat(["a", "b"], len(curve) // 2), status=1)
    groups.to_csv(d / "groups.csv", index=False)
    (d / "afile").write_text("a file, not a folder\n")
    (d / "full").mkdir()
    (d / "full" / "keep.txt").write_text("someone's results\n")

    rng = np.random.default_rng(0)
    fit = bs.fit(d / "runs.csv", "chinchilla", loss=bs.Noise("huber"))
    bs.save_fit(fit._replace(draws=made_up_draws(fit, 100, rng)), d / "boot")
    bs.save_fit(fit, d / "point")
    corrupt(d, "zero_draws", "boot", lambda p: empty_draws(p))
    corrupt(d, "trunc_arrays", "boot", lambda p: truncate(p / "arrays.npz"))
    corrupt(d, "trunc_draws", "boot", lambda p: truncate(p / "draws.npz"))
    corrupt(d, "edited", "boot", lambda p: edit_json(p / "fit.json", alpha_half))
    corrupt(d, "edited_meta", "point", lambda p: edit_json(p / "meta.json", law_kaplan))
    corrupt(d, "no_draws_json", "boot", lambda p: (p / "draws.json").unlink())
    corrupt(d, "no_starts", "point", lambda p: (p / "starts.csv").unlink())
    corrupt(d, "no_manifest", "boot", lambda p: (p / "manifest.json").unlink())
    corrupt(d, "v99", "boot", lambda p: edit_json(p / "manifest.json", version_99))
    corrupt(d, "bad_manifest", "boot", lambda p: (p / "manifest.json").write_text("{not json"))
    corrupt(d, "stray", "point", lambda p: shutil.copy(d / "boot" / "draws.npz", p))
    (d / "empty_dir").mkdir()
    return d


FIT = ["fit", "{d}/runs.csv"]
CURVE = ["fit", "{d}/curve.csv", "--law", "power", "--x", "step"]
GROUP = ["fit", "{d}/groups.csv", "--law", "power", "--x", "step", "--group", "run"]
EXTRA = ["extrapolate", "{d}/curve.csv", "--law", "power", "--x", "step"]
HOLD = [*EXTRA, "--holdout-above", "step=1e4"]
COMPARE = ["compare", "{d}/runs.csv", "--law", "chinchilla", "--law", "kaplan"]
BACKTEST = ["backtest", "{d}/curve.csv", "--law", "power", "--x", "step"]

CASES = [
    # --- fit: the table
    ("missing file", ["fit", "{d}/nope.csv"], "not found: '"),
    ("unsupported suffix", ["fit", "{d}/data.txt"], "unsupported file type '.txt'"),
    ("empty file", ["fit", "{d}/empty.csv"], "is empty"),
    ("header only", ["fit", "{d}/header.csv"], "the table is empty"),
    ("duplicate columns", ["fit", "{d}/dup.csv"], "two columns named 'loss' (columns 3 and 4)"),
    ("non-numeric loss", ["fit", "{d}/text.csv"], "column 'loss' is not numeric"),
    ("NaN loss", ["fit", "{d}/nan.csv"], "non-finite values (rows 3)"),
    ("negative N", ["fit", "{d}/neg.csv"], "non-positive or non-finite"),
    ("missing column", ["fit", "{d}/nod.csv"], "missing column 'D'"),
    ("damaged parquet", ["fit", "{d}/bad.parquet"], "could not read Parquet file"),
    ("too few points", ["fit", "{d}/three.csv"], "only 3 points remain"),
    # --- fit: the options
    ("unknown law", [*FIT, "--law", "nolaw"], "unknown law 'nolaw'"),
    ("--x with a law of N, D", [*FIT, "--x", "step"], "--x step chooses the variable"),
    ("--x not a variable", ["fit", "{d}/curve.csv", "--law", "power", "--x", "Q"], "x must be"),
    ("unknown start grid", [*FIT, "--starts", "nogrid"], "no start grid"),
    ("zero starts", [*CURVE, "--starts", "0"], ">= 1, got 0"),
    ("malformed --col", [*FIT, "--col", "N"], "malformed column mapping 'N'"),
    ("--col to a missing column", [*FIT, "--col", "N=nope"], "column 'nope' (mapped to 'N')"),
    ("negative --drop-top-losses", [*FIT, "--drop-top-losses", "-1"], "must be >= 0"),
    ("--drop-top-losses of all", [*FIT, "--drop-top-losses", "40"], "would drop every row"),
    ("zero --flops-per-token", [*FIT, "--flops-per-token", "0"], "flops_per_token must be"),
    ("non-positive --delta", [*CURVE, "--delta", "-1"], "delta"),
    ("unknown option", [*FIT, "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ("bad --method", [*FIT, "--method", "mcmc"], "invalid choice: 'mcmc'"),
    ("--seed not an int", [*FIT, "--seed", "x"], "invalid int value: 'x'"),
    ("--robust without laplace", [*FIT, "--robust"], "--robust goes with --method laplace"),
    ("block option, point", [*FIT, "--block-size", "3"], "goes with --method bootstrap"),
    ("--resamples 1", [*CURVE, "--method", "bootstrap", "--resamples", "1"], ">= 2, got 1"),
    ("negative --boot-starts", [*CURVE, "--method", "bootstrap", "--boot-starts", "-2"], ">= 0"),
    ("--cluster not a column", [*CURVE, "--method", "bootstrap", "--cluster", "run"], "'run'"),
    (
        "--block-by not a column",
        [*CURVE, "--method", "bootstrap", "--block-size", "3", "--block-by", "nope"],
        "--block-by column 'nope'",
    ),  # fmt: skip
    ("--block-size too big", [*CURVE, "--method", "bootstrap", "--block-size", "40"], "smaller"),
    ("unknown protocol", [*FIT, "--method", "bootstrap", "--protocol", "epoch"], "'epoch'"),
    ("--chains 0", [*CURVE, "--method", "nuts", "--chains", "0"], "--chains and --draws"),
    ("--target-accept 1.5", [*CURVE, "--method", "nuts", "--target-accept", "1.5"], "(0, 1)"),
    (
        "constant loss, bootstrap",
        ["fit", "{d}/const.csv", "--law", "power", "--x", "step", "--method", "bootstrap"],
        "the same loss",
    ),  # fmt: skip
    # --- fit: resources (16 GB)
    ("--starts 50000000", [*CURVE, "--starts", "50000000"], "--starts 50000000 (50,000,000 s"),
    (
        "--resamples 100000000",
        [*CURVE, "--method", "bootstrap", "--resamples", "100000000"],
        "needs ~",
    ),  # fmt: skip
    ("--draws 1000000000", [*CURVE, "--method", "nuts", "--draws", "1000000000"], "use --draws"),
    # --- fit: outputs
    ("--out is a file", [*CURVE, "--out", "{d}/afile"], "is a file, not a folder"),
    ("--out not empty", [*CURVE, "--out", "{d}/full"], "exists and is not empty"),
    ("--out under a file", [*CURVE, "--out", "{d}/afile/sub"], "afile' is a file"),
    # --- fit --group
    ("--group not a column", [*GROUP[:-1], "nocol"], "group column(s) ['nocol'] not in"),
    ("--group twice", [*GROUP, "--group", "run"], "group columns repeat"),
    ("--group and laplace", [*GROUP, "--method", "laplace"], "laplace is for single fits"),
    ("--group and --cluster", [*GROUP, "--method", "bootstrap", "--cluster", "run"], "--cluster"),
    (
        "--group and --protocol",
        [*GROUP, "--method", "bootstrap", "--protocol", "besiroglu2024"],
        "is for single fits",
    ),  # fmt: skip
    ("--group clashes with a result", [*GROUP[:-1], "status"], "clash with result columns"),
    ("--group, huge --starts", [*GROUP, "--starts", "50000000"], "use --starts"),
    ("--group --out is a file", [*GROUP, "--out", "{d}/afile"], "is a file, not a folder"),
    ("--group --chunk-size 0", [*GROUP, "--chunk-size", "0", "--starts", "4"], "chunk_size"),
    # --- saved folders
    ("allocate: missing", ["allocate", "{d}/nofit", "--compute", "1e24"], "nofit' not found"),
    ("allocate: a file", ["allocate", "{d}/afile", "--compute", "1e24"], "is a file; a saved"),
    (
        "allocate: empty folder",
        ["allocate", "{d}/empty_dir", "--compute", "1e24"],
        "manifest.json is missing; it holds none",
    ),  # fmt: skip
    (
        "allocate: truncated arrays",
        ["allocate", "{d}/trunc_arrays", "--compute", "1e24"],
        "arrays.npz was changed after it was saved: it has",
    ),  # fmt: skip
    (
        "allocate: truncated draws",
        ["allocate", "{d}/trunc_draws", "--compute", "1e24"],
        "draws.npz was changed after it was saved: it has",
    ),  # fmt: skip
    (
        "allocate: edited fit.json",
        ["allocate", "{d}/edited", "--compute", "1e24"],
        "fit.json was changed after it was saved",
    ),  # fmt: skip
    (
        "allocate: edited meta.json",
        ["allocate", "{d}/edited_meta", "--compute", "1e24"],
        "meta.json was changed",
    ),  # fmt: skip
    (
        "allocate: draws.json gone",
        ["allocate", "{d}/no_draws_json", "--compute", "1e24"],
        "draws.json is missing",
    ),  # fmt: skip
    (
        "allocate: starts.csv gone",
        ["allocate", "{d}/no_starts", "--compute", "1e24"],
        "starts.csv is missing",
    ),  # fmt: skip
    (
        "allocate: no manifest",
        ["allocate", "{d}/no_manifest", "--compute", "1e24"],
        "save was interrupted",
    ),  # fmt: skip
    (
        "allocate: other version",
        ["allocate", "{d}/v99", "--compute", "1e24"],
        "format version 99",
    ),  # fmt: skip
    (
        "allocate: damaged manifest",
        ["allocate", "{d}/bad_manifest", "--compute", "1e24"],
        "manifest.json is damaged",
    ),  # fmt: skip
    (
        "allocate: stray draws",
        ["allocate", "{d}/stray", "--compute", "1e24"],
        "draws.npz is not part of the saved fit",
    ),  # fmt: skip
    (
        "allocate: zero draws",
        ["allocate", "{d}/zero_draws", "--compute", "1e24"],
        "holds no draws",
    ),  # fmt: skip
    ("allocate: negative budget", ["allocate", "{d}/boot", "--compute", "-1"], "> 0"),
    ("allocate: no budget", ["allocate", "{d}/boot"], "the following arguments are required"),
    ("allocate: budget not a number", ["allocate", "{d}/boot", "--compute", "big"], "'big'"),
    (
        "allocate: bad k",
        ["allocate", "{d}/boot", "--compute", "1e24", "--flops-per-token", "-3"],
        "flops_per_token",
    ),  # fmt: skip
    ("critique: no draws", ["critique", "{d}/point"], "critique needs draws"),
    ("critique: unknown reference", ["critique", "{d}/boot", "--against", "nope"], "'nope'"),
    ("critique: damaged folder", ["critique", "{d}/trunc_draws"], "draws.npz was changed"),
    ("report: --out a folder", ["report", "{d}/boot", "--out", "{d}/full"], "is a folder"),
    ("report: unknown reference", ["report", "{d}/boot", "--against", "nope"], "'nope'"),
    (
        "report: --beside without draws",
        ["report", "{d}/boot", "--beside", "{d}/point", "--out", "{d}/r.html"],
        "has no draws",
    ),  # fmt: skip
    ("report: edited folder", ["report", "{d}/edited", "--out", "{d}/r.html"], "fit.json was"),
    ("report: bad --format", ["report", "{d}/boot", "--format", "pdf"], "invalid choice"),
    # --- extrapolate
    ("extrapolate: no rule", EXTRA, "needs --holdout-above"),
    ("extrapolate: bad rule", [*EXTRA, "--holdout-above", "step>1e4"], "COLUMN=VALUE"),
    ("extrapolate: --cutoffs 0", [*HOLD, "--cutoffs", "0"], "--cutoffs must be >= 1"),
    ("extrapolate: --resamples 1", [*HOLD, "--resamples", "1"], "--resamples must be >= 2"),
    (
        "extrapolate: --x with N, D",
        ["extrapolate", "{d}/runs.csv", "--x", "C", "--holdout-above", "C=1e21"],
        "--x C chooses",
    ),  # fmt: skip
    ("extrapolate: --out a file", [*HOLD, "--out", "{d}/afile"], "is a file"),
    ("extrapolate: huge --resamples", [*HOLD, "--resamples", "1000000000"], "use --resamples"),
    ("extrapolate: --level 2", [*HOLD, "--level", "2"], "--level must be strictly between"),
    # --- compare
    ("compare: one law", ["compare", "{d}/runs.csv", "--law", "chinchilla"], "two or more laws"),
    ("compare: unknown law", [*COMPARE[:-1], "nolaw"], "unknown law 'nolaw'"),
    ("compare: --draws 0", [*COMPARE, "--draws", "0"], "--chains, --warmup, --draws >= 1"),
    ("compare: --out not empty", [*COMPARE, "--out", "{d}/full"], "exists and is not empty"),
    ("compare: huge --draws", [*COMPARE, "--draws", "1000000000"], "use --draws"),
    (
        "compare: missing file",
        ["compare", "{d}/no.csv", "--law", "power", "--law", "kaplan"],
        "not found",
    ),  # fmt: skip
    # --- replicate
    ("replicate: unknown", ["replicate", "gpt5"], "unknown replication 'gpt5'"),
    ("replicate: --resamples 1", ["replicate", "chinchilla", "--resamples", "1"], ">= 2"),
    ("replicate: --out a file", ["replicate", "chinchilla", "--out", "{d}/afile"], "is a file"),
    ("replicate: --out not empty", ["replicate", "chinchilla", "--out", "{d}/full"], "not empty"),
    (
        "replicate: huge --resamples",
        ["replicate", "chinchilla", "--resamples", "100000000", "--out", "{d}/rep"],
        "use --resamples",
    ),  # fmt: skip
    # --- backtest
    ("backtest: bad --levels", [*BACKTEST, "--levels", "0.5,2"], "--levels must be"),
    ("backtest: --resamples 1", [*BACKTEST, "--resamples", "1"], "--resamples must be >= 2"),
    ("backtest: --out not empty", [*BACKTEST, "--out", "{d}/full"], "exists and is not empty"),
]


@pytest.mark.parametrize("name, args, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_exit_2_and_one_line(world, name, args, words, capsys) -> None:
    argv = [a.format(d=world) for a in args]
    code, _, err = cli(capsys, argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (argv, err)
    assert lines[0].startswith("bayescale: error: ") and words in lines[0], (argv, err)
    assert (world / "full" / "keep.txt").is_file() and len(list((world / "full").iterdir())) == 1
    assert not [p.name for p in world.iterdir() if ".partial-" in p.name]


def test_the_catalogue_is_large() -> None:
    assert len(CASES) >= 60


# ----------------------------------------------------------------------------- suspect data


@pytest.mark.parametrize(
    "table, x, words",
    [
        ("three.csv", "N", "3 points for 3 parameters leave 0 residual degrees of freedom"),
        ("const.csv", "step", "every one of the 40 points has the same loss"),
    ],
)
def test_suspect_data_succeeds_with_a_warning(world, table, x, words, capsys) -> None:
    argv = ["fit", str(world / table), "--law", "power", "--x", x, "--starts", "8", "--json"]
    code, out, err = cli(capsys, argv)
    assert code == 0, err
    assert words in err and err.startswith("bayescale: warning: ")
    summary = json.loads(out)
    assert any(words in w for w in summary["warnings"])
    if table == "const.csv":
        assert summary["status"] == "constant_loss"


def test_overwrite_replaces_a_folder_whole(world, tmp_path, capsys) -> None:
    """A point fit over a folder that held a bootstrap: refused; with --overwrite the folder is
    replaced whole (its draws gone, nothing mixed) and it loads."""
    out = tmp_path / "fit"
    shutil.copytree(world / "boot", out)
    argv = ["fit", str(world / "runs.csv"), "--noise", "huber", "--out", str(out)]
    code, _, err = cli(capsys, argv)
    assert code == 2 and "not empty" in err and (out / "draws.npz").is_file()
    code, _, err = cli(capsys, [*argv, "--overwrite", "--no-progress"])
    assert code == 0, err
    assert not (out / "draws.npz").exists() and bs.load_fit(out).draws is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]


# ----------------------------------------------------------------------------- fuzz


NAMES = st.sampled_from(["N", "loss", "step", "x", "N ", "", "loss.1", "<b>", 'é,"q"', "0"])
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
)
ROWS = 12


@st.composite
def tables(draw) -> pd.DataFrame:
    """12 rows; 1-4 columns of random names (repeats allowed) and random dtypes; mostly a
    usable N and loss so that many tables get as far as the fit."""
    cols = {}
    if draw(st.booleans()):
        n = np.geomspace(1e6, 1e9, ROWS)
        cols["N"] = n
        cols["loss"] = 2.0 + 50 * n**-0.3
    names = draw(st.lists(NAMES, max_size=3))
    frame = pd.DataFrame(cols)
    for name in names:
        kind = draw(st.sampled_from(["float", "mixed", "nan", "constant"]))
        if kind == "float":
            values = draw(st.lists(st.floats(0.1, 1e9), min_size=ROWS, max_size=ROWS))
        elif kind == "nan":
            values = [np.nan] * ROWS
        elif kind == "constant":
            values = [2.5] * ROWS
        else:
            values = draw(st.lists(VALUES, min_size=ROWS, max_size=ROWS))
        frame.insert(len(frame.columns), name, values, allow_duplicates=True)
    if not len(frame.columns):
        frame = pd.DataFrame({"N": np.ones(ROWS)})
    return frame


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=tables(), suffix=st.sampled_from([".csv", ".tsv"]))
def test_fuzzed_tables_exit_0_or_2_never_1(frame, suffix, tmp_path, capsys) -> None:
    path = tmp_path / f"t{suffix}"
    frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    argv = ["fit", str(path), "--law", "power", "--starts", "4", "--strategy", "full", "--json"]
    code, _, err = cli(capsys, argv)
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


# ----------------------------------------------------------------------------- signals


def test_sigint_mid_bootstrap_exits_130_and_leaves_no_folder(curve_csv, tmp_path) -> None:
    """Ctrl-C while the bootstrap runs: answered within seconds with one line, exit 130, and
    neither the folder nor its hidden partial sibling is left."""
    out = tmp_path / "fit"
    argv = [sys.executable, "-m", "bayescale", "fit", str(curve_csv[0]), "--law", "power"]
    argv += ["--x", "step", "--starts", "8", "--method", "bootstrap", "--resamples", "2000000"]
    argv += ["--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = bytearray()

    def pump() -> None:
        for chunk in iter(lambda: proc.stderr.read1(256), b""):
            err.extend(chunk)

    reader = threading.Thread(target=pump)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while b"bootstrap:" not in err and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, bytes(err)
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        answered = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    text = bytes(err).decode()
    assert code == 130, text
    assert answered < 10, answered  # typically 0.2 s; generous for a loaded machine
    assert text.strip().splitlines()[-1].endswith("interrupted by SIGINT; partial output removed")
    assert "Traceback" not in text
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(bs.DataError, match="not found"):
        bs.load_fit(out)


def test_guard_answers_sigterm_while_the_main_thread_is_busy(tmp_path) -> None:
    """The watcher thread acts on the signal even while the main thread is in a long call."""
    target = tmp_path / "out"
    partial_path(target).mkdir()
    codes: list[int] = []
    with Guard([target], exit=codes.append, stream=io.StringIO()):
        os.kill(os.getpid(), signal.SIGTERM)
        limit = time.monotonic() + 5
        while not codes and time.monotonic() < limit:
            time.sleep(0.01)
    assert codes and codes[0] == 143
    assert list(tmp_path.iterdir()) == []


def test_a_missing_accelerator_backend_is_one_line_exit_2(world, monkeypatch, capsys) -> None:
    """``JAX_PLATFORMS=cuda`` on a machine without one: how to run on the CPU, exit 2."""

    def no_backend(*args, **kwargs):
        raise RuntimeError("Unable to initialize backend 'cuda': no CUDA device\nmore detail")

    monkeypatch.setenv("JAX_PLATFORMS", "cuda")
    monkeypatch.setattr("bayescale.cli.guard.jax.devices", no_backend)
    code, _, err = cli(capsys, ["fit", str(world / "runs.csv")])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "JAX_PLATFORMS=cuda but JAX could not start that backend (Unable to" in lines[0]
    assert "to run on the CPU, set JAX_PLATFORMS=cpu" in lines[0]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_heartbeat_on_a_terminal_while_no_bar_shows(monkeypatch) -> None:
    monkeypatch.setattr("bayescale.cli.guard.HEARTBEAT_S", 0.05)
    screen = Terminal()
    with Guard([], label="fit", stream=screen):
        time.sleep(0.5)
    lines = screen.getvalue().splitlines()
    assert lines and all(line.startswith("bayescale: fit still working (") for line in lines)
    quiet = io.StringIO()  # not a terminal: no heartbeat (logs stay clean)
    with Guard([], label="fit", stream=quiet):
        time.sleep(0.2)
    assert quiet.getvalue() == ""
