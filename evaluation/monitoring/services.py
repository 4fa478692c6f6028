"""State changes of monitoring that users and pipelines make: submit a drift report,
record a deployment, send metric values. Computing a drift report is background work
(`jobs.py`, enqueued here through `tasks.py`)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import IO, Any
from urllib.parse import urlencode

import pandas as pd
import pyarrow as pa
from celery import group
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.jobs import job_enqueue
from accounts.models import User
from accounts.services import audit
from evaluation.metrics import EvaluationInputError, detect_format, read_header
from evaluation.monitoring import windows
from evaluation.monitoring.jobs import iter_frames
from evaluation.monitoring.models import (
    Alert,
    AlertStatus,
    Deployment,
    DriftReport,
    DriftReportStatus,
    MetricValue,
    MonitoringWindow,
    MonitorSettings,
    WindowComputation,
    WindowSize,
)
from evaluation.monitoring.tasks import (
    compute_window_partition_task,
    evaluate_alerts_task,
)
from evaluation.registry.models import ModelVersion
from evaluation.uploads import UploadTooLarge, check_data_filename
from mlprojects.models import Finding, FindingEvidenceKind, Metric, Project

#: The most values one metric-values call may carry (one INSERT … ON CONFLICT per 1,000).
MAX_METRIC_VALUES = 10_000
METRIC_VALUE_BATCH = 1_000


def clean_filename(name: str) -> str:
    import posixpath

    return posixpath.basename((name or "").replace("\\", "/")).strip()[:200] or "data"


def _inspect(fh: IO[bytes], field: str) -> tuple[str, list[str]]:
    """(format, header) of an uploaded CSV/Parquet file, or ValidationError on `field`."""
    check_data_filename(getattr(fh, "name", None), field)
    try:
        file_format = detect_format(fh)
        header = read_header(fh)
    except EvaluationInputError as exc:
        raise ValidationError({field: str(exc)}) from None
    finally:
        fh.seek(0)
    return file_format, header


def _clean_columns(columns: Any, reference: list[str], current: list[str]) -> list[str]:
    """The columns to compare: those asked for (each in both files), else every column of
    the reference (each must be in the current file too)."""
    if columns in (None, "", []):
        wanted, asked = list(reference), False
    elif isinstance(columns, list) and all(isinstance(c, str) and c for c in columns):
        wanted, asked = list(dict.fromkeys(columns)), True
    else:
        raise ValidationError({"columns": "Give the columns as a JSON list of column names."})
    for side, header in (("reference", reference), ("current", current)):
        missing = [c for c in wanted if c not in header]
        if missing:
            field = "columns" if asked else "current"
            raise ValidationError(
                {
                    field: f"Column(s) {', '.join(map(repr, missing))} not in the {side} file. "
                    f"Its columns: {', '.join(header)}."
                }
            )
    return wanted if asked else []


@transaction.atomic
def drift_report_create(
    *,
    project: Project,
    user: User | None,
    reference: UploadedFile,
    current: UploadedFile,
    columns: Sequence[str] | None = None,
) -> DriftReport:
    """Check both files and the columns, store the files, queue the computation. Nothing
    is stored when a file or the columns are invalid."""
    limit = settings.MONITORING_MAX_UPLOAD_BYTES
    for upload in (reference, current):
        if upload.size is not None and upload.size > limit:
            raise UploadTooLarge(limit)
    ref_format, ref_header = _inspect(reference, "reference")
    cur_format, cur_header = _inspect(current, "current")
    report = DriftReport(
        project=project,
        created_by=user,
        status=DriftReportStatus.QUEUED,
        reference_filename=clean_filename(reference.name),
        reference_format=ref_format,
        current_filename=clean_filename(current.name),
        current_format=cur_format,
        columns=_clean_columns(columns, ref_header, cur_header),
    )
    stored: list[str] = []
    try:
        report.reference.save("reference", reference, save=False)
        stored.append(report.reference.name)
        report.current.save("current", current, save=False)
        stored.append(report.current.name)
        report.save()
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.drift_report_submitted",
        target=f"drift report {report.pk}",
        data={"drift_report": report.pk, "project": project.pk},
    )
    # The row is its own outbox: the task is sent after commit, or by the job sweep.
    job_enqueue(report)
    return report


# -- deployments ------------------------------------------------------------------------------


@transaction.atomic
def deployment_create(
    *,
    project: Project,
    user: User | None,
    what: str,
    since: datetime,
    environment: str = "production",
    traffic_share: float = 1.0,
    model_version: ModelVersion | None = None,
    notes: str = "",
) -> Deployment:
    """Record that `what` runs in `environment` since `since` on `traffic_share` of it;
    `model_version`, when given, is the project's registered model version that runs."""
    deployment = Deployment(
        project=project,
        recorded_by=user,
        what=what.strip(),
        model_version=model_version,
        environment=environment.strip() or "production",
        since=since,
        traffic_share=traffic_share,
        notes=notes,
    )
    deployment.full_clean()
    deployment.save()
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.deployment_recorded",
        target=deployment.what,
        data={
            "deployment": deployment.pk,
            "project": project.pk,
            "environment": deployment.environment,
            "traffic_share": deployment.traffic_share,
            "model_version": model_version.ref if model_version else None,
        },
    )
    return deployment


