"""The REST endpoints the official mlflow client calls for experiments, runs, params, tags,
metrics and datasets (`/mlflow/api/2.0/mlflow/…`), answering in MLflow's JSON shapes and
with its error format `{"error_code", "message"}` (also for unknown endpoints, wrong
methods, malformed bodies and unexpected failures, whatever DEBUG is), so that the client
raises its usual exceptions.

Experiments are the projects of the token's organization (experiment id = project id; the
name is the experiment's own, see `Experiment`); the organization's Default experiment
answers to MLflow's id "0". MLflow runs are ordinary runs (run id = our run id). Tenancy,
roles and token scopes are those of the REST API: another organization's run or experiment
is RESOURCE_DOES_NOT_EXIST, a role or scope that may not write is PERMISSION_DENIED."""

import base64
import binascii
import json
import logging
import math

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.auth import ApiTokenAuthentication
from accounts.api.base import OrgScopedMixin
from accounts.api.parsers import JSONTooDeep, loads_limited
from accounts.permissions import Perm
from evaluation.models import Experiment, LoggedModel, Run, RunStatus
from evaluation.runs import artifacts, selectors, services
from evaluation.runs.mlflow import protocol
from evaluation.runs.mlflow.protocol import (
    DATASET_INPUT,
    KEY_VALUE,
    METRIC,
    RUN_STATUS,
    VIEW_TYPE,
    Field,
    MlflowError,
    from_ms,
    invalid,
    invalid_value,
    json_double,
    not_found,
    repeated,
    string,
    to_ms,
)
from evaluation.runs.mlflow.search import (
    RUN_NAME_TAG,
    USER_TAG,
    SearchSyntaxError,
    filter_experiments,
    filter_runs,
    order_experiments,
    order_runs,
)
from evaluation.runs.models import from_json_number
from mlprojects.models import Project
from mlprojects.site.errors import mlflow_error

logger = logging.getLogger(__name__)

