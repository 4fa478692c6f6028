"""The REST endpoints the official mlflow client calls for experiments, runs, params, tags
and metrics (`/mlflow/api/2.0/mlflow/…`), answering in MLflow's JSON shapes and with its
error format `{"error_code", "message"}`, so that the client raises its usual exceptions.

Experiments are the projects of the token's organization (experiment id = project id,
name = project slug); MLflow runs are ordinary runs (run id = our run id). Tenancy, roles
and token scopes are those of the REST API: another organization's run is
RESOURCE_DOES_NOT_EXIST, a role or scope that may not write is PERMISSION_DENIED."""

import base64
import binascii
import json
import math
from datetime import UTC, datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import ApiTokenAuthentication
from accounts.api.base import OrgScopedMixin
from accounts.permissions import Perm
from evaluation.models import Run, RunStatus
from evaluation.runs import selectors, services
from evaluation.runs.mlflow.search import SearchSyntaxError, apply_filter, parse_order_by
from mlprojects.lifecycle.services import project_create
from mlprojects.models import Project

RUN_NAME_TAG = "mlflow.runName"
TO_MLFLOW_STATUS = {s: s.upper() for s in RunStatus.values}
FROM_MLFLOW_STATUS = {**{v: k for k, v in TO_MLFLOW_STATUS.items()}, "SCHEDULED": "running"}
MAX_SEARCH_RESULTS = 50_000


class MlflowError(exceptions.APIException):
    def __init__(self, error_code: str, message: str, status: int = 400):
        super().__init__(message)
        self.status_code = status
        self.error_code = error_code


