"""The background work of monitoring: compute a drift report and record its outcome.
Plain functions, testable without Celery; `tasks.py` runs them in a worker,
`services.py` enqueues them.

A run claims the report (a new attempt), reads both files, runs the drift engine and
records the result in the transaction that marks it succeeded. Only the current attempt
may record an outcome; nothing partial is ever stored.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.jobs import (
    job_claim,
    job_fail,
    job_heartbeat,
    job_lock_current,
    job_succeed,
)
from accounts.models import Membership
from accounts.services import audit, notify
from evaluation.drift import DriftInputError, data_drift, infer_column_types
from evaluation.monitoring import selectors, windows
from evaluation.monitoring.models import (
    Alert,
    AlertKind,
    DriftReport,
    MetricValue,
    MonitoringWindow,
    MonitorSettings,
    WindowComputation,
)
from mlprojects.models import (
    REQUIRED_METRIC_LABELS,
    AlertWhen,
    Project,
    WatchedMetric,
)

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


def _delimiter(fh: IO[bytes], compressed: bool) -> str:
    """The CSV delimiter, sniffed from the file's first bytes (the file is rewound)."""
    head = fh.read(SNIFF_BYTES)
    fh.seek(0)
    if compressed:
        with gzip.GzipFile(fileobj=io.BytesIO(head)) as gz:
            try:
                head = gz.read(SNIFF_BYTES)
            except (OSError, EOFError):
                pass
    try:
        text = head.decode("utf-8-sig", errors="replace")
        return csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_frame(fh: IO[bytes], file_format: str, columns: list[str] | None) -> pd.DataFrame:
    """The chosen columns (all when None) of a CSV / gzip CSV / Parquet file as a pandas
    DataFrame, with the dtypes pandas gives them - the types Evidently infers from."""
    if file_format == "parquet":
        return pq.read_table(fh, columns=columns).to_pandas()
    compression = "gzip" if file_format == "csv.gz" else None
    delimiter = _delimiter(fh, compression is not None)
    return pd.read_csv(fh, sep=delimiter, usecols=columns, compression=compression)


#: Bytes of a Parquet file read at a time when it is streamed.
READ_BUFFER_BYTES = 1024 * 1024
#: Bytes of CSV text parsed at a time when a file is streamed (a batch of rows each).
CSV_BLOCK_BYTES = 16 * 1024 * 1024


def iter_frames(
    fh: IO[bytes], file_format: str, batch_rows: int | None = None
) -> Iterator[pd.DataFrame]:
    """A CSV / gzip CSV / Parquet file as pandas DataFrames of at most `batch_rows` rows
    (CSV: of one block of text), read as they are consumed: the file is never whole in
    memory. Column types come from the Parquet schema, or from the CSV's first block (a
    later value that does not fit is an error); `prediction_id` is always text."""
    batch_rows = batch_rows or windows.INGEST_BATCH_ROWS
    if file_format == "parquet":
        # Without pre_buffer=False Arrow reads ahead and keeps the whole file in memory.
        parquet = pq.ParquetFile(fh, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
        for batch in parquet.iter_batches(batch_size=batch_rows):
            yield batch.to_pandas()
        return
    compressed = file_format == "csv.gz"
    delimiter = _delimiter(fh, compressed)
    source: IO[bytes] = gzip.GzipFile(fileobj=fh) if compressed else fh
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types={"prediction_id": pa.string()}, strings_can_be_null=True
        ),
    )
    for batch in reader:
        for start in range(0, batch.num_rows, batch_rows):
            yield batch.slice(start, batch_rows).to_pandas()


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
    """Claim the report for this worker (`accounts.jobs.job_claim`): the new attempt
    number, or None when there is nothing to do (finished, running on a live worker,
    deleted, or out of attempts)."""
    return job_claim(DriftReport, report_id)


def _audit_outcome(report: DriftReport) -> None:
    audit(
        org=report.project.organization,
        actor=None,
        action=f"monitoring.drift_report_{report.status}",
        target=f"drift report {report.pk}",
        data={"drift_report": report.pk, "project": report.project_id},
    )


@transaction.atomic
def drift_report_record_success(*, report_id: int, attempt: int, result: dict[str, Any]) -> bool:
    """Write the result, mark succeeded and raise the drift alert, in one transaction -
    only if `attempt` is still the current one. Returns whether it was recorded."""
    report = job_lock_current(DriftReport, report_id, attempt)
    if report is None:
        return False
    job_succeed(report, result=result)
    drift_alert_raise(report)
    _audit_outcome(report)
    return True


