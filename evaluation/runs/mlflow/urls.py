"""Routes of the MLflow REST API (version 2.0) that the mlflow client uses for tracking."""

from django.urls import path, re_path

from evaluation.registry import mlflow as registry
from evaluation.runs.mlflow import artifacts, logged_models, views

app_name = "mlflow"

ENDPOINTS = {
    "experiments/get-by-name": views.ExperimentGetByName,
    "experiments/create": views.ExperimentCreate,
    "experiments/get": views.ExperimentGet,
    "experiments/search": views.ExperimentSearch,
    "runs/create": views.RunCreate,
    "runs/update": views.RunUpdate,
    "runs/get": views.RunGet,
    "runs/log-batch": views.RunLogBatch,
    "runs/log-metric": views.RunLogMetric,
    "runs/log-parameter": views.RunLogParameter,
    "runs/set-tag": views.RunSetTag,
    "runs/delete-tag": views.RunDeleteTag,
    "runs/search": views.RunSearch,
    "metrics/get-history": views.MetricGetHistory,
    # Run and experiment lifecycle, experiment tags, datasets.
    "experiments/update": views.ExperimentUpdate,
    "experiments/delete": views.ExperimentDelete,
    "experiments/restore": views.ExperimentRestore,
    "experiments/set-experiment-tag": views.ExperimentSetTag,
    "experiments/delete-experiment-tag": views.ExperimentDeleteTag,
    "runs/delete": views.RunDelete,
    "runs/restore": views.RunRestore,
    "runs/log-inputs": views.RunLogInputs,
    # MLflow 3's logged models.
    "logged-models": logged_models.LoggedModelCreate,
    "logged-models/search": logged_models.LoggedModelSearch,
    "runs/outputs": logged_models.RunLogOutputs,
    "runs/log-model": logged_models.RunLogModel,
    # The model registry.
    **registry.ENDPOINTS,
}
# Logged-model endpoints with the model id in the path.
MODEL_ENDPOINTS = {
    "logged-models/<str:model_id>": ("logged-model", logged_models.LoggedModelItem),
    "logged-models/<str:model_id>/tags": ("logged-model-tags", logged_models.LoggedModelSetTags),
    "logged-models/<str:model_id>/tags/<path:tag_key>": (
        "logged-model-tag",
        logged_models.LoggedModelDeleteTag,
    ),
    "logged-models/<str:model_id>/params": (
        "logged-model-params",
        logged_models.LoggedModelLogParams,
    ),
}

urlpatterns = [
    path("", views.ui_link, name="ui-link"),
    *(
        path(f"api/2.0/mlflow/{route}", view.as_view(), name=route.replace("/", "-"))
        for route, view in ENDPOINTS.items()
    ),
    *(
        path(f"api/2.0/mlflow/{route}", view.as_view(), name=name)
        for route, (name, view) in MODEL_ENDPOINTS.items()
    ),
    # The artifact proxy: a listing (the directory in `?path=`) and one file per path.
    path(
        "api/2.0/mlflow-artifacts/artifacts",
        artifacts.ArtifactList.as_view(),
        name="artifacts-list",
    ),
    re_path(
        r"^api/2\.0/mlflow-artifacts/artifacts/(?P<path>[\s\S]*)$",
        artifacts.ArtifactFile.as_view(),
        name="artifact",
    ),
    # Keep last: every other path under /mlflow/ is MLflow's ENDPOINT_NOT_FOUND.
    re_path(r"^(?P<path>.+)$", views.endpoint_not_found, name="not-found"),
]