def mlflow_exception_handler(exc, context):
    """Every error in MLflow's shape, with the HTTP status its client expects."""
    if isinstance(exc, MlflowError):
        code, status, message = exc.error_code, exc.status_code, str(exc.detail)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        code, status, message = "RESOURCE_DOES_NOT_EXIST", 404, str(exc) or "Not found."
    elif isinstance(exc, DjangoValidationError):
        code, status, message = "INVALID_PARAMETER_VALUE", 400, " ".join(exc.messages)
    elif isinstance(exc, exceptions.ValidationError):
        code, status, message = "INVALID_PARAMETER_VALUE", 400, json.dumps(exc.detail)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code, status, message = "UNAUTHENTICATED", 401, str(exc.detail)
    elif isinstance(exc, exceptions.PermissionDenied):
        code, status, message = "PERMISSION_DENIED", 403, str(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        code, status, message = "REQUEST_LIMIT_EXCEEDED", 429, str(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        code, status, message = "BAD_REQUEST", exc.status_code, str(exc.detail)
    else:
        return None
    headers = {}
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(math.ceil(exc.wait))
    return Response({"error_code": code, "message": message}, status=status, headers=headers)


class MlflowPermission(permissions.BasePermission):
    """Reads need `read`; writes need `edit` and a write token. `runs/search` is a POST
    that only reads, so the view, not the method, says whether it writes."""

    def has_permission(self, request: Request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False  # DRF answers 401 UNAUTHENTICATED
        membership = view.get_membership()
        if membership is None:
            raise exceptions.NotFound("No organization for this request.")
        if not membership.can(Perm.EDIT if view.writes else Perm.READ):
            self.message = "Your role may not do this."
            return False
        if view.writes and not request.auth.allows("POST"):
            self.message = "This API token is read-only."
            return False
        return True


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _datetime(ms) -> datetime | None:
    return None if ms in (None, "") else datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def experiment_json(project: Project) -> dict:
    return {
        "experiment_id": str(project.pk),
        "name": project.slug,
        "artifact_location": "",
        "lifecycle_stage": "active",
        "creation_time": _ms(project.created_at),
        "last_update_time": _ms(project.updated_at),
        "tags": [{"key": "mlflow.note.content", "value": project.summary}]
        if project.summary
        else [],
    }


def run_info_json(run: Run) -> dict:
    return {
        "run_id": str(run.pk),
        "run_uuid": str(run.pk),
        "run_name": run.name,
        "experiment_id": str(run.project_id),
        "user_id": run.tags.get("mlflow.user", ""),
        "status": TO_MLFLOW_STATUS[run.status],
        "start_time": _ms(run.started_at),
        "end_time": _ms(run.ended_at),
        "artifact_uri": "",
        "lifecycle_stage": "active",
    }


def run_json(run: Run) -> dict:
    tags = {**run.tags, RUN_NAME_TAG: run.name}
    return {
        "info": run_info_json(run),
        "data": {
            "metrics": [
                {"key": k, "value": m["value"], "timestamp": m["timestamp"], "step": m["step"]}
                for k, m in run.latest_metrics.items()
            ],
            "params": [{"key": k, "value": v} for k, v in run.params.items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
        "inputs": {},
    }


class MlflowEndpoint(OrgScopedMixin, APIView):
    """Base of the MLflow endpoints: token authentication only, MLflow's error shape."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [MlflowPermission]
    schema = None  # MLflow's API, documented by MLflow; kept out of our OpenAPI schema
    writes = False

    def get_exception_handler(self):
        return mlflow_exception_handler

    # -- reading the request ------------------------------------------------------------
    def arg(self, name: str, default=None, required: bool = False):
        source = self.request.query_params if self.request.method == "GET" else self.request.data
        value = source.get(name, default)
        if required and value in (None, ""):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Missing value for parameter '{name}'.")
        return value

    def int_arg(self, name: str, default=None):
        value = self.arg(name, default)
        if value in (None, ""):
            return default
        try:
            return int(value)  # protobuf JSON sends int64 as strings
        except (TypeError, ValueError) as exc:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"'{name}' must be an integer.") from exc

    def get_run(self) -> Run:
        run_id = str(self.arg("run_id") or self.arg("run_uuid") or "")
        if not run_id.isdigit():
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Run '{run_id}' not found.", 404)
        runs = Run.objects.for_org(self.org).select_related("project")
        return get_object_or_404(runs, pk=int(run_id))

    def get_experiment(self, experiment_id) -> Project:
        experiment_id = str(experiment_id or "")
        if not experiment_id.isdigit():
            raise MlflowError(
                "RESOURCE_DOES_NOT_EXIST", f"No experiment with id '{experiment_id}'.", 404
            )
        return get_object_or_404(Project.objects.for_org(self.org), pk=int(experiment_id))

    def handle(self, request: Request) -> dict:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        return Response(self.handle(request))

    def post(self, request: Request) -> Response:
        return Response(self.handle(request))


def _metric_point(raw: dict) -> services.MetricPoint:
    value = raw.get("value")
    try:
        # protobuf JSON writes NaN/Infinity as strings; the service refuses non-finite.
        value = float(value) if isinstance(value, str) else value
        step = int(raw.get("step") or 0)
        timestamp = raw.get("timestamp")
        timestamp = None if timestamp in (None, "") else int(timestamp)
    except (TypeError, ValueError) as exc:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid metric {raw!r}.") from exc
    return services.MetricPoint(str(raw.get("key", "")), value, step, timestamp)


def _key_values(items, what: str) -> dict[str, str]:
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"'{what}' must be a list.")
    out = {}
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid {what} entry {item!r}.")
        out[str(item["key"])] = "" if item.get("value") is None else str(item["value"])
    return out


def _log(run: Run, *, metrics=(), params=None, tags=None) -> Run:
    tags = dict(tags or {})
    new_name = tags.pop(RUN_NAME_TAG, None)
    run = services.run_log_batch(run=run, metrics=metrics, params=params, tags=tags)
    if new_name:
        run = services.run_update(run=run, name=new_name)
    return run


# -- experiments ---------------------------------------------------------------------------
class ExperimentGetByName(MlflowEndpoint):
    def handle(self, request: Request) -> dict:
        name = self.arg("experiment_name", required=True)
        project = project_by_experiment_name(self.org, name)
        if project is None:
            raise MlflowError(
                "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'", 404
            )
        return {"experiment": experiment_json(project)}


def project_by_experiment_name(org, name: str) -> Project | None:
    projects = Project.objects.for_org(org)
    return (
        projects.filter(slug=name).first()
        or projects.filter(name=name).first()
        or projects.filter(slug=slugify(name)).first()
    )


class ExperimentCreate(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        name = str(self.arg("name", required=True)).strip()
        if project_by_experiment_name(self.org, name) is not None:
            raise MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.", 400
            )
        slug = slugify(name)[:80]
        try:
            project = project_create(
                org=self.org,
                user=request.user,
                name=name,
                slug=slug if slug and slug == name else "",
                summary=f"Created by the MLflow client for the experiment “{name}”.",
            )
        except IntegrityError as exc:  # created concurrently under the same slug
            raise MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.", 400
            ) from exc
        return {"experiment_id": str(project.pk)}


class ExperimentGet(MlflowEndpoint):
    def handle(self, request: Request) -> dict:
        project = self.get_experiment(self.arg("experiment_id", required=True))
        return {"experiment": experiment_json(project)}


class ExperimentSearch(MlflowEndpoint):
    def handle(self, request: Request) -> dict:
        if self.arg("filter"):
            raise MlflowError("INVALID_PARAMETER_VALUE", "Filtering experiments is not supported.")
        size = self.int_arg("max_results", 1000)
        offset = _decode_page_token(self.arg("page_token"))
        projects = Project.objects.for_org(self.org).order_by("pk")
        projects = list(projects[offset : offset + size + 1])
        body = {"experiments": [experiment_json(p) for p in projects[:size]]}
        if len(projects) > size:
            body["next_page_token"] = _encode_page_token(offset + size)
        return body


# -- runs ----------------------------------------------------------------------------------
class RunCreate(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        project = self.get_experiment(self.arg("experiment_id", required=True))
        tags = _key_values(self.arg("tags", []), "tags")
        name = self.arg("run_name") or tags.pop(RUN_NAME_TAG, "") or ""
        tags.pop(RUN_NAME_TAG, None)
        if self.arg("user_id") and "mlflow.user" not in tags:
            tags["mlflow.user"] = str(self.arg("user_id"))
        run = services.run_create(
            project=project,
            user=request.user,
            name=name,
            tags=tags,
            started_at=_datetime(self.int_arg("start_time")),
        )
        return {"run": run_json(run)}


class RunUpdate(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        run = self.get_run()
        status = self.arg("status")
        if status is not None and status not in FROM_MLFLOW_STATUS:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Unknown run status '{status}'.")
        run = services.run_update(
            run=run,
            status=FROM_MLFLOW_STATUS.get(status) if status else None,
            name=self.arg("run_name"),
            ended_at=_datetime(self.int_arg("end_time")),
        )
        return {"run_info": run_info_json(run)}


class RunGet(MlflowEndpoint):
    def handle(self, request: Request) -> dict:
        return {"run": run_json(self.get_run())}


class RunLogBatch(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        run = self.get_run()
        metrics = self.arg("metrics", [])
        if not isinstance(metrics, list):
            raise MlflowError("INVALID_PARAMETER_VALUE", "'metrics' must be a list.")
        _log(
            run,
            metrics=[_metric_point(m) for m in metrics],
            params=_key_values(self.arg("params", []), "params"),
            tags=_key_values(self.arg("tags", []), "tags"),
        )
        return {}


class RunLogMetric(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        run = self.get_run()
        point = _metric_point({k: self.arg(k) for k in ("key", "value", "step", "timestamp")})
        _log(run, metrics=[point])
        return {}


class RunLogParameter(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        run = self.get_run()
        key = str(self.arg("key", required=True))
        _log(run, params={key: str(self.arg("value", ""))})
        return {}


class RunSetTag(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        run = self.get_run()
        key = str(self.arg("key", required=True))
        _log(run, tags={key: str(self.arg("value", ""))})
        return {}


class RunDeleteTag(MlflowEndpoint):
    writes = True

    def handle(self, request: Request) -> dict:
        run = self.get_run()
        key = str(self.arg("key", required=True))
        if key not in run.tags:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No tag '{key}' on run {run.pk}.", 404)
        services.run_delete_tag(run=run, key=key)
        return {}


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_page_token(token) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token)))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Invalid page token.") from exc
    return offset


class RunSearch(MlflowEndpoint):
    def handle(self, request: Request) -> dict:
        experiment_ids = [str(e) for e in self.arg("experiment_ids", []) or []]
        size = self.int_arg("max_results", 1000)
        if not 0 < size <= MAX_SEARCH_RESULTS:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE", f"max_results must be 1 to {MAX_SEARCH_RESULTS}."
            )
        offset = _decode_page_token(self.arg("page_token"))
        if self.arg("run_view_type") == "DELETED_ONLY":
            return {"runs": []}  # runs are never soft-deleted here
        runs = Run.objects.for_org(self.org).filter(
            project_id__in=[int(e) for e in experiment_ids if e.isdigit()]
        )
        try:
            runs = apply_filter(runs, self.arg("filter") or "")
            order = parse_order_by(self.arg("order_by") or [])
        except SearchSyntaxError as exc:
            raise MlflowError("INVALID_PARAMETER_VALUE", str(exc)) from exc
        runs = selectors.order_runs(runs, order)
        page = list(runs[offset : offset + size + 1])
        body = {"runs": [run_json(run) for run in page[:size]]}
        if len(page) > size:
            body["next_page_token"] = _encode_page_token(offset + size)
        return body


class MetricGetHistory(MlflowEndpoint):
    def handle(self, request: Request) -> dict:
        run = self.get_run()
        key = self.arg("metric_key", required=True)
        history = selectors.metric_history(run=run, key=key).values_list(
            "value", "step", "timestamp"
        )
        return {
            "metrics": [
                {"key": key, "value": value, "step": step, "timestamp": timestamp}
                for value, step, timestamp in history
            ]
        }


@login_required
def ui_link(request: HttpRequest) -> HttpResponse:
    """The page behind the links the mlflow client prints ("View run at
    http://HOST/mlflow/#/experiments/3/runs/7"): the browser keeps the fragment to itself,
    so a line of JavaScript turns it into a query, and the run's page opens (404 unless
    the run belongs to one of the caller's organizations)."""
    experiment, run_id = request.GET.get("experiment", ""), request.GET.get("run", "")
    if not experiment.isdigit():
        return render(request, "evaluation/runs/mlflow_link.html")
    project = get_object_or_404(
        Project.objects.for_member(request.user).select_related("organization"),
        pk=int(experiment),
    )
    org_slug, project_slug = project.organization.slug, project.slug
    if run_id.isdigit():
        run = get_object_or_404(Run, pk=int(run_id), project=project)
        return redirect("runs:detail", org_slug=org_slug, project_slug=project_slug, run_id=run.pk)
    return redirect("runs:list", org_slug=org_slug, project_slug=project_slug)
