"""The background work of A/B tests: aggregating a raw per-user upload into results, and
computing analyses. Plain functions, testable without Celery; `tasks.py` runs them in a
worker, `services.py` enqueues them. The test's status and results change through
`state.py`, as they do for the user's actions.
"""

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.jobs import job_claim, job_fail, job_heartbeat, job_lock_current, job_succeed
from evaluation.abtests import state
from evaluation.models import ABRawUpload, ABTestAnalysis, JobStatus, ResultSource
from evaluation.stats import (
    DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
    StatsInputError,
    aggregate_file,
    analyze,
)
from evaluation.stats.aggregate import RowLimitError
from mlprojects.site.storage import open_stored

#: Rows per chunk when aggregating a raw upload. Measured on 2 shared cores with a
#: 3-metric CSV of 1M rows (21 MB): ~0.3 s and ~10 MB peak per 100 000-row chunk, 3.0 s in
#: all; 20 000-row chunks took 3.4 s, 500 000-row chunks 4.1 s and ~50 MB. So progress is
#: written a few times a second and memory stays flat whatever the file size.
RAW_ROWS_CHUNK = 100_000


def _finish_upload(upload: ABRawUpload, status: str, error: str = "") -> None:
    upload.status = status
    upload.error = error
    upload.finished_at = timezone.now()
    if status == JobStatus.SUCCEEDED:
        upload.progress = 1.0
    upload.save(update_fields=["status", "error", "finished_at", "progress", "updated_at"])


def abtest_raw_upload_process(*, upload_id: int) -> ABRawUpload | None:
    """Aggregate a raw upload into results (what `aggregate_abtest_upload_task` does).
    Idempotent: a finished upload is left alone; an interrupted one (status running after
    a crash) is read again from the start, and results are written only once, at the end,
    in one transaction — a failure leaves the previous results untouched."""
    with transaction.atomic():
        upload = (
            ABRawUpload.objects.select_for_update()
            .select_related("abtest__project__organization")
            .filter(pk=upload_id)
            .first()
        )
        if upload is None or upload.is_done:
            return upload
        upload.status = JobStatus.RUNNING
        upload.rows_read = 0
        upload.progress = 0.0
        upload.save(update_fields=["status", "rows_read", "progress", "updated_at"])
    abtest = upload.abtest
    metrics = list(abtest.metrics.all())
    variants = [v.key for v in abtest.variants.all()]
    covariates = (
        {m.key: f"{m.key}{upload.covariate_suffix}" for m in metrics}
        if upload.covariate_suffix
        else None
    )
    try:
        with open_stored(upload.file.name) as handle:

            def progress(rows: int) -> None:
                # The stored file's read position tells how far pandas has got.
                share = min(handle.tell() / upload.size, 0.99) if upload.size else 0.0
                ABRawUpload.objects.filter(pk=upload.pk).update(
                    rows_read=rows, progress=share, updated_at=timezone.now()
                )

            results = aggregate_file(
                handle,
                variant_column=upload.variant_column,
                variants=variants,
                metrics=[m.as_stats() for m in metrics],
                covariates=covariates,
                chunk_size=RAW_ROWS_CHUNK,
                progress=progress,
                max_rows=settings.ABTEST_MAX_ROWS,
            )
    except StatsInputError as exc:
        message = exc.message
        if isinstance(exc, RowLimitError):
            message += " The limit is the setting ABTEST_MAX_ROWS."
        upload.refresh_from_db()
        _finish_upload(upload, JobStatus.FAILED, message)
        return upload
    empty = [v for v in variants if results[metrics[0].key][v]["users"] == 0]
    if empty:
        upload.refresh_from_db()
        _finish_upload(
            upload,
            JobStatus.FAILED,
            f"No rows for variant(s) {', '.join(map(repr, empty))}: every variant needs at "
            "least one user.",
        )
        return upload
    try:
        with transaction.atomic():
            state.abtest_results_set(
                abtest=abtest, user=upload.created_by, results=results, source=ResultSource.RAW
            )
            upload.refresh_from_db()
            _finish_upload(upload, JobStatus.SUCCEEDED)
    except ValidationError as exc:
        upload.refresh_from_db()
        _finish_upload(upload, JobStatus.FAILED, " ".join(exc.messages))
    return upload


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def abtest_analysis_run(*, analysis_id: int) -> ABTestAnalysis | None:
    """Compute one analysis version into its row (what `run_abtest_analysis_task` does).
    Idempotent: an analysis that is finished, or running on a live worker, is left as it
    is; a queued or reclaimed one is computed from its own input snapshot."""
    attempt = job_claim(ABTestAnalysis, analysis_id)
    if attempt is None:
        return ABTestAnalysis.objects.filter(pk=analysis_id).first()
    analysis = ABTestAnalysis.objects.get(pk=analysis_id)
    options = analysis.options
    try:
        with job_heartbeat(ABTestAnalysis, analysis_id, attempt):
            result = analyze(
                **analysis.inputs,
                alpha=options["alpha"],
                prior=options["prior"],
                correction=options["correction"],
                cuped=options["cuped"],
                sequential=options.get("sequential", False),
                sequential_tuning_parameter=options.get(
                    "sequential_tuning_parameter", DEFAULT_SEQUENTIAL_TUNING_PARAMETER
                ),
            )
    except StatsInputError as exc:
        job_fail(ABTestAnalysis, analysis_id, message=exc.message, attempt=attempt)
        return ABTestAnalysis.objects.get(pk=analysis_id)
    with transaction.atomic():
        analysis = job_lock_current(ABTestAnalysis, analysis_id, attempt)
        if analysis is None:  # superseded by a newer attempt: it writes the result
            return ABTestAnalysis.objects.get(pk=analysis_id)
        job_succeed(analysis, result=_json_safe(result))
        abtest = state.locked(analysis.abtest)
        if state.can_transition(abtest, "analyzed"):
            state.transition(abtest, "analyzed", user=analysis.created_by)
    return analysis