@transaction.atomic
def drift_report_fail(*, report_id: int, message: str, attempt: int | None = None) -> bool:
    """Mark failed with a message for the submitter (no result is kept); with `attempt`,
    only if that attempt is still the current one."""
    report = job_fail(DriftReport, report_id, message=message[:2000], attempt=attempt)
    if report is None:
        return False
    _audit_outcome(report)
    return True


def drift_report_run(*, report_id: int) -> None:
    """What `run_drift_report_task` does: claim, compute, record. Input problems end the
    report `failed` with the engine's message."""
    attempt = drift_report_start(report_id=report_id)
    if attempt is None:
        return
    report = DriftReport.objects.get(pk=report_id)
    try:
        with job_heartbeat(DriftReport, report_id, attempt):
            result = compute_drift(report)
    except (DriftInputError, ValueError, pd.errors.ParserError) as exc:
        drift_report_fail(report_id=report_id, message=str(exc), attempt=attempt)
        return
    except SoftTimeLimitExceeded:
        minutes = round(settings.MONITORING_TIME_LIMIT_SECONDS / 60)
        message = TIMED_OUT_MESSAGE.format(minutes=minutes)
        drift_report_fail(report_id=report_id, message=message, attempt=attempt)
        return
    except Exception:
        logger.exception("Drift report %s failed unexpectedly", report_id)
        drift_report_fail(report_id=report_id, message=INTERNAL_ERROR_MESSAGE, attempt=attempt)
        return
    drift_report_record_success(report_id=report_id, attempt=attempt, result=result)


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
        url=f"{monitoring_url(project)}#alert-{alert.pk}",
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


def _same_breach(project: Project, start: datetime, end: datetime, **rule: Any) -> Alert | None:
    """The alert of this rule whose breach overlaps [start, end]: late values or windows
    can extend a breach at either end, and it stays the same breach."""
    return (
        Alert.objects.filter(project=project, breach_started_at__lte=end, **rule)
        .filter(
            Q(breach_ended_at__gte=start)
            | Q(breach_ended_at__isnull=True, breach_started_at__gte=start)
        )
        .order_by("breach_started_at")
        .first()
    )


def _extend(alert: Alert, start: datetime, end: datetime, latest: float | None) -> None:
    Alert.objects.filter(pk=alert.pk).update(
        value=latest,
        breach_started_at=min(alert.breach_started_at, start),
        breach_ended_at=max(alert.breach_ended_at or end, end),
        updated_at=timezone.now(),
    )


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
    rule = {"kind": AlertKind.METRIC, "metric": watched.metric, "segment": ""}
    same = _same_breach(project, start, end, **rule)
    if same is not None:
        if same.breach_started_at > start:
            # Moving the key onto an earlier value keeps it unique: no alert starts there.
            if Alert.objects.filter(breach_started_at=start, **rule).exists():
                return None
        _extend(same, start, end, latest)
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
            breach_ended_at=end,
            details={"alert_when": watched.alert_when, "run": length, "last": end.isoformat()},
        )
    )


# -- window rules -------------------------------------------------------------------------

#: The columns of a window's drift result that are the model's output, not a feature.
SCORE_COLUMNS = ("score", "prediction")


@dataclass(frozen=True)
class WindowRule:
    """One rule over consecutive monitoring windows: `check(result)` says whether a
    window breaches and returns what to show (drifted columns, the estimate)."""

    kind: str
    check: Callable[[dict[str, Any]], dict[str, Any] | None]
    title: Callable[[list[dict[str, Any]]], str]
    threshold: float | None = None
    same_columns: bool = False


def _drifted(result: dict[str, Any], *, score: bool) -> list[str]:
    drift = result.get("drift") or {}
    return [
        c["column"]
        for c in drift.get("columns", [])
        if c.get("drifted") and (c["column"] in SCORE_COLUMNS) == score
    ]


def _feature_drift(result: dict[str, Any]) -> dict[str, Any] | None:
    columns = _drifted(result, score=False)
    return {"columns": columns, "value": len(columns)} if columns else None


def _score_drift(result: dict[str, Any]) -> dict[str, Any] | None:
    columns = _drifted(result, score=True)
    if not columns:
        return None
    drift = {c["column"]: c for c in result["drift"]["columns"]}[columns[0]]
    return {"columns": columns, "value": drift.get("statistic")}


def _shown(columns: list[str]) -> str:
    return ", ".join(columns[:5]) + (" …" if len(columns) > 5 else "")


