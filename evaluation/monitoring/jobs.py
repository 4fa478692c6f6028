"""The background work of monitoring: compute a drift report and record its outcome.
Plain functions, testable without Celery; `tasks.py` runs them in a worker,
`services.py` enqueues them.

A run claims the report (a new attempt), reads both files, runs the drift engine and
records the result in the transaction that marks it succeeded. Only the current attempt
may record an outcome; nothing partial is ever stored.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from datetime import date, datetime
from typing import IO, Any

import pandas as pd
import pyarrow.parquet as pq
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.services import audit, notify
from evaluation.drift import DriftInputError, data_drift, infer_column_types
from evaluation.monitoring import windows
from evaluation.monitoring.models import (
    Alert,
    AlertKind,
    DriftReport,
    DriftReportStatus,
    MetricValue,
    MonitorSettings,
)
from mlprojects.models import AlertWhen, Project, WatchedMetric

logger = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024
INTERNAL_ERROR_MESSAGE = (
    "The drift report stopped because of an internal error (not a problem with your "
    "files). It has been logged; try again later."
)
TIMED_OUT_MESSAGE = (
    "The drift report took longer than {minutes} minutes and was stopped. Compare fewer "
    "columns or smaller files, or ask an administrator to raise MONITORING_TIME_LIMIT_SECONDS."
)


def read_frame(fh: IO[bytes], file_format: str, columns: list[str] | None) -> pd.DataFrame:
    """The chosen columns (all when None) of a CSV / gzip CSV / Parquet file as a pandas
    DataFrame, with the dtypes pandas gives them - the types Evidently infers from."""
    if file_format == "parquet":
        return pq.read_table(fh, columns=columns).to_pandas()
    compression = "gzip" if file_format == "csv.gz" else None
    head = fh.read(SNIFF_BYTES)
    fh.seek(0)
    if compression:
        import gzip

        with gzip.GzipFile(fileobj=io.BytesIO(head)) as gz:
            try:
                head = gz.read(SNIFF_BYTES)
            except (OSError, EOFError):
                pass
    try:
        text = head.decode("utf-8-sig", errors="replace")
        delimiter = csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    return pd.read_csv(fh, sep=delimiter, usecols=columns, compression=compression)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: an undefined statistic is stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def compute_drift(report: DriftReport) -> dict[str, Any]:
    """The engine's drift report of `report`'s two files, as stored in `result`."""
    columns = list(report.columns) or None
    with default_storage.open(report.reference.name, "rb") as fh:
        reference = read_frame(fh, report.reference_format, columns)
    with default_storage.open(report.current.name, "rb") as fh:
        current = read_frame(fh, report.current_format, columns)
    types = infer_column_types(reference, columns)
    if columns:
        skipped = [c for c in columns if c not in types]
        if skipped:
            raise DriftInputError(
                f"Column(s) {', '.join(map(repr, skipped))} are neither numeric nor "
                "categorical (free text, dates or empty): leave them out of `columns`."
            )
    if not types:
        raise DriftInputError("No numeric or categorical column to compare.")
    result = data_drift(reference, current, column_types=types).as_dict()
    result["columns"] = [{k: _finite(v) for k, v in c.items()} for c in result["columns"]]
    result["reference_rows"], result["current_rows"] = len(reference), len(current)
    result["skipped_columns"] = [c for c in reference.columns if c not in types]
    return result


def drift_report_start(*, report_id: int) -> int | None:
    """Claim the report for this worker: the new attempt number, or None when there is
    nothing to do (finished or deleted)."""
    with transaction.atomic():
        report = DriftReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.is_finished:
            return None
        report.status = DriftReportStatus.RUNNING
        report.attempts += 1
        report.started_at = timezone.now()
        report.save(update_fields=["status", "attempts", "started_at", "updated_at"])
        return report.attempts


def _finish(report_id: int, attempt: int, **values: Any) -> bool:
    with transaction.atomic():
        report = (
            DriftReport.objects.select_for_update()
            .select_related("project__organization")
            .filter(pk=report_id)
            .first()
        )
        if report is None or (report.status, report.attempts) != (
            DriftReportStatus.RUNNING,
            attempt,
        ):
            return False
        for name, value in values.items():
            setattr(report, name, value)
        report.finished_at = timezone.now()
        report.save()
        if report.status == DriftReportStatus.SUCCEEDED:
            drift_alert_raise(report)
        audit(
            org=report.project.organization,
            actor=None,
            action=f"monitoring.drift_report_{report.status}",
            target=f"drift report {report.pk}",
            data={"drift_report": report.pk, "project": report.project_id},
        )
        return True


def drift_report_run(*, report_id: int) -> None:
    """What `run_drift_report_task` does: claim, compute, record. Input problems end the
    report `failed` with the engine's message."""
    attempt = drift_report_start(report_id=report_id)
    if attempt is None:
        return
    report = DriftReport.objects.get(pk=report_id)
    try:
        result = compute_drift(report)
    except (DriftInputError, ValueError, pd.errors.ParserError) as exc:
        _finish(report_id, attempt, status=DriftReportStatus.FAILED, error=str(exc)[:2000])
        return
    except SoftTimeLimitExceeded:
        minutes = round(settings.MONITORING_TIME_LIMIT_SECONDS / 60)
        message = TIMED_OUT_MESSAGE.format(minutes=minutes)
        _finish(report_id, attempt, status=DriftReportStatus.FAILED, error=message)
        return
    except Exception:
        logger.exception("Drift report %s failed unexpectedly", report_id)
        _finish(report_id, attempt, status=DriftReportStatus.FAILED, error=INTERNAL_ERROR_MESSAGE)
        return
    _finish(report_id, attempt, status=DriftReportStatus.SUCCEEDED, result=result)


