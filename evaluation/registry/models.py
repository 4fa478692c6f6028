"""The model registry: named models of an organization (MLflow's registered models) and
their numbered versions, each made from a run's or a logged model's files. A registered
model belongs to the project of its first version's source; names are unique within the
organization, which is what `models:/<name>/<version>` and `models:/<name>@<alias>` name."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Organization, TimeStampedModel
from evaluation.runs.models import LoggedModel, Run
from mlprojects.models import Project


class Stage(models.TextChoices):
    """MLflow's (deprecated) model version stages, kept for older clients."""

    NONE = "None", "None"
    STAGING = "Staging", "Staging"
    PRODUCTION = "Production", "Production"
    ARCHIVED = "Archived", "Archived"


class RegisteredModel(TimeStampedModel):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="registered_models"
    )
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="registered_models",
    )
    name = models.CharField(max_length=256)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=dict, blank=True)  # {"champion": 3, …}
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="registered_model_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(TimeStampedModel):
    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField()
    source = models.TextField()  # as the client sent it: models:/m-…, runs:/…, mlflow-artifacts:/…
    storage_location = models.TextField()  # the mlflow-artifacts:/ URI of the version's files
    run = models.ForeignKey(
        Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="model_versions"
    )
    logged_model = models.ForeignKey(
        LoggedModel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="model_versions",
    )
    run_link = models.TextField(blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NONE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["registered_model", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "version"], name="model_version_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="model_version_stage_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"

    @property
    def label(self) -> str:
        """ "name vN (@alias, …)": how a form offers the version."""
        model = self.registered_model
        aliases = sorted(a for a, n in model.aliases.items() if n == self.version)
        suffix = f" (@{', @'.join(aliases)})" if aliases else ""
        return f"{model.name} v{self.version}{suffix}"

    @property
    def ref(self) -> str:
        """How deployments and the API name this version: "name/version"."""
        return f"{self.registered_model.name}/{self.version}"

    def get_absolute_url(self) -> str:
        """Its entry on the Models page of its project ("" while it has no project)."""
        project = self.registered_model.project
        if project is None:
            return ""
        page = reverse("registry:list", args=[project.organization.slug, project.slug])
        return f"{page}#version-{self.pk}"
