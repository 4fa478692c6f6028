"""Drift reports are durable background jobs (`accounts.jobs`): a report whose message
was lost is sent again by the sweep, one whose worker died is reclaimed and computed by
a new attempt, and the API contract stays the same."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.jobs import job_claim, jobs_sweep
from accounts.models import JobAttempt
from evaluation.models import DriftReport
from tests.evaluation.monitoring.conftest import as_upload, drift_frames


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def submit(api, project) -> DriftReport:
    reference, current = drift_frames()
    response = api.post(
        f"/api/v1/projects/{project.pk}/drift-reports/",
        {"reference": as_upload(reference, "csv", "r"), "current": as_upload(current, "csv", "c")},
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    return DriftReport.objects.get(pk=response.json()["id"])


def attempts(report):
    return list(
        JobAttempt.objects.filter(job_type="evaluation.driftreport", job_id=report.pk)
        .order_by("number")
        .values_list("outcome", flat=True)
    )


def test_a_report_whose_message_was_lost_is_sent_by_the_sweep(
    api, project, django_capture_on_commit_callbacks
):
    report = submit(api, project)  # committed, but its task never reached a worker
    assert report.queued_at is not None and report.dispatched_at is None
    DriftReport.objects.filter(pk=report.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_sweep()["dispatched"] == 1
    body = api.get(f"/api/v1/drift-reports/{report.pk}/").json()
    assert body["status"] == "succeeded" and body["share_drifted"] > 0
    assert {"column", "type", "method", "statistic", "threshold", "drifted", "psi"} <= set(
        body["columns"][0]
    )
    assert attempts(report) == ["succeeded"]


def test_a_report_whose_worker_died_is_reclaimed_and_computed_again(
    api, project, django_capture_on_commit_callbacks
):
    report = submit(api, project)
    assert job_claim(DriftReport, report.pk) == 1  # a worker starts it…
    DriftReport.objects.filter(pk=report.pk).update(  # …and dies: its heartbeat stops
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert api.get(f"/api/v1/drift-reports/{report.pk}/").json()["status"] == "running"
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_sweep()["reclaimed"] == 1
    report.refresh_from_db()
    assert report.status == "succeeded" and report.attempts == 2 and report.result
    assert attempts(report) == ["lost", "succeeded"]


def test_a_failed_report_records_its_attempt(api, project, django_capture_on_commit_callbacks):
    import pandas as pd

    # Free text is neither numeric nor categorical: the report fails with a message.
    notes = pd.DataFrame({"note": [f"free text {i}" for i in range(300)]})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/projects/{project.pk}/drift-reports/",
            {
                "reference": as_upload(notes, "csv", "r"),
                "current": as_upload(notes, "csv", "c"),
                "columns": '["note"]',
            },
        )
    report = DriftReport.objects.get(pk=response.json()["id"])
    body = api.get(f"/api/v1/drift-reports/{report.pk}/").json()
    assert body["status"] == "failed" and body["error"]
    assert attempts(report) == ["failed"]
