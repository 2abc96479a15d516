"""Session-wide settings and fixtures shared by every test directory.

* float64 and ``jax_numpy_rank_promotion="raise"`` for the session (as optimistix tests do);
* :func:`shared_path` - the public data sets beside the project (``../shared/data``). A test
  whose data set is missing skips, saying why, except when ``BAYESCALE_REQUIRE_SHARED=1``
  (set by ``.ci/run``): then it fails;
* :func:`epoch_bootstrap` - Besiroglu et al.'s set-up (the MLE-Huber fit of the 240 bundled
  points and a 4,000-resample bootstrap, seed 42), computed once per test run: the first
  pytest-xdist worker that needs it computes and saves it; the others wait on a file lock and
  load the saved fit (an exact round trip);
* :func:`epoch_protocol` - the same fit bootstrapped by Epoch's own protocol
  (``--protocol besiroglu2024``: their resamples, Huber-loss refits from Hoffmann's values)
  through the command line, once per test run the same way;
* :func:`replication` - ``bayescale replicate chinchilla`` at small settings
  (:data:`REPLICATION_ARGS`), run once per test run the same way; the CLI, replication and
  report tests read its folder. The notebooks run at the same sizes, so their compiled
  programs come from the persistent compilation cache below.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from collections.abc import Iterator
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REQUIRE_SHARED = os.environ.get("BAYESCALE_REQUIRE_SHARED") == "1"

jax.config.update("jax_numpy_rank_promotion", "raise")

# One persistent compilation cache per test run, shared by the pytest-xdist workers and by the
# processes the tests start (notebook kernels, CLI smoke tests): most of the suite's CPU time is
# XLA compiling the same few programs in several processes.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / f"bayescale-jax-cache-{RUN_ID}"
os.environ["JAX_COMPILATION_CACHE_DIR"] = str(CACHE)
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
jax.config.update("jax_compilation_cache_dir", str(CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


def shared_path(*parts: str) -> Path:
    """Path into ``../shared/data``; skips (or fails in CI) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"shared data not found at {path}"
        if REQUIRE_SHARED:
            pytest.fail(message + " (BAYESCALE_REQUIRE_SHARED=1)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def chinchilla_240() -> dict[str, np.ndarray]:
    """Epoch AI's 240 Chinchilla points (drop the 5 highest losses), read straight from shared."""
    df = pd.read_csv(shared_path("chinchilla", "svg_extracted_data.csv"))
    df = df[df["loss"] < sorted(df["loss"])[-5]]
    n = df["Model Size"].to_numpy()
    return {"N": n, "D": df["Training FLOP"].to_numpy() / (6 * n), "loss": df["loss"].to_numpy()}


def epoch_mle() -> bs.Fit:
    """Besiroglu et al.'s MLE-Huber fit of the 240 bundled points (Hoffmann's grid)."""
    return bs.fit(
        "example:chinchilla",
        "chinchilla",
        loss=bs.Noise("huber", 1e-3),
        starts="hoffmann",
        drop_top_losses=5,
    )


def run_root(factory: pytest.TempPathFactory) -> Path:
    """The directory shared by every worker of this test run."""
    # Under pytest-xdist every worker's basetemp sits in one run directory; without it, the
    # basetemp itself is the run's (its parent holds earlier runs, whose results may be stale).
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` shared by the workers of a run."""
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def epoch_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> tuple[bs.Fit, bs.Draws]:
    """``(fit, draws)``: the MLE-Huber fit and its 4,000-resample bootstrap (seed 42), computed
    once per test run and shared by every worker through a saved fit directory."""
    root = run_root(tmp_path_factory)
    saved = root / "epoch_bootstrap"
    with run_lock(root / "epoch_bootstrap.lock"):
        if not (saved / "draws.npz").is_file():
            fit = epoch_mle()
            bs.save_fit(fit._replace(draws=bs.bootstrap(fit, 4000, seed=42)), saved)
        loaded = bs.load_fit(saved)
    return loaded._replace(draws=None), loaded.draws


#: ``bayescale fit`` arguments of Epoch AI's bootstrap protocol on the 240 bundled points.
EPOCH_PROTOCOL_ARGS = (
    "fit", "example:chinchilla", "--law", "chinchilla", "--drop-top-losses", "5",
    "--method", "bootstrap", "--protocol", "besiroglu2024",
)  # fmt: skip


@pytest.fixture(scope="session")
def epoch_protocol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory written by ``bayescale fit ... --method bootstrap --protocol
    besiroglu2024 --out DIR`` (:data:`EPOCH_PROTOCOL_ARGS`: the MLE-Huber fit and Epoch's
    4,000 Huber-loss refits), run in-process once per test run and shared by every worker
    (file lock)."""
    root = run_root(tmp_path_factory)
    saved = root / "epoch_protocol"
    with run_lock(root / "epoch_protocol.lock"):
        if not (saved / "draws.npz").is_file():
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout):
                code = main([*EPOCH_PROTOCOL_ARGS, "--out", str(saved), "--no-progress"])
            assert code == 0, stdout.getvalue()
    return saved


#: ``bayescale replicate chinchilla`` options of the shared small run (the full run is timed in
#: the README): 100 resamples, NUTS 2 x 50 + 50 (seed 42, the command's default).
REPLICATION_ARGS = ("--resamples", "100", "--chains", "2", "--warmup", "50", "--draws", "50")


@pytest.fixture(scope="session")
def replication(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """``(out, exit code, stdout)`` of ``bayescale replicate chinchilla`` at small settings,
    run in-process once per test run and shared by every worker (file lock)."""
    root = run_root(tmp_path_factory)
    out, record = root / "replication", root / "replication.stdout"
    with run_lock(root / "replication.lock"):
        if not record.is_file():
            args = ["replicate", "chinchilla", "--out", str(out), *REPLICATION_ARGS]
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout):
                code = main([*args, "--no-progress"])
            record.write_text(f"{code}\n{stdout.getvalue()}")
        code, text = record.read_text().split("\n", 1)
    return out, int(code), text