# -- metric values ----------------------------------------------------------------------------


def project_metrics(*, project: Project):
    """The metrics values may be sent for: every step-4 metric of the project's cycles
    (a watched metric of step 8 watches one of them)."""
    return Metric.objects.filter(cycle__project=project)


def _metric_ids(project: Project, values: Sequence[Mapping[str, Any]]) -> dict[int, Metric]:
    ids = {v["metric"] for v in values}
    found = {m.pk: m for m in project_metrics(project=project).filter(pk__in=ids)}
    unknown = sorted(ids - set(found))
    if unknown:
        raise ValidationError(
            {"values": f"Not a metric of this project: {', '.join(map(str, unknown))}."}
        )
    return found


@transaction.atomic
def metric_values_record(
    *, project: Project, user: User | None, values: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """Store metric values; a value for a (metric, timestamp, segment) that already has
    one replaces it. Returns {"received", "created", "replaced"}. All or nothing: an
    unknown metric or a non-finite value refuses the whole batch."""
    if len(values) > MAX_METRIC_VALUES:
        raise ValidationError({"values": f"At most {MAX_METRIC_VALUES:,} values a call."})
    for i, v in enumerate(values):
        if not math.isfinite(v["value"]):
            raise ValidationError({"values": f"Value {i} is not a finite number."})
    _metric_ids(project, values)
    # The last of duplicates within one batch wins, as if they were sent one after another.
    latest: dict[tuple[int, datetime, str], float] = {}
    for v in values:
        latest[(v["metric"], v["timestamp"], v.get("segment") or "")] = float(v["value"])
    existing = 0
    keys = list(latest)
    for start in range(0, len(keys), METRIC_VALUE_BATCH):
        chunk = keys[start : start + METRIC_VALUE_BATCH]
        match = Q()
        for metric, timestamp, segment in chunk:
            match |= Q(metric_id=metric, timestamp=timestamp, segment=segment)
        existing += MetricValue.objects.filter(match).count()
        MetricValue.objects.bulk_create(
            [
                MetricValue(
                    project=project,
                    metric_id=metric,
                    timestamp=timestamp,
                    segment=segment,
                    value=latest[(metric, timestamp, segment)],
                )
                for metric, timestamp, segment in chunk
            ],
            update_conflicts=True,
            unique_fields=["metric", "timestamp", "segment"],
            update_fields=["value", "updated_at"],
        )
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.metric_values_recorded",
        target=f"{len(keys)} metric values",
        data={"project": project.pk, "received": len(values), "stored": len(keys)},
    )
    # Every arrival, late ones too, may complete a breach: the rules run after commit.
    transaction.on_commit(lambda: evaluate_alerts_task.delay(project.pk))
    return {"received": len(values), "created": len(keys) - existing, "replaced": existing}


# -- alerts -----------------------------------------------------------------------------------


