"""The column mapping (``columns=`` / the CLI's ``--col NAME=SOURCE``)."""

from __future__ import annotations

import pytest

from bayescale.data import DataError, parse_column_mapping


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
