"""Celery tasks of evaluations: thin adapters that take ids and run the work in `jobs.py`."""

from celery import shared_task
from django.conf import settings

from evaluation.evaluations import jobs


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.EVALUATION_TIME_LIMIT_SECONDS,
    time_limit=settings.EVALUATION_TIME_LIMIT_SECONDS + 60,
)
def run_evaluation_task(evaluation_id: int) -> None:
    """Compute an evaluation. Idempotent: a finished evaluation is left alone, and a
    redelivered one (its worker died) restarts cleanly as a new attempt."""
    jobs.evaluation_run(evaluation_id=evaluation_id)


@shared_task
def fail_stuck_evaluations_task() -> None:
    """Mark failed the evaluations whose worker was lost. Celery beat sends it every
    EVALUATION_STUCK_SWEEP_SECONDS; idempotent, so overlapping runs do no harm."""
    jobs.evaluations_fail_stuck()