def _alert_move(alert: Alert, user: User | None, *, to: str, allowed: tuple[str, ...]) -> Alert:
    alert = (
        Alert.objects.select_for_update().select_related("project__organization").get(pk=alert.pk)
    )
    if alert.status == to:
        return alert  # asked twice: nothing changes, nothing is written again
    if alert.status not in allowed:
        raise ValidationError(f"A {alert.get_status_display().lower()} alert cannot be {to}.")
    now = timezone.now()
    if to == AlertStatus.ACKNOWLEDGED or alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user, now
    if to == AlertStatus.RESOLVED:
        alert.resolved_by, alert.resolved_at = user, now
    alert.status = to
    alert.save()
    audit(
        org=alert.project.organization,
        actor=user,
        action=f"monitoring.alert_{to}",
        target=alert.title,
        data={"alert": alert.pk, "project": alert.project_id},
    )
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user: User | None) -> Alert:
    """Someone looks into it: open → acknowledged, with who and when."""
    return _alert_move(alert, user, to=AlertStatus.ACKNOWLEDGED, allowed=(AlertStatus.OPEN,))


@transaction.atomic
def alert_resolve(*, alert: Alert, user: User | None) -> Alert:
    """Dealt with: open or acknowledged → resolved. Resolving an open alert also counts as
    acknowledging it."""
    return _alert_move(
        alert, user, to=AlertStatus.RESOLVED, allowed=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    )


# -- findings ---------------------------------------------------------------------------------


def _page_url(project: Project) -> str:
    from django.urls import reverse

    return reverse(
        "monitoring:page",
        kwargs={"org_slug": project.organization.slug, "project_slug": project.slug},
    )


def alert_evidence_url(alert: Alert) -> str:
    return f"{_page_url(alert.project)}#alert-{alert.pk}"


def window_evidence_url(window: MonitoringWindow, **query: str) -> str:
    query_string = urlencode({"window": window.pk, **query})
    return f"{_page_url(window.project)}?{query_string}#window-{window.pk}"


def _when(window: MonitoringWindow) -> str:
    return f"the {window.get_size_display().lower()} of {window.start:%Y-%m-%d %H:%M} UTC"


def _drift_cell(window: MonitoringWindow, column: str) -> dict[str, Any]:
    cells = {c["column"]: c for c in (window.result.get("drift") or {}).get("columns", [])}
    if column not in cells:
        raise ValidationError({"column": f"The window has no drift result for {column!r}."})
    return cells[column]


def _slice(window: MonitoringWindow, column: str, value: str) -> dict[str, Any]:
    for found in window.result.get("worst_slices", []):
        if found["column"] == column and str(found["value"]) == value:
            return found
    raise ValidationError({"slice_value": "The window has no such worst slice."})


def slice_label(found: Mapping[str, Any]) -> str:
    if found.get("lower") is not None or found.get("upper") is not None:
        return f"{found['column']} in {found['value']}"
    return f"{found['column']} = {found['value']}"


def _evidence(
    *,
    alert: Alert | None,
    window: MonitoringWindow | None,
    column: str,
    slice_column: str,
    slice_value: str,
) -> tuple[str, str, str, dict[str, Any]]:
    """(kind, what was seen, link, what it showed) of the evidence a finding comes from."""
    if alert is not None:
        data = {
            "alert": alert.pk,
            "kind": alert.kind,
            "value": alert.value,
            "threshold": alert.threshold,
            "breach_started_at": alert.breach_started_at,
            "breach_ended_at": alert.breach_ended_at,
            **({"details": alert.details} if alert.details else {}),
        }
        return FindingEvidenceKind.ALERT, alert.title, alert_evidence_url(alert), data
    if window is None:
        return FindingEvidenceKind.OTHER, "", "", {}
    base = {"window": window.pk, "start": window.start.isoformat(), "size": window.size}
    if column and not slice_column:
        cell = _drift_cell(window, column)
        verdict = "drifted" if cell.get("drifted") else "did not drift"
        statistic = cell.get("statistic")
        shown = f"{statistic:.3g}" if isinstance(statistic, float | int) else "undefined"
        what = (
            f"{column} {verdict} in {_when(window)}: {cell['method']} {shown} "
            f"(threshold {cell['threshold']:g}), PSI {cell.get('psi') or 0:.3g}"
        )
        url = window_evidence_url(window, column=column)
        return FindingEvidenceKind.DRIFT_CELL, what, url, {**base, "column": column, "drift": cell}
    if slice_column and not column:
        found = _slice(window, slice_column, slice_value)
        what = (
            f"Errors concentrate where {slice_label(found)} in {_when(window)}: "
            f"{found['rate']:.0%} of {found['rows']} rows wrong "
            f"(95 % interval {found['ci_low']:.0%}–{found['ci_high']:.0%})"
        )
        url = window_evidence_url(window, slice=f"{slice_column}={slice_value}")
        return FindingEvidenceKind.SLICE, what, url, {**base, "slice": found}
    raise ValidationError(
        {"window": "Name a drifted column (`column`) or a slice (`slice_column`, `slice_value`)."}
    )


