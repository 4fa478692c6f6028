"""Reads of the model registry, scoped to one organization."""

from django.db.models import QuerySet

from accounts.models import Organization
from evaluation.registry.models import ModelVersion, RegisteredModel
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


def project_registered_models(project: Project) -> QuerySet[RegisteredModel]:
    return RegisteredModel.objects.filter(project=project).prefetch_related(
        "versions__run", "versions__logged_model"
    )
