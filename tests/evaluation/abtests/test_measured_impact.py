"""The measured business impact of an A/B decision, written back to the business metric's
current value (seed §1.4.5: did our action do better than before?) — through the service,
the decision form and the API, versioned and audited, and shown in the proposal."""

import json

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from evaluation.abtests import services
from evaluation.abtests.selectors import abtest_evidence
from evaluation.models import ABTestDecision, Outcome
from mlprojects.lifecycle import services as lifecycle_services
from mlprojects.models import Metric, SectionVersion

from .test_views import base


@pytest.fixture
def linked(analyzed_abtest, lifecycle):
    analyzed_abtest.business_metric = lifecycle.revisit
    analyzed_abtest.save()
    return analyzed_abtest


def decide(abtest, member, **extra):
    return services.abtest_decide(
        abtest=abtest, user=member, outcome=Outcome.SHIP, rationale="Revisits rose.", **extra
    )


def test_the_measured_value_becomes_the_metrics_current_value(linked, member, lifecycle):
    decision = decide(linked, member, measured_value=28.0)
    lifecycle.revisit.refresh_from_db()
    assert lifecycle.revisit.current == 28.0
    assert (decision.previous_value, decision.measured_value) == (24.0, 28.0)
    # A version of step 4, like any edit of a metric…
    version = SectionVersion.objects.filter(cycle=lifecycle.cycle, step="goals").last()
    (metric,) = [m for m in version.data["metrics"] if m["id"] == lifecycle.revisit.pk]
    assert metric["current"] == 28.0
    # …and an audit row that says where the value came from and what it replaced.
    event = AuditEvent.objects.get(action="metric.current_recorded")
    assert event.data["from"] == 24 and event.data["to"] == 28.0
    assert event.data["source"] == "the A/B test “Menu descriptions”"
    assert "as 28 % (was 24 %)" in event.data["summary"]


def test_without_a_measured_value_the_metric_is_left_alone(linked, member, lifecycle):
    decision = decide(linked, member)
    lifecycle.revisit.refresh_from_db()
    assert lifecycle.revisit.current == 24
    assert decision.measured_value is None
    assert not AuditEvent.objects.filter(action="metric.current_recorded").exists()


def test_a_test_without_a_business_metric_cannot_record_one(analyzed_abtest, member):
    with pytest.raises(ValidationError) as exc:
        decide(analyzed_abtest, member, measured_value=28.0)
    assert "measured_value" in exc.value.message_dict
    assert not ABTestDecision.objects.exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True])
def test_a_value_that_is_not_a_finite_number_is_refused(linked, member, value):
    with pytest.raises(ValidationError) as exc:
        decide(linked, member, measured_value=value)
    assert "measured_value" in exc.value.message_dict
    assert not ABTestDecision.objects.exists()


def test_an_earlier_cycles_metric_is_read_only_and_nothing_is_decided(
    project, linked, member, lifecycle
):
    lifecycle_services.cycle_start_next(project=project, user=member)
    linked.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        decide(linked, member, measured_value=28.0)
    assert "read-only" in str(exc.value.message_dict["measured_value"])
    assert not ABTestDecision.objects.exists()
    assert Metric.objects.get(pk=lifecycle.revisit.pk).current == 24


def test_the_decision_form_writes_the_impact_back(org, project, member, linked, client_for):
    client = client_for(member)
    page = client.get(f"{base(org, project)}{linked.pk}/").content.decode()
    assert "Measured Revisit rate (%)" in page
    data = {"outcome": "ship", "rationale": "Revisits rose.", "measured_value": "28"}
    response = client.post(f"{base(org, project)}{linked.pk}/decide/", data)
    assert response.status_code == 302
    assert Metric.objects.get(pk=linked.business_metric_id).current == 28.0
    page = client.get(response["Location"]).content.decode()
    assert "Measured impact:" in page and "Revisit rate 24 → 28 %" in page


def test_the_api_takes_the_measured_value_and_answers_it(project, member, linked, client_for):
    response = client_for(member).post(
        f"/api/v1/ab-tests/{linked.pk}/decide/",
        json.dumps({"outcome": "ship", "rationale": "Revisits rose.", "measured_value": 28}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    decision = response.json()["decision"]
    assert (decision["previous_value"], decision["measured_value"]) == (24.0, 28.0)


def test_the_api_refuses_a_measured_value_without_a_business_metric(
    project, member, analyzed_abtest, client_for
):
    response = client_for(member).post(
        f"/api/v1/ab-tests/{analyzed_abtest.pk}/decide/",
        json.dumps({"outcome": "ship", "rationale": "Up.", "measured_value": 28}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "measured_value" in response.json()["error"]["fields"]


def test_the_proposal_shows_the_measured_impact(project, linked, member):
    decide(linked, member, measured_value=28.0)
    (entry,) = abtest_evidence(project=project)
    fields = {f["label"]: f["value"] for f in entry["fields"]}
    assert fields["Measured impact"] == "Revisit rate 24 → 28 %"
