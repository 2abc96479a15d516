"""Calibrated intervals (:mod:`bayescale.predict.calibration`): standardised errors, the
log-linear error model (monotone, exact on constructed data), and its application."""

from __future__ import annotations

import numpy as np
import pytest

from bayescale.predict.calibration import (
    calibrated_interval,
    conformal_level,
    fit_calibration,
    inflation,
    standardised_errors,
    stretch,
)


def test_standardised_error_is_at_most_one_exactly_when_covered() -> None:
    rng = np.random.default_rng(0)
    y, m = rng.normal(size=500), 0.1
    lo, hi = -1.0, 1.5  # asymmetric about the median
    z = standardised_errors(y, m, lo, hi)
    assert np.array_equal(z <= 1, (lo <= y) & (y <= hi))


def test_constant_errors_give_the_conformal_quantile_and_no_growth() -> None:
    rng = np.random.default_rng(1)
    n = 99
    z = rng.exponential(size=(n, 2))
    d = rng.uniform(0, 2, n)
    cal = fit_calibration(d, z, (0.5, 0.9))
    assert cal.ok.all() and np.all(cal.slope >= 0)
    for j, p in enumerate((0.5, 0.9)):
        # the factor is the ceil((n + 1) p)-th smallest error (the conformal quantile) when the
        # slope is 0; with a slope, the line is at least as good a quantile fit
        k = int(np.ceil((n + 1) * p))
        if cal.slope[j] == 0:
            assert np.exp(cal.intercept[j]) == pytest.approx(np.sort(z[:, j])[k - 1], rel=1e-9)
        factor, ok = inflation(cal, d, p, floor=0.0)
        assert ok.all() and np.mean(z[:, j] <= factor * (1 + 1e-9)) >= k / n - 1e-12


def test_growth_with_distance_is_recovered_and_monotone() -> None:
    rng = np.random.default_rng(2)
    d = np.repeat([0.0, 0.5, 1.0, 1.5], 400)
    z = np.exp(0.2 + 0.8 * d) * np.abs(rng.normal(size=d.size))  # |N(0,1)| scaled by e^(0.8 d)
    cal = fit_calibration(d, z[:, None], (0.9,))
    assert cal.slope[0] == pytest.approx(0.8, abs=0.1)
    q90 = np.log(1.6448536)  # 90% quantile of |N(0, 1)|
    assert cal.intercept[0] == pytest.approx(0.2 + q90, abs=0.1)
    grid = np.linspace(-1, 5, 50)
    k, _ = inflation(cal, grid, 0.9)
    # monotone; inside the data (d <= 0) the factor is the one at the data's edge
    assert np.all(np.diff(k) >= 0) and np.allclose(k[grid <= 0], inflation(cal, [0.0], 0.9)[0])
    # at every distance about 90% of the points lie below the fitted factor
    for dist in (0.0, 0.5, 1.0, 1.5):
        sel = d == dist
        assert abs(np.mean(z[sel] <= inflation(cal, d[sel], 0.9)[0]) - 0.9) < 0.04
    # applied to forecasts the factor is at least 1 (calibration only widens), unless asked
    small = fit_calibration(d, (z / 10)[:, None], (0.9,))
    assert inflation(small, [0.0], 0.9)[0][0] == 1.0
    assert inflation(small, [0.0], 0.9, floor=0.0)[0][0] < 1.0
    # errors that shrink with distance are fitted with no growth (the slope is >= 0)
    shrink = fit_calibration(d, (z * np.exp(-1.6 * d))[:, None], (0.9,))
    assert shrink.slope[0] == 0.0


def test_too_few_points_cannot_calibrate_a_level() -> None:
    assert conformal_level(0.9, 9) == pytest.approx(1.0) and conformal_level(0.9, 8) > 1
    cal = fit_calibration(np.linspace(0, 1, 5), np.ones((5, 2)), (0.5, 0.9))
    assert cal.ok.tolist() == [True, False] and np.isnan(cal.intercept[1])
    k, ok = inflation(cal, np.array([0.5]), 0.9)
    assert np.isnan(k[0]) and not ok[0]
    with pytest.raises(ValueError, match="not calibrated"):
        inflation(cal, np.array([0.5]), 0.8)


def test_batched_calibration_equals_separate_ones() -> None:
    rng = np.random.default_rng(3)
    d = rng.uniform(0, 1, (2, 60))
    growth = np.array([1.0, 0.3])[:, None, None]
    z = np.exp(growth * d[..., None]) * rng.exponential(size=(2, 60, 1))
    mask = np.ones((2, 60), bool)
    mask[1, 40:] = False
    both = fit_calibration(d, z, (0.8,), mask)
    one = fit_calibration(d[1, :40], z[1, :40], (0.8,))
    assert both.n_points.tolist() == [60, 40]
    assert both.intercept[1, 0] == pytest.approx(one.intercept[0], rel=1e-9)
    assert both.slope[1, 0] == pytest.approx(one.slope[0], rel=1e-6, abs=1e-9)
    k, _ = inflation(both, np.array([0.3, 0.3]), 0.8, index=np.array([0, 1]), floor=0.0)
    assert k[1] == pytest.approx(inflation(one, np.array([0.3]), 0.8, floor=0.0)[0][0])


def test_calibrated_interval_is_the_stretched_sample() -> None:
    rng = np.random.default_rng(4)
    x = rng.gumbel(size=(3, 20_001))
    m = np.median(x, axis=1)
    lo, hi = np.quantile(x, [0.05, 0.95], axis=1)
    k = np.array([1.5, 0.8, np.nan])  # calibrated_interval takes any factor
    c_lo, c_hi = calibrated_interval(m, lo, hi, k)
    s_lo, s_hi = np.quantile(stretch(x, m, k), [0.05, 0.95], axis=1)
    assert np.allclose(np.log(c_lo), s_lo) and np.allclose(np.log(c_hi), s_hi)
    assert np.log(c_lo[2]) == pytest.approx(lo[2]) and np.log(c_hi[2]) == pytest.approx(hi[2])
