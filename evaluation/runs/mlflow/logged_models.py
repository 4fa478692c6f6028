"""MLflow 3's logged models (`/mlflow/api/2.0/mlflow/logged-models…`, `runs/outputs`,
metrics logged with a `model_id`), which `log_model` and autolog use: a model is created
pending, its files are uploaded through the artifact proxy to its `artifact_uri`, and it is
finalized READY. Models belong to a project (their experiment) of the caller's
organization; another organization's model id is RESOURCE_DOES_NOT_EXIST."""

import json

from rest_framework.request import Request
from rest_framework.response import Response

from evaluation.models import LoggedModel
from evaluation.runs import artifacts, services
from evaluation.runs.mlflow import protocol
from evaluation.runs.mlflow.protocol import (
    KEY_VALUE,
    Field,
    invalid,
    json_double,
    message,
    not_found,
    repeated,
    string,
    to_ms,
)
from evaluation.runs.mlflow.search import (
    LOGGED_MODEL_STATUS_NAMES,
    filter_logged_models,
    order_logged_models,
)
from evaluation.runs.mlflow.views import (
    DEFAULT_EXPERIMENT_ID,
    MlflowEndpoint,
    WriteEndpoint,
    _log,
    _run_pk,
    _search_page,
)
from evaluation.runs.models import from_json_number

STATUS = Field("enum", choices=tuple(LOGGED_MODEL_STATUS_NAMES.values()))
FROM_STATUS = {v: k for k, v in LOGGED_MODEL_STATUS_NAMES.items()}
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"


def model_artifact_segments(model: LoggedModel) -> list[str]:
    return [
        str(model.project.organization_id),
        str(model.project_id),
        "models",
        model.pk,
        "artifacts",
    ]


def logged_model_json(model: LoggedModel, default_project_id: int | None) -> dict:
    return {
        "info": {
            "model_id": model.pk,
            "experiment_id": DEFAULT_EXPERIMENT_ID
            if model.project_id == default_project_id
            else str(model.project_id),
            "name": model.name,
            "creation_timestamp_ms": to_ms(model.created_at),
            "last_updated_timestamp_ms": to_ms(model.updated_at),
            "artifact_uri": artifacts.uri(model_artifact_segments(model)),
            "status": LOGGED_MODEL_STATUS_NAMES[model.status],
            "model_type": model.model_type,
            "source_run_id": str(model.source_run_id) if model.source_run_id else "",
            "status_message": model.status_message,
            "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
        },
        "data": {
            "params": [{"key": k, "value": v} for k, v in model.params.items()],
            "metrics": [
                {
                    **{k: v for k, v in m.items() if v not in ("", None) or k == "value"},
                    "value": json_double(from_json_number(m["value"])),
                }
                for m in model.metrics
            ],
        },
    }


