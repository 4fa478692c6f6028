"""Celery tasks of evaluations: thin adapters that take ids and call a service."""

from celery import shared_task
from django.conf import settings


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.EVALUATION_TIME_LIMIT_SECONDS,
    time_limit=settings.EVALUATION_TIME_LIMIT_SECONDS + 60,
)
def run_evaluation_task(evaluation_id: int) -> None:
    """Compute an evaluation. Idempotent: a finished evaluation is left alone, and a
    redelivered one (its worker died) restarts cleanly as a new attempt."""
    from evaluation.evaluations.services import evaluation_run

    evaluation_run(evaluation_id=evaluation_id)
