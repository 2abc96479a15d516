"""Numbers as the report writes them (:mod:`bayescale.report.units`) and the noise model's SD
(:func:`bayescale.report.engines.noise_sd`). Pure functions: no fit, no fixture."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

import bayescale as bs
from bayescale.likelihood import huber_log_norm
from bayescale.report.engines import noise_sd
from bayescale.report.units import centre, estimate, flops, num, pvalue, si, si_range


def test_sizes_in_si_units() -> None:
    assert si(9.601e10, "params") == "96 B params"
    assert si(1.7e12, "tokens") == "1.7 T tokens"
    assert [si(v) for v in (5.7e7, 1.44e11, 950, 2.5e3, 0.52)] == ["57 M", "144 B", "950",
                                                                    "2.5 k", "0.52"]  # fmt: skip
    assert si_range(6.9e10, 1.44e11) == "69-144 B" and si_range(1.2e12, 2.4e12) == "1.2-2.4 T"
    assert si_range(8.2e8, 1.2e9) == "820 M-1.2 B"


def test_budgets_and_plain_numbers_without_python_e_notation() -> None:
    assert [flops(c) for c in (5.88e23, 1e24, 1.35e22)] == ["5.88e23", "1e24", "1.35e22"]
    assert num(4.7e-6, 2) == "4.7 × 10⁻⁶" and num(0.0076) == "0.0076" and num(1e-10, 1) == "10⁻¹⁰"
    assert num(123456.7) == "123,457" and num(3.4e7, 2) == "3.4 × 10⁷"
    assert pvalue(0.012) == "0.012" and pvalue(2.3e-93) == "2 × 10⁻⁹³" and pvalue(0.0) == "< 10⁻³⁰⁰"
    for text in (num(4.7e-6), pvalue(1e-30), flops(5.88e23)):
        assert "e+" not in text and "e-" not in text


def test_one_summary_convention_median_else_point() -> None:
    with_draws = {"point": 0.513, "q05": 0.483, "q50": 0.516, "q95": 0.552}
    assert centre(with_draws) == 0.516 and centre({"point": 0.513}) == 0.513
    assert estimate(with_draws) == "0.516 [0.483-0.552]"
    n = {"point": 9.5e10, "q05": 6.9e10, "q50": 9.6e10, "q95": 1.44e11}
    assert estimate(n, "si") == "96 B [69-144 B]"
    assert estimate({"point": 18.3, "q05": 8.4, "q50": 19.5, "q95": 34.2}, "ratio") == (
        "19.5 [8.4-34.2]"
    )
    assert estimate({"point": 18.34}, "ratio") == "18.3"


def test_noise_sd_is_the_sd_of_one_runs_log_loss() -> None:
    """The Huber density's exact SD against its numerical integral; the closed forms of the
    other noise models. At delta = 1e-3 the SD is about sqrt(2)/delta = 1,414 sigma."""
    noise, d = bs.Noise("huber", 1e-3), 1e-3

    def density(x: float) -> float:  # the standard Huber density exp(-huber(x, d)) / Z
        rho = 0.5 * x * x if abs(x) <= d else d * (abs(x) - 0.5 * d)
        return math.exp(-rho - huber_log_norm(d))

    inner = quad(lambda x: x * x * density(x), 0.0, d)[0]
    tail = quad(lambda x: x * x * density(x), d, np.inf)[0]
    assert float(noise_sd(noise, 1.0)) == pytest.approx(math.sqrt(2 * (inner + tail)), rel=1e-6)
    assert float(noise_sd(noise, 4.7e-6)) == pytest.approx(4.7e-6 * 2**0.5 / 1e-3, rel=1e-3)
    assert float(noise_sd(bs.Noise("gaussian"), 0.01)) == 0.01
    assert float(noise_sd(bs.Noise("laplace"), 0.01)) == pytest.approx(0.01 * 2**0.5)
    t = bs.Noise("student_t", df=4.0)
    assert float(noise_sd(t, 1.0)) == pytest.approx(2**0.5)
