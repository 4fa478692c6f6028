"""Reads of the lifecycle domain, always narrowed to one organization."""

from django.db.models import QuerySet

from accounts.models import Organization

from .models import Project


def project_list(*, org: Organization, query: str = "", stage: str = "") -> QuerySet[Project]:
    projects = Project.objects.for_org(org).select_related("owner")
    if query:
        projects = projects.filter(name__icontains=query)
    if stage:
        projects = projects.filter(stage=stage)
    return projects


def project_get(*, org: Organization, slug: str) -> Project:
    """The project `slug` of `org`, or 404 — also for another organization's slug."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(Project.objects.select_related("owner"), organization=org, slug=slug)
