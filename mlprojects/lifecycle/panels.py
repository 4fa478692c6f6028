"""Parts of the project page that a higher layer fills.

The project page belongs to the lifecycle, but some of what it shows lives in apps that
depend on `mlprojects` (runs, evaluations and A/B tests of `evaluation`). Those apps
register a panel here from their `AppConfig.ready()`; the page renders the panels of a
slot with `{% project_panels "<slot>" %}` (tag library `panels`) without naming them.

A panel is a template and, optionally, a function that gives the template what it needs
beyond `project`, `org` and `can`. That function runs only when its slot is rendered, so
a fragment that does not show the slot runs none of its queries.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlprojects.lifecycle.models import Project

# The slots of the project page: the buttons of its head, and the sections of its steps.
ACTIONS = "actions"
STEP_BASELINES = "step-baselines"
STEP_EVALUATION = "step-evaluation"
STEP_DEPLOYMENT = "step-deployment"
SLOTS = (ACTIONS, STEP_BASELINES, STEP_EVALUATION, STEP_DEPLOYMENT)


@dataclass(frozen=True)
class ProjectPanel:
    key: str
    slot: str
    template: str
    context: Callable[..., dict[str, Any]] | None = None

    def render_context(self, *, project: Project) -> dict[str, Any]:
        return self.context(project=project) if self.context else {}


_panels: dict[str, ProjectPanel] = {}


def register_project_panel(
    *,
    key: str,
    slot: str,
    template: str,
    context: Callable[..., dict[str, Any]] | None = None,
) -> None:
    """Add a panel to `slot` (after those registered before it). `context(project=…)`
    returns the template's own variables. Registering a key again replaces the panel."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown slot {slot!r} of the project page; one of {SLOTS}.")
    _panels[key] = ProjectPanel(key=key, slot=slot, template=template, context=context)


def project_panels(slot: str) -> list[ProjectPanel]:
    """The panels of `slot`, in registration order."""
    return [panel for panel in _panels.values() if panel.slot == slot]


# --- the dashboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardPanel:
    """A part of an organization's dashboard that a higher layer fills: a template and
    a function `context(org=…)` giving its variables (an empty dict hides nothing; the
    template decides what to show)."""

    key: str
    template: str
    context: Callable[..., dict[str, Any]]


_dashboard_panels: dict[str, DashboardPanel] = {}


def register_dashboard_panel(
    *, key: str, template: str, context: Callable[..., dict[str, Any]]
) -> None:
    """Add a panel above the dashboard's project list; the same key again replaces it."""
    _dashboard_panels[key] = DashboardPanel(key=key, template=template, context=context)


def dashboard_panels() -> list[DashboardPanel]:
    return list(_dashboard_panels.values())
