"""Evaluation pages of a project: list, upload, column mapping, progress and results,
download of the uploaded file, and two evaluations side by side."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts.access import require_perm
from accounts.actions import run_action
from accounts.forms import add_validation_errors
from accounts.permissions import Perm
from evaluation.evaluations import selectors, services
from evaluation.evaluations.forms import EvaluationColumnsForm, EvaluationUploadForm
from evaluation.evaluations.selectors import HEADLINE_METRICS, evaluation_k, metric_label
from evaluation.metrics import PRIMARY_METRIC, EvaluationInputError, compare
from evaluation.models import Evaluation, EvaluationStatus
from evaluation.uploads import UploadTooLarge, human_bytes, limit_upload
from mlprojects.lifecycle.selectors import project_get
from mlprojects.site.storage import open_stored

# The mapping page shows this many first rows under their guessed roles.
MAPPING_PREVIEW_ROWS = 10


def _project(request: HttpRequest, project_slug: str):
    return project_get(org=request.org, slug=project_slug)


@require_perm(Perm.READ)
def evaluation_list(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    evaluations = selectors.with_headline(list(selectors.evaluation_list(project=project)))
    finished = [e for e in evaluations if e.status == EvaluationStatus.SUCCEEDED]
    drafts = sum(e.status == EvaluationStatus.DRAFT for e in evaluations)
    return render(
        request,
        "evaluation/evaluations/list.html",
        {
            "project": project,
            "evaluations": evaluations,
            "finished": finished,
            "drafts": drafts,
        },
    )


def _upload_too_large(
    request: HttpRequest, error: UploadTooLarge, org_slug: str, project_slug: str
) -> HttpResponse:
    context = {
        "project": _project(request, project_slug),
        "form": EvaluationUploadForm(),
        "upload_error": str(error),
        "max_bytes": human_bytes(settings.EVALUATION_MAX_UPLOAD_BYTES),
    }
    return render(request, "evaluation/evaluations/upload.html", context, status=413)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
@limit_upload("EVALUATION_MAX_UPLOAD_BYTES", _upload_too_large)
def evaluation_upload(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    form = EvaluationUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = services.evaluation_upload(
                project=project,
                user=request.user,
                upload=form.cleaned_data["file"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return redirect(
                "evaluations:configure",
                org_slug=project.organization.slug,
                project_slug=project.slug,
                evaluation_id=evaluation.pk,
            )
    context = {
        "project": project,
        "form": form,
        "max_bytes": human_bytes(settings.EVALUATION_MAX_UPLOAD_BYTES),
    }
    return render(request, "evaluation/evaluations/upload.html", context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def evaluation_configure(
    request: HttpRequest, org_slug: str, project_slug: str, evaluation_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    evaluation = selectors.evaluation_get(project=project, evaluation_id=evaluation_id)
    if evaluation.status != EvaluationStatus.DRAFT:
        return redirect(_detail_url(evaluation))
    try:
        header, sample = services.evaluation_header(evaluation, rows=services.SAMPLE_ROWS)
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from None
    rule_baselines = services.project_rule_baselines(project=project)
    form = EvaluationColumnsForm(
        request.POST or None,
        header=header,
        rows=sample,
        evaluation=evaluation,
        metrics=selectors.target_metric_choices(project=project),
        rule_baselines=rule_baselines,
    )
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        try:
            evaluation = services.evaluation_configure(
                evaluation=evaluation,
                user=request.user,
                task=form.cleaned_data["task"],
                columns=mapping["columns"],
                options=mapping["options"],
                name=form.cleaned_data["name"],
                project_rules=form.cleaned_data.get("project_rules", False),
                target_metric=form.cleaned_data["target_metric"],
                target_metric_key=form.cleaned_data["target_metric_key"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            for warning in evaluation.skipped_rule_baselines:
                messages.warning(request, warning)
            messages.success(request, "Evaluation queued. The results appear here when ready.")
            return redirect(_detail_url(evaluation))
    context = {"project": project, "evaluation": evaluation, "form": form}
    context.update(
        header=header,
        preview=sample[:MAPPING_PREVIEW_ROWS],
        roles=form.column_roles(),
        guess_notes=form.guess["notes"],
    )
    return render(request, "evaluation/evaluations/configure.html", context)


def _detail_url(evaluation: Evaluation) -> str:
    return reverse(
        "evaluations:detail",
        kwargs={
            "org_slug": evaluation.project.organization.slug,
            "project_slug": evaluation.project.slug,
            "evaluation_id": evaluation.pk,
        },
    )


def _metric_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric: the model's value and each baseline's value with the lift."""
    rows, k = [], result["info"].get("k")
    for name, value in result["metrics"].items():
        baselines = []
        for base_name, base in result["baselines"].items():
            lift = dict(base["lift"].get(name) or {})
            if lift.get("relative") is not None and lift.get("improvement") is not None:
                # The relative change, signed like the improvement: for a lower-is-better
                # metric a 90 % drop is shown as +90 %.
                sign = 1 if lift["improvement"] >= 0 else -1
                lift["relative_improvement"] = sign * abs(lift["relative"])
            baselines.append({"name": base_name, "value": base.get(name), "lift": lift})
        rows.append(
            {"name": name, "label": metric_label(name, k=k), "value": value,
             "baselines": baselines}
        )  # fmt: skip
    return rows


