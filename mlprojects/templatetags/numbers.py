"""Number formatting for every page: metric values, differences, shares and p-values.

`{% load numbers %}`. A missing value (None) is shown as an em dash by every filter.
"""

import math
from decimal import Decimal

from django import template

register = template.Library()

MISSING = "—"


@register.filter
def metric(value) -> str:
    """A metric value with four decimals (1,234.5 from a thousand on, 1.23e-04 below a
    thousandth); NaN and ±∞ as such; text is shown as it is."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2e}"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"


@register.filter
def signed(value: float | None) -> str:
    """A difference between two metric values: 0.0123 → "+0.0123"; a difference that
    rounds to nothing is a tie and has no sign ("0.0000")."""
    if value is None:
        return MISSING
    if tie(value):
        return f"{0:.4f}"
    return f"{value:+.4f}"


@register.filter
def tie(value: float | None) -> bool:
    """Whether a difference shows as zero at the four decimals of `signed` — to be shown
    neutral, neither as a gain nor as a loss."""
    return value is not None and abs(value) < 0.00005


@register.filter
def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage: 0.1234 → "12.3%"."""
    if value is None:
        return MISSING
    return f"{value * 100:.{digits}f}%"


@register.filter
def signed_pct(value: float | None, digits: int = 2) -> str:
    """A relative change as a signed percentage: 0.0512 → "+5.12%"."""
    if value is None:
        return MISSING
    return f"{value * 100:+.{digits}f}%"


@register.filter
def pvalue(value: float | None) -> str:
    """Three significant digits; very small values as "< 0.0001"."""
    if value is None:
        return MISSING
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.3g}"


@register.filter
def money(value) -> str:
    """An amount of money with its cents and thousands separated: 25000 → "25,000.00"."""
    if value is None or value == "":
        return MISSING
    try:
        return f"{Decimal(str(value)):,.2f}"
    except ArithmeticError:
        return str(value)


@register.filter
def number(value, digits: int = 4) -> str:
    """Any number a person typed or a worker measured: `digits` significant digits, never
    in exponent notation from a ten-thousandth up (0.9111083 → 0.9111, 12345.6 → 12,346,
    0.5 → 0.5), thousands separated; whole numbers as such (1,200)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, Decimal):  # amounts of money, typed with their cents
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) < 0.0001:
        return f"{value:.{max(digits - 1, 1)}e}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    text = f"{round(value, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
