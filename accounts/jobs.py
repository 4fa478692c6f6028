"""Durable background jobs: the life of every `BackgroundJob` row (evaluations, A/B
analyses, outgoing emails), whatever it computes.

    queued ──claim──▶ running ──▶ succeeded | failed
       ▲                 │
       └──── reclaim ────┘   (heartbeat stopped; at most JOB_MAX_ATTEMPTS starts)

- `job_enqueue` marks a row queued inside the caller's transaction and sends its task
  after commit. The row is the outbox: if the broker is unreachable the request still
  succeeds, the row stays queued with no `dispatched_at`, and the sweep sends it later.
- `job_claim` starts an attempt under a row lock. A message for a job that is finished,
  or running with a live heartbeat, does nothing, so duplicate and redelivered messages
  are harmless.
- `job_heartbeat` keeps `heartbeat_at` fresh from a thread while the attempt runs.
- `job_succeed` / `job_fail` end the current attempt, only if it still is the current one.
- `jobs_sweep` (Celery beat, every JOB_DISPATCH_SWEEP_SECONDS) sends queued jobs whose
  message was never sent or seems lost, and reclaims running jobs whose heartbeat stopped.

The apps' own job code keeps its domain logic (what to compute, what to write on
success) and calls these functions for the bookkeeping.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError

from accounts.models import BackgroundJob, JobAttempt, JobState

logger = logging.getLogger(__name__)

# A job committed this recently may still be on its way to the broker through its own
# `on_commit`; the sweep leaves it to that first send.
DISPATCH_GRACE_SECONDS = 5

LOST_MESSAGE = (
    "The job was started {attempts} times and its worker stopped each time (crashed, "
    "killed or out of memory). It will not be tried again; ask an administrator to look "
    "at the worker logs, or raise JOB_MAX_ATTEMPTS."
)


def job_type(model: type[BackgroundJob]) -> str:
    return model._meta.label_lower


def job_models() -> list[type[BackgroundJob]]:
    """Every concrete job model of the installed apps."""
    return [m for m in apps.get_models() if issubclass(m, BackgroundJob) and not m._meta.abstract]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- sending -------------------------------------------------------------------------------


def job_enqueue(job: BackgroundJob) -> None:
    """Mark a saved job queued (inside the caller's transaction) and send its task once
    the transaction commits. Never raises for a broker outage: the job stays queued and
    the sweep sends it when the broker is back."""
    job.status = JobState.QUEUED
    job.queued_at = timezone.now()
    job.dispatched_at = None
    type(job).objects.filter(pk=job.pk).update(
        status=job.status, queued_at=job.queued_at, dispatched_at=None
    )
    model, pk = type(job), job.pk
    transaction.on_commit(lambda: job_dispatch(model, pk))


def job_dispatch(model: type[BackgroundJob], pk: int) -> bool:
    """Hand the job's task to the broker; stamp `dispatched_at` when it was accepted.
    Returns False (and logs) when the broker could not be reached."""
    task = import_string(model.job_task)
    try:
        task.apply_async(args=[pk])
    except (OperationalError, OSError) as exc:
        logger.warning(
            "Could not send %s %s to the broker (%s); it stays queued and is sent by the "
            "next sweep",
            job_type(model),
            pk,
            exc,
        )
        return False
    model.objects.filter(pk=pk, status=JobState.QUEUED).update(dispatched_at=timezone.now())
    return True


# --- running -------------------------------------------------------------------------------


def _reclaim_cutoff():
    return timezone.now() - timedelta(seconds=settings.JOB_RECLAIM_AFTER_SECONDS)


def _stale(job: BackgroundJob) -> bool:
    return job.heartbeat_at is None or job.heartbeat_at < _reclaim_cutoff()


def _close_attempt(job: BackgroundJob, outcome: str, error: str = "") -> None:
    JobAttempt.objects.filter(
        job_type=job_type(type(job)), job_id=job.pk, number=job.attempts
    ).update(outcome=outcome, error=error[:2000], finished_at=timezone.now())


def _fail_locked(job: BackgroundJob, message: str, outcome: str) -> None:
    if job.status == JobState.RUNNING:
        _close_attempt(job, outcome, message)
    job.status = JobState.FAILED
    job.error = message
    job.finished_at = timezone.now()
    if hasattr(job, "result"):
        job.result = None
    job.save()


def job_claim(model: type[BackgroundJob], pk: int) -> int | None:
    """Start a new attempt of a queued job (or of a running one whose heartbeat stopped):
    the attempt's number, or None when there is nothing to do (finished, running
    elsewhere, deleted, or out of attempts - then it is failed with a clear error)."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None:
            return None
        if job.status == JobState.RUNNING and _stale(job):
            logger.warning("%s %s attempt %s was lost", job_type(model), pk, job.attempts)
            _close_attempt(job, JobAttempt.Outcome.LOST)
        elif job.status != JobState.QUEUED:
            return None
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            job.status = JobState.QUEUED  # the lost attempt is already closed
            _fail_locked(job, LOST_MESSAGE.format(attempts=job.attempts), "lost")
            return None
        now = timezone.now()
        job.status = JobState.RUNNING
        job.attempts += 1
        job.heartbeat_at = now
        job.worker = worker_name()[:200]
        fields = ["status", "attempts", "heartbeat_at", "worker"]
        if hasattr(job, "started_at"):
            job.started_at = now
            fields.append("started_at")
        job.save(update_fields=fields)
        JobAttempt.objects.create(
            job_type=job_type(model),
            job_id=pk,
            number=job.attempts,
            requested_by_id=getattr(job, "created_by_id", None),
            worker=job.worker,
            started_at=now,
        )
        return job.attempts


