"""Runs pages: the runs table of a project (sortable by any metric, filtered by status and
tag, with chosen columns, the best run per metric and the lifecycle metrics against their
targets; deleted runs on their own), the comparison of selected runs, a run's page with the
datasets it used, marking a run as baseline or candidate and linking it to an objective."""

import math

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import require_perm
from accounts.links import site_url
from accounts.permissions import Perm
from evaluation.models import Run, RunRole, RunStatus
from evaluation.runs import artifacts, selectors, services
from mlprojects.lifecycle.selectors import project_get

PAGE_SIZE = 50
DEFAULT_METRIC_COLUMNS = 6
MAX_COMPARED_RUNS = 12


def _columns(request: HttpRequest, summary: dict) -> list[dict]:
    """The chosen columns (`?col=metric.f1&col=param.lr`), else the first metrics."""
    chosen = request.GET.getlist("col")
    if not chosen:
        chosen = [f"metric.{k}" for k in summary["metric_keys"][:DEFAULT_METRIC_COLUMNS]]
    columns = []
    for col in chosen:
        kind, _, key = col.partition(".")
        known = summary["metric_keys"] if kind == "metric" else summary["param_keys"]
        if kind in ("metric", "param") and key in known:
            columns.append({"id": col, "kind": kind, "key": key})
    return columns