def _charts(evaluation: Evaluation) -> dict[str, Any]:
    """The data behind each chart, passed to the page with `json_script`."""
    result, task = evaluation.result, evaluation.task
    curves, k = result["curves"], evaluation_k(evaluation)
    charts: dict[str, Any] = {}
    if task == "binary":
        charts["roc"] = [{"x": p["fpr"], "y": p["tpr"]} for p in curves["roc"]]
        charts["pr"] = [{"x": p["recall"], "y": p["precision"]} for p in curves["pr"]]
        charts["thresholds"] = [
            {"threshold": t["threshold"], "cost": t["cost"], "precision": t["precision"],
             "recall": t["recall"], "f1": t["f1"]}
            for t in result["thresholds"]
        ]  # fmt: skip
        calibration = curves.get("calibration") or {}
        charts["calibration"] = [
            {"x": b["mean_predicted"], "y": b["fraction_positive"], "count": b["count"]}
            for b in calibration.get("bins", [])
            if b["count"]
        ]
    if task == "regression":
        histogram = curves["residuals"]["histogram"]
        edges = histogram["edges"]
        charts["residuals"] = {
            "labels": [f"{(lo + hi) / 2:.3g}" for lo, hi in zip(edges, edges[1:], strict=False)],
            "counts": histogram["counts"],
        }
    slices = [s for s in result["slices"] if s.get("primary_value") is not None]
    if slices:
        charts["slices"] = {
            "labels": [f"{s['column']} = {s['value']}" for s in slices],
            "values": [s["primary_value"] for s in slices],
            "metric": metric_label(slices[0]["primary_metric"], k=k),
        }
    if result.get("tradeoff"):
        metric = result["info"]["tradeoff"]["metrics"][0]
        charts["tradeoff"] = {
            "metric": metric_label(metric, k=k),
            "points": [
                {"x": p["a"][metric], "y": p["b"][metric], "weight": p["weight"],
                 "pareto": p["pareto_optimal"]}
                for p in result["tradeoff"]
            ],
        }  # fmt: skip
    return charts


