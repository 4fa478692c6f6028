"""Celery tasks of monitoring: thin adapters that take ids and run the work in `jobs.py`."""

from celery import shared_task
from django.conf import settings

from evaluation.monitoring import jobs


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.MONITORING_TIME_LIMIT_SECONDS,
    time_limit=settings.MONITORING_TIME_LIMIT_SECONDS + 60,
)
def run_drift_report_task(report_id: int) -> None:
    """Compute a drift report. Idempotent: a finished report is left alone, and a
    redelivered one (its worker died) restarts as a new attempt."""
    jobs.drift_report_run(report_id=report_id)
