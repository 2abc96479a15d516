"""Data health: duplicate column names are an error naming both; suspect data is a warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayescale as bs
from bayescale.data.groups import split_groups
from bayescale.data.health import blank_key_warnings, health_warnings, rank_correlation

N = np.geomspace(1e6, 1e9, 10)
FALLING = 2.0 + 50 * N**-0.3


def test_duplicate_columns_in_a_file_name_both(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("N,loss,loss\n1,2,3\n")
    with pytest.raises(bs.DataError, match=r"two columns named 'loss' \(columns 2 and 3\)"):
        bs.read_table(path)
    tsv = tmp_path / "t.tsv"
    tsv.write_text("N\tN\tloss\n1\t2\t3\n")
    with pytest.raises(bs.DataError, match=r"two columns named 'N' \(columns 1 and 2\)"):
        bs.read_table(tsv)
    frame = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(bs.DataError, match="two columns named 'x'"):
        bs.read_table(frame)


def test_unnamed_columns_are_not_duplicates(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(",,N,loss\n1,2,3,4\n")
    assert list(bs.read_table(path).columns)[2:] == ["N", "loss"]


def test_healthy_points_have_no_warnings() -> None:
    assert health_warnings({"x": N}, FALLING, 3) == ()
    assert health_warnings({"N": N, "D": 20 * N}, FALLING, 6) == ()


@pytest.mark.parametrize(
    "x, loss, n_params, words",
    [
        ({"x": N[:3]}, FALLING[:3], 3, "3 points for 3 parameters leave 0 residual degrees"),
        ({"x": N}, np.full(10, 2.5), 3, "every one of the 10 points has the same loss (2.5)"),
        ({"x": N}, FALLING[::-1], 3, "the loss does not fall as x grows (rank correlation +1.00"),
        ({"N": N, "D": N}, FALLING[::-1], 6, "does not fall as N * D grows"),
    ],
)
def test_suspect_points_are_warned_about(x, loss, n_params, words) -> None:
    warnings = health_warnings(x, loss, n_params)
    assert any(words in w for w in warnings), warnings


def test_inputs_along_which_loss_need_not_fall_are_not_checked() -> None:
    assert health_warnings({"L0": N}, FALLING[::-1], 2) == ()  # loss-to-loss: rises
    assert np.isnan(rank_correlation(np.ones(4), np.arange(4.0)))


def test_prepare_names_the_variable_of_x() -> None:
    table = pd.DataFrame({"step": N, "loss": FALLING[::-1]})
    prepared = bs.prepare(table, ("x",), x="step", n_params=3)
    assert prepared.warnings and "as step grows" in prepared.warnings[0]


def test_blank_group_keys_are_warned_about_not_merged_silently() -> None:
    table = pd.DataFrame({"run": ["a"] * 5 + [None] * 3 + [" "] * 2, "N": N, "loss": FALLING})
    (warning,) = blank_key_warnings(table, ["run"])
    assert "'run' is blank in 5 row(s) (rows 5, 6, 7, 8, 9)" in warning
    curves = split_groups(table, ("x",), "run", n_params=3)
    assert any("blank in 5 row(s)" in w for w in curves.warnings)


def test_a_batch_warns_about_curves_with_no_residual_freedom() -> None:
    table = pd.DataFrame({"run": ["a"] * 7 + ["b"] * 3, "N": N, "loss": FALLING})
    curves = split_groups(table, ("x",), "run", n_params=3)
    assert any("1 curve(s) have as many points as parameters (3)" in w for w in curves.warnings)
    assert curves.prepared.warnings == ()  # whole-table checks mean nothing across curves


def test_a_group_column_named_like_a_result_is_refused_before_fitting() -> None:
    table = pd.DataFrame({"status": ["a"] * 10, "N": N, "loss": FALLING})
    with pytest.raises(bs.DataError, match=r"\['status'\] clash with result columns"):
        split_groups(table, ("x",), "status", n_params=3)