def job_current(model: type[BackgroundJob], pk: int, attempt: int) -> QuerySet:
    """The job, only while `attempt` is its running attempt: filter writes through it."""
    return model.objects.filter(pk=pk, status=JobState.RUNNING, attempts=attempt)


def job_lock_current(model: type[BackgroundJob], pk: int, attempt: int) -> Any | None:
    """Lock the job's row (inside a transaction) if `attempt` is its running attempt."""
    return job_current(model, pk, attempt).select_for_update().first()


def job_succeed(job: BackgroundJob, **fields: Any) -> None:
    """Mark a locked, current job succeeded with `fields` (call inside the transaction
    that writes its results, after `job_lock_current`)."""
    _close_attempt(job, JobAttempt.Outcome.SUCCEEDED)
    job.status = JobState.SUCCEEDED
    job.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


@transaction.atomic
def job_fail(
    model: type[BackgroundJob], pk: int, *, message: str, attempt: int | None = None
) -> BackgroundJob | None:
    """Mark the job failed with a message for its owner; with `attempt`, only if that is
    still its running attempt. Returns the failed job, or None if nothing changed."""
    if attempt is None:
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status in (JobState.SUCCEEDED, JobState.FAILED):
            return None
    else:
        job = job_lock_current(model, pk, attempt)
        if job is None:
            return None
    _fail_locked(job, message, JobAttempt.Outcome.FAILED)
    return job


@contextmanager
def job_heartbeat(model: type[BackgroundJob], pk: int, attempt: int) -> Iterator[None]:
    """Write `heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread while the body runs
    (a long computation holds no lock and writes nothing for minutes). The thread stops
    by itself once the attempt is no longer current."""
    stop = threading.Event()
    interval = settings.JOB_HEARTBEAT_SECONDS

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    if not job_current(model, pk, attempt).update(heartbeat_at=timezone.now()):
                        return
                except DatabaseError as exc:  # a busy database: try again next beat
                    logger.warning("Heartbeat of %s %s failed: %s", job_type(model), pk, exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"heartbeat-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


# --- the sweep -----------------------------------------------------------------------------


def _queued_unsent(model: type[BackgroundJob]) -> QuerySet:
    """Queued jobs whose message was never sent (the broker was down at commit, or the
    process died before its `on_commit`), or was sent so long ago that it must be lost
    (the embedded broker loses a message whose worker died)."""
    now = timezone.now()
    return model.objects.filter(status=JobState.QUEUED).filter(
        Q(dispatched_at__isnull=True, queued_at__isnull=True)
        | Q(
            dispatched_at__isnull=True,
            queued_at__lt=now - timedelta(seconds=DISPATCH_GRACE_SECONDS),
        )
        | Q(dispatched_at__lt=_reclaim_cutoff())
    )


def _running_stale(model: type[BackgroundJob]) -> QuerySet:
    return model.objects.filter(status=JobState.RUNNING).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_reclaim_cutoff())
    )


