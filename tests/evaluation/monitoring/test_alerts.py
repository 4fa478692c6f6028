"""Alerts: a watched metric past its threshold for enough values in a row fires exactly
once per breach (also when rules run again, when values arrive late, or concurrently);
drift reports with drifted columns alert; open → acknowledged → resolved by API."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Notification
from evaluation.models import Alert, MonitorSettings
from evaluation.monitoring import jobs, services
from mlprojects.models import WatchedMetric

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def recall_watch(lifecycle):
    """Recall watched: alert when it falls below 0.7."""
    return WatchedMetric.objects.create(
        cycle=lifecycle.cycle, metric=lifecycle.recall, alert_when="below", threshold=0.7
    )


def send(project, member, metric, values, *, start=0):
    services.metric_values_record(
        project=project,
        user=member,
        values=[
            {"metric": metric.pk, "timestamp": DAY0 + timedelta(days=start + i), "value": v}
            for i, v in enumerate(values)
        ],
    )
    return jobs.alerts_evaluate(project_id=project.pk)


def test_two_breaching_values_in_a_row_fire_one_alert(project, member, recall_watch):
    raised = send(project, member, recall_watch.metric, [0.8, 0.75, 0.65, 0.6])
    assert len(raised) == 1
    alert = Alert.objects.get()
    assert alert.status == "open" and alert.kind == "metric"
    assert alert.breach_started_at == DAY0 + timedelta(days=2)
    assert alert.value == 0.6 and alert.threshold == 0.7
    assert "Recall" in alert.title


def test_one_noisy_value_fires_nothing(project, member, recall_watch):
    assert send(project, member, recall_watch.metric, [0.8, 0.5, 0.8, 0.6]) == []
    assert not Alert.objects.exists()


def test_evaluating_again_and_more_breaching_values_do_not_fire_again(
    project, member, recall_watch
):
    send(project, member, recall_watch.metric, [0.6, 0.6])
    assert jobs.alerts_evaluate(project_id=project.pk) == []
    send(project, member, recall_watch.metric, [0.5, 0.4], start=2)
    assert Alert.objects.count() == 1
    assert Alert.objects.get().value == 0.4  # the latest breaching value


def test_a_late_value_extending_the_breach_backwards_is_the_same_breach(
    project, member, recall_watch
):
    send(project, member, recall_watch.metric, [0.9, 0.8, 0.6, 0.6])
    # Day 1's label-based recall is corrected late: the breach began a day earlier.
    send(project, member, recall_watch.metric, [0.65], start=1)
    assert Alert.objects.count() == 1


def test_a_late_value_can_complete_a_breach(project, member, recall_watch):
    send(project, member, recall_watch.metric, [0.9, 0.8, 0.6])
    assert not Alert.objects.exists()
    # The value of day 1 arrives late and breaches too: two in a row at the end.
    send(project, member, recall_watch.metric, [0.65], start=1)
    assert Alert.objects.count() == 1
    assert Alert.objects.get().breach_started_at == DAY0 + timedelta(days=1)


def test_a_new_breach_after_recovery_fires_a_new_alert(project, member, recall_watch):
    send(project, member, recall_watch.metric, [0.6, 0.6, 0.9, 0.6, 0.5])
    assert Alert.objects.count() == 1  # only the latest run is an ongoing breach
    send(project, member, recall_watch.metric, [0.95, 0.6, 0.6], start=5)
    assert Alert.objects.count() == 2


def test_a_resolved_alert_is_not_raised_again_for_the_same_breach(project, member, recall_watch):
    send(project, member, recall_watch.metric, [0.6, 0.6])
    services.alert_resolve(alert=Alert.objects.get(), user=member)
    send(project, member, recall_watch.metric, [0.6], start=2)
    assert Alert.objects.count() == 1


def test_above_thresholds_and_the_consecutive_setting(project, member, lifecycle):
    WatchedMetric.objects.create(
        cycle=lifecycle.cycle, metric=lifecycle.error, alert_when="above", threshold=0.1
    )
    MonitorSettings.objects.create(project=project, consecutive_windows=3)
    assert send(project, member, lifecycle.error, [0.2, 0.3]) == []
    assert len(send(project, member, lifecycle.error, [0.25], start=2)) == 1


def test_the_members_are_notified_in_app(project, member, owner, viewer, recall_watch):
    send(project, member, recall_watch.metric, [0.6, 0.6])
    notified = set(
        Notification.objects.filter(kind="monitoring_alert").values_list("recipient", flat=True)
    )
    assert {member.pk, owner.pk} <= notified
    assert viewer.pk not in notified
    note = Notification.objects.filter(recipient=member).get()
    assert note.url.endswith(f"/projects/{project.slug}/monitoring/#alert-{Alert.objects.get().pk}")


def test_posting_values_checks_the_rules_after_commit(
    api, project, recall_watch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            f"/api/v1/projects/{project.pk}/metric-values/",
            {
                "values": [
                    {"metric": recall_watch.metric_id, "timestamp": f"2026-11-0{d}", "value": 0.5}
                    for d in (1, 2)
                ]
            },
            content_type="application/json",
        )
    assert Alert.objects.count() == 1


def test_the_beat_sweep_finds_monitored_projects(project, member, recall_watch):
    services.metric_values_record(
        project=project,
        user=member,
        values=[
            {"metric": recall_watch.metric_id, "timestamp": DAY0 + timedelta(days=d), "value": 0.5}
            for d in range(2)
        ],
    )
    assert jobs.alerts_evaluate_all() == 1
    assert jobs.alerts_evaluate_all() == 0


def test_watched_metrics_of_an_earlier_cycle_do_not_alert(project, member, recall_watch):
    project.cycle = 2
    project.save(update_fields=["cycle"])
    assert send(project, member, recall_watch.metric, [0.5, 0.5]) == []


# -- the API ----------------------------------------------------------------------------------


def test_alerts_are_listed_and_filtered_by_status(api, project, member, recall_watch):
    send(project, member, recall_watch.metric, [0.6, 0.6])
    body = api.get(f"/api/v1/projects/{project.pk}/alerts/").json()
    assert [a["status"] for a in body["results"]] == ["open"]
    assert body["results"][0]["metric"] == recall_watch.metric_id
    assert api.get(f"/api/v1/projects/{project.pk}/alerts/?status=resolved").json() == {
        "results": []
    }
    assert api.get(f"/api/v1/projects/{project.pk}/alerts/?status=closed").status_code == 400
    # An empty filter is refused too, not read as no filter.
    assert api.get(f"/api/v1/projects/{project.pk}/alerts/?status=").status_code == 400


def test_acknowledge_then_resolve_records_who_and_when(api, project, member, recall_watch):
    send(project, member, recall_watch.metric, [0.6, 0.6])
    alert = Alert.objects.get()
    body = api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/").json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == member.email
    assert body["acknowledged_at"]
    again = api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert again.status_code == 200 and again.json()["acknowledged_at"] == body["acknowledged_at"]
    body = api.post(f"/api/v1/alerts/{alert.pk}/resolve/").json()
    assert body["status"] == "resolved" and body["resolved_by"] == member.email
    refused = api.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid"


def test_a_viewer_cannot_acknowledge(viewer, client_for, project, member, recall_watch):
    send(project, member, recall_watch.metric, [0.6, 0.6])
    alert = Alert.objects.get()
    response = client_for(viewer).post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


# -- drift ------------------------------------------------------------------------------------


def test_a_drift_report_with_drifted_columns_alerts_once(project, member):
    from .conftest import as_upload, drift_frames

    reference, current = drift_frames(seed=1)
    report = services.drift_report_create(
        project=project,
        user=member,
        reference=as_upload(reference, "csv", "r"),
        current=as_upload(current, "csv", "c"),
    )
    jobs.drift_report_run(report_id=report.pk)
    alert = Alert.objects.get()
    assert alert.kind == "drift" and alert.drift_report == report
    assert "amount" in alert.details["columns"]
    assert jobs.drift_alert_raise(report) is None  # the same report never alerts twice
    assert Alert.objects.count() == 1


def test_drift_alerts_can_be_switched_off(project, member):
    from .conftest import as_upload, drift_frames

    MonitorSettings.objects.create(project=project, alert_on_drift=False)
    reference, current = drift_frames(seed=1)
    report = services.drift_report_create(
        project=project,
        user=member,
        reference=as_upload(reference, "csv", "r"),
        current=as_upload(current, "csv", "c"),
    )
    jobs.drift_report_run(report_id=report.pk)
    assert not Alert.objects.exists()


def test_breach_run_reads_the_newest_values_first():
    t = [DAY0 + timedelta(days=i) for i in range(4)]
    newest_first = [(t[3], 0.5), (t[2], 0.6), (t[1], 0.9), (t[0], 0.5)]
    assert jobs.breach_run(newest_first, alert_when="below", threshold=0.7) == (2, t[2], t[3], 0.5)
    assert jobs.breach_run([], alert_when="below", threshold=0.7) == (0, None, None, None)