@require_perm(Perm.READ)
def run_list(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project, experiment = selectors.project_with_experiment(org=request.org, slug=project_slug)
    metrics = selectors.current_metrics(project=project)
    summary = selectors.project_run_summary(project=project, metrics=metrics)
    columns = _columns(request, summary)
    status = request.GET.get("status", "")
    tag = request.GET.get("tag", "").strip()
    deleted = request.GET.get("deleted") == "1"
    try:
        order = selectors.RunOrder.parse(request.GET.get("order_by", ""))
        tags = []
        if tag:
            key, sep, value = tag.partition(":")
            if not sep or not key:
                raise selectors.InvalidQuery("Filter tags as key:value, e.g. team:ranking.")
            tags = [(key, value)]
        runs = selectors.run_list(
            project=project,
            status=status if status in RunStatus.values else "",
            tags=tags,
            order=order,
            deleted=deleted,
        )
        page, next_cursor = selectors.run_page(
            runs, order=order, cursor=request.GET.get("cursor", ""), size=PAGE_SIZE
        )
    except selectors.InvalidQuery as exc:
        messages.error(request, str(exc))
        order = selectors.RunOrder.parse("")
        page, next_cursor = selectors.run_page(
            selectors.run_list(project=project, order=order, deleted=deleted),
            order=order,
            size=PAGE_SIZE,
        )
    for c in columns:
        # Click a metric header: best-first for that metric, then the other way round.
        if c["kind"] == "metric":
            lower = summary["lower_is_better"].get(c["key"], False)
            desc = None if lower else f"-metric.{c['key']}"
            first = desc or f"metric.{c['key']}"
            c["sort"] = first.lstrip("-") if str(order) == first else first
            c["sorted"] = str(order).lstrip("-") == f"metric.{c['key']}"
    best_ids = {b["key"]: b["run_id"] for b in summary["best"]}
    rows = [
        {
            "run": run,
            "cells": [
                {
                    "value": run.metric_value(c["key"])
                    if c["kind"] == "metric"
                    else run.params.get(c["key"]),
                    "best": c["kind"] == "metric" and best_ids.get(c["key"]) == run.pk,
                    "kind": c["kind"],
                    "key": c["key"],
                }
                for c in columns
            ],
        }
        for run in page
    ]
    context = {
        "project": project,
        "rows": rows,
        "columns": columns,
        "chosen": {c["id"] for c in columns},
        "summary": summary,
        "order": str(order),
        "status": status,
        "tag": tag,
        "statuses": RunStatus.choices,
        "roles": RunRole.choices,
        "objectives": selectors.objective_choices(project=project),
        "metrics_vs_target": selectors.metrics_vs_target(metrics=metrics, best=summary["targets"]),
        "next_cursor": next_cursor,
        "paged": bool(request.GET.get("cursor")),
        "deleted": deleted,
        "deleted_count": summary["deleted_runs"],
        "experiment": experiment,
        # The copy-paste snippets of the empty page use this server's real address.
        "site_url": site_url(),
    }
    if request.htmx and request.htmx.target == "runs-table":
        return render(request, "evaluation/runs/list.html#runs-table", context)
    return render(request, "evaluation/runs/list.html", context)


def _comparison(project, runs: list[Run]) -> dict:
    """Params side by side (rows whose values differ flagged), latest metrics with the best
    value flagged (in the direction of the lifecycle metric a key names, if any), and every
    metric's history per run for the charts."""
    param_keys = sorted({k for run in runs for k in run.params})
    params = []
    for key in param_keys:
        values = [run.params.get(key) for run in runs]
        params.append({"key": key, "values": values, "differs": len(set(values)) > 1})
    metric_keys = sorted({k for run in runs for k in run.latest_metrics})
    directions = selectors.metric_directions(
        metrics=selectors.current_metrics(project=project), keys=metric_keys
    )
    metrics = []
    for key in metric_keys:
        lower = directions.get(key, selectors.lower_is_better(key))
        values = [run.metric_value(key) for run in runs]
        present = [v for v in values if v is not None and math.isfinite(v)]
        target = None
        if len(present) > 1:
            target = min(present) if lower else max(present)
        metrics.append(
            {
                "key": key,
                "cells": [{"value": v, "best": v is not None and v == target} for v in values],
                "lower_is_better": lower,
            }
        )
    histories = selectors.metric_histories(runs=runs, keys=metric_keys)
    charts = [
        {
            "key": key,
            "series": [
                {"label": run.name, "points": _plottable(histories[run.pk].get(key, []))}
                for run in runs
            ],
        }
        for key in metric_keys
    ]
    return {"params": params, "metrics": metrics, "charts": charts}


def _plottable(points: list[tuple]) -> list[tuple]:
    # NaN and ±inf have no place on a chart (nor in JSON): a gap in the line.
    return [(step, v if v is not None and math.isfinite(v) else None) for step, v in points]


def _render_comparison(request: HttpRequest, project, runs: list[Run], **extra) -> HttpResponse:
    tag_keys = sorted({k for run in runs for k in run.tags})
    tags = [{"key": k, "values": [run.tags.get(k) for run in runs]} for k in tag_keys]
    context = {
        "project": project,
        "runs": runs,
        "tags": tags,
        "roles": RunRole.choices,
        "objectives": selectors.objective_choices(project=project),
        **_comparison(project, runs),
        **extra,
    }
    return render(request, "evaluation/runs/compare.html", context)


@require_perm(Perm.READ)
def run_compare(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    ids = [int(i) for i in request.GET.getlist("run") if i.isdigit()][:MAX_COMPARED_RUNS]
    runs = list(
        Run.objects.filter(project=project, pk__in=ids).select_related("created_by", "objective")
    )
    runs.sort(key=lambda run: ids.index(run.pk))
    if len(runs) < 2:
        messages.info(request, "Select at least two runs of this project to compare.")
        return redirect("runs:list", org_slug=org_slug, project_slug=project_slug)
    return _render_comparison(request, project, runs)


@require_perm(Perm.READ)
def run_detail(request: HttpRequest, org_slug: str, project_slug: str, run_id: int) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    run = selectors.run_get(org=request.org, pk=run_id, project=project)
    return _render_comparison(
        request,
        project,
        [run],
        single=True,
        datasets=selectors.run_datasets(run=run),
        artifacts=selectors.run_artifacts(run=run),
        logged_models=selectors.run_logged_models(run=run),
    )


@require_perm(Perm.READ)
def run_artifact(
    request: HttpRequest, org_slug: str, project_slug: str, run_id: int, path: str
) -> FileResponse:
    """One artifact file of the run: images inline (for the run page), everything else as
    a download of a type the browser will not render as a page."""
    project = project_get(org=request.org, slug=project_slug)
    run = selectors.run_get(org=request.org, pk=run_id, project=project)
    try:
        relative = artifacts.clean_path(path)
    except artifacts.ArtifactPathError as exc:
        raise Http404(str(exc)) from None
    segments = [
        *artifacts.run_prefix(org_id=project.organization_id, project_id=project.pk, run_id=run.pk),
        *relative,
    ]
    if not relative or not artifacts.artifact_is_file(segments=segments):
        raise Http404("No such artifact.")
    content_type = artifacts.download_type(relative[-1])
    response = FileResponse(
        artifacts.artifact_open(segments=segments),
        as_attachment=content_type not in artifacts.IMAGE_TYPES,
        filename=relative[-1],
        content_type=content_type,
    )
    response.block_size = artifacts.CHUNK_BYTES
    return response


def _back(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """To the page the form was on (`next`), else the runs list."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("runs:list", org_slug=org_slug, project_slug=project_slug)


@require_POST
@require_perm(Perm.EDIT)
def run_set_role(
    request: HttpRequest, org_slug: str, project_slug: str, run_id: int
) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    run = selectors.run_get(org=request.org, pk=run_id, project=project)
    try:
        services.run_set_role(run=run, role=request.POST.get("role", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        label = run.get_role_display().lower() if run.role else "neither baseline nor candidate"
        messages.success(request, f"“{run.name}” is now {label}.")
    return _back(request, org_slug, project_slug)


@require_POST
@require_perm(Perm.EDIT)
def run_set_objective(
    request: HttpRequest, org_slug: str, project_slug: str, run_id: int
) -> HttpResponse:
    """Link a run to one of the project's objectives (an empty choice unlinks it)."""
    project = project_get(org=request.org, slug=project_slug)
    run = selectors.run_get(org=request.org, pk=run_id, project=project)
    raw = request.POST.get("objective", "").strip()
    try:
        if raw and not raw.isdigit():
            raise ValidationError({"objective": "Choose an objective of this run's project."})
        services.run_set_objective(run=run, objective=int(raw) if raw else None, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if run.objective_id:
            messages.success(request, f"“{run.name}” now works towards “{run.objective}”.")
        else:
            messages.success(request, f"“{run.name}” is no longer linked to an objective.")
    return _back(request, org_slug, project_slug)
