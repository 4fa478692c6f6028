"""The project's Models page: its registered models, their versions with aliases and stage,
links to the runs that made them, and each version's source run params and metrics and its
logged model's metrics. A version's entry is `#version-<id>` (deployments link there)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import require_perm
from accounts.permissions import Perm
from evaluation.registry import selectors
from mlprojects.lifecycle.selectors import project_get


@require_perm(Perm.READ)
def model_list(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    models = list(selectors.project_registered_models(project))
    for model in models:
        by_version: dict[int, list[str]] = {}
        for alias, number in sorted(model.aliases.items()):
            by_version.setdefault(number, []).append(alias)
        model.version_list = sorted(model.versions.all(), key=lambda v: -v.version)
        for version in model.version_list:
            version.alias_list = by_version.get(version.version, [])
            version.lineage = selectors.version_lineage(version, project)
    return render(request, "evaluation/registry/list.html", {"project": project, "models": models})
