"""Celery tasks of monitoring: thin adapters that take ids and run the work in `jobs.py`."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

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


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def evaluate_alerts_task(project_id: int) -> None:
    """Check a project's alert rules after values arrived. Idempotent: a breach alerts once."""
    jobs.alerts_evaluate(project_id=project_id)


@shared_task
def evaluate_all_alerts_task() -> None:
    """Beat's sweep over every monitored project (MONITORING_ALERT_SWEEP_SECONDS); first
    sends again the day partitions of window computations that stalled."""
    for project_id, day, computation_id in jobs.window_computations_stalled():
        compute_window_partition_task.delay(project_id, day, computation_id)
    jobs.alerts_evaluate_all()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def compute_window_partition_task(
    project_id: int, day: str, computation_id: int | None = None
) -> None:
    """(Re)compute the monitoring windows of one day partition, one task of a
    computation's fan-out (the last to finish evaluates the alert rules, once).
    Idempotent: it reads the stored rows and labels and overwrites the day's windows."""
    jobs.window_partition_compute(project_id=project_id, day=day, computation_id=computation_id)
