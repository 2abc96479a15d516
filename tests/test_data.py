"""Tests for bayescale.data: reading tables, examples, column mapping, derivation, filters."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from bayescale.data import (
    CANONICAL,
    DataError,
    Prepared,
    example_source,
    list_examples,
    load_example,
    parse_column_mapping,
    prepare,
    read_table,
)


@pytest.fixture
def runs() -> pd.DataFrame:
    """A small, valid table with every canonical column (C = 6 N D exactly)."""
    n = np.array([1e6, 2e6, 4e6, 8e6, 1.6e7, 3.2e7])
    d = np.array([1e8, 3e8, 1e9, 2e9, 5e9, 1e10])
    return pd.DataFrame(
        {
            "N": n,
            "D": d,
            "C": 6.0 * n * d,
            "step": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
            "loss": [4.0, 3.5, 3.2, 3.0, 2.9, 2.8],
            "name": list("abcdef"),
        },
        index=[10, 11, 12, 13, 14, 15],
    )


@pytest.fixture
def chinchilla() -> pd.DataFrame:
    return load_example("chinchilla")


# ---------------------------------------------------------------- examples and reading


def test_examples_listed_and_loaded(chinchilla):
    assert list_examples() == ["chinchilla"]
    assert len(chinchilla) == 245
    assert list(chinchilla.columns) == ["x", "y", "color", "N", "C", "hex_color", "loss"]
    assert chinchilla["N"].dtype == np.float64
    assert chinchilla["N"].iloc[0] == pytest.approx(6795600349.289497)
    assert chinchilla["C"].iloc[0] == pytest.approx(9.993852799709755e18)
    assert (chinchilla["loss"] > 0).all()


def test_unknown_example_lists_examples():
    with pytest.raises(DataError, match=r"unknown example 'gpt5'.*\['chinchilla'\]"):
        load_example("gpt5")
    with pytest.raises(DataError, match="unknown example"):
        read_table("example:gpt5")
    with pytest.raises(DataError, match="unknown example"):
        example_source("gpt5")


def test_example_source_attribution():
    text = example_source("chinchilla")
    for needle in (
        "Epoch",
        "2404.10102",
        "2203.15556",
        "epoch-research/analyzing-chinchilla",
        "92258837425e1b5f2851d624287f0120583a3d0e",
        "LICENSE",
        "Derek Jones",
    ):
        assert needle in text


def test_read_table_example_matches_load_example(chinchilla):
    pd.testing.assert_frame_equal(read_table("example:chinchilla"), chinchilla)


def test_read_table_dataframe_is_a_copy(runs):
    before = runs.copy()
    out = read_table(runs)
    assert out is not runs
    pd.testing.assert_frame_equal(out, runs)
    out.loc[10, "loss"] = -1.0
    pd.testing.assert_frame_equal(runs, before)


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_text_round_trip(tmp_path, runs, suffix):
    path = tmp_path / f"runs{suffix}"
    runs.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, runs.reset_index(drop=True))
    assert read_table(str(path)).shape == runs.shape


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_round_trip(tmp_path, runs, suffix):
    pytest.importorskip("pyarrow")
    path = tmp_path / f"runs{suffix}"
    runs.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), runs)


def test_parquet_without_pyarrow(tmp_path, runs, monkeypatch):
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"not really parquet")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(DataError, match=r"pip install pyarrow"):
        read_table(path)


def test_missing_file_names_path(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match=re.escape(str(path))):
        read_table(path)


def test_unknown_suffix_lists_supported(tmp_path):
    path = tmp_path / "runs.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'.*\.csv.*\.tsv.*\.parquet"):
        read_table(path)


def test_empty_csv_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_table(path)


def test_read_table_rejects_other_types():
    with pytest.raises(DataError, match="got int"):
        read_table(3)


# ---------------------------------------------------------------- parse_column_mapping


def test_parse_column_mapping():
    assert parse_column_mapping(["N=Model Size", "loss=final_loss", "D=a=b"]) == {
        "N": "Model Size",
        "loss": "final_loss",
        "D": "a=b",
    }
    assert parse_column_mapping([]) == {}


def test_parse_column_mapping_malformed():
    with pytest.raises(DataError, match=r"malformed column mapping 'N'"):
        parse_column_mapping(["N"])


def test_parse_column_mapping_duplicate():
    with pytest.raises(DataError, match=r"duplicate column mapping for 'N': 'a' and 'b'"):
        parse_column_mapping(["N=a", "N=b"])


def test_parse_column_mapping_any_input_name():
    # Any law input may be mapped (S2, L0, ...); whether it suits the law is prepare's job.
    assert parse_column_mapping(["S2=anneal area", " L0 =src_loss"]) == {
        "S2": "anneal area",
        "L0": "src_loss",
    }
    with pytest.raises(DataError, match=r"column mapping '=Model Size' names no input"):
        parse_column_mapping(["=Model Size"])
    with pytest.raises(DataError, match=r"column mapping '  =x' names no input"):
        parse_column_mapping(["  =x"])


# ---------------------------------------------------------------- prepare: chinchilla


def test_chinchilla_epoch_selection(chinchilla):
    before = chinchilla.copy()
    p = prepare(chinchilla, ("N", "D"), drop_top_losses=5, n_params=5)
    assert isinstance(p, Prepared)
    assert len(p.loss) == 240 and p.rows.shape == (240,)
    assert list(p.x) == ["N", "D"]
    assert p.derived == {"D": "C / (6 * N)"}
    assert p.columns == {"N": "N", "C": "C", "loss": "loss"}
    assert p.flops_per_token == 6.0
    assert p.n_input_rows == 245
    for arr in (*p.x.values(), p.loss):
        assert arr.dtype == np.float64 and arr.shape == (240,)

    kept = chinchilla.loc[p.rows]
    np.testing.assert_allclose(p.x["N"], kept["N"].to_numpy(), rtol=0)
    np.testing.assert_allclose(p.x["D"], kept["C"].to_numpy() / (6 * kept["N"].to_numpy()))
    np.testing.assert_array_equal(p.loss, kept["loss"].to_numpy())

    (record,) = p.filters
    threshold = np.sort(chinchilla["loss"].to_numpy())[-5]
    assert record["name"] == "drop_top_losses" and record["k"] == 5
    assert record["threshold"] == threshold
    assert record["n_dropped"] == 5
    assert sorted(record["dropped_rows"] + list(p.rows)) == list(range(245))
    assert all(chinchilla.loc[record["dropped_rows"], "loss"] >= threshold)
    assert (p.loss < threshold).all()
    json.dumps(record)  # JSON-serialisable
    pd.testing.assert_frame_equal(chinchilla, before)  # input not mutated


def test_no_filter_keeps_everything(chinchilla):
    p = prepare(chinchilla, ("N", "D"))
    assert len(p.loss) == 245 and p.filters == ()
    np.testing.assert_array_equal(p.rows, chinchilla.index.to_numpy())


def test_drop_top_losses_drops_ties():
    df = pd.DataFrame({"N": [1.0, 2, 3, 4, 5], "loss": [1.0, 3.0, 2.0, 3.0, 0.5]})
    p = prepare(df, ("N",), drop_top_losses=1)
    # threshold = largest loss 3.0, which two rows share: both go
    assert p.filters[0]["threshold"] == 3.0
    assert p.filters[0]["n_dropped"] == 2
    assert p.filters[0]["dropped_rows"] == [1, 3]
    np.testing.assert_array_equal(p.rows, [0, 2, 4])


# ---------------------------------------------------------------- prepare: mapping, x, derive


def test_mapping_via_columns(runs):
    df = runs.rename(columns={"N": "params", "loss": "final_loss"})
    p = prepare(df, ("N", "D"), columns={"N": "params", "loss": "final_loss"})
    assert p.columns == {"N": "params", "D": "D", "loss": "final_loss"}
    assert p.derived == {}
    np.testing.assert_array_equal(p.x["N"], runs["N"].to_numpy())
    np.testing.assert_array_equal(p.loss, runs["loss"].to_numpy())
    np.testing.assert_array_equal(p.rows, runs.index.to_numpy())


def test_mapping_wins_over_canonical_name(runs):
    df = runs.assign(N2=runs["N"] * 2)
    p = prepare(df, ("N",), columns={"N": "N2"})
    assert p.columns["N"] == "N2"
    np.testing.assert_array_equal(p.x["N"], 2 * runs["N"].to_numpy())


def test_mapping_from_parse_column_mapping(chinchilla):
    raw = chinchilla.rename(columns={"N": "Model Size", "C": "Training FLOP"})
    cols = parse_column_mapping(["N=Model Size", "C=Training FLOP"])
    p = prepare(raw, ("N", "D"), columns=cols, drop_top_losses=5)
    assert len(p.loss) == 240 and p.columns["N"] == "Model Size"


@pytest.mark.parametrize("var", ["N", "D", "C", "step"])
def test_power_law_x_selection(runs, var):
    p = prepare(runs, ("x",), x=var)
    assert list(p.x) == ["x"]
    np.testing.assert_array_equal(p.x["x"], runs[var].to_numpy(dtype=float))
    assert p.columns == {var: var, "x": var, "loss": "loss"}
    assert p.derived == {}


def test_power_law_x_from_mapped_column(runs):
    df = runs.rename(columns={"step": "iteration"})
    p = prepare(df, ("x",), x="step", columns={"step": "iteration"})
    assert p.columns["x"] == "iteration"
    np.testing.assert_array_equal(p.x["x"], runs["step"].to_numpy())


def test_power_law_x_derived(chinchilla):
    p = prepare(chinchilla, ("x",), x="D")
    assert p.derived == {"D": "C / (6 * N)", "x": "C / (6 * N)"}
    np.testing.assert_allclose(
        p.x["x"], chinchilla["C"].to_numpy() / (6 * chinchilla["N"].to_numpy())
    )


def test_derive_n_from_c_and_d(runs):
    df = runs.drop(columns=["N"])
    p = prepare(df, ("N", "D"))
    assert p.derived == {"N": "C / (6 * D)"}
    assert p.columns == {"D": "D", "C": "C", "loss": "loss"}
    np.testing.assert_allclose(p.x["N"], runs["N"].to_numpy(), rtol=1e-12)


def test_derive_c_with_custom_factor(runs):
    df = runs.drop(columns=["C"])
    p = prepare(df, ("C",), flops_per_token=8.0)
    assert p.derived == {"C": "8 * N * D"}
    assert p.flops_per_token == 8.0
    np.testing.assert_allclose(p.x["C"], 8.0 * runs["N"] * runs["D"])


def test_derive_d_with_custom_factor(chinchilla):
    p = prepare(chinchilla, ("N", "D"), flops_per_token=7.5)
    assert p.derived == {"D": "C / (7.5 * N)"}
    np.testing.assert_allclose(p.x["D"], chinchilla["C"] / (7.5 * chinchilla["N"]))


def test_other_columns_not_validated(runs):
    df = runs.assign(junk=[np.nan, -1, 0, "x", None, 2], step=[-1.0, 0, 0, np.nan, 1, 2])
    p = prepare(df, ("N", "D"))  # neither junk nor step is used
    assert len(p.loss) == 6


# ---------------------------------------------------------------- prepare: errors


def test_missing_column_lists_existing(chinchilla):
    df = chinchilla[["x", "N", "C", "loss"]]
    with pytest.raises(
        DataError,
        match=re.escape(
            "missing column 'step' (training step) needed by the law; the table has columns "
            "['x', 'N', 'C', 'loss']; map one with columns={'step': ...} / --col step=NAME"
        ),
    ):
        prepare(df, ("x",), x="step")


def test_missing_d_without_derivation_inputs(chinchilla):
    df = chinchilla[["N", "loss"]]
    with pytest.raises(DataError, match=r"missing column 'D' \(tokens\).*\['N', 'loss'\]"):
        prepare(df, ("N", "D"))


def test_missing_loss(runs):
    with pytest.raises(DataError, match=r"missing column 'loss'"):
        prepare(runs.drop(columns=["loss"]), ("N",))


def test_mapped_column_absent(runs):
    with pytest.raises(DataError, match=r"column 'params' \(mapped to 'N'\) is not in the table.*"):
        prepare(runs, ("N",), columns={"N": "params"})


def test_duplicate_mapping(runs):
    df = runs.assign(size=runs["N"])
    with pytest.raises(
        DataError, match=re.escape("duplicate column mapping: 'N' and 'D' both map to 'size'")
    ):
        prepare(df, ("N", "D"), columns={"N": "size", "D": "size"})


def test_unused_name_in_columns(runs):
    # any name may be mapped (a mapping can serve several laws); one the law does not use still
    # claims its column, and the missing-column error points it out as a likely typo
    with pytest.raises(
        DataError,
        match=re.escape("law needs columns ['N', 'loss']; missing column 'N' (parameters)")
        + r".*"
        + re.escape("columns= also maps ['params'], which this law does not use (a typo?)"),
    ):
        prepare(runs.drop(columns="C"), ("N",), columns={"params": "N"})
    p = prepare(runs.assign(area=0.0), ("N",), columns={"S2": "area"})
    assert p.columns == {"N": "N", "loss": "loss"}
    with pytest.raises(DataError, match=r"empty or non-string input name ''"):
        prepare(runs, ("N",), columns={"": "N"})


def test_bad_x_choice(runs):
    with pytest.raises(DataError, match=r"x must be one of \['N', 'D', 'C', 'step'\].*'loss'"):
        prepare(runs, ("x",), x="loss")


def test_non_canonical_input_read_from_its_column(runs):
    # a law input outside N, D, C, step is read from the column of that name; when the table
    # lacks it the message lists everything the law needs
    with pytest.raises(
        DataError,
        match=re.escape("law needs columns ['N', 'E', 'loss']; missing column 'E' (law input)"),
    ):
        prepare(runs, ("N", "E"))
    p = prepare(runs.assign(E=[0.0, -1.0, 2.0, 3.0, 4.0, 5.0]), ("N", "E"))
    np.testing.assert_array_equal(p.x["E"], [0.0, -1.0, 2.0, 3.0, 4.0, 5.0])
    assert p.columns["E"] == "E"


@pytest.mark.parametrize("bad", [0.0, -6.0, np.inf, np.nan, "six"])
def test_bad_flops_per_token(runs, bad):
    with pytest.raises(DataError, match="flops_per_token must be finite and > 0"):
        prepare(runs, ("N", "D"), flops_per_token=bad)


def test_non_positive_values_listed(runs):
    df = runs.copy()
    df.loc[[12, 14, 15], "loss"] = [0.0, -1.0, np.nan]
    with pytest.raises(
        DataError,
        match=re.escape("column 'loss' has 3 non-positive or non-finite values (rows 12, 14, 15)")
        + r".*Nothing is dropped silently",
    ):
        prepare(df, ("N",))


def test_bad_values_in_mapped_column_name_both(runs):
    df = runs.rename(columns={"step": "it"})
    df.loc[10, "it"] = 0.0
    with pytest.raises(DataError, match=r"column 'it' \(used as 'step'\) has 1 .*rows 10\)"):
        prepare(df, ("x",), x="step", columns={"step": "it"})


def test_bad_values_in_derivation_input(chinchilla):
    df = chinchilla.copy()
    df.loc[7, "C"] = np.inf
    with pytest.raises(DataError, match=r"column 'C' has 1 non-positive or non-finite .*rows 7\)"):
        prepare(df, ("N", "D"))


def test_many_bad_rows_truncated():
    df = pd.DataFrame({"N": np.arange(1.0, 26.0), "loss": -np.ones(25)})
    with pytest.raises(
        DataError,
        match=re.escape(
            "25 non-positive or non-finite values (rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, and 15 more)"
        ),
    ):
        prepare(df, ("N",))


def test_non_numeric_column(runs):
    df = runs.assign(N=["1e6", "2e6", "big", "8e6", "1.6e7", "3.2e7"])
    with pytest.raises(DataError, match=r"column 'N' is not numeric.*rows 12\).*'big'"):
        prepare(df, ("N",))


def test_bool_column_is_not_numeric(runs):
    with pytest.raises(DataError, match=r"column 'N' is not numeric"):
        prepare(runs.assign(N=True), ("N",))


def test_empty_table():
    with pytest.raises(DataError, match="the table is empty"):
        prepare(pd.DataFrame({"N": [], "loss": []}), ("N",))


@pytest.mark.parametrize("k", [-1, 1.5, True])
def test_bad_drop_top_losses(runs, k):
    with pytest.raises(DataError, match="drop_top_losses must be"):
        prepare(runs, ("N",), drop_top_losses=k)


def test_drop_top_losses_too_many(runs):
    with pytest.raises(DataError, match=r"drop_top_losses=6 would drop every row.*only 6 rows"):
        prepare(runs, ("N",), drop_top_losses=6)


def test_too_few_points_for_parameters(runs):
    with pytest.raises(
        DataError,
        match=re.escape(
            "only 3 points remain after filters but the law has 5 parameters; a fit needs at "
            "least as many points as parameters"
        ),
    ):
        prepare(runs, ("N", "D"), drop_top_losses=3, n_params=5)
    assert len(prepare(runs, ("N", "D"), drop_top_losses=1, n_params=5).loss) == 5


def test_canonical_names():
    assert CANONICAL == ("N", "D", "C", "step", "loss")
