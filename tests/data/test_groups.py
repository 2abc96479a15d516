"""split_groups: a long table split into curves, per-curve filters and flags, padded buckets;
curves_table: one tidy row per curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import power_curves

from bayescale.data import DataError
from bayescale.data.groups import PENDING, bucket_length, curves_table, split_groups
from bayescale.status import CONSTANT_LOSS, NAMES, TOO_FEW_POINTS


def test_split_groups_buckets_and_keys() -> None:
    df = pd.DataFrame(
        {
            "a": ["x", "x", "y", "y", "y", None, "x", "y"] + ["z"] * 9,
            "b": [1, 1, 1, 1, 1, 2, 2, 1] + [3] * 9,
            "N": np.arange(1.0, 18.0) * 1e8,
            "loss": np.linspace(3.0, 2.0, 17),
        }
    )
    cur = split_groups(df, ("x",), ["a", "b"], n_params=3)
    assert list(cur.keys.itertuples(index=False, name=None))[:4] == [
        ("x", 1),
        ("x", 2),
        ("y", 1),
        ("z", 3),
    ]
    assert pd.isna(cur.keys["a"].iloc[4])  # missing keys form their own curve, not dropped
    np.testing.assert_array_equal(cur.n_points, [2, 1, 4, 9, 1])
    assert [NAMES[s] for s in cur.status if s >= 0] == ["too_few_points"] * 3
    assert [(b.length, list(b.curves)) for b in cur.buckets] == [(8, [2]), (16, [3])]
    b = cur.buckets[0]
    np.testing.assert_array_equal(b.data.weight[0], [1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(b.data.x["x"][0, :4], [3e8, 4e8, 5e8, 8e8])
    # pads hold harmless values: input 1, log loss 0
    np.testing.assert_array_equal(b.data.x["x"][0, 4:], 1.0)
    np.testing.assert_array_equal(b.data.log_y[0, 4:], 0.0)
    np.testing.assert_allclose(b.data.log_y[0, :4], np.log(df["loss"].to_numpy()[[2, 3, 4, 7]]))
    np.testing.assert_array_equal(cur.curve, [0, 0, 2, 2, 2, 4, 1, 2] + [3] * 9)
    assert bucket_length(9) == 16 and bucket_length(3) == 8 and bucket_length(3, 32) == 32


def test_per_curve_filters_and_flags() -> None:
    df = pd.DataFrame(
        {
            "run": ["two"] * 2 + ["flat"] * 4 + ["tied"] * 5 + ["ok"] * 6,
            "N": [1e8, 2e8] + [1e8, 2e8, 3e8, 4e8] + [1e8, 2e8, 3e8, 4e8, 5e8] + [1e8] * 6,
            "loss": [3.0, 2.9]
            + [2.5] * 4
            + [3.0, 3.0, 3.0, 2.9, 2.8]
            + [3, 2.9, 2.8, 2.7, 2.6, 2.5],
        }
    )
    cur = split_groups(df, ("x",), "run", n_params=3, drop_top_losses=3)
    by = dict(zip(cur.keys["run"], range(4), strict=True))
    # ties with the threshold are dropped too (Epoch's rule): all 4 flat points and 3 tied go
    assert cur.n_points[by["flat"]] == 0 and cur.n_points[by["tied"]] == 2
    assert cur.n_points[by["two"]] == 0 and cur.n_points[by["ok"]] == 3
    np.testing.assert_array_equal(
        cur.n_rows[[by[k] for k in ("two", "flat", "tied", "ok")]], [2, 4, 5, 6]
    )
    assert [cur.status[by[k]] for k in ("two", "flat", "tied")] == [TOO_FEW_POINTS] * 3
    assert cur.status[by["ok"]] == PENDING
    # rows kept: the two left of "tied" and the three lowest losses of "ok"
    np.testing.assert_array_equal(np.flatnonzero(cur.kept), [9, 10, 14, 15, 16])
    unfiltered = split_groups(df, ("x",), "run", n_params=3)
    assert unfiltered.status[by["flat"]] == CONSTANT_LOSS
    assert unfiltered.status[by["two"]] == TOO_FEW_POINTS
    assert [(b.length, list(b.curves)) for b in unfiltered.buckets] == [(8, [by["ok"], by["tied"]])]


@pytest.mark.parametrize(
    "change, kwargs, match",
    [
        (lambda d: d.drop(columns="loss"), {}, "missing column 'loss'"),
        (lambda d: d, {"group": "nope"}, r"group column\(s\) \['nope'\] not in the table"),
        (lambda d: d.assign(N=d["N"].where(d.index != 3, -1.0)), {}, "non-positive"),
        (lambda d: d.assign(loss=d["loss"].where(d.index != 5, np.nan)), {}, "non-finite"),
        (lambda d: d, {"group": []}, "at least one column"),
        (lambda d: d, {"group": ["run", "run"]}, r"group columns repeat: \['run'\]"),
        (lambda d: d, {"drop_top_losses": -1}, "drop_top_losses must be >= 0"),
    ],
)
def test_whole_table_problems_raise(change, kwargs, match) -> None:
    df = power_curves(3, np.random.default_rng(0))
    with pytest.raises(DataError, match=match):
        split_groups(change(df), ("x",), **{"group": "run", "n_params": 3, **kwargs})


def test_curves_table_rows_and_messages() -> None:
    df = pd.DataFrame(
        {
            "run": ["a"] * 4 + ["b"] * 2,
            "N": [1e8, 2e8, 3e8, 4e8, 1e8, 2e8],
            "loss": [3, 2.9, 2.8, 2.7, 3, 2.9],
        }
    )
    cur = split_groups(df, ("x",), "run", n_params=3)
    params = np.array([[1.0, 2.0, 0.3], [np.nan] * 3])
    t = curves_table(
        cur,
        ("A", "E", "alpha"),
        params,
        np.array([0.5, np.nan]),
        np.array([0, cur.status[1]]),
        np.array([4, 0]),
        np.array([1e-9, np.nan]),
    )
    assert list(t.columns) == [
        "run",
        "n_points",
        "A",
        "E",
        "alpha",
        "objective",
        "status",
        "message",
        "n_near_best",
        "grad_norm",
    ]
    assert t["status"].tolist() == ["converged", "too_few_points"]
    assert t["message"].tolist() == [
        "converged",
        "only 2 points (of 2 rows) but 3 parameters; not fitted",
    ]
    np.testing.assert_array_equal(t["A"], [1.0, np.nan])
    with pytest.raises(DataError, match=r"group column\(s\) \['alpha'\] clash with result columns"):
        curves_table(
            split_groups(df.rename(columns={"run": "alpha"}), ("x",), "alpha", n_params=3),
            ("A", "E", "alpha"),
            params,
            np.zeros(2),
            np.zeros(2),
            np.zeros(2),
            np.zeros(2),
        )
