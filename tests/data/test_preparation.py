"""prepare: column mapping, derived inputs (D, N, C, M = D / N), any-named inputs, filters,
validation errors, and as_data."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from bayescale.data import DataError, Prepared, as_data, parse_column_mapping, prepare


@pytest.fixture
def ratio_runs() -> pd.DataFrame:
    """Six runs at known tokens per parameter (M = D / N = 20, 80, 20, 160, 10, 640)."""
    n = np.array([1e7, 1e7, 4e7, 4e7, 1.6e8, 1.6e8])
    d = n * np.array([20.0, 80.0, 20.0, 160.0, 10.0, 640.0])
    return pd.DataFrame(
        {"N": n, "D": d, "loss": [4.0, 3.8, 3.5, 3.2, 3.3, 2.9]}, index=list("abcdef")
    )


# ---------------------------------------------------------------- chinchilla and filters


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
    assert json.loads(json.dumps(record)) == record  # JSON-serialisable, exactly
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


def test_as_data_is_float64_log_loss_with_unit_weights(runs):
    p = prepare(runs, ("N", "D"))
    d = as_data(p)
    assert d.log_y.dtype == np.float64 and d.x["N"].dtype == np.float64
    np.testing.assert_array_equal(np.asarray(d.log_y), np.log(runs["loss"].to_numpy()))
    np.testing.assert_array_equal(np.asarray(d.x["D"]), runs["D"].to_numpy())
    np.testing.assert_array_equal(np.asarray(d.weight), np.ones(6))


# ---------------------------------------------------------------- mapping, x, derive


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


# ---------------------------------------------------------------- M = D / N


def test_m_derived_from_n_and_d(ratio_runs):
    p = prepare(ratio_runs, ("C", "M"))
    np.testing.assert_allclose(p.x["M"], [20, 80, 20, 160, 10, 640], rtol=1e-15)
    np.testing.assert_allclose(p.x["C"], 6 * ratio_runs["N"] * ratio_runs["D"], rtol=1e-15)
    assert p.derived == {"C": "6 * N * D", "M": "D / N"}
    assert p.columns == {"N": "N", "D": "D", "loss": "loss"}
    assert list(p.x) == ["C", "M"]


@pytest.mark.parametrize(
    "keep, formula", [(["N", "C"], "C / (6 * N^2)"), (["D", "C"], "6 * D^2 / C")]
)
def test_m_derived_through_compute(ratio_runs, keep, formula):
    df = ratio_runs.assign(C=6.0 * ratio_runs["N"] * ratio_runs["D"])[[*keep, "loss"]]
    p = prepare(df, ("M",))
    assert p.derived == {"M": formula}
    np.testing.assert_allclose(p.x["M"], ratio_runs["D"] / ratio_runs["N"], rtol=1e-13)


def test_m_with_custom_flops_factor(ratio_runs):
    df = ratio_runs.assign(C=8.0 * ratio_runs["N"] * ratio_runs["D"])[["N", "C", "loss"]]
    p = prepare(df, ("M",), flops_per_token=8.0)
    assert p.derived == {"M": "C / (8 * N^2)"}
    np.testing.assert_allclose(p.x["M"], ratio_runs["D"] / ratio_runs["N"], rtol=1e-13)


def test_m_column_wins_and_can_be_mapped(ratio_runs):
    df = ratio_runs.assign(M=2.0, tok_mult=[1.0, 2, 3, 4, 5, 6])
    assert prepare(df, ("M",)).x["M"].tolist() == [2.0] * 6
    p = prepare(df, ("M",), columns={"M": "tok_mult"})
    assert p.x["M"].tolist() == [1.0, 2, 3, 4, 5, 6]
    assert p.columns["M"] == "tok_mult" and p.derived == {}


def test_m_must_be_positive(ratio_runs):
    with pytest.raises(
        DataError, match=r"column 'M' has 1 non-positive .*rows b\).*'M' must be > 0"
    ):
        prepare(ratio_runs.assign(M=[1.0, 0.0, 2, 3, 4, 5]), ("M",))


def test_missing_m_lists_what_the_law_needs(ratio_runs):
    df = ratio_runs.assign(C=1e18)[["C", "loss"]]
    with pytest.raises(
        DataError,
        match=re.escape(
            "law needs columns ['C', 'M', 'loss']; missing column 'M' (tokens per parameter, "
            "D / N) needed by the law; the table has columns ['C', 'loss']"
        )
        + r".*or provide N and D, or C and one of N, D",
    ):
        prepare(df, ("C", "M"))


# ---------------------------------------------------------------- any-named inputs


def test_any_named_input_finite_not_positive(ratio_runs):
    df = ratio_runs.assign(S1=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], S2=[0.0, 0.0, -0.5, 1.0, 2.0, 0.0])
    p = prepare(df, ("S1", "S2"))
    np.testing.assert_array_equal(p.x["S2"], [0.0, 0.0, -0.5, 1.0, 2.0, 0.0])
    assert p.columns == {"S1": "S1", "S2": "S2", "loss": "loss"}
    with pytest.raises(
        DataError, match=r"column 'S2' has 2 non-finite values \(rows b, e\).*'S2' must be finite"
    ):
        prepare(df.assign(S2=[0.0, np.nan, 1, 1, np.inf, 1]), ("S1", "S2"))
    with pytest.raises(DataError, match=r"column 'S2' is not numeric.*rows c\).*'x'"):
        prepare(df.assign(S2=["0", "1", "x", "1", "1", "1"]), ("S1", "S2"))


def test_forward_area_must_be_positive(ratio_runs):
    # S1^-alpha is infinite at S1 = 0 (step 0, or still in warm-up), so S1 must be > 0
    df = ratio_runs.assign(S1=[0.0, 0.2, 0.3, 0.4, 0.5, 0.6], S2=0.0)
    with pytest.raises(DataError, match=r"column 'S1' has 1 non-positive .*rows a\)"):
        prepare(df, ("S1", "S2"))


def test_input_from_mapping_and_cli(ratio_runs):
    df = ratio_runs.assign(src=[5.0, 4.5, 4.0, 3.6, 3.8, 3.1])
    cols = parse_column_mapping(["L0=src"])
    p = prepare(df, ("L0",), columns=cols, drop_top_losses=1)
    assert p.columns == {"L0": "src", "loss": "loss"}
    np.testing.assert_array_equal(p.x["L0"], [4.5, 4.0, 3.6, 3.8, 3.1])
    np.testing.assert_array_equal(p.rows, list("bcdef"))


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


# ---------------------------------------------------------------- missing and mapped columns


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


def test_missing_inputs_all_listed(ratio_runs):
    with pytest.raises(
        DataError,
        match=re.escape(
            "law needs columns ['S1', 'S2', 'loss']; missing column 'S1' (forward area: sum of "
            "learning rates up to the step) needed by the law; missing column 'S2' (learning-rate "
            "annealing area) needed by the law; the table has columns ['N', 'D', 'loss']"
        )
        + r".*add_annealing_areas\)$",
    ):
        prepare(ratio_runs, ("S1", "S2"))


def test_mapped_column_absent(runs):
    with pytest.raises(DataError, match=r"column 'params' \(mapped to 'N'\) is not in the table.*"):
        prepare(runs, ("N",), columns={"N": "params"})
    with pytest.raises(DataError, match=r"column 'area' \(mapped to 'S2'\) is not in the table"):
        prepare(runs, ("S2",), columns={"S2": "area"})


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


def test_bad_input_names(ratio_runs):
    with pytest.raises(DataError, match="cannot be named 'loss'"):
        prepare(ratio_runs, ("N", "loss"))
    with pytest.raises(DataError, match="non-empty strings"):
        prepare(ratio_runs, ("N", ""))
    with pytest.raises(DataError, match=r"cannot map 'x'.*columns=\{'D': \.\.\.\}"):
        prepare(ratio_runs, ("x",), x="D", columns={"x": "N"})


# ---------------------------------------------------------------- bad values and options


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
