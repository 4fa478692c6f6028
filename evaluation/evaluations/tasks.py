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
    """Compute an evaluation. Idempotent: an evaluation that is finished, or running on a
    live worker, is left alone; one whose worker stopped beating restarts cleanly as a
    new attempt."""
    jobs.evaluation_run(evaluation_id=evaluation_id)
