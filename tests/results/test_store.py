"""Saved fits: exact round trips (draws and ``posterior.nc`` included), unregistered laws,
and fits saved before the noise scale was reported as ``sigma``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import COUNTED_POWER

import bayescale as bs
from bayescale.infer.idata import import_arviz


def assert_same_fit(a: bs.Fit, b: bs.Fit) -> None:
    """Equal records: every array bit for bit, the rest by value."""
    assert a.law == b.law and a.objective == b.objective
    assert a.starts == b.starts and a.config == b.config and a.seconds == b.seconds
    for x, y in zip(a.result, b.result, strict=True):
        np.testing.assert_array_equal(x, y)
        assert np.asarray(x).dtype == np.asarray(y).dtype
    assert list(a.data.x) == list(b.data.x)
    for k in a.data.x:
        np.testing.assert_array_equal(a.data.x[k], b.data.x[k])
    np.testing.assert_array_equal(a.data.loss, b.data.loss)
    np.testing.assert_array_equal(a.data.rows, b.data.rows)
    assert (a.data.columns, a.data.derived, a.data.filters) == (
        b.data.columns, b.data.derived, b.data.filters,
    )  # fmt: skip
    assert (a.data.flops_per_token, a.data.n_input_rows) == (
        b.data.flops_per_token, b.data.n_input_rows,
    )  # fmt: skip
    assert b.to_dict() == json.loads(json.dumps(a.to_dict()))


def registered(fit: bs.Fit) -> bs.Fit:
    """The same fit under the registered power law (same parameters and inputs)."""
    return fit._replace(law=bs.get_law("power"))


def test_round_trip_is_exact(counted_fit, tmp_path):
    fit = registered(counted_fit)
    out = bs.save_fit(fit, tmp_path / "fit")
    names = {p.name for p in out.iterdir()}
    assert names == {"fit.json", "meta.json", "arrays.npz", "starts.csv", "manifest.json"}
    back = bs.load_fit(out)
    assert back.draws is None
    assert_same_fit(fit, back)
    assert back.params == fit.params and "sigma" in back.params
    summary = json.loads((out / "fit.json").read_text())
    assert summary["law"] == "power" and summary["format_version"] == 2
    assert set(summary["params"]) == {"A", "E", "alpha", "sigma"}


def test_bootstrap_draws_round_trip_exactly(counted_fit, boot_draws, tmp_path):
    fit = registered(counted_fit)._replace(draws=boot_draws)
    back = bs.load_fit(bs.save_fit(fit, tmp_path / "fit"))
    assert_same_fit(fit, back)
    d, e = fit.draws, back.draws
    np.testing.assert_array_equal(e.theta, d.theta)
    np.testing.assert_array_equal(e.status, d.status)
    assert (e.method, e.names, e.warnings, e.seconds) == (d.method, d.names, d.warnings, d.seconds)
    assert e.diagnostics == d.diagnostics and e.settings == json.loads(json.dumps(d.settings))
    # every engine saves posterior.nc (natural names); the record held no InferenceData, so
    # none is read back
    assert e.idata is None and (tmp_path / "fit" / "posterior.nc").is_file()
    assert back.to_dict()["draws"] == fit.to_dict()["draws"]


def test_nuts_draws_and_posterior_nc_round_trip(counted_fit, nuts_draws, tmp_path):
    fit = registered(counted_fit)._replace(draws=nuts_draws)
    out = bs.save_fit(fit, tmp_path / "fit")
    assert (out / "posterior.nc").is_file()
    back = bs.load_fit(out)
    assert_same_fit(fit, back)
    np.testing.assert_array_equal(back.draws.theta, nuts_draws.theta)
    np.testing.assert_array_equal(back.draws.status, nuts_draws.status)
    assert back.draws.diagnostics == nuts_draws.diagnostics
    idata, saved = nuts_draws.idata, back.draws.idata
    assert set(saved.groups()) == set(idata.groups())
    for group in idata.groups():
        a, b = idata[group], saved[group]
        assert set(a.data_vars) == set(b.data_vars), group
        for name in a.data_vars:
            np.testing.assert_array_equal(a[name].values, b[name].values)
    assert idata.attrs["law"] == "counted_power" and saved.attrs["law"] == "counted_power"
    # saving again without draws is refused, or with overwrite replaces the folder whole
    with pytest.raises(bs.OutputError, match="exists and is not empty"):
        bs.save_fit(fit._replace(draws=None), out)
    assert (out / "draws.npz").is_file()
    bs.save_fit(fit._replace(draws=None), out, overwrite=True)
    assert not any((out / f).exists() for f in ("draws.npz", "draws.json", "posterior.nc"))
    assert bs.load_fit(out).draws is None


def test_unregistered_law_loads_with_law_given(counted_fit, boot_draws, tmp_path):
    fit = counted_fit._replace(draws=boot_draws)
    assert "counted_power" not in bs.list_laws()
    out = bs.save_fit(fit, tmp_path / "fit")
    with pytest.raises(KeyError, match="unknown law 'counted_power'"):
        bs.load_fit(out)
    with pytest.raises(bs.DataError, match="holds a fit of law 'counted_power', not 'power'"):
        bs.load_fit(out, law=bs.get_law("power"))
    back = bs.load_fit(out, law=COUNTED_POWER)
    assert back.law is COUNTED_POWER
    assert_same_fit(fit, back)
    np.testing.assert_array_equal(back.draws.theta, fit.draws.theta)
    # the loaded fit works end to end: the same law and objective give the same summary
    assert bs.draws_summary(back, back.draws) == bs.draws_summary(fit, fit.draws)


def test_fit_saved_before_natural_sigma_loads_sigma_in_natural_space(counted_fit, tmp_path):
    """Saved fits from before ``Fit.params`` reported ``sigma``: ``result.params`` held
    ``log_sigma`` and ``meta.json`` had no ``natural_sigma``."""
    fit = registered(counted_fit)
    out = bs.save_fit(fit, tmp_path / "old")
    with np.load(out / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    old_params = arrays["result.params"].copy()
    old_params[-1] = fit.result.theta[-1]  # the old layout: log_sigma, not sigma
    arrays["result.params"] = old_params
    np.savez(out / "arrays.npz", **arrays)
    meta = json.loads((out / "meta.json").read_text())
    del meta["natural_sigma"]
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(bs.DataError, match="changed after it was saved"):
        bs.load_fit(out)  # the manifest notices the edit

    back = bs.load_fit(out, verify=False)
    assert back.params["sigma"] == pytest.approx(np.exp(fit.result.theta[-1]), rel=1e-12)
    np.testing.assert_allclose(back.result.params, fit.result.params, rtol=1e-12)
    np.testing.assert_array_equal(back.result.theta, fit.result.theta)
    # a new-format file is not converted a second time
    np.testing.assert_array_equal(
        bs.load_fit(bs.save_fit(back, tmp_path / "new")).result.params, back.result.params
    )


def test_load_fit_refuses_a_directory_that_is_not_a_fit(tmp_path):
    with pytest.raises(bs.DataError, match="manifest.json is missing; it holds none of"):
        bs.load_fit(tmp_path)
    with pytest.raises(bs.DataError, match="not a saved bayescale fit: meta.json is missing"):
        bs.load_fit(tmp_path, verify=False)


def test_arviz_reads_the_saved_posterior(counted_fit, nuts_draws, tmp_path):
    out = bs.save_fit(registered(counted_fit)._replace(draws=nuts_draws), tmp_path / "fit")
    idata = import_arviz().from_netcdf(str(out / "posterior.nc"))
    np.testing.assert_array_equal(idata.posterior["alpha"].values, nuts_draws.theta[..., 2])
