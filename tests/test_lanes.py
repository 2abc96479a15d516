"""The one host runner: lanes in fixed-size chunks (the last padded), results trimmed and in
order, progress in increments; chunk sizes from free memory."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from bayescale.lanes import (
    AXIS,
    BYTES_FACTOR,
    MAX_CHUNK_ACCEL,
    MAX_CHUNK_CPU,
    curve_mesh,
    default_chunk_size,
    lanes_for,
    run_in_chunks,
)


def test_chunks_are_padded_and_results_trimmed_in_lane_order() -> None:
    seen, done = [], []

    def fn(block, shared):
        seen.append((block["i"].copy(), block["w"].shape))
        return {"twice": 2 * block["i"] + shared, "row": block["w"].sum(axis=1)}

    lanes = {"i": np.arange(10), "w": np.arange(30.0).reshape(10, 3)}
    out = run_in_chunks(fn, lanes, lanes=4, shared=100, progress=done.append)
    # every call has 4 lanes; the last repeats its first lane (8) as padding
    assert [list(i) for i, _ in seen] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 8, 8]]
    assert {shape for _, shape in seen} == {(4, 3)}
    np.testing.assert_array_equal(out["twice"], 2 * np.arange(10) + 100)
    np.testing.assert_array_equal(out["row"], np.arange(30.0).reshape(10, 3).sum(axis=1))
    assert isinstance(out["twice"], np.ndarray)
    assert done == [4, 4, 2]  # increments of real lanes, summing to the total


def test_prepare_transforms_each_padded_block() -> None:
    def expand(block):  # e.g. every curve into 2 resamples
        return np.repeat(block, 2, axis=0)

    out = run_in_chunks(
        lambda b, _: b.reshape(-1, 2).sum(axis=1), np.arange(5.0), lanes=2, prepare=expand
    )
    np.testing.assert_array_equal(out, 2 * np.arange(5.0))


def test_one_chunk_when_lanes_exceed_the_count() -> None:
    calls = []
    out = run_in_chunks(lambda b, _: calls.append(len(b)) or b * 1.5, np.arange(3.0), lanes=8)
    assert calls == [8]
    np.testing.assert_array_equal(out, [0.0, 1.5, 3.0])


@pytest.mark.parametrize(
    "lane_data, match",
    [
        (np.zeros((0, 3)), r"lanes of one non-zero length, got \[0\]"),
        ({"a": np.zeros(2), "b": np.zeros(3)}, r"lanes of one non-zero length, got \[2, 3\]"),
    ],
)
def test_empty_or_ragged_lanes_are_refused(lane_data, match) -> None:
    with pytest.raises(ValueError, match=match):
        run_in_chunks(lambda b, _: b, lane_data, lanes=4)


def test_curve_mesh_is_one_axis_over_the_devices() -> None:
    mesh = curve_mesh(jax.devices()[:1])
    assert mesh.axis_names == (AXIS,) == ("curves",)
    assert mesh.size == 1 and list(mesh.devices.flat) == jax.devices()[:1]
    assert curve_mesh().size == len(jax.local_devices())


def test_chunk_size_from_memory() -> None:
    assert (BYTES_FACTOR, MAX_CHUNK_CPU, MAX_CHUNK_ACCEL) == (12.0, 1024, 16384)
    # 1 GiB host memory, 25%: 268435456 / (12 * 8 * 64 * 32) = 1365 -> capped at 1024
    assert default_chunk_size(64, 32, memory=(2**30, False)) == 1024
    assert default_chunk_size(64, 32, memory=(2**28, False)) == 341
    assert default_chunk_size(64, 32, n_devices=4, memory=(2**28, False)) == 340
    assert default_chunk_size(64, 32, fraction=0.125, memory=(2**28, False)) == 170
    # per-device memory (accelerators) scales with the device count, higher cap
    assert default_chunk_size(64, 32, n_devices=2, memory=(2**34, True)) == 2 * 16384
    assert default_chunk_size(10**6, 10**6, n_devices=4, memory=(2**20, False)) == 4
    assert lanes_for(100, 1024) == 128 and lanes_for(5000, 1024) == 1024
    assert lanes_for(3, 1024, n_devices=4) == 4 and lanes_for(100, 30, n_devices=4) == 32
    assert lanes_for(1, 1024) == 1 and lanes_for(0, 1024) == 1
