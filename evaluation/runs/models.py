"""Experiment runs logged by training scripts, notebooks and CI jobs (over our REST API or
with the mlflow client, which both write these same tables)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import TimeStampedModel
from mlprojects.models import Project


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    KILLED = "killed", "Killed"


class RunRole(models.TextChoices):
    """How a team uses a run when comparing: the baseline to beat, or a candidate."""

    NONE = "", "—"
    BASELINE = "baseline", "Baseline"
    CANDIDATE = "candidate", "Candidate"


class RunQuerySet(models.QuerySet):
    def for_org(self, org) -> "RunQuerySet":
        return self.filter(project__organization=org)


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
    latest_metrics = models.JSONField(default=dict, blank=True)

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

    def metric_value(self, key: str) -> float | None:
        latest = self.latest_metrics.get(key)
        return None if latest is None else latest["value"]


class RunMetric(models.Model):
    """One logged metric value. High-volume (thousands per run), so it carries the client's
    own timestamp instead of the created/updated pair every other model has."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metrics")
    key = models.CharField(max_length=250)
    # Finite only: NaN and ±inf fit neither JSON (latest_metrics) nor a comparison, so
    # the services refuse them (SQLite would even store NaN as NULL).
    value = models.FloatField()
    step = models.BigIntegerField(default=0)
    timestamp = models.BigIntegerField(help_text="Milliseconds since the epoch.")

    class Meta:
        indexes = [models.Index(fields=["run", "key", "step"], name="runmetric_history")]

    def __str__(self) -> str:
        return f"{self.key}={self.value} (step {self.step})"
