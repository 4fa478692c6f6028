"""Number formatting and badges for A/B tests and their results."""

from django import template

from evaluation.models import ABTestStatus

register = template.Library()


@register.filter
def pct(value: float | None, digits: int = 1) -> str:
    """0.1234 → "12.3%" (None → "—")."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


@register.filter
def signed_pct(value: float | None, digits: int = 2) -> str:
    """0.0512 → "+5.12%" (None → "—")."""
    if value is None:
        return "—"
    return f"{value * 100:+.{digits}f}%"


@register.filter
def pvalue(value: float | None) -> str:
    """Three significant digits; very small values as "< 0.0001"."""
    if value is None:
        return "—"
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.3g}"


@register.filter
def number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"


STATUS_BADGES = {
    ABTestStatus.DRAFT: "",
    ABTestStatus.RUNNING: "badge-warn",
    ABTestStatus.STOPPED: "",
    ABTestStatus.ANALYZED: "badge-owner",
    ABTestStatus.DECIDED: "badge-ok",
}
OUTCOME_BADGES = {"ship": "badge-ok", "dont_ship": "badge-bad", "iterate": "badge-warn"}


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "")


@register.filter
def outcome_badge(outcome: str) -> str:
    return OUTCOME_BADGES.get(outcome, "")
