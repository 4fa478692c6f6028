import math

from django import template

register = template.Library()


@register.filter
def metric(value) -> str:
    """A metric value for a table: at most 4 decimals, no trailing zeros (0.72, 1234.5678),
    scientific notation for very large or very small magnitudes; NaN and ±∞ as such."""
    if value is None:
        return ""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number != 0 and (abs(number) >= 1e7 or abs(number) < 1e-4):
        return f"{number:.4g}"
    text = f"{number:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
