"""`{% project_panels "<slot>" %}`: the panels other apps registered for a slot of the
project page, and `{% dashboard_panels %}` those of the dashboard (see
`mlprojects.lifecycle.panels`)."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from mlprojects.lifecycle.panels import dashboard_panels as registered_dashboard_panels
from mlprojects.lifecycle.panels import project_panels as registered_panels

register = template.Library()


@register.simple_tag(takes_context=True)
def project_panels(context: template.Context, slot: str) -> SafeString:
    """Each panel's template, rendered like an inclusion tag: with `project`, `org`,
    `can` (and the CSRF token) of the page plus the panel's own context."""
    project = context["project"]
    html = []
    for panel in registered_panels(slot):
        values = {
            "project": project,
            "org": context.get("org"),
            "can": context.get("can", {}),
            **panel.render_context(project=project),
        }
        if "csrf_token" in context:
            values["csrf_token"] = context["csrf_token"]
        panel_template = context.template.engine.get_template(panel.template)
        html.append(panel_template.render(context.new(values)))
    return mark_safe("".join(html))  # noqa: S308 (each part is a rendered, escaped template)


@register.simple_tag(takes_context=True)
def dashboard_panels(context: template.Context) -> SafeString:
    """Each dashboard panel's template with `org` and `can` plus its own context."""
    org = context.get("org")
    html = []
    for panel in registered_dashboard_panels():
        values = {"org": org, "can": context.get("can", {}), **panel.context(org=org)}
        panel_template = context.template.engine.get_template(panel.template)
        html.append(panel_template.render(context.new(values)))
    return mark_safe("".join(html))  # noqa: S308 (each part is a rendered, escaped template)
