"""Small presentation helpers of the lifecycle workspace."""

from urllib.parse import urlencode

from django import template
from django.template.defaultfilters import linebreaksbr
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from mlprojects.lifecycle import page_cache

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


class WorkspaceNode(template.Node):
    def __init__(self, nodelist: template.NodeList, live: list["LiveNode"]) -> None:
        self.nodelist = nodelist
        self.live = live

    def render(self, context: template.Context) -> SafeString:
        html = context.get("workspace_html")
        if html is None:
            # What differs between viewers who may do the same stays out of the stored
            # HTML: the `{% live %}` parts and the CSRF token.
            with context.push(workspace_storing=True, csrf_token=page_cache.CSRF_SLOT):
                html = self.nodelist.render(context)
            if key := context.get("workspace_key"):
                page_cache.store(key, html)
        html = html.replace(
            page_cache.CSRF_FIELD.format(page_cache.CSRF_SLOT), CsrfTokenNode().render(context)
        )
        for node in self.live:
            html = html.replace(node.slot, node.nodelist.render(context))
        return mark_safe(html)  # noqa: S308 (rendered, escaped templates)


class LiveNode(template.Node):
    def __init__(self, nodelist: template.NodeList, number: int) -> None:
        self.nodelist = nodelist
        # Comment markup: the page's text is escaped, so it cannot forge one.
        self.slot = f"<!--live:{number}-->"

    def render(self, context: template.Context) -> SafeString:
        if context.get("workspace_storing"):
            return mark_safe(self.slot)  # noqa: S308 (a constant)
        return self.nodelist.render(context)


@register.tag
def workspace(parser: template.base.Parser, token: template.base.Token) -> WorkspaceNode:
    """`{% workspace %}…{% endworkspace %}`: the project page's body, served from the cache
    when the view found it there (`workspace_html`), else rendered and stored under
    `workspace_key` (see `mlprojects.lifecycle.page_cache`). Its `{% live %}…{% endlive %}`
    parts are rendered on every request, with the page's context."""
    live = parser.extra_data["workspace-live"] = []
    nodelist = parser.parse(("endworkspace",))
    parser.delete_first_token()
    del parser.extra_data["workspace-live"]
    return WorkspaceNode(nodelist, live)


@register.tag
def live(parser: template.base.Parser, token: template.base.Token) -> LiveNode:
    """`{% live %}…{% endlive %}`: a part of `{% workspace %}` that is never stored (the
    panels of higher layers, what depends on the viewer's permissions)."""
    nodelist = parser.parse(("endlive",))
    parser.delete_first_token()
    nodes = parser.extra_data.get("workspace-live")
    if nodes is None:
        raise template.TemplateSyntaxError("{% live %} belongs inside {% workspace %}.")
    node = LiveNode(nodelist, len(nodes))
    nodes.append(node)
    return node
