"""Template helpers of collaborative review."""

from django import template
from django.utils.safestring import mark_safe

from mlprojects.review.richtext import render_markdown

register = template.Library()

STATUS_LEVELS = {
    "approved": "ok",
    "in_review": "warn",
    "changes_requested": "warn",
    "rejected": "bad",
}


@register.simple_tag
def comment_html(comment, handles=None) -> str:
    """The comment's Markdown as sanitized HTML (see `mlprojects.richtext`)."""
    return mark_safe(render_markdown(comment.body, handles=handles))  # noqa: S308 (sanitized)


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if mapping else None


@register.filter
def proposal_level(status: str) -> str:
    """The badge colour of a proposal status."""
    return STATUS_LEVELS.get(status, "")


@register.filter
def status_text(status: str) -> str:
    return (status or "").replace("_", " ")
