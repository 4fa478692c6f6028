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
from django.db.models import Q
from django.utils import timezone

from accounts.jobs import (
    job_claim,
    job_enqueue,
    job_fail,
    job_heartbeat,
    job_lock_current,
    job_succeed,
)
from evaluation.abtests import state
from evaluation.abtests.warehouse import WarehouseError, WarehouseMetric, warehouse_aggregates
from evaluation.models import (
    ABQuery,
    ABQueryVersion,
    ABRawUpload,
    ABTest,
    ABTestAnalysis,
    ABTestStatus,
    ABWarehouseRefresh,
    JobStatus,
    ResultSource,
)
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


def _warehouse_plan(abtest: ABTest) -> tuple[str, dict, list[tuple[WarehouseMetric, dict]]]:
    """The SQL a refresh runs and where each text came from: a saved query's approved
    version (``{"query", "version"}``) or the test's own ad-hoc SQL (``{}``). A saved query
    without an approved version stops the refresh (`WarehouseError`)."""

    def approved(query: ABQuery) -> ABQueryVersion:
        version = query.approved_version()
        if version is None:
            raise WarehouseError(
                f"The query “{query.name}” has no approved version yet; a member other than "
                "its author reviews it on the warehouse page."
            )
        return version

    def origin(version: ABQueryVersion) -> dict:
        return {
            "query": version.query.name,
            "query_id": version.query_id,
            "version": version.number,
            "version_id": version.pk,
        }

    exposure_sql, exposure_origin = abtest.exposure_sql, {}
    if abtest.exposure_query is not None:
        version = approved(abtest.exposure_query)
        exposure_sql, exposure_origin = version.sql, origin(version)
    metrics = []
    for m in abtest.metrics.select_related("query"):
        if m.query is not None:
            version = approved(m.query)
            sql, denominator, where = version.sql, version.denominator_sql, origin(version)
        elif m.sql:
            sql, denominator, where = m.sql, m.denominator_sql, {}
        else:
            continue
        metrics.append((WarehouseMetric(m.key, m.type, sql, denominator, m.quantile_level), where))
    return exposure_sql, exposure_origin, metrics


def abtest_refresh_run(*, refresh_id: int) -> ABWarehouseRefresh | None:
    """Run a test's warehouse queries for its window (start → stop, or now) and replace
    its results with the aggregates (what `refresh_abtest_task` does). A durable job
    (`accounts.jobs`): a finished refresh, or one running on a live worker, is left alone;
    one whose worker died is run again. A refused query fails the refresh with its message
    and leaves the results as they were. Each statement is recorded with its timing and
    the query versions it came from."""
    attempt = job_claim(ABWarehouseRefresh, refresh_id)
    if attempt is None:
        return ABWarehouseRefresh.objects.filter(pk=refresh_id).first()
    refresh = ABWarehouseRefresh.objects.select_related(
        "abtest__data_source", "abtest__exposure_query"
    ).get(pk=refresh_id)
    abtest = refresh.abtest
    source = abtest.data_source

    def fail(message: str) -> ABWarehouseRefresh | None:
        job_fail(ABWarehouseRefresh, refresh_id, message=message, attempt=attempt)
        return ABWarehouseRefresh.objects.get(pk=refresh_id)

    try:
        exposure_sql, exposure_origin, metrics = _warehouse_plan(abtest)
    except WarehouseError as exc:
        return fail(exc.message)
    if source is None or not exposure_sql or not metrics or abtest.started_at is None:
        return fail(
            "The test needs a started window, a data source, an exposure query and at "
            "least one metric query."
        )
    try:
        with job_heartbeat(ABWarehouseRefresh, refresh_id, attempt):
            output = warehouse_aggregates(
                url=source.url,
                exposure_sql=exposure_sql,
                metrics=[metric for metric, _ in metrics],
                variants=[v.key for v in abtest.variants.all()],
                start=abtest.started_at,
                end=abtest.stopped_at or timezone.now(),
                conversion_window_hours=abtest.conversion_window_hours,
                timeout_ms=source.statement_timeout_ms,
                row_cap=source.row_cap,
                cuped_lookback_hours=abtest.cuped_lookback_days * 24,
            )
    except WarehouseError as exc:
        return fail(exc.message)
    except ValueError as exc:  # credentials the current key cannot decrypt
        return fail(str(exc))
    origins = {metric.key: where for metric, where in metrics}
    queries = [
        {
            "metric": q.metric,
            "sql": q.sql,
            "seconds": q.seconds,
            "origin": origins.get(q.metric, {}),
            "exposure_origin": exposure_origin,
        }
        for q in output.queries
    ]
    try:
        with transaction.atomic():
            refresh = job_lock_current(ABWarehouseRefresh, refresh_id, attempt)
            if refresh is None:  # superseded by a newer attempt: it writes the results
                return ABWarehouseRefresh.objects.get(pk=refresh_id)
            state.abtest_results_set(
                abtest=abtest,
                user=refresh.created_by,
                results=output.results,
                source=ResultSource.WAREHOUSE,
            )
            job_succeed(refresh, queries=queries)
    except ValidationError as exc:
        return fail(" ".join(exc.messages))
    return ABWarehouseRefresh.objects.get(pk=refresh_id)


def abtests_refresh_running() -> list[ABWarehouseRefresh]:
    """The daily schedule: queue a refresh of every running test connected to a warehouse
    (exposure query and data source), unless one is already queued or running."""
    running = (
        ABTest.objects.filter(status=ABTestStatus.RUNNING, data_source__isnull=False)
        .exclude(Q(exposure_sql="") & Q(exposure_query__isnull=True))
        .exclude(refreshes__status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    )
    queued = []
    for abtest in running:
        with transaction.atomic():
            refresh = ABWarehouseRefresh.objects.create(abtest=abtest)
            job_enqueue(refresh)
        queued.append(refresh)
    return queued
