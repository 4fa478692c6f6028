"""Findings close the loop: recorded from an alert (API or browser) as a step-9 finding
with its evidence, then starting the next cycle turns each open one into a hypothesis."""

import pytest

from evaluation.models import Alert
from mlprojects.lifecycle.services import cycle_start_next, finding_decide
from mlprojects.models import Finding, Hypothesis


@pytest.fixture
def alert(project):
    return Alert.objects.create(
        project=project, kind="drift", title="Drift in 1 column(s): merchant_category"
    )


def url(project):
    return f"/api/v1/projects/{project.pk}/findings/"


def test_a_finding_recorded_from_an_alert_links_back_to_it(api, project, alert):
    response = api.post(
        url(project),
        {"alert": alert.pk, "suspected_cause": "A new merchant category the model never saw."},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["what"] == alert.title and body["status"] == "open" and body["cycle"] == 1
    assert body["evidence_url"].endswith(f"/projects/{project.slug}/monitoring/#alert-{alert.pk}")
    assert [f["id"] for f in api.get(url(project)).json()["results"]] == [body["id"]]


def test_a_finding_needs_what_was_seen(api, project):
    response = api.post(url(project), {"suspected_cause": "?"}, content_type="application/json")
    assert response.status_code == 400
    assert "what" in response.json()["error"]["fields"]
    assert not Finding.objects.exists()


def test_another_projects_alert_is_refused(api, project, other_alert):
    response = api.post(url(project), {"alert": other_alert.pk}, content_type="application/json")
    assert response.status_code == 400
    assert "alert" in response.json()["error"]["fields"]


def test_starting_the_next_cycle_seeds_hypotheses_from_open_findings(api, project, member, alert):
    api.post(
        url(project),
        {"alert": alert.pk, "suspected_cause": "New merchant category."},
        content_type="application/json",
    )
    api.post(url(project), {"what": "Not worth it"}, content_type="application/json")
    finding_decide(
        project=project,
        user=member,
        finding=Finding.objects.get(what="Not worth it"),
        decision="wont_fix",
        reason="Seen once, on a test account.",
    )
    cycle_start_next(project=project, user=member)
    seeded = Hypothesis.objects.get(cycle__number=2, statement__startswith="Drift in")
    assert "New merchant category." in seeded.statement
    assert f"#alert-{alert.pk}" in seeded.evidence
    finding = Finding.objects.get(what=alert.title)
    assert finding.status == "carried_forward" and finding.hypothesis == seeded
    assert not Hypothesis.objects.filter(statement__startswith="Not worth it").exists()
    body = api.get(url(project)).json()["results"]
    assert {f["status"] for f in body} == {"carried_forward", "dismissed"}


def test_record_as_finding_in_the_browser(reader_for, member, project, alert):
    client = reader_for(member)
    page = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/"
    assert "Record as finding" in client.get(page).content.decode()
    response = client.post(page + f"alerts/{alert.pk}/finding/")
    assert response.status_code == 302
    assert Finding.objects.get().what == alert.title


def test_a_viewer_cannot_record_a_finding(viewer, client_for, project, alert):
    response = client_for(viewer).post(
        url(project), {"alert": alert.pk}, content_type="application/json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"alert": "ALERT"}, "alert"),
        ({"alert": 2**63}, "alert"),
        ({"window": 1.0}, "window"),
        ({"as_cause": 1}, "as_cause"),
        ({"as_cause": "true"}, "as_cause"),
        ({"suspected_cause": 5}, "suspected_cause"),
    ],
)
def test_a_wrong_json_type_is_a_400_that_records_nothing(api, project, alert, change, field):
    body = {"what": "Night traffic doubled", **change}
    if body.get("alert") == "ALERT":
        body["alert"] = str(alert.pk)
    response = api.post(url(project), body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Finding.objects.exists()


@pytest.mark.parametrize("decision", [1, True, ["carry"]])
def test_a_decision_that_is_no_string_is_a_400_that_decides_nothing(api, project, decision):
    finding = api.post(url(project), {"what": "x"}, content_type="application/json").json()
    response = api.post(
        f"{url(project)}{finding['id']}/decision/",
        {"decision": decision},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "decision" in response.json()["error"]["fields"]
    assert Finding.objects.get().status == "open"
