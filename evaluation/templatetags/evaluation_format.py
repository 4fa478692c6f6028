"""Number formatting for evaluation pages: metric values, signed differences, shares."""

from django import template

register = template.Library()


@register.filter
def metric(value) -> str:
    """A metric value with four significant decimals, or an em dash when undefined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2e}"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"


@register.filter
def signed(value) -> str:
    if value is None:
        return "—"
    return f"{value:+.4f}"


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f} %"


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
