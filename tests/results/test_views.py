"""A fit you can talk to: ``Fit.predict``, ``allocate``, ``critique``, ``summary``,
``fit_report``, the short ``repr``, and one InferenceData path for every engine.

The fits are ``tests/results/conftest.py``'s (an unregistered law, with bootstrap and NUTS draws
compiled once per session) and the shared ``replication`` run's saved chinchilla fits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import COUNTED_POWER

import bayescale as bs
from bayescale.infer.idata import import_arviz
from bayescale.predict.posterior import predict_log_loss, predictive
from bayescale.results.summaries import allocation_summary, critique_summary

NUTS_CONFIG = bs.NutsConfig(num_chains=2, num_warmup=50, num_samples=50, seed=2)


def test_summary_of_a_nuts_fit_is_az_summary(counted_fit, nuts_draws) -> None:
    az = import_arviz()
    fit = counted_fit._replace(draws=nuts_draws)
    table = fit.summary()  # raw numbers, a 90% HDI
    raw = az.summary(nuts_draws.idata, hdi_prob=0.9, round_to="none")
    pd.testing.assert_frame_equal(table, raw)
    assert list(table.index) == ["A", "E", "alpha", "sigma"]
    # with arviz's display rounding, the columns shared with a plain az.summary are its own
    shown = fit.summary(round_to=None)
    default = az.summary(fit.to_inferencedata())  # arviz's defaults: a 94% HDI, rounded
    shared = [c for c in shown.columns if c in default.columns]
    assert {"mean", "sd", "mcse_mean", "r_hat", "ess_bulk", "ess_tail"} <= set(shared)
    pd.testing.assert_frame_equal(shown[shared], default[shared])


def test_every_engine_has_inferencedata_with_natural_names(counted_fit, boot_draws) -> None:
    fit = counted_fit._replace(draws=boot_draws)
    idata = fit.to_inferencedata()
    post = idata.posterior
    assert list(post.data_vars) == ["A", "E", "alpha", "sigma"]
    assert post.sizes["chain"] == 1 and post.sizes["draw"] == 50
    np.testing.assert_array_equal(post["A"].values, np.exp(boot_draws.theta[..., 0]))
    np.testing.assert_array_equal(post["sigma"].values, np.exp(boot_draws.theta[..., 3]))
    assert idata.attrs["method"] == "bootstrap" and idata.attrs["law"] == "counted_power"
    with pytest.raises(ValueError, match="pass the fit they came from"):
        boot_draws.to_inferencedata()
    table = boot_draws.to_dataframe(counted_fit)
    assert list(table.columns) == ["chain", "draw", "A", "E", "alpha", "sigma", "status"]
    np.testing.assert_array_equal(table["alpha"], boot_draws.theta[0, :, 2])
    # a bootstrap summary: statistics only (one chain), at the 90% level
    assert list(fit.summary().columns) == ["mean", "sd", "hdi_5%", "hdi_95%"]
    laplace = bs.with_draws(counted_fit, "laplace", n_draws=100)
    assert laplace.to_inferencedata().posterior.sizes["draw"] == 100


def test_every_engine_saves_posterior_nc_and_round_trips(counted_fit, boot_draws, tmp_path):
    fit = counted_fit._replace(draws=boot_draws)
    out = bs.save_fit(fit, tmp_path / "fit")
    saved = import_arviz().from_netcdf(str(out / "posterior.nc"))
    np.testing.assert_array_equal(saved.posterior["E"].values, np.exp(boot_draws.theta[..., 1]))
    back = bs.load_fit(out, law=COUNTED_POWER)
    assert back.draws.idata is None  # as saved: the record held none
    pd.testing.assert_frame_equal(back.summary(), fit.summary())


def test_predict_mean_and_new_run(counted_fit, boot_draws) -> None:
    x = np.array([1e8, 1e10, 1e12])
    point = counted_fit.predict({"N": x})
    assert list(point.columns) == ["N", "median", "lower", "upper", "extrapolated"]
    np.testing.assert_allclose(
        point["median"],
        np.exp(predict_log_loss(COUNTED_POWER, counted_fit.result.theta, {"x": x})[0]),
    )
    assert point["lower"].isna().all() and list(point["extrapolated"]) == [False, False, True]
    fit = counted_fit._replace(draws=boot_draws)
    table = fit.predict(pd.DataFrame({"x": x, "other": 1}), level=0.8)  # x by its law name
    q = predictive(COUNTED_POWER, boot_draws.flat(), {"x": x}, probs=(0.1, 0.5, 0.9)).quantiles
    np.testing.assert_array_equal(table[["lower", "median", "upper"]].to_numpy().T, q)
    new = fit.predict({"N": x}, kind="new_run")
    assert (new["upper"] - new["lower"] > table["upper"] - table["lower"]).all()
    plug_in = counted_fit.predict({"N": x}, kind="new_run")  # a point fit: noise only
    assert (plug_in["lower"] < plug_in["median"]).all()


@pytest.mark.parametrize(
    ("points", "match"),
    [
        ({"N": 1e9, "D": 1e10}, r"unknown input\(s\) \['D'\] for law 'counted_power'"),
        ({}, r"needs input\(s\) \['N'\] at every point; missing \['N'\]"),
        ({"N": [1e9, -1.0]}, r"input 'N' must be > 0"),
        ({"N": [1e9, np.nan]}, r"input 'N' has non-finite values \(points \[1\]\)"),
    ],
)
def test_predict_refuses_bad_points(counted_fit, points, match) -> None:
    with pytest.raises(ValueError, match=match):
        counted_fit.predict(points)


def test_predict_refuses_bad_kind_and_level(counted_fit) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        counted_fit.predict({"N": 1e9}, kind="run")
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        counted_fit.predict({"N": 1e9}, level=90)


def test_point_fit_summary_and_report_carry_sandwich_errors(counted_fit) -> None:
    table = counted_fit.summary()
    assert list(table.columns) == ["estimate", "se", "lower", "upper"]
    np.testing.assert_allclose(table["estimate"], counted_fit.result.params)
    assert (table["se"] > 0).all() and (table["lower"] < table["estimate"]).all()
    report = counted_fit.fit_report()
    for head in ("[[Model]]", "[[Fit Statistics]]", "[[Variables]]", "[[Correlations]]"):
        assert head in report
    assert f"# data points      = {len(counted_fit.data.loss)}" in report
    assert "sigma:" in report and "log_sigma" not in report and "robust sandwich" in report


def test_short_repr_and_html(counted_fit, nuts_draws) -> None:
    fit = counted_fit._replace(draws=nuts_draws)
    text = repr(fit)
    assert len(text) < 400 and "\n" not in text
    assert text.startswith("Fit(law='counted_power', objective=Noise('gaussian'), n_points=24")
    assert "draws='nuts: 2 chains x 50 draws'" in text and "sigma=" in text
    assert len(repr(nuts_draws)) < 300
    html = fit._repr_html_()
    assert "<table>" in html and "<td>sigma</td>" in html and "median" in html
    report = fit.fit_report()
    assert "median over the draws" in report and "nuts: 2 chains x 50 draws" in report


def test_allocate_and_critique_follow_the_summaries(replication) -> None:
    fit = bs.load_fit(replication[0] / "bootstrap")
    table = fit.allocate([5.88e23, 1e24])
    summary = allocation_summary(fit, [5.88e23, 1e24], fit.data.flops_per_token)
    for row, s in zip(table.itertuples(), summary["budgets"], strict=True):
        for q in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
            assert getattr(row, q) == pytest.approx(s[q]["q50"], rel=1e-12)
            assert getattr(row, f"{q}_lower") == pytest.approx(s[q]["q05"], rel=1e-12)
    assert (table["times_largest_run"] > 1).all()
    c = fit.critique("hoffmann2022")
    assert c.wald_chi2 == pytest.approx(
        critique_summary(fit, "hoffmann2022", [5.88e23])["wald_chi2"]
    )
    with pytest.raises(bs.DataError, match="critique needs draws"):
        fit._replace(draws=None).critique("hoffmann2022")


def test_an_unregistered_law_works_end_to_end(counted_fit, boot_draws, nuts_draws, tmp_path):
    """``make_law`` without registering: fit with draws in one call, NUTS, predict, save,
    load (the law passed back in: the directory records only its name) and the report."""
    assert "counted_power" not in bs.list_laws()
    data = pd.DataFrame({"N": counted_fit.data.x["x"], "loss": counted_fit.data.loss})
    options = {"n_resamples": 50, "seed": 1}
    fit = bs.fit(data, COUNTED_POWER, loss=bs.Noise("gaussian"), starts=8, method="bootstrap",
                 options=options)  # fmt: skip
    np.testing.assert_array_equal(fit.draws.theta, boot_draws.theta)
    nuts = bs.with_draws(fit, "nuts", config=NUTS_CONFIG)
    np.testing.assert_array_equal(nuts.draws.theta, nuts_draws.theta)
    table = nuts.predict({"N": [1e11]}, kind="new_run")
    assert table["extrapolated"].all() and np.isfinite(table[["lower", "upper"]]).all(axis=None)
    out = bs.save_fit(nuts, tmp_path / "fit")
    with pytest.raises(KeyError, match="unknown law 'counted_power'"):
        bs.load_fit(out)
    back = bs.load_fit(out, law=COUNTED_POWER)
    pd.testing.assert_frame_equal(back.predict({"N": [1e11]}, kind="new_run"), table)
    pd.testing.assert_frame_equal(back.summary(), nuts.summary())
    page = bs.write_report(back, tmp_path / "report.html")
    assert "counted_power" in page.read_text()
    assert bs.with_draws(back, "point").draws is None


def test_fit_method_reads_a_string_loss_as_its_noise_model(counted_fit) -> None:
    data = pd.DataFrame({"N": counted_fit.data.x["x"], "loss": counted_fit.data.loss})
    fit = bs.fit(data, COUNTED_POWER, loss="squared", starts=8, method="laplace",
                 options={"n_draws": 100})  # fmt: skip
    assert fit.objective == bs.Noise("gaussian") and fit.draws.method == "laplace"
    np.testing.assert_array_equal(fit.result.theta, counted_fit.result.theta)
    with pytest.raises(ValueError, match="method='point' has none"):
        bs.fit(data, COUNTED_POWER, options={"seed": 1})


def test_fit_method_and_with_draws_refuse_what_they_cannot_do(counted_fit) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        bs.with_draws(counted_fit, "mcmc")
    with pytest.raises(ValueError, match="method='point' draws nothing"):
        bs.with_draws(counted_fit, "point", seed=1)
    with pytest.raises(ValueError, match="method must be one of"):
        bs.fit(pd.DataFrame({"N": [1.0], "loss": [1.0]}), method="mcmc")
