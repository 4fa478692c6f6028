"""Badges of A/B tests and their decisions (numbers are formatted by `numbers`)."""

from django import template

from evaluation.models import ABTestStatus

register = template.Library()


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