@transaction.atomic
def finding_record(
    *,
    project: Project,
    user: User | None,
    what: str = "",
    evidence_url: str = "",
    suspected_cause: str = "",
    as_cause: bool = False,
    alert: Alert | None = None,
    window: MonitoringWindow | None = None,
    column: str = "",
    slice_column: str = "",
    slice_value: str = "",
) -> Finding:
    """Record what monitoring uncovered as a step-9 finding of the current cycle, from an
    alert, a drift cell (a window and a column) or a worst slice of a window - or from
    nothing but a description. `what` defaults to what the evidence showed, the evidence
    link points back to it, and `evidence` keeps what it showed then (a window is
    recomputed when late labels arrive)."""
    from mlprojects.lifecycle.services import item_create

    if alert is not None and window is not None:
        raise ValidationError({"alert": "A finding comes from an alert or from a window."})
    if window is not None and window.project_id != project.pk:
        raise ValidationError({"window": "Not a window of this project."})
    kind, seen, link, data = _evidence(
        alert=alert,
        window=window,
        column=column.strip(),
        slice_column=slice_column.strip(),
        slice_value=slice_value,
    )
    what = what.strip() or seen
    if not what:
        raise ValidationError({"what": "Say what was seen."})
    return item_create(
        project=project,
        user=user,
        model=Finding,
        values={
            "what": what,
            "evidence_url": (evidence_url.strip() or link)[:500],
            "suspected_cause": suspected_cause.strip(),
            "as_cause": as_cause,
            "evidence_kind": kind,
            "evidence": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        },
    )


# -- predictions and labels ------------------------------------------------------------------

#: The most rows one JSON predictions or labels call may carry (a file may carry more).
MAX_INGEST_ROWS = 10_000


def _ingest_frames(
    rows: Sequence[Any] | None, upload: UploadedFile | None
) -> Iterator[pd.DataFrame]:
    """The rows of a call as DataFrames: JSON rows as one, a file streamed in batches of
    `windows.INGEST_BATCH_ROWS` (read as they are consumed, never whole in memory)."""
    if (rows is None) == (upload is None):
        raise ValidationError({"rows": "Send either JSON rows or a file, not both."})
    if rows is not None:
        if len(rows) > MAX_INGEST_ROWS:
            raise ValidationError({"rows": f"At most {MAX_INGEST_ROWS:,} rows a call."})
        if not rows:
            raise ValidationError({"rows": "No rows."})
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ValidationError({"rows": f"Row {i} is not an object."})
            for key, value in row.items():
                if isinstance(value, dict | list):
                    raise ValidationError({"rows": f"Row {i}: {key} is not a single value."})
        yield pd.DataFrame.from_records(list(rows))
        return
    check_data_filename(upload.name)
    try:
        file_format = detect_format(upload)
        upload.seek(0)
        yield from iter_frames(upload, file_format)
    except UploadTooLarge:
        raise
    except (EvaluationInputError, ValueError, OSError, EOFError, pa.ArrowException) as exc:
        if isinstance(exc, windows.IngestError):
            raise
        raise ValidationError({"file": f"Cannot read the file: {exc}"}) from None


