"""Audit events that a higher layer writes and describes in the activity feed.

The feed (`selectors.activity`) belongs to review, but some events in the audit log are
written by apps that depend on `mlprojects` (A/B test decisions of `evaluation`). Such an
app registers a source here from its `AppConfig.ready()`: which of a project's events are
its own, and how to describe a batch of them — in one go, so the feed's queries do not
grow with its length.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from accounts.models import AuditEvent, Organization

# (org=, events=) → {event id: (text, url)}; the URL may be empty.
Describe = Callable[..., dict[int, tuple[str, str]]]


@dataclass(frozen=True)
class ActivitySource:
    prefix: str  # the audit actions of the source start with it, e.g. "abtest."
    project_events: Callable[..., Q]  # (project=) → the source's events of that project
    describe: Describe

    def lines(self, *, org: Organization, events: list[AuditEvent]) -> dict[int, tuple]:
        mine = [e for e in events if e.action.startswith(self.prefix)]
        return self.describe(org=org, events=mine) if mine else {}


_sources: dict[str, ActivitySource] = {}


def register_activity_source(
    *, prefix: str, project_events: Callable[..., Q], describe: Describe
) -> None:
    """Describe the audit actions starting with `prefix` (registering it again replaces
    the source)."""
    _sources[prefix] = ActivitySource(
        prefix=prefix, project_events=project_events, describe=describe
    )


def activity_sources() -> list[ActivitySource]:
    return list(_sources.values())


def describe_events(*, org: Organization, events: list[AuditEvent]) -> dict[int, tuple]:
    """`{event id: (text, url)}` for the events a registered source describes."""
    lines: dict[int, tuple] = {}
    for source in _sources.values():
        lines.update(source.lines(org=org, events=events))
    return lines
