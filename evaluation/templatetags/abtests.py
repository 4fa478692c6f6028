"""Badges of A/B tests and the project page's "A/B tests" section (numbers: `numbers`)."""

from django import template

from evaluation.abtests import selectors
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


@register.inclusion_tag("evaluation/abtests/_project_section.html", takes_context=True)
def abtests_section(context: template.Context, project) -> dict:
    """The project page's short list of A/B tests with their latest decisions."""
    return {
        "project": project,
        "org": context.get("org"),
        "can": context.get("can", {}),
        "abtests": list(selectors.abtest_list(project=project)[:5]),
    }