class LoggedModelEndpoint(MlflowEndpoint):
    """A logged-model endpoint: the model id comes from the URL."""

    def _args(self) -> dict:
        if self.request.method in ("GET", "HEAD"):
            args = super()._args()
        else:
            args = protocol.parse(self.fields, self._json_body())
        return {**args, **self.kwargs}

    def get_model(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        model = (
            LoggedModel.objects.filter(project__organization=self.org, pk=model_id)
            .select_related("project")
            .first()
        )
        if model is None or (model.deleted_at is not None and not allow_deleted):
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return model

    def model_answer(self, model: LoggedModel) -> dict:
        return {"model": logged_model_json(model, self.default_project_id)}


class LoggedModelCreate(WriteEndpoint, LoggedModelEndpoint):
    fields = {
        "experiment_id": string(required=True),
        "name": string(),
        "model_type": string(),
        "source_run_id": string(),
        "params": repeated(KEY_VALUE),
        "tags": repeated(KEY_VALUE),
    }

    def handle(self, args: dict) -> dict:
        experiment = self.get_experiment(args["experiment_id"], active=True)
        run = None
        if args["source_run_id"]:
            run = self.get_run({"run_id": args["source_run_id"]})
        model = services.logged_model_create(
            project=experiment.project,
            user=self.request.user,
            name=args["name"] or "",
            source_run=run,
            model_type=args["model_type"] or "",
            params={p["key"]: p["value"] or "" for p in args["params"]},
            tags={t["key"]: t["value"] or "" for t in args["tags"]},
        )
        return self.model_answer(model)


class LoggedModelItem(LoggedModelEndpoint):
    """GET the model, PATCH to finalize it (its status), DELETE it (soft)."""

    http_method_names = ["get", "head", "patch", "delete"]
    fields = {"status": STATUS, "allow_deleted": Field("bool")}

    @property
    def writes(self) -> bool:
        return self.request.method in ("PATCH", "DELETE")

    def get(self, request: Request, model_id: str) -> Response:
        args = self._args()
        model = self.get_model(model_id, allow_deleted=bool(args.get("allow_deleted")))
        return Response(self.model_answer(model))

    def patch(self, request: Request, model_id: str) -> Response:
        args = self._args()
        model = self.get_model(model_id)
        if not args["status"]:
            raise protocol.missing_value("status")
        if args["status"] == "LOGGED_MODEL_PENDING":
            raise invalid("A logged model is finalized as READY or UPLOAD_FAILED.")
        model = services.logged_model_update(model=model, status=FROM_STATUS[args["status"]])
        return Response(self.model_answer(model))

    def delete(self, request: Request, model_id: str) -> Response:
        self._args()
        services.logged_model_delete(model=self.get_model(model_id))
        return Response({})


class LoggedModelSetTags(LoggedModelEndpoint):
    http_method_names = ["patch"]
    writes = True
    fields = {"tags": repeated(KEY_VALUE)}

    def patch(self, request: Request, model_id: str) -> Response:
        args = self._args()
        model = services.logged_model_update(
            model=self.get_model(model_id),
            tags={t["key"]: t["value"] or "" for t in args["tags"]},
        )
        return Response(self.model_answer(model))


class LoggedModelDeleteTag(LoggedModelEndpoint):
    http_method_names = ["delete"]
    writes = True

    def delete(self, request: Request, model_id: str, tag_key: str) -> Response:
        services.logged_model_delete_tag(model=self.get_model(model_id), key=tag_key)
        return Response({})


class LoggedModelLogParams(LoggedModelEndpoint):
    http_method_names = ["post"]
    writes = True
    fields = {"params": repeated(KEY_VALUE)}

    def post(self, request: Request, model_id: str) -> Response:
        args = self._args()
        services.logged_model_update(
            model=self.get_model(model_id),
            params={p["key"]: p["value"] or "" for p in args["params"]},
        )
        return Response({})


ORDER_BY = message(
    field_name=string(required=True),
    ascending=Field("bool"),
    dataset_name=string(),
    dataset_digest=string(),
)


class LoggedModelSearch(LoggedModelEndpoint):
    http_method_names = ["post"]  # a read, sent as a POST by the client
    fields = {
        "experiment_ids": repeated(string()),
        "filter": string(),
        "datasets": repeated(message(dataset_name=string(required=True), dataset_digest=string())),
        "max_results": Field("int32"),
        "order_by": repeated(ORDER_BY),
        "page_token": string(),
    }

    def handle(self, args: dict) -> dict:
        if args["datasets"]:
            raise invalid("Searching logged models by dataset is not supported here.")
        ids = {_run_pk(e) for e in args["experiment_ids"]} - {None}
        if DEFAULT_EXPERIMENT_ID in args["experiment_ids"] and self.default_project_id:
            ids.add(self.default_project_id)
        found = LoggedModel.objects.filter(
            project__organization=self.org, project_id__in=ids
        ).select_related("project")
        page, token = _search_page(
            found,
            None,
            lambda items: order_logged_models(
                filter_logged_models(items, args["filter"] or ""), args["order_by"]
            ),
            {**args, "max_results": args["max_results"] or 100},
        )
        body = {"models": [logged_model_json(m, self.default_project_id) for m in page]}
        if token:
            body["next_page_token"] = token
        return body


class RunLogOutputs(WriteEndpoint):
    fields = {
        "run_id": string(required=True),
        "models": repeated(message(model_id=string(required=True), step=Field("int64"))),
    }

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        outputs = []
        for item in args["models"]:
            model = LoggedModel.objects.filter(
                project__organization=self.org, pk=item["model_id"], deleted_at__isnull=True
            ).first()
            if model is None:
                raise not_found(f"Logged model with ID '{item['model_id']}' not found.")
            outputs.append((model, item["step"] or 0))
        services.run_log_outputs(run=run, outputs=outputs)
        return {}


class RunLogModel(WriteEndpoint):
    """The pre-MLflow-3 record of a logged model: appended to the run's
    `mlflow.log-model.history` tag, as MLflow's server does."""

    fields = {"run_id": string(required=True), "model_json": string(required=True)}

    def handle(self, args: dict) -> dict:
        run = self.get_run(args, active=True)
        try:
            entry = json.loads(args["model_json"])
        except ValueError:
            raise invalid("model_json is not valid JSON.") from None
        if not isinstance(entry, dict):
            raise invalid("model_json must be a JSON object.")
        try:
            history = json.loads(run.tags.get(LOG_MODEL_HISTORY_TAG, "[]"))
        except ValueError:
            history = []
        history.append(entry)
        text = json.dumps(history)
        if len(text) > services.MAX_TAG_VALUE_LENGTH:
            return {}  # MLflow stops recording rather than failing the log_model call
        _log(run, tags={LOG_MODEL_HISTORY_TAG: text})
        return {}
