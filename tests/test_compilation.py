"""Same shapes never retrace: the compiled boundaries (one curve, a batch of curves, the host
runner) trace a law once per static setting and shape, whatever the data values.

Each test uses :data:`helpers.COUNTED_POWER` under a name of its own: a new static argument,
so its first call must trace (whatever ran before in this process) and later calls of the same
shapes must not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from helpers import COUNTED_POWER, TRACES, power_curves

import bayescale as bs
from bayescale import enable_x64
from bayescale.lanes import run_in_chunks
from bayescale.laws import random_starts
from bayescale.optimize.multistart import fit_multistart

#: One BFGS loop to compile (settings are not under test here).
CHEAP = bs.FitConfig(explore_steps=0, restarts=0, max_steps=100)


def test_same_shapes_do_not_recompile_a_single_fit() -> None:
    law = COUNTED_POWER._replace(name="counted_power_single")
    x = np.geomspace(1e7, 1e10, 24)
    starts = jnp.asarray(random_starts(law, 8, seed=0))
    before = TRACES["n"]
    with enable_x64():
        for i, scale in enumerate((1.0, 1.01, 0.99)):
            data = bs.Data(
                {"x": jnp.asarray(x * scale)},
                jnp.log(jnp.asarray(1.7 + 200 * x**-0.3)),
                jnp.ones(24),
            )
            fit_multistart(starts, data, law, bs.Loss("squared"), CHEAP)
            if i == 0:
                after_first = TRACES["n"]
    assert after_first > before
    assert TRACES["n"] == after_first, "a same-shaped second fit retraced the law"


def test_same_bucket_second_batch_does_not_recompile(capsys) -> None:
    law = COUNTED_POWER._replace(name="counted_power_batch")
    kw = {"group": "run", "loss": "squared", "starts": 8, "config": CHEAP, "chunk_size": 8}
    before = TRACES["n"]
    first = bs.fit_groups(power_curves(20, np.random.default_rng(0), lengths=(9, 14)), law, **kw)
    traced = TRACES["n"]
    assert traced > before and [tuple(b) for b in first.buckets] == [(16, 20, 8, 3)]
    # another batch, other lengths and count, same bucket (16 points, 8 curves per call)
    df = power_curves(13, np.random.default_rng(7), lengths=(10, 16))
    steps = []
    out = bs.fit_groups(df, law, progress=steps.append, **kw)
    assert TRACES["n"] == traced, "a second batch in the same bucket retraced the law"
    assert [tuple(b) for b in out.buckets] == [(16, 13, 8, 2)]
    assert steps == [8, 5]  # progress in increments of curves
    bs.fit_groups(df, law, progress=True, **kw)  # a bar on stderr, over the 13 curves
    err = capsys.readouterr().err
    assert "fit_groups:" in err and "| 0/13 [" in err
    assert TRACES["n"] == traced


def test_host_runner_compiles_once_for_every_chunk() -> None:
    traces = []

    @jax.jit
    def double(block, shared):
        traces.append(block.shape)
        return 2 * block + shared

    out = run_in_chunks(double, np.arange(11.0), lanes=4, shared=np.float32(0.5))
    np.testing.assert_array_equal(out, 2 * np.arange(11.0) + 0.5)
    assert traces == [(4,)]  # 3 chunks, the last padded: one shape, one trace
    run_in_chunks(double, np.arange(100.0, 105.0), lanes=4, shared=np.float32(1.5))
    assert traces == [(4,)]
