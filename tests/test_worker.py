"""Integration with a real Celery worker process on Redis."""

import time

import pytest

from mlprojects.celery import app
from tests.worker import wait_for

pytestmark = pytest.mark.worker


def test_an_invitation_email_is_sent_by_the_worker_after_commit(
    celery_worker_process, org, owner, client_for
):
    response = client_for(owner).post(
        f"/o/{org.slug}/members/invite/", {"email": "worker@acme.test", "role": "member"}
    )
    assert response.status_code == 302

    def mail_with_link():
        for path in celery_worker_process.mail_dir.glob("*.log"):
            text = path.read_text()
            if "worker@acme.test" in text and "/invitations/" in text:
                return text
        return None

    text = wait_for(
        mail_with_link,
        timeout=30,
        message=f"no invitation mail; worker log:\n{celery_worker_process.log()}",
    )
    assert f"invited you to {org.name}" in text


def test_a_task_logs_under_the_id_of_the_request_that_enqueued_it(
    celery_worker_process, org, owner, client_for
):
    client_for(owner).post(
        f"/o/{org.slug}/members/invite/",
        {"email": "traced@acme.test", "role": "member"},
        HTTP_X_REQUEST_ID="invite-req-42",
    )
    wait_for(
        lambda: "[invite-req-42]" in celery_worker_process.log(),
        timeout=30,
        message=f"no worker line with the request id:\n{celery_worker_process.log()}",
    )


def test_worker_status_reports_the_broker_and_a_consuming_worker(celery_worker_process, client):
    response = wait_for(
        lambda: (r := client.get("/status/workers")).status_code == 200 and r,
        timeout=20,
        message="/status/workers never reported a worker",
    )
    checks = response.json()["checks"]
    assert checks["broker"] == "ok"
    assert checks["workers"] == "ok (1 worker)"
    assert checks["beat"].startswith(("unknown", "ok"))


def test_worker_status_answers_503_without_a_worker_while_healthz_stays_ok(
    transactional_db, client
):
    from mlprojects.celery import app

    app.conf.task_always_eager = False
    try:
        response = client.get("/status/workers")
        liveness = client.get("/healthz")
    finally:
        app.conf.task_always_eager = True
    assert response.status_code == 503
    assert response.json()["checks"]["workers"].startswith("error: no worker consuming")
    assert liveness.status_code == 200


def test_a_mention_while_the_broker_is_down_saves_the_comment_and_mails_once_it_is_back(
    transactional_db, org, project, member, stakeholder, client_for, tmp_path
):
    from accounts.models import OutgoingEmail
    from mlprojects.models import Comment
    from tests.worker import FAST_JOBS, broker_unreachable, start_worker

    with broker_unreachable():
        response = client_for(member).post(
            f"/o/{org.slug}/projects/{project.slug}/comments/goals/new/",
            {"body": "@stakeholder please check the metrics"},
        )
    assert response.status_code == 302
    assert Comment.objects.count() == 1
    (email,) = OutgoingEmail.objects.all()
    assert (email.to, email.status, email.dispatched_at) == (stakeholder.email, "queued", None)

    app.conf.task_always_eager = False
    worker = start_worker(tmp_path, beat=True, extra_env=FAST_JOBS)
    try:
        wait_for(
            lambda: OutgoingEmail.objects.get().status == "succeeded",
            timeout=120,
            message=f"the sweep never sent the email:\n{worker.log()}",
        )
        time.sleep(3)  # further sweeps must not send it again
    finally:
        app.conf.task_always_eager = True
        worker.kill()
    mails = "".join(p.read_text() for p in worker.mail_dir.glob("*.log"))
    assert mails.count(f"To: {stakeholder.email}") == 1, mails
    assert "mentioned you" in mails
    assert OutgoingEmail.objects.get().attempts == 1
