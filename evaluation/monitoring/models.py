"""Monitoring after launch: drift reports between two files, deployment records, and the
values of the project's metrics measured in production."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.models import BackgroundJob, TimeStampedModel
from mlprojects.models import Metric, Project

#: File extension of each format `evaluation.metrics.detect_format` recognises.
FILE_EXTENSIONS = {"csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet"}


class DriftReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


def _drift_file_name(instance: "DriftReport", side: str) -> str:
    ext = FILE_EXTENSIONS.get(getattr(instance, f"{side}_format"), "bin")
    return f"drift-reports/{instance.project.organization_id}/{uuid.uuid4().hex}-{side}.{ext}"


def drift_reference_name(instance: "DriftReport", filename: str) -> str:
    """Storage names are made by the server; the client's file name is never part of it."""
    return _drift_file_name(instance, "reference")


def drift_current_name(instance: "DriftReport", filename: str) -> str:
    return _drift_file_name(instance, "current")


class DriftReport(BackgroundJob, TimeStampedModel):
    """Data drift of a `current` file against a `reference` file, per column, computed by
    a worker with the drift engine (`evaluation.drift`, Evidently's default methods).

    `columns` is what was asked for (empty: every column of the reference); `result` is
    the engine's report and exists only once the report succeeded. It is a background job
    (`accounts.jobs`), like an evaluation: a lost message is sent again by the sweep, a
    worker that stops beating is replaced by a new attempt, and only the current attempt
    may record an outcome."""

    job_task = "evaluation.monitoring.tasks.run_drift_report_task"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drift_reports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=DriftReportStatus.choices, default=DriftReportStatus.QUEUED
    )
    reference = models.FileField(upload_to=drift_reference_name, max_length=255)
    reference_filename = models.CharField(max_length=255, blank=True)
    reference_format = models.CharField(max_length=10)
    current = models.FileField(upload_to=drift_current_name, max_length=255)
    current_filename = models.CharField(max_length=255, blank=True)
    current_format = models.CharField(max_length=10)
    columns = models.JSONField(default=list, blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="drift_report_project_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DriftReportStatus.values),
                name="drift_report_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(result__isnull=True) | models.Q(status="succeeded"),
                name="drift_report_result_only_when_succeeded",
                violation_error_message="Only a succeeded drift report has a result.",
            ),
            models.CheckConstraint(
                condition=models.Q(error="") | models.Q(status="failed"),
                name="drift_report_error_only_when_failed",
                violation_error_message="Only a failed drift report has an error.",
            ),
        ]

    def __str__(self) -> str:
        return f"Drift report {self.pk} of {self.project}"

    @property
    def is_finished(self) -> bool:
        return self.status in (DriftReportStatus.SUCCEEDED, DriftReportStatus.FAILED)


class Deployment(TimeStampedModel):
    """What runs in production for a project, where, since when and on which share of the
    traffic, as a person or a release pipeline recorded it. `what` is a free label
    (a model that lives elsewhere); `model_version` is the registered model version that
    is deployed, when there is one: always one of the same project's registered models."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deployments")
    what = models.CharField("What is deployed", max_length=200)
    model_version = models.ForeignKey(
        "evaluation.ModelVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
        verbose_name="Registered model version",
    )
    environment = models.CharField(max_length=100, default="production")
    since = models.DateTimeField("Deployed since")
    traffic_share = models.FloatField(
        "Share of traffic", default=1.0, help_text="Between 0 and 1 (1 = all traffic)."
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-since", "-id"]
        indexes = [models.Index(fields=["project", "-since"], name="deployment_project_since")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(traffic_share__gte=0, traffic_share__lte=1),
                name="deployment_traffic_share_range",
                violation_error_message="The share of traffic is between 0 and 1.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.what} in {self.environment}"

    def clean(self) -> None:
        version = self.model_version
        if version is not None and version.registered_model.project_id != self.project_id:
            raise ValidationError(
                {"model_version": "The model version must be registered in this project."}
            )


class MetricValue(models.Model):
    """One value of a project metric (step 4, possibly watched in step 8) measured in
    production at `timestamp`, for the whole traffic (`segment` "") or one segment.
    At most one value per (metric, timestamp, segment): sending it again replaces it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="metric_values")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="production_values")
    timestamp = models.DateTimeField()
    segment = models.CharField(max_length=200, blank=True, default="")
    value = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["metric", "timestamp", "segment"]
        indexes = [
            models.Index(fields=["project", "metric", "timestamp"], name="metric_value_series")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "timestamp", "segment"],
                name="metric_value_unique",
                violation_error_message="This metric already has a value at this time.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric_id}@{self.timestamp:%Y-%m-%d %H:%M} {self.segment} = {self.value}"