def _window_rules(project: Project, settings_row: MonitorSettings) -> list[WindowRule]:
    rules = []
    if settings_row.alert_on_feature_drift:
        rules.append(
            WindowRule(
                kind=AlertKind.FEATURE_DRIFT,
                check=_feature_drift,
                same_columns=True,
                title=lambda run: (
                    f"Feature drift in {len(run)} windows in a row: "
                    + _shown(list(dict.fromkeys(c for w in run for c in w["columns"])))
                ),
            )
        )
    if settings_row.alert_on_score_drift:
        rules.append(
            WindowRule(
                kind=AlertKind.SCORE_DRIFT,
                check=_score_drift,
                title=lambda run: f"Score distribution drifted in {len(run)} windows in a row",
            )
        )
    requirement = selectors.performance_requirement(project=project)
    if settings_row.alert_on_estimated_performance and requirement is not None:
        metric, minimum = requirement

        def estimate_below(result: dict[str, Any]) -> dict[str, Any] | None:
            value = (result.get("estimated_performance") or {}).get(metric)
            return {"value": value} if value is not None and value < minimum else None

        label = REQUIRED_METRIC_LABELS.get(metric, metric)
        rules.append(
            WindowRule(
                kind=AlertKind.ESTIMATED_PERFORMANCE,
                check=estimate_below,
                threshold=minimum,
                title=lambda run: (
                    f"Estimated {label} below {minimum:g}: "
                    f"{run[-1]['value']:.3g} ({len(run)} windows in a row, before labels)"
                ),
            )
        )
    return rules


def window_runs(
    windows_: list[MonitoringWindow],
    check: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    same_columns: bool = False,
) -> list[list[dict[str, Any]]]:
    """Every run of consecutive breaching windows (oldest first), each window as
    {"start", "end", "rows", **what check returned}. Windows are consecutive when no
    counted window lies between them. With `same_columns`, a run also needs one column
    breaching in all its windows (a different feature drifting by chance in each window
    is noise, not a breach)."""
    runs: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    common: set[str] = set()
    for window in windows_:
        found = check(window.result or {})
        if found is not None and same_columns and current:
            shared = common & set(found["columns"])
            if shared:
                common = shared
            else:
                runs.append(current)
                current = []
        if found is None:
            if current:
                runs.append(current)
            current = []
            continue
        if not current:
            common = set(found.get("columns", []))
        current.append({"start": window.start, "end": window.end, "rows": window.rows, **found})
    if current:
        runs.append(current)
    if same_columns:
        for run in runs:
            shared = set.intersection(*(set(w["columns"]) for w in run))
            for w in run:
                w["columns"] = [c for c in w["columns"] if c in shared]
    return runs


def _window_alerts(
    project: Project, settings_row: MonitorSettings, rule: WindowRule
) -> list[Alert]:
    counted = list(
        MonitoringWindow.objects.filter(
            project=project,
            size=settings_row.window,
            is_reference=False,
            rows__gte=settings_row.min_volume,
        ).order_by("-start")[:MAX_RUN_VALUES]
    )
    counted.reverse()
    raised = []
    for run in window_runs(counted, rule.check, same_columns=rule.same_columns):
        if len(run) < settings_row.consecutive_windows:
            continue
        start, end, latest = run[0]["start"], run[-1]["start"], run[-1]["value"]
        same = _same_breach(project, start, end, kind=rule.kind)
        if same is not None:
            if (
                same.breach_started_at > start
                and Alert.objects.filter(
                    project=project, kind=rule.kind, breach_started_at=start
                ).exists()
            ):
                continue
            _extend(same, start, end, latest)
            continue
        details = {
            "run": len(run),
            "windows": [w["start"].isoformat() for w in run],
            "last": end.isoformat(),
            "size": settings_row.window,
        }
        columns = list(dict.fromkeys(c for w in run for c in w.get("columns", [])))
        if columns:
            details["columns"] = columns
        if rule.kind == AlertKind.ESTIMATED_PERFORMANCE:
            details["metric"] = selectors.performance_requirement(project=project)[0]
        alert = _raise(
            Alert(
                project=project,
                kind=rule.kind,
                title=rule.title(run)[:300],
                threshold=rule.threshold,
                value=latest,
                breach_started_at=start,
                breach_ended_at=end,
                details=details,
            )
        )
        if alert is not None:
            raised.append(alert)
    return raised