# -- alerts -----------------------------------------------------------------------------------

#: How far back one rule looks for its run of breaching values.
MAX_RUN_VALUES = 1_000
ALERT_NOTIFICATION_KIND = "monitoring_alert"
ALERTED_ROLES = ("owner", "admin", "member")


def monitor_settings(project: Project) -> MonitorSettings:
    found = MonitorSettings.objects.filter(project=project).first()
    return found or MonitorSettings(project=project)


def _breaches(alert_when: str, value: float, threshold: float) -> bool:
    return value < threshold if alert_when == AlertWhen.BELOW else value > threshold


def breach_run(
    values: list[tuple[datetime, float]], *, alert_when: str, threshold: float
) -> tuple[int, datetime | None, datetime | None, float | None]:
    """The run of breaching values at the end of a series given newest first:
    (length, first breaching time, last breaching time, latest value)."""
    length, start, end, latest = 0, None, None, None
    for timestamp, value in values:
        if not _breaches(alert_when, value, threshold):
            break
        if length == 0:
            end, latest = timestamp, value
        length, start = length + 1, timestamp
    return length, start, end, latest


def monitoring_url(project: Project) -> str:
    return reverse(
        "monitoring:page",
        kwargs={"org_slug": project.organization.slug, "project_slug": project.slug},
    )


def _notify_alert(alert: Alert) -> None:
    project = alert.project
    recipients = [
        m.user
        for m in Membership.objects.filter(
            organization=project.organization, role__in=ALERTED_ROLES
        ).select_related("user")
    ]
    notify(
        org=project.organization,
        recipients=recipients,
        actor=None,
        kind=ALERT_NOTIFICATION_KIND,
        text=f"Alert on “{project.name}”: {alert.title}",
        url=monitoring_url(project),
    )


def _raise(alert: Alert) -> Alert | None:
    """Save a new alert, write its audit row and notify - unless the same breach already
    has one (a concurrent evaluation won the unique constraint)."""
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None
    audit(
        org=alert.project.organization,
        actor=None,
        action="monitoring.alert_opened",
        target=alert.title,
        data={"alert": alert.pk, "project": alert.project_id, "kind": alert.kind},
    )
    _notify_alert(alert)
    return alert


def _metric_alert(project: Project, watched: WatchedMetric, consecutive: int) -> Alert | None:
    series = list(
        MetricValue.objects.filter(metric=watched.metric, segment="")
        .order_by("-timestamp")
        .values_list("timestamp", "value")[:MAX_RUN_VALUES]
    )
    length, start, end, latest = breach_run(
        series, alert_when=watched.alert_when, threshold=watched.threshold
    )
    if length < consecutive or start is None:
        return None
    # Late values can extend a breach backwards: an alert whose breach began inside this
    # run is the same breach, so it is updated, not raised again.
    same = Alert.objects.filter(
        kind=AlertKind.METRIC,
        metric=watched.metric,
        segment="",
        breach_started_at__gte=start,
        breach_started_at__lte=end,
    ).first()
    if same is not None:
        Alert.objects.filter(pk=same.pk).update(value=latest, updated_at=timezone.now())
        return None
    unit = f" {watched.metric.unit}" if watched.metric.unit else ""
    return _raise(
        Alert(
            project=project,
            kind=AlertKind.METRIC,
            title=f"{watched.metric.name} {watched.get_alert_when_display()} "
            f"{watched.threshold:g}{unit}: {latest:g}{unit} ({length} values in a row)",
            metric=watched.metric,
            threshold=watched.threshold,
            value=latest,
            breach_started_at=start,
            details={"alert_when": watched.alert_when, "run": length, "last": end.isoformat()},
        )
    )


def alerts_evaluate(*, project_id: int) -> list[Alert]:
    """Check the project's rules - each watched metric of its current cycle against its
    threshold over the latest values - and raise an alert for each new breach. Run after
    values arrive (late ones too) and by beat; idempotent: a breach alerts once."""
    project = Project.objects.select_related("organization").filter(pk=project_id).first()
    if project is None:
        return []
    consecutive = monitor_settings(project).consecutive_windows
    watched = WatchedMetric.objects.filter(
        cycle__project=project, cycle__number=project.cycle
    ).select_related("metric")
    raised = []
    for rule in watched:
        alert = _metric_alert(project, rule, consecutive)
        if alert is not None:
            raised.append(alert)
    return raised


def alerts_evaluate_all() -> int:
    """Beat's sweep: evaluate every project with a watched metric that has values."""
    projects = (
        MetricValue.objects.filter(metric__watches__isnull=False)
        .values_list("project_id", flat=True)
        .distinct()
    )
    return sum(len(alerts_evaluate(project_id=pk)) for pk in projects)


def drift_alert_raise(report: DriftReport) -> Alert | None:
    """A succeeded drift report with a drifted column raises one alert (if the project
    alerts on drift)."""
    columns = [c["column"] for c in (report.result or {}).get("columns", []) if c["drifted"]]
    if not columns or not monitor_settings(report.project).alert_on_drift:
        return None
    shown = ", ".join(columns[:5]) + (" …" if len(columns) > 5 else "")
    return _raise(
        Alert(
            project=report.project,
            kind=AlertKind.DRIFT,
            title=f"Drift in {len(columns)} column(s): {shown}",
            drift_report=report,
            value=report.result["share_drifted"],
            details={"columns": columns},
        )
    )


def windows_compute(*, project_id: int, days: list[str]) -> int:
    """Compute the windows of these day partitions (ISO dates); a missing project (deleted
    since) is nothing to do. Returns the number of windows written."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    return sum(len(windows.compute_partition(project, date.fromisoformat(day))) for day in days)
