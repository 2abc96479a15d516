"""A batch across two processes of JAX's distributed runtime (two local CPU processes, one
localhost coordinator) equals the batch in one process, record for record.

Each process runs :data:`WORKER`: it joins the runtime, fits its share of seven curves, then
fits and bootstraps it (two ``bs.distribute`` calls), and gets the gathered records of the whole
table; process 0 then runs the same functions on the whole table alone, in the same process (so
the compiled calls are reused), and both write what they have for this test to compare.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys

import jax
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import bayescale as bs
from bayescale.workflows.distributed import curve_owners, gather_objects

#: A busy machine may be slow to start two JAX processes; nothing here is timed.
TIMEOUT_S = 900

WORKER = """
import pickle, sys
import numpy as np, pandas as pd
import bayescale as bs

address, rank, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert bs.start_processes(address, 2, rank, timeout=600) == (rank, 2)
rng = np.random.default_rng(0)
n = np.geomspace(1e7, 1e10, 10)
frames = [
    pd.DataFrame({"run": f"c{c}", "N": n, "loss": (1.7 + rng.uniform(100, 300)
                  * n ** -rng.uniform(0.2, 0.4)) * np.exp(0.01 * rng.normal(size=10))})
    for c in range(6)
]
frames.append(pd.DataFrame({"run": "two", "N": [1e8, 1e9], "loss": [2.6, 2.4]}))
df = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)
# Every bucket in full chunks of 2 curves (fit) and 2 curves x 40 resamples (bootstrap), on
# each process as on one: the same compiled shapes, so the same numbers bit for bit.
config = bs.FitConfig(explore_steps=0, restarts=0, max_steps=200)


def fit(t):
    return bs.fit_groups(t, "power", group="run", starts=8, loss=bs.Noise("gaussian"),
                         config=config, chunk_size=2)


def boot(t):
    return bs.bootstrap(fit(t), 40, seed=3, chunk=80)


records = {"fit": bs.distribute(fit, df, group="run"), "boot": bs.distribute(boot, df, group="run")}
if rank == 0:
    records.update(one_fit=fit(df), one_boot=boot(df))
with open(out, "wb") as fh:
    fits = {k: r if k.endswith("fit") else r.fit for k, r in records.items()}
    pickle.dump({k: (r.table, r.theta, fits[k].curves, fits[k].table)
                 for k, r in records.items()}, fh)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("distributed")
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, address, str(rank), str(tmp / f"{rank}.pkl")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT_S))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for rank, (p, (_, err)) in enumerate(zip(procs, logs, strict=True)):
        assert p.returncode == 0, f"process {rank}:\n{err[-4000:]}"
    out = []
    for rank in range(2):
        with open(tmp / f"{rank}.pkl", "rb") as fh:
            out.append(pickle.load(fh))
    return out


def test_two_processes_give_the_one_process_table(two_processes) -> None:
    zero, one = two_processes
    for name in ("fit", "boot"):
        table, theta, curves, _ = zero[name]
        want_table, want_theta, want_curves, _ = zero[f"one_{name}"]
        pd.testing.assert_frame_equal(table, want_table, check_exact=True)
        np.testing.assert_array_equal(theta, want_theta)  # the draws themselves, curve by curve
        np.testing.assert_array_equal(curves.curve, want_curves.curve)
        np.testing.assert_array_equal(curves.kept, want_curves.kept)
        assert curves.buckets == ()  # the padded arrays stay with their process
        # every process returns the whole record
        pd.testing.assert_frame_equal(one[name][0], table, check_exact=True)
        np.testing.assert_array_equal(one[name][1], theta)
    table = zero["fit"][0]
    pd.testing.assert_frame_equal(zero["boot"][3], table, check_exact=True)  # the draws' fit
    assert table["run"].tolist() == ["c0", "c1", "c2", "c3", "c4", "c5", "two"]
    assert table["status"].tolist() == ["converged"] * 6 + ["too_few_points"]
    assert zero["boot"][1].shape == (7, 1, 40, 4) and np.isnan(zero["boot"][1][-1]).all()


def test_one_process_runs_the_function_on_the_whole_table() -> None:
    assert jax.process_count() == 1 and gather_objects({"a": 1}) == [{"a": 1}]
    df = pd.DataFrame({"run": ["a", "b"], "N": [1.0, 2.0], "loss": [3.0, 2.0]})
    assert bs.distribute(lambda t: t, df, group="run").equals(df)
    owners = curve_owners(7, 3)
    assert owners.tolist() == [0, 1, 2, 0, 1, 2, 0]
