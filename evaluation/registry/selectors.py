"""Reads of the model registry, scoped to one organization."""

import json

import yaml
from django.db.models import QuerySet

from accounts.models import Organization
from evaluation.registry.models import ModelVersion, RegisteredModel
from evaluation.runs import artifacts
from evaluation.runs.models import from_json_number
from mlprojects.models import Project


def registered_models(org: Organization) -> QuerySet[RegisteredModel]:
    return RegisteredModel.objects.filter(organization=org)


def registered_model(org: Organization, name: str) -> RegisteredModel | None:
    return registered_models(org).filter(name=name).first()


def model_versions(org: Organization) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(registered_model__organization=org).select_related(
        "registered_model"
    )


def model_version(org: Organization, name: str, version: int) -> ModelVersion | None:
    return model_versions(org).filter(registered_model__name=name, version=version).first()


def latest_versions(model: RegisteredModel, stages: list[str] | None = None) -> list[ModelVersion]:
    """The newest version of each stage (of `stages`, or of every stage), oldest stage
    first, as MLflow's get-latest-versions answers."""
    latest: dict[str, ModelVersion] = {}
    for version in model.versions.order_by("-version"):
        latest.setdefault(version.stage, version)
    wanted = {s.lower() for s in stages} if stages else None
    found = [v for s, v in latest.items() if wanted is None or s.lower() in wanted]
    return sorted(found, key=lambda v: v.version)


def version_lineage(version: ModelVersion, project: Project) -> dict:
    """What the Models page shows of where `version` came from: its source run's params and
    latest metrics, and its logged model's metrics (the last value of each key), each only
    when it belongs to `project` (a version may come from another project's run)."""
    run, logged = version.run, version.logged_model
    lineage: dict = {"run_params": [], "run_metrics": [], "model_metrics": []}
    if run is not None and run.project_id == project.pk:
        lineage["run_params"] = sorted(run.params.items())
        lineage["run_metrics"] = [
            (key, run.metric_value(key)) for key in sorted(run.latest_metrics)
        ]
    if logged is not None and logged.project_id == project.pk:
        last: dict[str, float] = {}
        for row in logged.metrics:  # in logging order: the last value of a key wins
            last[row["key"]] = from_json_number(row.get("value"))
        lineage["model_metrics"] = sorted(last.items())
    return lineage


def project_registered_models(project: Project) -> QuerySet[RegisteredModel]:
    return RegisteredModel.objects.filter(project=project).prefetch_related(
        "versions__run", "versions__logged_model"
    )


def project_model_versions(project: Project) -> QuerySet[ModelVersion]:
    """The versions of the project's registered models, newest model version first: what a
    deployment or a prototype of the project may name."""
    return (
        ModelVersion.objects.filter(registered_model__project=project)
        .select_related("registered_model__project__organization")
        .order_by("registered_model__name", "-version")
    )


def project_model_version_by_ref(project: Project, ref: str) -> ModelVersion | None:
    """The project's version named `ref` ("name/version"), or None when it names none
    (another project's or another organization's model is never found)."""
    name, _, number = ref.strip().rpartition("/")
    if not name or not number.isdigit():
        return None
    return (
        project_model_versions(project)
        .filter(registered_model__name=name, version=int(number))
        .first()
    )


# An MLmodel file is a few hundred bytes; anything far larger is not one.
MAX_MLMODEL_BYTES = 1_000_000


def version_signature_inputs(version: ModelVersion) -> list[dict] | None:
    """The column inputs of the version's MLflow signature (`[{"name", "type", …}]`, as
    `mlflow.models.infer_signature` writes them into the MLmodel file), or None when its
    files have no MLmodel, no signature, or a tensor signature without named columns."""
    location = version.storage_location
    if not location.startswith(artifacts.URI_SCHEME):
        return None
    try:
        segments = artifacts.clean_path(location[len(artifacts.URI_SCHEME) :].lstrip("/"))
        with artifacts.artifact_open(segments=[*segments, "MLmodel"]) as handle:
            text = handle.read(MAX_MLMODEL_BYTES + 1)
    except (artifacts.ArtifactPathError, OSError):
        return None
    if len(text) > MAX_MLMODEL_BYTES:
        return None
    try:
        spec = yaml.safe_load(text)
        inputs = json.loads(((spec or {}).get("signature") or {}).get("inputs") or "null")
    except (yaml.YAMLError, ValueError, AttributeError, TypeError):
        return None
    if not isinstance(inputs, list) or not all(
        isinstance(column, dict) and column.get("name") for column in inputs
    ):
        return None
    return inputs