@require_GET
@require_perm(Perm.READ)
def evaluation_detail(
    request: HttpRequest, org_slug: str, project_slug: str, evaluation_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    evaluation = selectors.evaluation_get(project=project, evaluation_id=evaluation_id)
    context: dict[str, Any] = {"project": project, "evaluation": evaluation}
    if request.htmx:
        response = render(request, "evaluation/evaluations/detail.html#progress", context)
        if evaluation.is_pending:
            return response
        # Done: stop polling and reload the page, which now shows the outcome.
        stopped = HttpResponseStopPolling(response.content)
        stopped["HX-Refresh"] = "true"
        return stopped
    if evaluation.status == EvaluationStatus.DRAFT:
        return redirect(
            "evaluations:configure",
            org_slug=org_slug,
            project_slug=project_slug,
            evaluation_id=evaluation.pk,
        )
    if evaluation.status == EvaluationStatus.SUCCEEDED:
        result = evaluation.result
        headline_names = HEADLINE_METRICS[evaluation.task]
        context.update(
            result=result,
            info=result["info"],
            headline=[
                {
                    "name": n,
                    "label": metric_label(n, k=evaluation_k(evaluation)),
                    "value": result["metrics"].get(n),
                }
                for n in headline_names
                if n in result["metrics"]
            ],
            metric_rows=_metric_rows(result),
            baseline_names=list(result["baselines"]),
            charts=_charts(evaluation),
            slices=result["slices"],
            primary=PRIMARY_METRIC[evaluation.task],
            recommended=result["info"].get("recommended_threshold"),
        )
        matrix = result["curves"].get("confusion_matrix") or {}
        if "labels" in matrix:
            context["cm_rows"] = list(zip(matrix["labels"], matrix["matrix"], strict=True))
    return render(request, "evaluation/evaluations/detail.html", context)


@require_GET
@require_perm(Perm.READ)
def evaluation_download(
    request: HttpRequest, org_slug: str, project_slug: str, evaluation_id: int
) -> FileResponse:
    """The uploaded file, only through this organization-checked view (never a public
    media URL)."""
    project = _project(request, project_slug)
    evaluation = selectors.evaluation_get(project=project, evaluation_id=evaluation_id)
    try:
        fh = open_stored(evaluation.file.name)
    except FileNotFoundError:
        raise Http404("The file of this evaluation is no longer stored.") from None
    return FileResponse(fh, as_attachment=True, filename=evaluation.original_filename)


@require_POST
@require_perm(Perm.EDIT)
def evaluation_rename(
    request: HttpRequest, org_slug: str, project_slug: str, evaluation_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    evaluation = selectors.evaluation_get(project=project, evaluation_id=evaluation_id)
    return run_action(
        request,
        lambda: services.evaluation_rename(
            evaluation=evaluation, user=request.user, name=request.POST.get("name", "")
        ),
        done="Renamed.",
        back=_detail_url(evaluation),
    )


@require_POST
@require_perm(Perm.EDIT)
def evaluation_delete(
    request: HttpRequest, org_slug: str, project_slug: str, evaluation_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    evaluation = selectors.evaluation_get(project=project, evaluation_id=evaluation_id)
    return run_action(
        request,
        lambda: services.evaluation_delete(evaluation=evaluation, user=request.user),
        done=f"Deleted “{evaluation.name}” and its file.",
        back=_detail_url(evaluation),
        then=reverse("evaluations:list", args=[request.org.slug, project.slug]),
    )


@require_POST
@require_perm(Perm.EDIT)
def evaluation_drafts_delete(
    request: HttpRequest, org_slug: str, project_slug: str
) -> HttpResponse:
    """Delete every draft of the project (uploads whose columns were never mapped)."""
    project = _project(request, project_slug)
    return run_action(
        request,
        lambda: services.evaluation_drafts_delete(project=project, user=request.user),
        done=lambda count: f"Deleted {count} draft{pluralize(count)} and the uploaded files.",
        back=reverse("evaluations:list", args=[request.org.slug, project.slug]),
    )


@require_POST
@require_perm(Perm.EDIT)
def evaluation_retry(
    request: HttpRequest, org_slug: str, project_slug: str, evaluation_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    evaluation = selectors.evaluation_get(project=project, evaluation_id=evaluation_id)
    return run_action(
        request,
        lambda: services.evaluation_retry(evaluation=evaluation, user=request.user),
        done="Check the column mapping and submit again; the file is kept.",
        level=messages.INFO,
        back=_detail_url(evaluation),
        then=reverse("evaluations:configure", args=[request.org.slug, project.slug, evaluation.pk]),
    )


@require_GET
@require_perm(Perm.READ)
def evaluation_compare(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    choices = [
        e
        for e in selectors.evaluation_list(project=project)
        if e.status == EvaluationStatus.SUCCEEDED
    ]
    context: dict[str, Any] = {"project": project, "choices": choices, "rows": None}
    ids = {}
    for key in ("a", "b"):
        raw = request.GET.get(key, "")
        ids[key] = int(raw) if raw.isdigit() else None
    context["selected"] = ids
    if ids["a"] and ids["b"]:
        a = selectors.evaluation_get(project=project, evaluation_id=ids["a"])
        b = selectors.evaluation_get(project=project, evaluation_id=ids["b"])
        context.update(a=a, b=b)
        if a.status != EvaluationStatus.SUCCEEDED or b.status != EvaluationStatus.SUCCEEDED:
            context["error"] = "Both evaluations must have succeeded to be compared."
        else:
            try:
                rows = compare(a.result, b.result)
            except EvaluationInputError as exc:
                context["error"] = str(exc)
            else:
                k = evaluation_k(a) if evaluation_k(a) == evaluation_k(b) else None
                for row in rows:
                    row["label"] = metric_label(row["metric"], k=k)
                context["rows"] = rows
    return render(request, "evaluation/evaluations/compare.html", context)
