"""Celery tasks of the evaluation app: thin adapters that take ids and call a service."""

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

# --- A/B tests -----------------------------------------------------------------------------


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3, acks_late=True)
def analyze_abtest_task(abtest_id: int) -> None:
    """Run the test's queued analyses. Idempotent: finished analyses are left alone, so a
    redelivered message does nothing; a database outage is retried, then recorded."""
    from evaluation.services import abtests as services

    try:
        services.abtest_analyses_run_pending(abtest_id=abtest_id)
    except DatabaseError as exc:
        if analyze_abtest_task.request.retries >= analyze_abtest_task.max_retries:
            services.abtest_analysis_fail(abtest_id=abtest_id, message=f"Database error: {exc}")
        raise


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3, acks_late=True)
def aggregate_abtest_upload_task(upload_id: int) -> None:
    """Aggregate a raw per-user upload into the test's results. Idempotent: a finished
    upload is left alone; an interrupted one is read again from the start."""
    from evaluation.services import abtests as services

    services.abtest_raw_upload_process(upload_id=upload_id)


# -- evaluations -------------------------------------------------------------------------------


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.EVALUATION_TIME_LIMIT_SECONDS,
    time_limit=settings.EVALUATION_TIME_LIMIT_SECONDS + 60,
)
def run_evaluation_task(evaluation_id: int) -> None:
    """Compute an evaluation. Idempotent: a finished evaluation is left alone, and a
    redelivered one (its worker died) restarts cleanly as a new attempt."""
    from evaluation.services.evaluations import evaluation_run

    evaluation_run(evaluation_id=evaluation_id)