def alerts_evaluate(*, project_id: int) -> list[Alert]:
    """Check the project's rules - each watched metric of its current cycle against its
    threshold over the latest values, and the window rules (feature drift, score drift,
    estimated performance below step 5's minimum) over its monitoring windows - and raise
    an alert for each new breach. Run after values or windows arrive (late ones too) and
    by beat; idempotent: a breach alerts once. Evaluations of one project take turns (a
    lock on its monitor settings), so two workers never see half of each other's work."""
    project = Project.objects.select_related("organization").filter(pk=project_id).first()
    if project is None:
        return []
    with transaction.atomic():
        settings_row = MonitorSettings.objects.get_or_create(project=project)[0]
        settings_row = MonitorSettings.objects.select_for_update().get(pk=settings_row.pk)
        watched = WatchedMetric.objects.filter(
            cycle__project=project, cycle__number=project.cycle
        ).select_related("metric")
        raised = []
        for rule in watched:
            alert = _metric_alert(project, rule, settings_row.consecutive_windows)
            if alert is not None:
                raised.append(alert)
        for window_rule in _window_rules(project, settings_row):
            raised += _window_alerts(project, settings_row, window_rule)
    return raised


def alerts_evaluate_all() -> int:
    """Beat's sweep: evaluate every project with a watched metric that has values, or
    with monitoring windows."""
    projects = set(
        MetricValue.objects.filter(metric__watches__isnull=False)
        .values_list("project_id", flat=True)
        .distinct()
    ) | set(MonitoringWindow.objects.values_list("project_id", flat=True).distinct())
    return sum(len(alerts_evaluate(project_id=pk)) for pk in sorted(projects))


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
    """Compute the windows of these day partitions (ISO dates), then evaluate the alert
    rules on them (late labels and re-ingests included); a missing project (deleted
    since) is nothing to do. Returns the number of windows written."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    context = windows.partition_context(project)
    written = sum(
        len(windows.compute_partition(project, date.fromisoformat(day), context)) for day in days
    )
    alerts_evaluate(project_id=project_id)
    return written


@transaction.atomic
def window_computation_done(*, computation_id: int, day: str) -> bool:
    """Mark `day` of the computation done; when it was the last one, evaluate the alert
    rules and delete the row - in this one transaction, so the step runs once per
    computation whatever the redeliveries (a second delivery finds the day already done,
    or the row gone). Returns whether this call completed the computation."""
    row = WindowComputation.objects.select_for_update().filter(pk=computation_id).first()
    if row is None:
        return False
    if day not in row.done:
        row.done = [*row.done, day]
    if not set(row.days) <= set(row.done):
        row.save(update_fields=["done"])
        return False
    alerts_evaluate(project_id=row.project_id)
    row.delete()
    return True


@transaction.atomic
def window_computations_stalled() -> list[tuple[int, str, int]]:
    """Beat's sweep over fan-outs that stopped short (a task lost with its worker, or out
    of retries): the (project, day, computation) tasks to send again for those whose days
    were last sent JOB_RECLAIM_AFTER_SECONDS ago or more, at most JOB_MAX_ATTEMPTS sends
    in all. One out of attempts gives up its missing days - counted done - and evaluates
    the alert rules on what was computed, so the step still runs once."""
    before = timezone.now() - timedelta(seconds=settings.JOB_RECLAIM_AFTER_SECONDS)
    resend: list[tuple[int, str, int]] = []
    for row in WindowComputation.objects.select_for_update(skip_locked=True).filter(
        sent_at__lte=before
    ):
        missing = [day for day in row.days if day not in row.done]
        if row.attempts >= settings.JOB_MAX_ATTEMPTS:
            logger.warning(
                "Window computation %s gave up on %s after %s sends", row.pk, missing, row.attempts
            )
            alerts_evaluate(project_id=row.project_id)
            row.delete()
            continue
        row.attempts += 1
        row.sent_at = timezone.now()
        row.save(update_fields=["attempts", "sent_at"])
        resend += [(row.project_id, day, row.pk) for day in missing]
    return resend


def window_partition_compute(*, project_id: int, day: str, computation_id: int | None) -> int:
    """What one task of a computation's fan-out does: compute the windows of one day
    partition, then count it done (the last one evaluates the alert rules). Without a
    computation (a message sent before computations existed) the alert rules run here.
    Returns the number of windows written."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    written = len(windows.compute_partition(project, date.fromisoformat(day)))
    if computation_id is None:
        alerts_evaluate(project_id=project_id)
    else:
        window_computation_done(computation_id=computation_id, day=day)
    return written
