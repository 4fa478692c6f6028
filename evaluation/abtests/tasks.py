"""Celery tasks of A/B tests: thin adapters that take ids and run the work in `jobs.py`."""

from celery import shared_task
from django.db import DatabaseError

from evaluation.abtests import jobs


@shared_task
def run_abtest_analysis_task(analysis_id: int) -> None:
    """Compute one analysis. Idempotent: an analysis that is finished, or running on a
    live worker, is left alone (`accounts.jobs`)."""
    jobs.abtest_analysis_run(analysis_id=analysis_id)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3, acks_late=True)
def analyze_abtest_task(abtest_id: int) -> None:
    """Run the test's queued analyses (the message of earlier releases, kept so that one
    still queued at an upgrade is run). Idempotent; a database outage is retried, then
    recorded."""
    try:
        jobs.abtest_analyses_run_pending(abtest_id=abtest_id)
    except DatabaseError as exc:
        if analyze_abtest_task.request.retries >= analyze_abtest_task.max_retries:
            jobs.abtest_analysis_fail(abtest_id=abtest_id, message=f"Database error: {exc}")
        raise


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3, acks_late=True)
def aggregate_abtest_upload_task(upload_id: int) -> None:
    """Aggregate a raw per-user upload into the test's results. Idempotent: a finished
    upload is left alone; an interrupted one is read again from the start."""
    jobs.abtest_raw_upload_process(upload_id=upload_id)


@shared_task
def refresh_abtest_task(refresh_id: int) -> None:
    """Run a test's warehouse queries into its results. Idempotent: a refresh that is
    finished, or running on a live worker, is left alone (`accounts.jobs`)."""
    jobs.abtest_refresh_run(refresh_id=refresh_id)


@shared_task
def refresh_running_abtests_task() -> int:
    """The daily schedule: queue a refresh of every running test with a data source."""
    return len(jobs.abtests_refresh_running())
