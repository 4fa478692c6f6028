"""Reads of the prototype domain, each scoped to one organization or project."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Organization
from evaluation.prototypes.models import (
    AllowedHost,
    PrototypeCall,
    PrototypeEndpoint,
    PrototypeFeedback,
    ShareLink,
)
from evaluation.prototypes.outbound import HostRule
from mlprojects.lifecycle.selectors import cycle_get
from mlprojects.models import Baseline, Project

RULES = "rules"


def host_list(*, org: Organization) -> QuerySet[AllowedHost]:
    return AllowedHost.objects.filter(organization=org)


def host_get(*, org: Organization, pk: int) -> AllowedHost:
    return get_object_or_404(AllowedHost, organization=org, pk=pk)


def host_rules(*, org: Organization) -> dict[str, HostRule]:
    return {
        h.host.lower(): HostRule(host=h.host.lower(), allow_private=h.allow_private)
        for h in host_list(org=org)
    }


def endpoint_get(*, project: Project) -> PrototypeEndpoint | None:
    endpoint = (
        PrototypeEndpoint.objects.filter(project=project)
        .prefetch_related("examples")
        .select_related("baseline", "model_version__registered_model__project__organization")
        .first()
    )
    if endpoint is not None:
        endpoint.project = project
    return endpoint


def rule_baselines(*, project: Project) -> QuerySet[Baseline]:
    return Baseline.objects.filter(
        cycle__project=project, cycle__number=project.cycle, kind=RULES, rules__isnull=False
    ).order_by("id")


def endpoint_baseline(*, endpoint: PrototypeEndpoint) -> Baseline | None:
    """The chosen rules baseline, else the first of the current cycle."""
    if endpoint.baseline_id and endpoint.baseline.rules is not None:
        return endpoint.baseline
    return rule_baselines(project=endpoint.project).first()


def call_get(*, project: Project, pk: int) -> PrototypeCall:
    return get_object_or_404(PrototypeCall, project=project, pk=pk)


def feedback_list(*, project: Project, limit: int = 50) -> list[PrototypeFeedback]:
    return list(
        PrototypeFeedback.objects.filter(call__project=project)
        .select_related("call", "user")
        .order_by("-created_at", "-id")[:limit]
    )


def share_link_list(*, project: Project) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(project=project)


def share_link_get(*, project: Project, pk: int) -> ShareLink:
    return get_object_or_404(ShareLink, project=project, pk=pk)


def share_link_by_token(token: str) -> ShareLink:
    """The active link for `token`; 404 for an unknown, expired or revoked one (the same
    answer, so a guess learns nothing)."""
    link = (
        ShareLink.objects.select_related("project__organization")
        .filter(token_hash=ShareLink.hash_of(token), revoked_at__isnull=True)
        .filter(expires_at__gt=timezone.now())
        .first()
    )
    if link is None:
        raise Http404("This share link does not exist, has expired or was revoked.")
    return link


def project_section(*, project: Project) -> dict[str, Any]:
    """The step-6 panel: whether a prototype is set up, and its latest feedback."""
    endpoint = PrototypeEndpoint.objects.filter(project=project).only("url", "protocol").first()
    return {
        "prototype_endpoint": endpoint,
        "prototype_feedback": feedback_list(project=project, limit=10),
    }


def feedback_evidence(*, project: Project) -> list[dict[str, Any]]:
    """The feedback given on the prototype during the project's current cycle, as the
    proposal's evidence entries (`mlprojects.review.evidence`)."""
    since = cycle_get(project=project).created_at
    rows = (
        PrototypeFeedback.objects.filter(call__project=project, created_at__gte=since)
        .select_related("call", "user")
        .order_by("created_at", "id")
    )
    entries = []
    for f in rows:
        who = f.user.display_name if f.user else "a former member"
        fields = [
            ("Comment", f.comment),
            ("Input", ", ".join(f"{k}={v}" for k, v in f.call.inputs.items())),
            ("Answer", (f.call.answer or {}).get("text") or f.call.error),
        ]
        entries.append(
            {
                "title": f"{'Good answer' if f.verdict == 'up' else 'Bad answer'} — {who}, "
                f"{f.created_at:%Y-%m-%d}",
                "fields": [{"label": label, "value": value} for label, value in fields if value],
            }
        )
    return entries
