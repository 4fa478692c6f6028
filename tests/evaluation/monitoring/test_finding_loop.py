"""The loop back: a drift cell or a worst slice of a window recorded as a structured
finding of step 9, a decision on each finding (carry, won't fix with a reason, reopen)
that readiness waits for, and the next cycle seeded from the findings to carry - as
hypotheses and, when asked, causes of the problem tree."""

from datetime import UTC, datetime, timedelta

import pytest

from evaluation.models import Alert, MonitoringWindow
from mlprojects.lifecycle import readiness, selectors
from mlprojects.lifecycle.services import cycle_start_next, finding_decide
from mlprojects.models import Finding, Hypothesis, ProblemNode

START = datetime(2026, 11, 5, tzinfo=UTC)


@pytest.fixture
def window(project):
    return MonitoringWindow.objects.create(
        project=project,
        size="day",
        start=START,
        end=START + timedelta(days=1),
        rows=300,
        labelled_rows=120,
        computed_at=START + timedelta(days=2),
        result={
            "drift": {
                "columns": [
                    {
                        "column": "merchant",
                        "type": "categorical",
                        "method": "chisquare",
                        "statistic": 0.0001,
                        "threshold": 0.05,
                        "drifted": True,
                        "psi": 0.41,
                    }
                ]
            },
            "worst_slices": [
                {
                    "column": "merchant",
                    "value": "crypto",
                    "kind": "value",
                    "rows": 40,
                    "errors": 30.0,
                    "rate": 0.75,
                    "ci_low": 0.6,
                    "ci_high": 0.86,
                    "lower": None,
                    "upper": None,
                }
            ],
        },
    )


def url(project, rest=""):
    return f"/api/v1/projects/{project.pk}/findings/{rest}"


def post(api, project, body, rest=""):
    return api.post(url(project, rest), body, content_type="application/json")


