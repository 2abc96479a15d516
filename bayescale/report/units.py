"""Numbers as the report writes them: sizes in SI units, budgets as ``5.88e23``, and one
summary convention.

Every size, token count or FLOP number the report writes outside its tables of raw values goes
through :func:`si` (``96 B``, ``1.7 T``) or :func:`flops` (``5.88e23``); small or huge plain
numbers (a noise scale, a p-value) through :func:`num` (``4.7 × 10⁻⁶``), never Python's
``4.7e-06``. Central values follow one convention, :data:`CONVENTION`: the median over the
draws (:func:`centre`), the point fit where there are none, with 90% intervals (5% to 95%).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: SI prefixes of counts (parameters, tokens), largest first.
SI_PREFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
#: The summary convention of every surface: the page, the headline and the terminal.
CONVENTION = (
    "Central values are medians over the draws (the point fit where there are none); "
    "brackets are 90% intervals (5% to 95%)."
)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _prefix(value: float) -> tuple[float, str]:
    for scale, prefix in SI_PREFIXES:
        if abs(value) >= scale:
            return scale, prefix
    return 1.0, ""


def _digits(v: float) -> str:
    """Two significant figures, but every integer digit: 96, 144, 1.7, 0.52."""
    a = abs(v)
    if a >= 10 or a == 0:
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}"


def si(value: float, unit: str = "") -> str:
    """A count in SI units: ``si(9.601e10) == "96 B"``, ``si(1.7e12, "tokens") == "1.7 T tokens"``.

    Parameters
    ----------
    value
        The count (parameters, tokens).
    unit
        Appended after the prefix, e.g. ``"params"``.

    Returns
    -------
    str
        Two significant figures (every integer digit kept: ``144 B``), with the prefix
        k, M, B (billion) or T (trillion).
    """
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    scale, prefix = _prefix(v)
    text = f"{_digits(v / scale)} {prefix}".rstrip()
    return f"{text} {unit}" if unit else text


def si_range(low: float, high: float) -> str:
    """An interval of counts: ``"69-144 B"`` (one prefix when both share it), else
    ``"820 M-1.2 B"``."""
    (s_lo, p_lo), (s_hi, p_hi) = _prefix(float(low)), _prefix(float(high))
    if p_lo == p_hi:
        return f"{_digits(low / s_lo)}-{_digits(high / s_hi)} {p_hi}".rstrip()
    return f"{si(low)}-{si(high)}"


def flops(value: float) -> str:
    """A compute budget as FLOPs are usually written: ``5.88e23``, ``1e24``."""
    mantissa, _, exponent = f"{float(value):.3g}".partition("e")
    return mantissa if not exponent else f"{mantissa}e{int(exponent)}"


def num(value: float, digits: int = 3) -> str:
    """A plain number without Python's e-notation: ``0.0076``, ``4.7 × 10⁻⁶``.

    Parameters
    ----------
    value
        The number.
    digits
        Significant figures.

    Returns
    -------
    str
        ``value`` to ``digits`` significant figures; below 1e-4 or from 1e6 on, as a power of
        ten with a superscript exponent.
    """
    v = float(value)
    if not math.isfinite(v) or v == 0:
        return "0" if v == 0 else str(v)
    if 1e-4 <= abs(v) < 1e6:
        text = f"{v:.{digits}g}"
        if "e" not in text:
            return text
        return f"{v:,.0f}"
    mantissa, exponent = f"{v:.{max(digits - 1, 0)}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    power = f"10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return power if mantissa == "1" else f"{mantissa} × {power}"


def pvalue(p: float) -> str:
    """A p-value: ``0.012``, ``0.0003`` or ``2 × 10⁻⁹³`` (``< 10⁻³⁰⁰`` for 0)."""
    p = float(p)
    if p <= 0:
        return "< 10⁻³⁰⁰"
    return f"{p:.2g}" if p >= 1e-4 else num(p, 1)


def centre(summary: Mapping[str, float]) -> float:
    """The central value of :data:`CONVENTION`: the draws' median (``q50``), else ``point``."""
    return float(summary["q50"] if "q50" in summary else summary["point"])


def estimate(summary: Mapping[str, float], kind: str = "plain", digits: int = 3) -> str:
    """A summary as ``centre [5%-95%]`` (just the centre without draws).

    Parameters
    ----------
    summary
        ``point`` and, with draws, ``q05``, ``q50``, ``q95`` (e.g. from
        :func:`~bayescale.results.summaries.allocation_summary`).
    kind
        ``"plain"`` (:func:`num` to ``digits``), ``"si"`` (a count) or ``"ratio"`` (one
        decimal, as tokens per parameter).
    digits
        Significant figures of ``"plain"``.

    Returns
    -------
    str
        E.g. ``"0.513 [0.483-0.552]"``, ``"96 B [69-144 B]"``, ``"18.3 [8.4-34.2]"``.
    """
    c = centre(summary)
    if kind == "si":
        text = si(c)
        return text + (f" [{si_range(summary['q05'], summary['q95'])}]" if "q05" in summary else "")

    def fmt(v: float) -> str:
        return f"{v:.1f}" if kind == "ratio" else num(v, digits)

    return fmt(c) + (f" [{fmt(summary['q05'])}-{fmt(summary['q95'])}]" if "q05" in summary else "")


__all__ = [
    "CONVENTION",
    "SI_PREFIXES",
    "centre",
    "estimate",
    "flops",
    "num",
    "pvalue",
    "si",
    "si_range",
]
