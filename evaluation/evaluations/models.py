"""Evaluations: a predictions file of a project, the column mapping and options it is
evaluated with, and - once a worker has computed it - the engine's result."""

import uuid

from django.conf import settings
from django.db import models

from accounts.models import BackgroundJob, TimeStampedModel
from mlprojects.models import Project

#: File extension of each format `evaluation.metrics.detect_format` recognises.
FILE_EXTENSIONS = {"csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet"}
#: The keys of `Evaluation.columns`: roles that name one column each, then the rest.
ROLE_KEYS = ("y_true", "y_score", "y_pred", "group", "item")
COLUMN_KEYS = (*ROLE_KEYS, "proba", "features", "score_b", "label_b")


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", "Needs column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class EvaluationTask(models.TextChoices):
    BINARY = "binary", "Binary classification"
    MULTICLASS = "multiclass", "Multiclass classification"
    REGRESSION = "regression", "Regression"
    RANKING = "ranking", "Ranking / recommendation"


def evaluation_file_name(instance: "Evaluation", filename: str) -> str:
    """Storage names are made by the server: the organization, a random id and the
    extension of the detected format. The client's file name is never part of it."""
    ext = FILE_EXTENSIONS.get(instance.file_format, "bin")
    return f"evaluations/{instance.project.organization_id}/{uuid.uuid4().hex}.{ext}"


class Evaluation(BackgroundJob, TimeStampedModel):
    """A model's predictions evaluated against the truth: uploaded as a file, mapped to
    roles (label, score, group, features…), computed by a Celery worker.

    `result` is the whole output of `evaluation.metrics.evaluate` and is written only when
    the evaluation succeeds (with its metric values in `EvaluationMetric`), in one
    transaction; a failed evaluation has an `error` for the uploader and no result.
    It is a background job (`accounts.jobs`): `attempts` counts worker starts, a worker
    that stops beating is replaced by a new attempt, and only the current attempt may
    write progress or the outcome.
    """

    job_task = "evaluation.evaluations.tasks.run_evaluation_task"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="evaluations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    task = models.CharField(
        max_length=20, choices=EvaluationTask.choices, default=EvaluationTask.BINARY
    )
    status = models.CharField(
        max_length=20, choices=EvaluationStatus.choices, default=EvaluationStatus.DRAFT
    )
    file = models.FileField(upload_to=evaluation_file_name, max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    file_format = models.CharField(max_length=10)
    file_size = models.BigIntegerField(default=0)
    # What the user chose: roles -> file columns ({"y_true", "y_score", "y_pred", "proba",
    # "group", "item", "features", "score_b", "label_b"}), the engine options, and the
    # rule baselines as they were when the evaluation was submitted (reproducible).
    columns = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    rule_baselines = models.JSONField(default=list, blank=True)
    # The lifecycle metric this evaluation measures: on success its `current` value is set
    # to the engine's `result["metrics"][target_metric_key]` (e.g. "recall").
    target_metric = models.ForeignKey(
        "mlprojects.Metric",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="evaluations",
    )
    target_metric_key = models.CharField(max_length=60, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(default=0.0)
    rows_read = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="evaluation_project_recent"),
            models.Index(fields=["status", "started_at"], name="evaluation_status_started"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=EvaluationStatus.values),
                name="evaluation_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(task__in=EvaluationTask.values), name="evaluation_task_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(progress__gte=0, progress__lte=1),
                name="evaluation_progress_range",
                violation_error_message="Progress is a fraction between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(result__isnull=True) | models.Q(status="succeeded"),
                name="evaluation_result_only_when_succeeded",
                violation_error_message="Only a succeeded evaluation has a result.",
            ),
            models.CheckConstraint(
                condition=models.Q(error="") | models.Q(status="failed"),
                name="evaluation_error_only_when_failed",
                violation_error_message="Only a failed evaluation has an error.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_finished(self) -> bool:
        return self.status in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)

    @property
    def is_pending(self) -> bool:
        return self.status in (EvaluationStatus.QUEUED, EvaluationStatus.RUNNING)

    @property
    def progress_percent(self) -> int:
        return round(self.progress * 100)

    @property
    def status_badge(self) -> str:
        return {
            EvaluationStatus.SUCCEEDED: "badge-ok",
            EvaluationStatus.FAILED: "badge-bad",
            EvaluationStatus.DRAFT: "badge-warn",
        }.get(self.status, "")


class EvaluationMetric(models.Model):
    """One metric value of a succeeded evaluation, for the model (`source` "model") or a
    baseline (`source` is the baseline's name). Queryable across evaluations, e.g. for
    the list page and for tracking a project's objective metric."""

    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="metric_values"
    )
    source = models.CharField(max_length=120)
    name = models.CharField(max_length=60)
    value = models.FloatField(null=True)

    class Meta:
        ordering = ["evaluation", "source", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "source", "name"],
                name="evaluation_metric_unique",
                violation_error_message="This evaluation already has this metric.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.name}={self.value}"