def abtest_analyses_run_pending(*, abtest_id: int) -> list[ABTestAnalysis]:
    """Run every analysis of the test that is not finished, oldest first (what
    `analyze_abtest_task` does: one message per request, but a redelivered or late
    message finds nothing to do)."""
    pending = ABTestAnalysis.objects.filter(
        abtest_id=abtest_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).order_by("version")
    return [abtest_analysis_run(analysis_id=pk) for pk in pending.values_list("pk", flat=True)]


def abtest_analysis_fail(*, abtest_id: int, message: str) -> None:
    """Failure bookkeeping when the task gives up: unfinished analyses are marked failed."""
    ABTestAnalysis.objects.filter(
        abtest_id=abtest_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(status=JobStatus.FAILED, error=message, finished_at=timezone.now())


def abtest_refresh_run(*, refresh_id: int) -> Any:
    """Run a test's warehouse queries for its window (start → stop, or now) and replace
    its results with the aggregates (what `refresh_abtest_task` does). Idempotent: a
    finished refresh is left alone. A refused query fails the refresh with its message
    and leaves the results as they were."""
    # Imported here so that this job stays a self-contained addition to the module.
    from evaluation.abtests.models import ABWarehouseRefresh
    from evaluation.abtests.warehouse import WarehouseError, WarehouseMetric, warehouse_aggregates

    refresh = (
        ABWarehouseRefresh.objects.select_related("abtest__data_source")
        .filter(pk=refresh_id)
        .first()
    )
    if refresh is None or refresh.is_done:
        return refresh
    ABWarehouseRefresh.objects.filter(pk=refresh.pk).update(status=JobStatus.RUNNING)
    abtest = refresh.abtest
    source = abtest.data_source
    metrics = [m for m in abtest.metrics.all() if m.sql]

    def finish(status: str, error: str = "", queries: list | None = None) -> None:
        ABWarehouseRefresh.objects.filter(pk=refresh.pk).update(
            status=status, error=error, queries=queries or [], finished_at=timezone.now()
        )

    if source is None or not abtest.exposure_sql or not metrics or abtest.started_at is None:
        finish(
            JobStatus.FAILED,
            "The test needs a started window, a data source, an exposure "
            "query and at least one metric query.",
        )
        refresh.refresh_from_db()
        return refresh
    try:
        output = warehouse_aggregates(
            url=source.url,
            exposure_sql=abtest.exposure_sql,
            metrics=[
                WarehouseMetric(m.key, m.type, m.sql, m.denominator_sql, m.quantile_level)
                for m in metrics
            ],
            variants=[v.key for v in abtest.variants.all()],
            start=abtest.started_at,
            end=abtest.stopped_at or timezone.now(),
            conversion_window_hours=abtest.conversion_window_hours,
            timeout_ms=source.statement_timeout_ms,
            row_cap=source.row_cap,
        )
        queries = [{"metric": q.metric, "sql": q.sql, "seconds": q.seconds} for q in output.queries]
        with transaction.atomic():
            state.abtest_results_set(
                abtest=abtest,
                user=refresh.created_by,
                results=output.results,
                source=ResultSource.WAREHOUSE,
            )
        finish(JobStatus.SUCCEEDED, queries=queries)
    except WarehouseError as exc:
        finish(JobStatus.FAILED, exc.message)
    except ValidationError as exc:
        finish(JobStatus.FAILED, " ".join(exc.messages))
    refresh.refresh_from_db()
    return refresh
