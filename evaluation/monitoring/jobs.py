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
from typing import IO, Any

import pandas as pd
import pyarrow.parquet as pq
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.services import audit
from evaluation.drift import DriftInputError, data_drift, infer_column_types
from evaluation.monitoring.models import DriftReport, DriftReportStatus

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