TO_MLFLOW_STATUS = {s: s.upper() for s in RunStatus.values}
FROM_MLFLOW_STATUS = {**{v: k for k, v in TO_MLFLOW_STATUS.items()}, "SCHEDULED": "running"}
DEFAULT_EXPERIMENT_ID = "0"
MAX_SEARCH_RESULTS = 50_000  # MLflow's limit for runs and experiments
DEFAULT_SEARCH_RESULTS = 1000
MAX_BATCH_ENTITIES = 1000  # metrics + params + tags of one log-batch, as in MLflow
MAX_PAGE_OFFSET = 2**62
DRF_ERRORS = [  # (exception class, MLflow error code, HTTP status or None for the exception's)
    (exceptions.NotAuthenticated, "UNAUTHENTICATED", 401),
    (exceptions.AuthenticationFailed, "UNAUTHENTICATED", 401),
    (exceptions.PermissionDenied, "PERMISSION_DENIED", 403),
    (exceptions.Throttled, "REQUEST_LIMIT_EXCEEDED", 429),
    (exceptions.NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (exceptions.ValidationError, "INVALID_PARAMETER_VALUE", 400),
    (exceptions.APIException, "BAD_REQUEST", None),  # parse errors, wrong methods, …
]
VALIDATION_CODES = {
    services.ALREADY_EXISTS: ("RESOURCE_ALREADY_EXISTS", 400),
    services.DOES_NOT_EXIST: ("RESOURCE_DOES_NOT_EXIST", 404),
}


def mlflow_exception_handler(exc, context):
    """Every error in MLflow's shape, with the HTTP status its client expects; nothing
    escapes as an HTML page."""
    headers = {}
    if isinstance(exc, MlflowError):
        code, status, message = exc.error_code, exc.status_code, str(exc.detail)
    elif isinstance(exc, Http404):
        code, status, message = "RESOURCE_DOES_NOT_EXIST", 404, str(exc) or "Not found."
    elif isinstance(exc, DjangoValidationError):
        code, status = VALIDATION_CODES.get(
            getattr(exc, "code", None), ("INVALID_PARAMETER_VALUE", 400)
        )
        message = " ".join(exc.messages)
    elif isinstance(exc, exceptions.APIException):
        code, status = next((c, s) for cls, c, s in DRF_ERRORS if isinstance(exc, cls))
        status = status or exc.status_code
        detail = exc.detail
        message = json.dumps(detail) if isinstance(detail, dict | list) else str(detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(math.ceil(exc.wait))
    else:
        logger.exception("MLflow endpoint %s failed", context["request"].path)
        code, status, message = "INTERNAL_ERROR", 500, "Internal server error."
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


# -- answers --------------------------------------------------------------------------------
def experiment_id(experiment: Experiment) -> str:
    return DEFAULT_EXPERIMENT_ID if experiment.is_default else str(experiment.project_id)


def experiment_json(experiment: Experiment) -> dict:
    return {
        "experiment_id": experiment_id(experiment),
        "name": experiment.name,
        "artifact_location": artifacts.uri(
            artifacts.experiment_prefix(
                org_id=experiment.organization_id, project_id=experiment.project_id
            )
        ),
        "lifecycle_stage": experiment.lifecycle_stage,
        "creation_time": to_ms(experiment.created_at),
        "last_update_time": to_ms(experiment.updated_at),
        "tags": [{"key": k, "value": v} for k, v in experiment.tags.items()],
    }


def run_info_json(run: Run, default_project_id: int | None) -> dict:
    return {
        "run_id": str(run.pk),
        "run_uuid": str(run.pk),
        "run_name": run.name,
        "experiment_id": DEFAULT_EXPERIMENT_ID
        if run.project_id == default_project_id
        else str(run.project_id),
        "user_id": run.tags.get(USER_TAG, ""),
        "status": TO_MLFLOW_STATUS[run.status],
        "start_time": to_ms(run.started_at),
        "end_time": to_ms(run.ended_at),
        "artifact_uri": artifacts.uri(
            artifacts.run_prefix(
                org_id=run.project.organization_id, project_id=run.project_id, run_id=run.pk
            )
        ),
        "lifecycle_stage": run.lifecycle_stage,
    }


def run_json(run: Run, default_project_id: int | None, inputs: list | None = None) -> dict:
    """A run with its data and its dataset `inputs` (by default `run.inputs`, prefetched
    with their datasets)."""
    inputs = run.inputs.all() if inputs is None else inputs
    tags = {**run.tags, RUN_NAME_TAG: run.name}
    metrics = [
        {
            "key": key,
            "value": json_double(from_json_number(m["value"])),
            "timestamp": m["timestamp"],
            "step": m["step"],
        }
        for key, m in run.latest_metrics.items()
    ]
    return {
        "info": run_info_json(run, default_project_id),
        "data": {
            "metrics": metrics,
            "params": [{"key": k, "value": v} for k, v in run.params.items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
        "inputs": {
            "dataset_inputs": [
                {
                    "tags": run_input.tags,
                    "dataset": {
                        "name": run_input.dataset.name,
                        "digest": run_input.dataset.digest,
                        "source_type": run_input.dataset.source_type,
                        "source": run_input.dataset.source,
                        "schema": run_input.dataset.schema,
                        "profile": run_input.dataset.profile,
                    },
                }
                for run_input in inputs
            ]
        },
    }


def _encode_page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_page_token(token: str | None) -> int:
    """The offset in a page token (MLflow's own format: base64 of {"offset": n})."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        offset = json.loads(raw)["offset"]
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise invalid("Invalid page token.") from None
    if not 0 <= offset < MAX_PAGE_OFFSET:
        raise invalid("Invalid page token.")
    return offset


def _page_size(value: int | None) -> int:
    size = DEFAULT_SEARCH_RESULTS if value is None else value
    if not 0 < size <= MAX_SEARCH_RESULTS:
        raise invalid_value("max_results", size, f"It must be between 1 and {MAX_SEARCH_RESULTS}.")
    return size


def _search_page(items: QuerySet, view: str | None, search, args: dict) -> tuple[list, str | None]:
    """A page of `items` (runs or experiments) as MLflow's searches answer it: those of the
    view type (ACTIVE_ONLY by default, DELETED_ONLY or ALL), filtered and ordered by
    `search(items)`, from the offset in `page_token`; and the next page's token, if any."""
    size = _page_size(args["max_results"])
    offset = _decode_page_token(args["page_token"])
    view = view or "ACTIVE_ONLY"
    if view != "ALL":
        items = items.filter(deleted_at__isnull=view == "ACTIVE_ONLY")
    try:
        items = search(items)
    except SearchSyntaxError as exc:
        raise invalid(str(exc)) from exc
    page = list(items[offset : offset + size + 1])
    token = _encode_page_token(offset + size) if len(page) > size else None
    return page[:size], token


def _run_pk(raw: str) -> int | None:
    """Our run id of an MLflow run id: ASCII digits that fit the id column, else None."""
    if raw and raw.isascii() and raw.isdigit() and int(raw) < 2**63:
        return int(raw)
    return None


# -- the endpoints --------------------------------------------------------------------------
class MlflowEndpoint(OrgScopedMixin, APIView):
    """Base of the MLflow endpoints: token authentication only, one HTTP method each (as
    MLflow's protocol says), the request checked against `fields`, MLflow's error shape."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [MlflowPermission]
    schema = None  # MLflow's API, documented by MLflow; kept out of our OpenAPI schema
    http_method_names = ["get", "head"]
    writes = False
    fields: dict[str, Field] = {}

    def get_exception_handler(self):
        return mlflow_exception_handler

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Read the body before anything streams it, so that it can be parsed here as MLflow
        # does (any content type) and still be read by the idempotency layer.
        if request.method == "POST":
            request._request.body  # noqa: B018 - caches the body on the request
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> Response:
        return Response(self.handle(self._args()))

    def post(self, request: Request) -> Response:
        return Response(self.handle(self._args()))

    def handle(self, args: dict) -> dict:
        raise NotImplementedError

    # -- reading the request ------------------------------------------------------------
    def _args(self) -> dict:
        if self.request.method == "GET":
            query = self.request.query_params
            data = {
                name: query.getlist(name) if spec.repeated else query.get(name)
                for name, spec in self.fields.items()
                if name in query
            }
        else:
            data = self._json_body()
        return protocol.parse(self.fields, data)

    def _json_body(self) -> dict:
        raw = self.request._request.body
        if not raw.strip():
            return {}
        try:
            data = loads_limited(raw)
            if isinstance(data, str):  # older clients post their JSON encoded twice
                data = loads_limited(data)
        except JSONTooDeep as exc:
            raise MlflowError("BAD_REQUEST", str(exc)) from None
        except ValueError:
            raise MlflowError("BAD_REQUEST", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise MlflowError("BAD_REQUEST", "The request body must be a JSON object.")
        return data

    # -- looking things up, scoped to the token's organization ---------------------------
    def may_write(self) -> bool:
        membership = self.get_membership()
        return membership.can(Perm.EDIT) and self.request.auth.allows("POST")

    def get_run(self, args: dict, *, active: bool = False, inputs: bool = False) -> Run:
        """The run named by `run_id` (or `run_uuid`) in the caller's organization; with its
        dataset inputs when they will be answered."""
        raw = args.get("run_id") or args.get("run_uuid")
        if raw is None:
            raise protocol.missing_value("run_id")
        pk = _run_pk(raw)
        run = None
        if pk is not None:
            runs = Run.objects.for_org(self.org).select_related("project")
            if inputs:
                runs = runs.prefetch_related("inputs__dataset")
            run = runs.filter(pk=pk).first()
        if run is None:
            raise not_found(f"Run with id={raw} not found")
        if active:
            services.check_active(run)
        return run

    def default_experiment(self, *, create: bool) -> Experiment | None:
        found = Experiment.objects.filter(organization=self.org, is_default=True).first()
        if found is None and create and self.may_write():
            found = services.experiment_default(org=self.org, user=self.request.user)
        return found

    @property
    def default_project_id(self) -> int | None:
        if not hasattr(self, "_default_project_id"):
            self._default_project_id = (
                Experiment.objects.filter(organization=self.org, is_default=True)
                .values_list("project_id", flat=True)
                .first()
            )
        return self._default_project_id

    def get_experiment(self, raw: str | None, *, active: bool = False) -> Experiment:
        raw = DEFAULT_EXPERIMENT_ID if raw is None else raw
        experiment = None
        if raw == DEFAULT_EXPERIMENT_ID:
            experiment = self.default_experiment(create=True)
        elif (pk := _run_pk(raw)) is not None:
            project = Project.objects.filter(organization=self.org, pk=pk).first()
            if project is not None:
                experiment = services.experiment_for(project=project)
        if experiment is None:
            raise not_found(f"No Experiment with id={raw} exists")
        if active and experiment.deleted_at is not None:
            raise invalid(
                f"The experiment {raw} must be in the 'active' state. Current state is deleted."
            )
        return experiment

    def run_answer(self, run: Run) -> dict:
        return run_json(run, self.default_project_id)


class ReadEndpoint(MlflowEndpoint):
    http_method_names = ["get", "head"]


class WriteEndpoint(MlflowEndpoint):
    http_method_names = ["post"]
    writes = True


RUN_ID = {"run_id": string(), "run_uuid": string()}


# -- experiments ----------------------------------------------------------------------------
class ExperimentCreate(WriteEndpoint):
    fields = {
        "name": string(required=True),
        "artifact_location": string(),
        "tags": repeated(KEY_VALUE),
    }

    def handle(self, args: dict) -> dict:
        experiment = services.experiment_create(
            org=self.org,
            user=self.request.user,
            name=args["name"],
            tags={t["key"]: t["value"] or "" for t in args["tags"]},
        )
        return {"experiment_id": experiment_id(experiment)}


class ExperimentGet(ReadEndpoint):
    fields = {"experiment_id": string(required=True)}

    def handle(self, args: dict) -> dict:
        return {"experiment": experiment_json(self.get_experiment(args["experiment_id"]))}


class ExperimentGetByName(ReadEndpoint):
    fields = {"experiment_name": string(required=True)}

    def handle(self, args: dict) -> dict:
        name = args["experiment_name"]
        services.experiments_ensure(org=self.org)
        experiments = Experiment.objects.filter(organization=self.org)
        # The exact name; else a project's slug, which is what this endpoint matched before
        # experiments had names of their own, so that existing scripts keep their project.
        found = experiments.filter(name=name).first()
        found = found or experiments.filter(project__slug=name).first()
        if found is None and name == services.DEFAULT_EXPERIMENT_NAME:
            found = self.default_experiment(create=True)
        if found is None:
            raise not_found(f"Could not find experiment with name '{name}'")
        return {"experiment": experiment_json(found)}


class ExperimentSearch(MlflowEndpoint):
    http_method_names = ["post"]  # a read, sent as a POST by the client
    fields = {
        "max_results": Field("int64"),
        "page_token": string(),
        "filter": string(),
        "order_by": repeated(string()),
        "view_type": VIEW_TYPE,
    }

    def handle(self, args: dict) -> dict:
        services.experiments_ensure(org=self.org)
        page, token = _search_page(
            Experiment.objects.filter(organization=self.org),
            args["view_type"],
            lambda found: order_experiments(
                filter_experiments(found, args["filter"] or ""), args["order_by"]
            ),
            args,
        )
        body = {"experiments": [experiment_json(e) for e in page]}
        if token:
            body["next_page_token"] = token
        return body


class ExperimentUpdate(WriteEndpoint):
    fields = {"experiment_id": string(required=True), "new_name": string(required=True)}

    def handle(self, args: dict) -> dict:
        experiment = self.get_experiment(args["experiment_id"], active=True)
        services.experiment_rename(
            experiment=experiment, name=args["new_name"], actor=self.request.user
        )
        return {}


class ExperimentDelete(WriteEndpoint):
    fields = {"experiment_id": string(required=True)}
    deleted = True

    def handle(self, args: dict) -> dict:
        experiment = self.get_experiment(args["experiment_id"])
        services.experiment_set_deleted(
            experiment=experiment, deleted=self.deleted, actor=self.request.user
        )
        return {}


class ExperimentRestore(ExperimentDelete):
    deleted = False


class ExperimentSetTag(WriteEndpoint):
    fields = {
        "experiment_id": string(required=True),
        "key": string(required=True),
        "value": string(),
    }

    def handle(self, args: dict) -> dict:
        experiment = self.get_experiment(args["experiment_id"])
        services.experiment_set_tag(
            experiment=experiment, key=args["key"], value=args["value"] or ""
        )
        return {}


class ExperimentDeleteTag(WriteEndpoint):
    fields = {"experiment_id": string(required=True), "key": string(required=True)}

    def handle(self, args: dict) -> dict:
        experiment = self.get_experiment(args["experiment_id"])
        services.experiment_delete_tag(experiment=experiment, key=args["key"])
        return {}


# -- runs -----------------------------------------------------------------------------------
def _check_timestamp(value: int, path: str) -> None:
    if value < 0:
        raise invalid_value(path, value, "Timestamp must be a nonnegative long (64-bit integer).")


def _run_name(value: str | None, path: str = "run_name") -> str | None:
    if value is not None and len(value) > services.MAX_RUN_NAME_LENGTH:
        raise invalid_value(
            path, value, f"A run name has at most {services.MAX_RUN_NAME_LENGTH} characters."
        )
    return value


def _key_values(items: list[dict], what: str) -> dict[str, str]:
    """{key: value} of MLflow's key-value list; the same key twice with different values
    is refused, as MLflow refuses it."""
    out: dict[str, str] = {}
    for item in items:
        key, value = item["key"], item["value"] or ""
        if key in out and out[key] != value:
            raise invalid(f"Duplicate {what} keys have been submitted: {key!r}.")
        out[key] = value
    return out


def _log(run: Run, *, metrics=(), params=None, tags=None) -> Run:
    """Log through the shared service; the run-name tag renames the run, as in MLflow."""
    tags = dict(tags or {})
    new_name = _run_name(tags.pop(RUN_NAME_TAG, None), f"tags['{RUN_NAME_TAG}']")
    run = services.run_log_batch(run=run, metrics=metrics, params=params, tags=tags)
    if new_name:
        run = services.run_update(run=run, name=new_name)
    return run


class RunCreate(WriteEndpoint):
    fields = {
        "experiment_id": string(),
        "user_id": string(),
        "run_name": string(),
        "start_time": Field("int64"),
        "tags": repeated(KEY_VALUE),
    }

    def handle(self, args: dict) -> dict:
        experiment = self.get_experiment(args["experiment_id"])
        if experiment.deleted_at is not None:
            raise invalid(
                "Could not create run under non-active experiment with ID "
                f"{experiment_id(experiment)}."
            )
        tags = _key_values(args["tags"], "tag")
        name, tag_name = _run_name(args["run_name"]), tags.pop(RUN_NAME_TAG, None)
        if name and tag_name and name != tag_name:
            raise invalid(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name={name!r}, mlflow.runName={tag_name!r})."
            )
        if args["user_id"] and USER_TAG not in tags:
            tags[USER_TAG] = args["user_id"]
        started_at = None
        if args["start_time"] is not None:
            started_at = from_ms(args["start_time"], "start_time")
        run = services.run_create(
            project=experiment.project,
            user=self.request.user,
            name=name or _run_name(tag_name, f"tags['{RUN_NAME_TAG}']") or "",
            tags=tags,
            started_at=started_at,
        )
        return {"run": run_json(run, self.default_project_id, inputs=[])}  # a new run


class RunUpdate(WriteEndpoint):
    fields = {**RUN_ID, "status": RUN_STATUS, "end_time": Field("int64"), "run_name": string()}

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        status = args["status"]
        ended_at = None
        if args["end_time"] is not None:
            ended_at = from_ms(args["end_time"], "end_time")
        run = services.run_update(
            run=run,
            status=FROM_MLFLOW_STATUS[status] if status else None,
            name=_run_name(args["run_name"]),
            ended_at=ended_at,
        )
        return {"run_info": run_info_json(run, self.default_project_id)}


class RunDelete(WriteEndpoint):
    fields = {"run_id": string(required=True)}
    deleted = True

    def handle(self, args: dict) -> dict:
        run = self.get_run(args)
        services.run_set_deleted(run=run, deleted=self.deleted, actor=self.request.user)
        return {}


class RunRestore(RunDelete):
    deleted = False


class RunGet(ReadEndpoint):
    fields = RUN_ID

    def handle(self, args: dict) -> dict:
        return {"run": self.run_answer(self.get_run(args, inputs=True))}


def _metric_point(metric: dict, path: str) -> services.MetricPoint:
    _check_timestamp(metric["timestamp"], f"{path}timestamp")
    return services.MetricPoint(
        metric["key"], metric["value"], metric["step"] or 0, metric["timestamp"]
    )


def _model_metrics(org, metrics: list[dict]) -> list[tuple[LoggedModel, list]]:
    """[(model, [(point, dataset name, dataset digest), …]), …] of the metrics logged with a
    `model_id`; each must be a logged model of the organization (checked before anything
    is written)."""
    by_model: dict[str, list] = {}
    for i, metric in enumerate(metrics):
        if metric.get("model_id"):
            entry = (
                _metric_point(metric, f"metrics[{i}]."),
                metric.get("dataset_name") or "",
                metric.get("dataset_digest") or "",
            )
            by_model.setdefault(metric["model_id"], []).append(entry)
    found = []
    for model_id, points in by_model.items():
        model = LoggedModel.objects.filter(project__organization=org, pk=model_id).first()
        if model is None:
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        found.append((model, points))
    return found


def _log_metrics(org, run: Run, metrics: list[dict]) -> None:
    """Log metrics on the run, and those that name a logged model on the model too."""
    for_models = _model_metrics(org, metrics)
    with transaction.atomic():
        _log(run, metrics=[_metric_point(m, f"metrics[{i}].") for i, m in enumerate(metrics)])
        for model, points in for_models:
            services.logged_model_log_metrics(model=model, run=run, metrics=points)


class RunLogMetric(WriteEndpoint):
    fields = {**RUN_ID, **METRIC.fields}

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        if args["model_id"]:
            _log_metrics(self.org, run, [args])
        else:
            _log(run, metrics=[_metric_point(args, "")])
        return {}


class RunLogParameter(WriteEndpoint):
    fields = {**RUN_ID, "key": string(required=True), "value": string()}

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        _log(run, params={args["key"]: args["value"] or ""})
        return {}


class RunSetTag(WriteEndpoint):
    fields = {**RUN_ID, "key": string(required=True), "value": string()}

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        _log(run, tags={args["key"]: args["value"] or ""})
        return {}


class RunDeleteTag(WriteEndpoint):
    fields = {"run_id": string(required=True), "key": string(required=True)}

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        key = args["key"]
        if key not in run.tags:
            raise not_found(f"No tag with name: {key} in run with id {run.pk}")
        services.run_delete_tag(run=run, key=key)
        return {}


class RunLogBatch(WriteEndpoint):
    fields = {
        "run_id": string(required=True),
        "metrics": repeated(METRIC),
        "params": repeated(KEY_VALUE),
        "tags": repeated(KEY_VALUE),
    }

    def handle(self, args: dict) -> dict:
        total = len(args["metrics"]) + len(args["params"]) + len(args["tags"])
        if total > MAX_BATCH_ENTITIES:
            raise invalid(
                f"A batch logging request can contain at most {MAX_BATCH_ENTITIES} metrics, "
                f"params, and tags. Got {total}."
            )
        run = self.get_run(args, active=True)
        for_models = _model_metrics(self.org, args["metrics"])
        with transaction.atomic():
            _log(
                run,
                metrics=[_metric_point(m, f"metrics[{i}].") for i, m in enumerate(args["metrics"])],
                params=_key_values(args["params"], "param"),
                tags=_key_values(args["tags"], "tag"),
            )
            for model, points in for_models:
                services.logged_model_log_metrics(model=model, run=run, metrics=points)
        return {}


class RunLogInputs(WriteEndpoint):
    fields = {
        "run_id": string(required=True),
        "datasets": repeated(DATASET_INPUT),
        "models": repeated(protocol.message(model_id=string(required=True))),
    }

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        inputs = [
            services.DatasetInput(
                name=item["dataset"]["name"],
                digest=item["dataset"]["digest"],
                source_type=item["dataset"]["source_type"] or "",
                source=item["dataset"]["source"] or "",
                schema=item["dataset"]["schema"] or "",
                profile=item["dataset"]["profile"] or "",
                tags=tuple((t["key"], t["value"] or "") for t in item["tags"]),
            )
            for item in args["datasets"]
        ]
        services.run_log_inputs(run=run, inputs=inputs)
        return {}


class RunSearch(MlflowEndpoint):
    http_method_names = ["post"]  # a read, sent as a POST by the client
    fields = {
        "experiment_ids": repeated(string()),
        "filter": string(),
        "run_view_type": VIEW_TYPE,
        "max_results": Field("int32"),
        "order_by": repeated(string()),
        "page_token": string(),
    }

    def handle(self, args: dict) -> dict:
        ids = {_run_pk(e) for e in args["experiment_ids"]} - {None}
        if DEFAULT_EXPERIMENT_ID in args["experiment_ids"] and self.default_project_id:
            ids.add(self.default_project_id)
        page, token = _search_page(
            Run.objects.for_org(self.org).filter(project_id__in=ids).select_related("project"),
            args["run_view_type"],
            lambda found: order_runs(
                filter_runs(found, args["filter"] or ""), args["order_by"]
            ).prefetch_related("inputs__dataset"),
            args,
        )
        body = {"runs": [self.run_answer(run) for run in page]}
        if token:
            body["next_page_token"] = token
        return body


class MetricGetHistory(ReadEndpoint):
    fields = {
        **RUN_ID,
        "metric_key": string(required=True),
        "page_token": string(),
        "max_results": Field("int32"),
    }

    def handle(self, args: dict) -> dict:
        run = self.get_run(args)
        key = args["metric_key"]
        history = selectors.metric_history(run=run, key=key).values_list(
            "value", "step", "timestamp"
        )
        offset = _decode_page_token(args["page_token"])
        size = args["max_results"]
        if size is not None and size <= 0:
            raise invalid_value("max_results", size, "It must be a positive integer.")
        rows = list(history[offset : offset + size + 1] if size else history[offset:])
        body = {
            "metrics": [
                {
                    "key": key,
                    "value": json_double(math.nan if value is None else value),
                    "step": step,
                    "timestamp": timestamp,
                }
                for value, step, timestamp in rows[:size]
            ]
        }
        if size and len(rows) > size:
            body["next_page_token"] = _encode_page_token(offset + size)
        return body


@csrf_exempt
def endpoint_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other path under /mlflow/: MLflow's answer, not an HTML page (also with DEBUG)."""
    return mlflow_error(404, "ENDPOINT_NOT_FOUND", "No such MLflow endpoint.")


@login_required
def ui_link(request: HttpRequest) -> HttpResponse:
    """The page behind the links the mlflow client prints ("View run at
    http://HOST/mlflow/#/experiments/3/runs/7"): the browser keeps the fragment to itself,
    so a line of JavaScript turns it into a query, and the run's page opens (404 unless
    the run belongs to one of the caller's organizations). Experiment "0" is the Default
    experiment of the run's organization."""
    experiment, run_id = request.GET.get("experiment", ""), request.GET.get("run", "")
    if _run_pk(experiment) is None:
        return render(request, "evaluation/runs/mlflow_link.html")
    projects = Project.objects.for_member(request.user).select_related("organization")
    if experiment == DEFAULT_EXPERIMENT_ID:
        defaults = Experiment.objects.filter(is_default=True, project__in=projects)
        if _run_pk(run_id) is not None:
            defaults = defaults.filter(project__runs__pk=int(run_id))
        default = defaults.first()
        if default is None:
            raise Http404("No such experiment.")
        project = projects.get(pk=default.project_id)
    else:
        project = get_object_or_404(projects, pk=int(experiment))
    org_slug, project_slug = project.organization.slug, project.slug
    if _run_pk(run_id) is not None:
        run = get_object_or_404(Run, pk=int(run_id), project=project)
        return redirect("runs:detail", org_slug=org_slug, project_slug=project_slug, run_id=run.pk)
    return redirect("runs:list", org_slug=org_slug, project_slug=project_slug)
