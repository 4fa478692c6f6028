"""Integration with a real Celery worker process on Redis."""

import pytest

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


def test_healthz_reports_the_database_broker_and_worker(celery_worker_process, client):
    response = wait_for(
        lambda: (r := client.get("/healthz")).status_code == 200 and r,
        timeout=20,
        message="healthz never reported a worker",
    )
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"] == "ok"
    assert checks["worker"].startswith("ok")


def test_healthz_answers_503_without_a_worker(transactional_db, client, settings):
    from mlprojects.celery import app

    app.conf.task_always_eager = False
    try:
        response = client.get("/healthz")
    finally:
        app.conf.task_always_eager = True
    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("error")
