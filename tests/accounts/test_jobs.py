"""Durable background jobs (accounts.jobs), shown with outgoing emails: the row is the
outbox, the sweep sends what the broker did not get and reclaims what a dead worker left
running, attempts are bounded and audited, and a duplicate message does nothing."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import jobs
from accounts.models import JobAttempt, OutgoingEmail
from accounts.services import notify
from accounts.tasks import send_outgoing_email_task, sweep_jobs_task
from mlprojects.celery import app
from mlprojects.review.models import NotificationKind
from tests.worker import broker_unreachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_broker():
    with broker_unreachable():
        yield


def mention(org, member) -> OutgoingEmail:
    (notification,) = notify(
        org=org,
        recipients=[member],
        actor=None,
        kind=NotificationKind.MENTION,
        text="Sam mentioned you",
        url="/o/acme/",
    )
    return OutgoingEmail.objects.get(notification=notification)


def age(email: OutgoingEmail, **fields_seconds_ago: int) -> None:
    now = timezone.now()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        **{field: now - timedelta(seconds=s) for field, s in fields_seconds_ago.items()}
    )


def test_a_job_whose_broker_is_down_at_commit_stays_queued_unsent(
    org, member, dead_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email = mention(org, member)
    email.refresh_from_db()
    assert (email.status, email.dispatched_at, email.attempts) == ("queued", None, 0)
    assert mail.outbox == []


def test_the_sweep_sends_a_job_the_broker_never_got_and_it_runs_once(
    org, member, dead_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email = mention(org, member)
    app.conf.task_always_eager = True  # the broker is back (tasks run inline)
    assert jobs.jobs_sweep()["dispatched"] == 0  # still within the grace of its own send
    age(email, queued_at=60)
    sweep_jobs_task()
    sweep_jobs_task()
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("succeeded", 1)
    assert email.notification.emailed_at is not None


def test_a_duplicate_message_for_a_sent_email_sends_nothing(org, member):
    email = mention(org, member)
    send_outgoing_email_task(email.pk)
    send_outgoing_email_task(email.pk)
    assert len(mail.outbox) == 1


def test_a_job_whose_message_was_lost_is_sent_again(org, member, settings):
    email = mention(org, member)
    # Sent long ago, never started: the embedded broker lost it with its worker.
    age(email, queued_at=settings.JOB_RECLAIM_AFTER_SECONDS + 60)
    age(email, dispatched_at=settings.JOB_RECLAIM_AFTER_SECONDS + 30)
    assert jobs.jobs_sweep()["dispatched"] == 1
    assert len(mail.outbox) == 1


def claimed_then_lost(email: OutgoingEmail, settings) -> int:
    attempt = jobs.job_claim(OutgoingEmail, email.pk)
    age(email, heartbeat_at=settings.JOB_RECLAIM_AFTER_SECONDS + 1)
    return attempt


def test_a_running_job_whose_heartbeat_stopped_is_reclaimed_and_finishes_once(
    org, member, settings, django_capture_on_commit_callbacks
):
    email = mention(org, member)
    assert claimed_then_lost(email, settings) == 1
    assert jobs.jobs_overdue() == {"queued_too_long": 0, "stale": 1}
    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs.jobs_sweep()
    assert counts["reclaimed"] == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("succeeded", 2)
    assert len(mail.outbox) == 1
    attempts = JobAttempt.objects.filter(job_type="accounts.outgoingemail", job_id=email.pk)
    assert [(a.number, a.outcome) for a in attempts] == [(1, "lost"), (2, "succeeded")]
    assert all(a.worker and a.started_at for a in attempts)
    assert attempts[0].finished_at is not None
    assert jobs.jobs_overdue() == {"queued_too_long": 0, "stale": 0}


def test_a_running_job_with_a_live_heartbeat_is_left_alone(org, member):
    email = mention(org, member)
    jobs.job_claim(OutgoingEmail, email.pk)
    assert jobs.jobs_sweep() == {"reclaimed": 0, "failed": 0, "dispatched": 0}
    send_outgoing_email_task(email.pk)  # a redelivered message
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("running", 1)
    assert mail.outbox == []


def test_a_job_out_of_attempts_fails_with_a_clear_error(org, member, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    email = mention(org, member)
    assert claimed_then_lost(email, settings) == 1
    assert claimed_then_lost(email, settings) == 2  # a redelivered message restarted it
    assert jobs.jobs_sweep()["failed"] == 1
    email.refresh_from_db()
    assert email.status == "failed"
    assert "started 2 times" in email.error and "JOB_MAX_ATTEMPTS" in email.error
    assert mail.outbox == []
    outcomes = JobAttempt.objects.filter(job_id=email.pk).values_list("outcome", flat=True)
    assert list(outcomes) == ["lost", "lost"]


def test_a_job_queued_too_long_is_reported_as_overdue(org, member, settings):
    email = mention(org, member)
    age(email, queued_at=settings.JOB_RECLAIM_AFTER_SECONDS + 1)
    assert jobs.jobs_overdue() == {"queued_too_long": 1, "stale": 0}


def test_the_heartbeat_thread_keeps_a_running_job_alive(settings, transactional_db):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    email = OutgoingEmail.objects.create(to="a@acme.test", subject="Hi", body="Hello")
    attempt = jobs.job_claim(OutgoingEmail, email.pk)
    age(email, heartbeat_at=3600)
    with jobs.job_heartbeat(OutgoingEmail, email.pk, attempt):
        email.refresh_from_db()
        deadline = timezone.now() + timedelta(seconds=5)
        while email.heartbeat_at < timezone.now() - timedelta(seconds=60):
            assert timezone.now() < deadline, "no heartbeat was written"
            email.refresh_from_db()
    assert jobs.jobs_overdue()["stale"] == 0


def test_the_sweep_is_scheduled_by_celery_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-jobs"]
    assert app.tasks[entry["task"]].name == sweep_jobs_task.name
    assert entry["schedule"] == settings.JOB_DISPATCH_SWEEP_SECONDS


def test_every_job_model_names_a_registered_task():
    names = {model._meta.label_lower: model.job_task for model in jobs.job_models()}
    assert set(names) == {
        "accounts.outgoingemail",
        "evaluation.evaluation",
        "evaluation.abtestanalysis",
        "evaluation.abwarehouserefresh",
        "evaluation.driftreport",
    }
    for task in names.values():
        assert import_string(task).name == task
