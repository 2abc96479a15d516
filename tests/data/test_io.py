"""Reading tables: bundled examples, DataFrames, CSV / TSV / Parquet files and their errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bayescale.data import DataError, example_source, list_examples, load_example, read_table


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


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
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
