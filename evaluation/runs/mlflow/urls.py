"""Routes of the MLflow REST API (version 2.0) that the mlflow client uses for tracking."""

from django.urls import path, re_path

from evaluation.runs.mlflow import views

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
}

urlpatterns = [
    path("", views.ui_link, name="ui-link"),
    *(
        path(f"api/2.0/mlflow/{route}", view.as_view(), name=route.replace("/", "-"))
        for route, view in ENDPOINTS.items()
    ),
    # Keep last: every other path under /mlflow/ is MLflow's ENDPOINT_NOT_FOUND.
    re_path(r"^(?P<path>.+)$", views.endpoint_not_found, name="not-found"),
]
