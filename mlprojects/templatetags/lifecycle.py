"""Small presentation helpers of the lifecycle workspace."""

from urllib.parse import urlencode

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html

register = template.Library()

ANSWER_LEVELS = {"yes": "ok", "partly": "warn", "no": "bad", "unknown": ""}
VERDICT_LEVELS = {
    "ml_fits": "ok",
    "open_questions": "",
    "rules_first": "warn",
    "ml_not_advised": "bad",
}
STATUS_LEVELS = {
    "supported": "ok",
    "rejected": "bad",
    "done": "ok",
    "chosen": "ok",
    "in_progress": "warn",
    "dropped": "bad",
    "mitigated": "ok",
    "accepted": "warn",
    "closed": "ok",
    "positive": "ok",
    "negative": "bad",
    "high": "bad",
    "medium": "warn",
    "low": "ok",
}


@register.filter
def prose(value, placeholder: str = "Not written yet."):
    """Multi-line text as HTML, or a muted placeholder when empty."""
    if value in (None, "") or (isinstance(value, str) and not value.strip()):
        return format_html('<span class="placeholder">{}</span>', placeholder)
    return linebreaksbr(value, autoescape=True)


@register.filter
def answer_level(answer: str) -> str:
    return ANSWER_LEVELS.get(answer, "")


@register.filter
def verdict_level(verdict: str) -> str:
    return VERDICT_LEVELS.get(verdict, "")


@register.filter
def status_level(status: str) -> str:
    return STATUS_LEVELS.get(status, "")


@register.simple_tag
def edit_link(url: str, label: str = "Edit"):
    """A link that swaps the closest `.editable` block for its form (a plain link without
    JavaScript)."""
    return format_html(
        '<a class="edit-link" href="{}" hx-get="{}" hx-target="closest .editable" '
        'hx-swap="outerHTML">{}</a>',
        url,
        url,
        label,
    )


@register.simple_tag
def add_link(url: str, label: str, **params):
    """“+ label”: swaps itself for the add form. `params` preset the form (e.g. parent)."""
    if params:
        url = f"{url}?{urlencode(params)}"
    return format_html(
        '<div class="editable add-slot"><a class="add-link" href="{}" hx-get="{}" '
        'hx-target="closest .editable" hx-swap="outerHTML">+ {}</a></div>',
        url,
        url,
        label,
    )