class WindowSize(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class MonitorSettings(TimeStampedModel):
    """A project's alerting rules besides its watched metrics' thresholds (step 8): how many
    consecutive breaching values or windows make an alert, the fewest rows a window needs
    to count, and which window rules (feature drift, score drift, estimated performance
    below step 5's minimum) are on."""

    #: The alert rules a project sets (the watched metrics' thresholds live in step 8).
    ALERT_RULE_FIELDS = (
        "consecutive_windows",
        "min_volume",
        "alert_on_feature_drift",
        "alert_on_score_drift",
        "alert_on_estimated_performance",
        "alert_on_drift",
    )

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="monitor_settings"
    )
    consecutive_windows = models.PositiveSmallIntegerField(
        default=2,
        help_text="An alert needs this many values in a row past the threshold, so that one "
        "noisy window pages nobody.",
    )
    alert_on_drift = models.BooleanField(
        default=True, help_text="A drift report with a drifted column raises an alert."
    )
    min_volume = models.PositiveIntegerField(
        "Minimum rows per window",
        default=100,
        help_text="Windows with fewer predictions are left out of the window rules: they "
        "neither start nor break a run.",
    )
    alert_on_feature_drift = models.BooleanField(
        "Alert on feature drift",
        default=True,
        help_text="A window in which any feature drifted from the reference window breaches.",
    )
    alert_on_score_drift = models.BooleanField(
        "Alert on score drift",
        default=True,
        help_text="A window whose score distribution drifted from the reference breaches.",
    )
    alert_on_estimated_performance = models.BooleanField(
        "Alert on estimated performance",
        default=True,
        help_text="A window whose estimated performance (CBPE) is below the minimum of "
        "step 5 breaches.",
    )
    window = models.CharField(
        "Window size",
        max_length=4,
        choices=WindowSize.choices,
        default=WindowSize.DAY,
        help_text="Predictions are aggregated per hour or per day (UTC).",
    )
    reference_start = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Start of the window that drift and estimated performance compare "
        "against; empty: the first window.",
    )

    class Meta:
        verbose_name_plural = "monitor settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(consecutive_windows__gte=1),
                name="monitor_consecutive_windows_positive",
                violation_error_message="At least one window.",
            )
        ]

    def __str__(self) -> str:
        return f"Monitoring of {self.project}"


class MonitoringWindow(models.Model):
    """The aggregates of one window of ingested predictions (the raw rows stay in Parquet
    files in storage): volume, score distribution, label coverage and delay, realized and
    estimated performance, drift against the reference window, worst slices and mean
    attributions, all in `result`. Recomputed whenever its rows or their labels change."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="monitoring_windows"
    )
    size = models.CharField(max_length=4, choices=WindowSize.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    labelled_rows = models.PositiveIntegerField(default=0)
    is_reference = models.BooleanField(default=False)
    result = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "size", "start"], name="monitoring_window_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.size} {self.start:%Y-%m-%d %H:%M}"


class WindowComputation(models.Model):
    """One fan-out of window computations: the day partitions an ingest (or a settings
    change) made stale, each computed by its own task on any worker, and what runs once
    they are all done - the alert rules, evaluated once per ingest. Each task adds its day
    to `done` under a row lock; the one that completes the set runs the alert rules and
    deletes the row in the same transaction, so that step runs exactly once even when a
    task is delivered twice. (A counter row rather than a Celery chord: it needs no result
    backend, so it works the same on the filesystem broker of `make run` and on Redis.)"""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    days = models.JSONField(default=list)
    done = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Beat's sweep sends the days not done again when a fan-out stalls (a task lost with
    # its worker or out of retries): when, and how many times.
    sent_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.project_id}: {len(self.done)}/{len(self.days)} days"


class AlertKind(models.TextChoices):
    METRIC = "metric", "Watched metric past its threshold"
    DRIFT = "drift", "Data drift"
    FEATURE_DRIFT = "feature_drift", "Feature drift in production windows"
    SCORE_DRIFT = "score_drift", "Score drift in production windows"
    ESTIMATED_PERFORMANCE = "estimated_performance", "Estimated performance below the minimum"


#: The kinds raised from consecutive monitoring windows (one alert per run of windows).
WINDOW_ALERT_KINDS = (
    AlertKind.FEATURE_DRIFT,
    AlertKind.SCORE_DRIFT,
    AlertKind.ESTIMATED_PERFORMANCE,
)


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(TimeStampedModel):
    """One breach of a rule: a watched metric past its threshold for enough consecutive
    values, a run of consecutive windows breaching a window rule (both keyed by the first
    breaching time, `breach_started_at`, up to `breach_ended_at`), or a drift report with
    drifted columns. The key makes an alert fire exactly once per breach, however often
    the rules are evaluated. It goes open → acknowledged → resolved, each step with who
    and when."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    status = models.CharField(max_length=14, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    title = models.CharField(max_length=300)
    metric = models.ForeignKey(
        Metric, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    segment = models.CharField(max_length=200, blank=True, default="")
    threshold = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True, help_text="The latest breaching value.")
    breach_started_at = models.DateTimeField(null=True, blank=True)
    breach_ended_at = models.DateTimeField(
        null=True, blank=True, help_text="The latest breaching value or window."
    )
    drift_report = models.ForeignKey(
        DriftReport, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    details = models.JSONField(default=dict, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="alert_project_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AlertStatus.values), name="alert_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=AlertKind.values), name="alert_kind_valid"
            ),
            models.UniqueConstraint(
                fields=["metric", "segment", "breach_started_at"],
                condition=models.Q(kind="metric"),
                name="alert_once_per_metric_breach",
                violation_error_message="This breach already has an alert.",
            ),
            models.UniqueConstraint(
                fields=["project", "kind", "breach_started_at"],
                condition=models.Q(kind__in=[k.value for k in WINDOW_ALERT_KINDS]),
                name="alert_once_per_window_breach",
                violation_error_message="This breach already has an alert.",
            ),
            models.UniqueConstraint(
                fields=["drift_report"],
                condition=models.Q(kind="drift"),
                name="alert_once_per_drift_report",
                violation_error_message="This drift report already has an alert.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def status_badge(self) -> str:
        return {
            AlertStatus.OPEN: "badge-bad",
            AlertStatus.ACKNOWLEDGED: "badge-warn",
            AlertStatus.RESOLVED: "badge-ok",
        }[self.status]