def job_reclaim(model: type[BackgroundJob], pk: int) -> str | None:
    """Put a running job whose heartbeat stopped back in the queue (its attempt is
    recorded as lost), or fail it when it has used every attempt. Returns "queued",
    "failed", or None if it was not stale after all."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status != JobState.RUNNING or not _stale(job):
            return None
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _fail_locked(job, LOST_MESSAGE.format(attempts=job.attempts), "lost")
            return "failed"
        _close_attempt(job, JobAttempt.Outcome.LOST)
        logger.warning(
            "%s %s attempt %s stopped beating; queued again", job_type(model), pk, job.attempts
        )
        job_enqueue(job)
        return "queued"


def jobs_sweep() -> dict[str, int]:
    """Reclaim running jobs whose heartbeat stopped and send queued jobs whose message
    was never sent or was lost. Idempotent: overlapping sweeps only send a duplicate
    message, which finds the job claimed and does nothing. Returns counts."""
    counts = {"reclaimed": 0, "failed": 0, "dispatched": 0}
    for model in job_models():
        for pk in list(_running_stale(model).values_list("pk", flat=True)):
            outcome = job_reclaim(model, pk)
            if outcome == "queued":
                counts["reclaimed"] += 1
            elif outcome == "failed":
                counts["failed"] += 1
        for pk in list(_queued_unsent(model).values_list("pk", flat=True)):
            counts["dispatched"] += job_dispatch(model, pk)
    return counts


def jobs_overdue() -> dict[str, int]:
    """For alerting: jobs queued longer than JOB_RECLAIM_AFTER_SECONDS, and running jobs
    whose heartbeat is older than that (the sweep should have dealt with both)."""
    cutoff = _reclaim_cutoff()
    queued = stale = 0
    for model in job_models():
        queued += model.objects.filter(status=JobState.QUEUED, queued_at__lt=cutoff).count()
        stale += _running_stale(model).count()
    return {"queued_too_long": queued, "stale": stale}


# --- outgoing emails -----------------------------------------------------------------------


def outgoing_email_send(*, email_id: int) -> None:
    """Send one `OutgoingEmail` (what `send_outgoing_email_task` does). A notification's
    email is skipped if its recipient muted email since; the notification is stamped
    `emailed_at` in the transaction that marks the email sent."""
    from django.core.mail import send_mail

    from accounts.models import OutgoingEmail

    attempt = job_claim(OutgoingEmail, email_id)
    if attempt is None:
        return
    email = OutgoingEmail.objects.select_related("notification__recipient").get(pk=email_id)
    notification = email.notification
    muted = notification is not None and not notification.recipient.email_notifications
    if not muted:
        try:
            send_mail(
                subject=email.subject,
                message=email.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[email.to],
            )
        except OSError as exc:  # the mail server is unreachable: the sweep tries again
            logger.warning("Email %s not sent (%s); it will be tried again", email_id, exc)
            with transaction.atomic():
                job = job_lock_current(OutgoingEmail, email_id, attempt)
                if job is not None:
                    _close_attempt(job, JobAttempt.Outcome.FAILED, str(exc))
                    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
                        _fail_locked(job, f"The mail server refused the email: {exc}", "failed")
                    else:
                        # Back in the queue as if just sent: the sweep sends it again
                        # after JOB_RECLAIM_AFTER_SECONDS, not in a tight loop.
                        now = timezone.now()
                        OutgoingEmail.objects.filter(pk=email_id).update(
                            status=JobState.QUEUED, queued_at=now, dispatched_at=now
                        )
            return
    with transaction.atomic():
        job = job_lock_current(OutgoingEmail, email_id, attempt)
        if job is None:
            return
        job_succeed(job)
        if notification is not None and not muted:
            type(notification).objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