def _enqueue_windows(project: Project, days: Sequence[date]) -> list[str]:
    """Queue the computation of the stale days as a fan-out, one task per day partition
    on any worker, whose last task evaluates the alert rules once (`WindowComputation`)."""
    stale = [d.isoformat() for d in windows.stale_days(project, days)]
    if stale:
        computation = WindowComputation.objects.create(project=project, days=stale)
        work = group(
            compute_window_partition_task.s(project.pk, day, computation.pk) for day in stale
        )
        transaction.on_commit(work.apply_async)
    return stale


def _store(store: Any, project: Project, frames: Iterator[pd.DataFrame], field: str) -> Any:
    try:
        return store(project, frames)
    except windows.IngestError as exc:
        raise ValidationError({field: str(exc)}) from None


def predictions_ingest(
    *,
    project: Project,
    user: User | None,
    rows: Sequence[Any] | None = None,
    upload: UploadedFile | None = None,
) -> dict[str, Any]:
    """Store prediction rows (JSON rows or a CSV/Parquet file) in their day partitions and
    queue the computation of the windows they touch. A prediction_id sent again replaces
    the earlier row when the windows are computed."""
    field = "rows" if upload is None else "file"
    stored = _store(windows.store_predictions, project, _ingest_frames(rows, upload), field)
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.predictions_ingested",
        target=f"{stored['rows']} predictions",
        data={"project": project.pk, "rows": stored["rows"]},
    )
    days = _enqueue_windows(project, stored["days"])
    return {"received": stored["rows"], "recomputing": days}


def labels_ingest(
    *,
    project: Project,
    user: User | None,
    rows: Sequence[Any] | None = None,
    upload: UploadedFile | None = None,
) -> dict[str, Any]:
    """Store labels ({prediction_id, label}) however late, and queue the recomputation of
    the windows holding their predictions."""
    field = "rows" if upload is None else "file"
    stored = _store(windows.store_labels, project, _ingest_frames(rows, upload), field)
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.labels_ingested",
        target=f"{stored['rows']} labels",
        data={"project": project.pk, "rows": stored["rows"]},
    )
    days = _enqueue_windows(project, stored["days"])
    return {"received": stored["rows"], "recomputing": days}


@transaction.atomic
def alert_rules_update(
    *, project: Project, user: User | None, values: Mapping[str, Any]
) -> MonitorSettings:
    """Change the project's alert rules (consecutive windows, minimum rows per window,
    which rules are on) and evaluate them again after commit: a run that now breaches
    alerts once, like any other."""
    unknown = set(values) - set(MonitorSettings.ALERT_RULE_FIELDS)
    if unknown:
        raise ValidationError(f"Not an alert rule setting: {', '.join(sorted(unknown))}.")
    settings_row = MonitorSettings.objects.select_for_update().get_or_create(project=project)[0]
    for name, value in values.items():
        setattr(settings_row, name, value)
    settings_row.full_clean(exclude=["project"])
    settings_row.save()
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.alert_rules_updated",
        target=project.name,
        data={"project": project.pk, **{k: values[k] for k in sorted(values)}},
    )
    transaction.on_commit(lambda: evaluate_alerts_task.delay(project.pk))
    return settings_row


def window_settings_update(
    *, project: Project, user: User | None, window: str, reference_start: datetime | None
) -> list[str]:
    """Change the window size (hour/day) or the reference window and queue the
    recomputation of every day partition (windows of the old size are then removed)."""
    if window not in WindowSize.values:
        raise ValidationError({"window": "The window is an hour or a day."})
    settings_row = MonitorSettings.objects.get_or_create(project=project)[0]
    settings_row.window, settings_row.reference_start = window, reference_start
    settings_row.save(update_fields=["window", "reference_start", "updated_at"])
    audit(
        org=project.organization,
        actor=user,
        action="monitoring.window_settings_updated",
        target=f"windows of one {window}",
        data={"project": project.pk, "window": window},
    )
    return _enqueue_windows(project, windows.partition_days(project))
