"""The monitoring pages: the page itself, recording a deployment in the browser, moving
alerts on, and the project page's step-8 panel."""

from datetime import UTC, datetime, timedelta

import pytest

from evaluation.models import Alert, Deployment
from evaluation.monitoring import jobs, services
from mlprojects.models import WatchedMetric


def page(project):
    return f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/"


@pytest.fixture
def breached(project, member, lifecycle):
    WatchedMetric.objects.create(
        cycle=lifecycle.cycle, metric=lifecycle.recall, alert_when="below", threshold=0.7
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    services.metric_values_record(
        project=project,
        user=member,
        values=[
            {"metric": lifecycle.recall.pk, "timestamp": start + timedelta(days=d), "value": v}
            for d, v in enumerate([0.8, 0.6, 0.55])
        ],
    )
    jobs.alerts_evaluate(project_id=project.pk)
    return Alert.objects.get()


def test_the_page_shows_alerts_series_and_deployments(reader_for, project, member, breached):
    services.deployment_create(
        project=project, user=member, what="recall-v2", since=datetime(2026, 11, 1, tzinfo=UTC)
    )
    response = reader_for(member).get(page(project))
    assert response.status_code == 200
    html = response.content.decode()
    assert breached.title in html and "Acknowledge" in html
    assert "recall-v2" in html
    assert 'id="monitoring-charts"' in html and "metric-chart-" in html
    assert "<script>" not in html  # no inline script: the CSP forbids it


def test_a_viewer_sees_no_buttons(reader_for, viewer, project, breached):
    html = reader_for(viewer).get(page(project)).content.decode()
    assert breached.title in html and "Acknowledge" not in html


def test_recording_a_deployment_in_the_browser(reader_for, member, project):
    client = reader_for(member)
    url = page(project) + "deployments/new/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "what": "fraud-gbm v3",
            "environment": "production",
            "since": "2026-11-30T08:00",
            "traffic_share": "0.1",
        },
    )
    assert response.status_code == 302
    deployment = Deployment.objects.get()
    assert deployment.traffic_share == 0.1 and deployment.recorded_by == member


def test_a_bad_deployment_form_is_shown_again_with_its_errors(reader_for, member, project):
    response = reader_for(member).post(
        page(project) + "deployments/new/", {"what": "", "since": "soon", "traffic_share": "2"}
    )
    assert response.status_code == 400
    assert not Deployment.objects.exists()
    assert response.content.decode().count("field-error") >= 3


def test_a_viewer_cannot_record_a_deployment(reader_for, viewer, project):
    assert reader_for(viewer).get(page(project) + "deployments/new/").status_code == 403


def test_acknowledging_and_resolving_in_the_browser(reader_for, member, project, breached):
    client = reader_for(member)
    client.post(page(project) + f"alerts/{breached.pk}/acknowledge/")
    breached.refresh_from_db()
    assert breached.status == "acknowledged" and breached.acknowledged_by == member
    client.post(page(project) + f"alerts/{breached.pk}/resolve/")
    breached.refresh_from_db()
    assert breached.status == "resolved" and breached.resolved_by == member


def test_the_project_page_shows_the_timeline_and_open_alerts(reader_for, member, project, breached):
    services.deployment_create(
        project=project, user=member, what="recall-v2", since=datetime(2026, 11, 1, tzinfo=UTC)
    )
    html = reader_for(member).get(f"/o/{project.organization.slug}/projects/{project.slug}/")
    html = html.content.decode()
    assert "recall-v2" in html and "1 open alert" in html
    assert page(project) in html


def test_monitoring_events_are_in_the_project_activity_feed(project, member, breached):
    from mlprojects.review.selectors import activity

    feed = activity(org=project.organization, project=project)
    alert_lines = [a for a in feed if a.action == "monitoring.alert_opened"]
    assert len(alert_lines) == 1
    assert alert_lines[0].text.startswith("alert: Recall")
    assert alert_lines[0].url == page(project) and alert_lines[0].actor == "system"
