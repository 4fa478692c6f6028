"""Experiment runs logged by training scripts, notebooks and CI jobs (over our REST API or
with the mlflow client, which both write these same tables)."""

import math
import sys

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization, TimeStampedModel
from mlprojects.models import Project

ACTIVE, DELETED = "active", "deleted"  # MLflow's lifecycle stages


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    KILLED = "killed", "Killed"


MAX_FLOAT = sys.float_info.max


def to_json_number(value: float) -> float | None:
    """A metric value as JSON can hold it: NaN → null, ±inf → ±MAX_FLOAT."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return math.copysign(MAX_FLOAT, value)
    return value


def from_json_number(value: float | int | None) -> float:
    """The inverse of `to_json_number`. PostgreSQL's jsonb writes large numbers out in full
    (MAX_FLOAT comes back as a 309-digit integer), so the value is made a float first."""
    if value is None:
        return math.nan
    value = float(value)
    if abs(value) == MAX_FLOAT:
        return math.copysign(math.inf, value)
    return value


class RunRole(models.TextChoices):
    """How a team uses a run when comparing: the baseline to beat, or a candidate."""

    NONE = "", "—"
    BASELINE = "baseline", "Baseline"
    CANDIDATE = "candidate", "Candidate"


class RunQuerySet(models.QuerySet):
    def for_org(self, org) -> "RunQuerySet":
        return self.filter(project__organization=org)

    def active(self) -> "RunQuerySet":
        """Runs that are not (soft-)deleted."""
        return self.filter(deleted_at__isnull=True)


class Experiment(TimeStampedModel):
    """The MLflow experiment of a project: the name the mlflow client knows the project by
    (any text, unique in the organization, independent of the project's display name and
    slug, so renaming either side breaks nothing), its soft-delete state and its tags.
    Created on demand for projects made in the browser. One experiment per organization is
    the Default one (MLflow's experiment "0"), where runs logged without an experiment land."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="mlflow_experiment"
    )
    # The project's organization, repeated so that names can be unique per organization.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=500)
    is_default = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="experiment_name_unique_per_org",
                violation_error_message="An experiment with this name exists in the organization.",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_default=True),
                name="experiment_one_default_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def lifecycle_stage(self) -> str:
        return DELETED if self.deleted_at else ACTIVE


class Run(TimeStampedModel):
    """One execution of a training or evaluation script in a project. Params are written
    once; tags can change; every metric value is a `RunMetric` row, and the latest value of
    each metric is kept in `latest_metrics`, updated in the same transaction, so that
    listing, filtering and ordering runs by a metric is a single query."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    # The lifecycle objective this run works towards (an objective of any cycle of the
    # run's project; checked by `services.runs.run_set_objective`). Its metrics say which
    # way is better when the runs are compared.
    objective = models.ForeignKey(
        "mlprojects.Objective",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    name = models.CharField(max_length=250)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    role = models.CharField(max_length=10, choices=RunRole.choices, default="", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # {key: {"value": float, "step": int, "timestamp": int ms}} — the latest of each metric.
    # JSON has no NaN or infinity: NaN is stored as null and ±inf as ±MAX_FLOAT (as MLflow
    # does), so that filtering and ordering by a metric stay plain SQL on every database;
    # `metric_value` turns them back.
    latest_metrics = models.JSONField(default=dict, blank=True)
    # Soft delete, as MLflow's `runs/delete`: hidden from listings, restorable.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["project", "-started_at"], name="run_project_started")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="run_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=RunRole.values), name="run_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def lifecycle_stage(self) -> str:
        return DELETED if self.deleted_at else ACTIVE

    def metric_value(self, key: str) -> float | None:
        """The latest value of metric `key` (NaN and ±inf included), None if never logged."""
        latest = self.latest_metrics.get(key)
        return None if latest is None else from_json_number(latest["value"])


class RunMetric(models.Model):
    """One logged metric value. High-volume (thousands per run), so it carries the client's
    own timestamp instead of the created/updated pair every other model has."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metrics")
    key = models.CharField(max_length=250)
    # NULL is NaN (SQLite cannot store a NaN, it reads it back as NULL); ±inf are stored
    # as they are, which both SQLite and PostgreSQL can.
    value = models.FloatField(null=True)
    step = models.BigIntegerField(default=0)
    timestamp = models.BigIntegerField(help_text="Milliseconds since the epoch.")

    class Meta:
        indexes = [models.Index(fields=["run", "key", "step"], name="runmetric_history")]

    def __str__(self) -> str:
        return f"{self.key}={self.value} (step {self.step})"


class Dataset(models.Model):
    """A dataset that runs of the project used (MLflow's `log_input`), stored once per
    project and (name, digest): its source, schema and profile as the client described them."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=500)
    digest = models.CharField(max_length=36)
    source_type = models.CharField(max_length=36)
    source = models.TextField()
    schema = models.TextField(blank=True)
    profile = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name", "digest"], name="dataset_unique_per_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.digest})"


class RunInput(models.Model):
    """A dataset a run used, once per run, with the input's tags in the client's order; the
    `mlflow.data.context` tag ("training", "eval", …) is copied to `context` for searching."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="inputs")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="run_inputs")
    tags = models.JSONField(default=list, blank=True)  # [{"key", "value"}, …]
    context = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "dataset"], name="run_input_unique")]

    def __str__(self) -> str:
        return f"{self.run_id} ← {self.dataset_id}"


class LoggedModelStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    UPLOAD_FAILED = "upload_failed", "Upload failed"


class LoggedModel(TimeStampedModel):
    """A model a run produced (MLflow 3's logged model: `log_model`, autolog): its files are
    artifacts under the project's `models/<id>/artifacts`; params and tags are its own, and
    metrics logged with its id are kept with it (every value, in logging order)."""

    id = models.CharField(primary_key=True, max_length=40)  # "m-" + 32 hex digits, as MLflow
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="logged_models")
    source_run = models.ForeignKey(
        Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="logged_models"
    )
    name = models.CharField(max_length=500)
    model_type = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=16, choices=LoggedModelStatus.choices, default=LoggedModelStatus.PENDING
    )
    status_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # [{"key", "value" (JSON number or null for NaN), "timestamp", "step", "run_id",
    #   "dataset_name", "dataset_digest"}, …]
    metrics = models.JSONField(default=list, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="loggedmodel_project")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=LoggedModelStatus.values),
                name="loggedmodel_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def lifecycle_stage(self) -> str:
        return DELETED if self.deleted_at else ACTIVE


class RunOutput(models.Model):
    """A logged model a run produced (MLflow's `runs/outputs`), at the step it was logged."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="outputs")
    model = models.ForeignKey(LoggedModel, on_delete=models.CASCADE, related_name="outputs")
    step = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "model"], name="run_output_unique")]

    def __str__(self) -> str:
        return f"{self.run_id} → {self.model_id}"
