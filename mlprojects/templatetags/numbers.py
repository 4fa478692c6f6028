"""Number formatting for every page: metric values, differences, shares and p-values.

`{% load numbers %}`. A missing value (None) is shown as an em dash by every filter.
"""

import math

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
    """A difference between two metric values: 0.0123 → "+0.0123"."""
    if value is None:
        return MISSING
    return f"{value:+.4f}"


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
def number(value: float | None, digits: int = 4) -> str:
    """A count or an average: `digits` significant digits with thousands separators, whole
    numbers from a million on."""
    if value is None:
        return MISSING
    return f"{value:,.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