def test_a_drift_cell_becomes_a_finding_with_its_evidence(api, project, window):
    response = post(
        api,
        project,
        {"window": window.pk, "column": "merchant", "suspected_cause": "New merchants."},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["evidence_kind"] == "drift_cell" and body["status"] == "open"
    assert body["what"].startswith("merchant drifted in the day of 2026-11-05 00:00 UTC")
    assert (
        f"window={window.pk}" in body["evidence_url"] and "column=merchant" in body["evidence_url"]
    )
    assert body["evidence_url"].endswith(f"#window-{window.pk}")
    assert body["evidence"]["drift"]["psi"] == 0.41 and body["evidence"]["window"] == window.pk


def test_a_worst_slice_becomes_a_finding(api, project, window):
    response = post(
        api, project, {"window": window.pk, "slice_column": "merchant", "slice_value": "crypto"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["evidence_kind"] == "slice"
    assert "merchant = crypto" in body["what"] and "75% of 40 rows wrong" in body["what"]
    assert body["evidence"]["slice"]["ci_low"] == 0.6


@pytest.mark.parametrize(
    "body, field",
    [
        ({"window": 0, "column": "merchant"}, "window"),
        ({"column": "merchant"}, "window"),
        ({"window": "W", "column": "merchant", "slice_column": "merchant"}, "window"),
        ({"window": "W"}, "window"),
        ({"window": "W", "column": "amount"}, "column"),
        ({"window": "W", "slice_column": "merchant", "slice_value": "fuel"}, "slice_value"),
    ],
)
def test_bad_evidence_is_a_400(api, project, window, body, field):
    body = {k: (window.pk if v == "W" else v) for k, v in body.items()}
    response = post(api, project, body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Finding.objects.exists()


def test_another_projects_window_is_refused(api, project, other_project, window):
    window.project = other_project
    window.save()
    response = post(api, project, {"window": window.pk, "column": "merchant"})
    assert response.status_code == 400


def test_recording_from_the_monitoring_page(reader_for, member, project, window):
    client = reader_for(member)
    page = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/"
    response = client.post(page + f"windows/{window.pk}/finding/", {"column": "merchant"})
    assert response.status_code == 302 and response["Location"].endswith(f"#window-{window.pk}")
    response = client.post(
        page + f"windows/{window.pk}/finding/",
        {"slice_column": "merchant", "slice_value": "crypto"},
    )
    assert [f.evidence_kind for f in Finding.objects.all()] == ["drift_cell", "slice"]


def test_a_viewer_cannot_record_from_a_window(reader_for, viewer, project, window):
    page = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/"
    response = reader_for(viewer).post(page + f"windows/{window.pk}/finding/", {"column": "x"})
    assert response.status_code == 403


def test_decisions_by_api_need_a_reason_to_wont_fix(api, project, member):
    finding = post(api, project, {"what": "Night traffic doubled"}).json()
    response = post(api, project, {"decision": "wont_fix"}, f"{finding['id']}/decision/")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    response = post(
        api,
        project,
        {"decision": "wont_fix", "reason": "A marketing campaign."},
        f"{finding['id']}/decision/",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "dismissed" and body["decision_reason"] == "A marketing campaign."
    assert body["decided_by"] == member.email and body["decided_at"]
    response = post(api, project, {"decision": "reopen"}, f"{finding['id']}/decision/")
    assert response.json()["status"] == "open" and response.json()["decided_by"] is None
    response = post(api, project, {"decision": "maybe"}, f"{finding['id']}/decision/")
    assert response.status_code == 400


def test_another_projects_finding_is_a_404(api, project, other_project):
    from mlprojects.lifecycle.selectors import cycle_get

    other = Finding.objects.create(cycle=cycle_get(project=other_project), what="x")
    response = post(api, project, {"decision": "carry"}, f"{other.pk}/decision/")
    assert response.status_code == 404


def readiness_of(project):
    cycle = selectors.cycle_get(project=project)
    return readiness.evaluate(selectors.cycle_steps(cycle))


def test_readiness_waits_for_a_decision_on_every_finding(api, project, member):
    finding = Finding.objects.get(pk=post(api, project, {"what": "Drift"}).json()["id"])
    missing = {c.key: c.message for c in readiness_of(project).missing}
    assert "“Drift”" in missing["findings"]
    finding_decide(project=project, user=member, finding=finding, decision="carry")
    assert "findings" not in [c.key for c in readiness_of(project).missing]
    assert readiness_of(project).step_status("further_analysis", True) == "done"


def test_the_next_cycle_is_seeded_from_the_findings_to_carry(api, project, member, window):
    root = ProblemNode.objects.create(cycle=selectors.cycle_get(project=project), title="Fraud")
    carried = post(
        api,
        project,
        {
            "window": window.pk,
            "column": "merchant",
            "suspected_cause": "Crypto exchanges, unseen in training",
            "as_cause": True,
        },
    ).json()
    post(api, project, {"decision": "carry"}, f"{carried['id']}/decision/")
    dropped = post(api, project, {"what": "A test merchant"}).json()
    post(
        api, project, {"decision": "wont_fix", "reason": "Test data"}, f"{dropped['id']}/decision/"
    )
    cycle_start_next(project=project, user=member)
    finding = Finding.objects.get(pk=carried["id"])
    assert finding.status == "carried_forward"
    hypothesis = Hypothesis.objects.get(pk=finding.hypothesis_id)
    assert hypothesis.cycle.number == 2 and "Crypto exchanges" in hypothesis.statement
    assert f"window={window.pk}" in hypothesis.evidence
    assert finding.cause.title == "Crypto exchanges, unseen in training"
    assert finding.cause.parent.title == root.title and finding.cause.cycle.number == 2
    assert Finding.objects.get(pk=dropped["id"]).status == "dismissed"
    assert not Hypothesis.objects.filter(statement__startswith="A test merchant").exists()
    # Findings of the closed cycle keep their decision.
    response = post(api, project, {"decision": "reopen"}, f"{dropped['id']}/decision/")
    assert response.status_code == 400


def test_deciding_in_the_browser(reader_for, member, project):
    finding = Finding.objects.create(cycle=selectors.cycle_get(project=project), what="Drift")
    client = reader_for(member)
    page = f"/o/{project.organization.slug}/projects/{project.slug}/"
    assert "Carry into the next cycle" in client.get(page).content.decode()
    client.post(page + f"findings/{finding.pk}/decision/", {"decision": "wont_fix"})
    finding.refresh_from_db()
    assert finding.status == "open"  # no reason: refused with a message
    client.post(
        page + f"findings/{finding.pk}/decision/", {"decision": "wont_fix", "reason": "Known"}
    )
    finding.refresh_from_db()
    assert finding.status == "dismissed" and finding.decided_by == member


def test_the_dashboard_lists_projects_with_open_alerts(reader_for, member, project, org):
    Alert.objects.create(project=project, kind="drift", title="Drift")
    Alert.objects.create(project=project, kind="drift", title="Old", status="resolved")
    html = reader_for(member).get(f"/o/{org.slug}/").content.decode()
    assert "Alerts in production" in html and "1 open" in html and project.name in html


def test_the_dashboard_shows_no_alert_panel_without_open_alerts(reader_for, member, org, project):
    Alert.objects.create(project=project, kind="drift", title="Old", status="resolved")
    assert "Alerts in production" not in reader_for(member).get(f"/o/{org.slug}/").content.decode()


def test_the_alert_rules_page_saves_the_rules(reader_for, member, project):
    from evaluation.models import MonitorSettings

    client = reader_for(member)
    page = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/alert-rules/"
    assert client.get(page).status_code == 200
    response = client.post(
        page, {"consecutive_windows": 3, "min_volume": 500, "alert_on_feature_drift": "on"}
    )
    assert response.status_code == 302
    rules = MonitorSettings.objects.get(project=project)
    assert (rules.consecutive_windows, rules.min_volume) == (3, 500)
    assert rules.alert_on_feature_drift and not rules.alert_on_score_drift
    assert client.post(page, {"consecutive_windows": 0, "min_volume": 1}).status_code == 400


def test_a_viewer_cannot_change_the_alert_rules(reader_for, viewer, project):
    page = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/alert-rules/"
    assert reader_for(viewer).get(page).status_code == 403
