"""The whole life of a test over the API with a token, as a release pipeline drives it:
design, start, results, stop, analyse, decide with the business metric; refused moves
are 409 and change nothing; a read-only token can follow but not act."""

import pytest
from django.test import Client

from accounts.services import api_token_create
from evaluation.models import ABTest, ABTestDecision
from evaluation.stats import analyze

from .conftest import RESULTS

BODY = {
    "name": "Ranking v2",
    "hypothesis": "The new ranking raises conversion.",
    "variants": [{"key": "control", "allocation": 0.5}, {"key": "treatment", "allocation": 0.5}],
    "metrics": [
        {"key": "conversion", "type": "binomial", "role": "primary"},
        {"key": "revenue", "type": "continuous", "role": "secondary"},
    ],
    "sequential_testing": True,
    "sequential_tuning_parameter": 4000,
}


def token_client(org, user, scope: str = "write") -> Client:
    raw = api_token_create(org=org, user=user, name="release pipeline", scope=scope)[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_a_pipeline_drives_a_test_from_design_to_decision(
    org, project, member, lifecycle, django_capture_on_commit_callbacks
):
    api = token_client(org, member)
    created = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", BODY)
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["sequential_testing"] is True

    redesign = {**BODY, "name": "Ranking v2.1"}
    assert (
        api.put(f"/api/v1/ab-tests/{pk}/", redesign, content_type="application/json").json()["name"]
        == "Ranking v2.1"
    )

    started = post(api, f"/api/v1/ab-tests/{pk}/start/")
    assert started.status_code == 200 and started.json()["status"] == "running"
    for metric in ("conversion", "revenue"):
        answer = post(
            api,
            f"/api/v1/ab-tests/{pk}/results/",
            {"metric": metric, "variants": RESULTS[metric]},
        )
        assert answer.status_code == 201
    stopped = post(api, f"/api/v1/ab-tests/{pk}/stop/")
    assert stopped.json()["status"] == "stopped" and stopped.json()["stopped_at"]

    with django_capture_on_commit_callbacks(execute=True):
        queued = post(api, f"/api/v1/ab-tests/{pk}/analyze/")
    assert queued.status_code == 202
    analysis = api.get(f"/api/v1/ab-tests/{pk}/analysis/").json()
    assert analysis["status"] == "succeeded"
    # The test's sequential setting is the analysis default, as on the page.
    assert analysis["options"]["sequential"] is True
    expected = analyze(
        variants=BODY["variants"],
        control="control",
        metrics=[{**m, "direction": "increase"} for m in BODY["metrics"]],
        results={k: RESULTS[k] for k in ("conversion", "revenue")},
        sequential=True,
        sequential_tuning_parameter=4000,
    )
    assert analysis["metrics"]["conversion"]["treatment"]["ci_low"] == pytest.approx(
        expected["metrics"]["conversion"]["treatment"]["ci_low"], rel=1e-12
    )

    decided = post(
        api,
        f"/api/v1/ab-tests/{pk}/decide/",
        {
            "outcome": "ship",
            "rationale": "Revisit rate up 2 points at no guardrail cost.",
            "business_metric": lifecycle.revisit.pk,
        },
    )
    assert decided.status_code == 201, decided.json()
    body = decided.json()
    assert body["status"] == "decided"
    assert body["decision"]["outcome"] == "ship"
    assert body["decision"]["business_metric"] == {
        "id": lifecycle.revisit.pk,
        "name": lifecycle.revisit.name,
    }
    assert ABTest.objects.get(pk=pk).business_metric == lifecycle.revisit


def test_a_refused_move_is_a_409_that_changes_nothing(org, member, abtest):
    api = token_client(org, member)
    response = post(api, f"/api/v1/ab-tests/{abtest.pk}/stop/")
    assert response.status_code == 409
    assert "Only a running test can be stopped" in response.content.decode()
    abtest.refresh_from_db()
    assert abtest.status == "draft"


def test_a_decision_before_the_analysis_is_a_409(org, member, stopped_abtest):
    api = token_client(org, member)
    response = post(
        api,
        f"/api/v1/ab-tests/{stopped_abtest.pk}/decide/",
        {"outcome": "ship", "rationale": "Looks good."},
    )
    assert response.status_code == 409
    assert not ABTestDecision.objects.exists()


def test_a_decision_on_another_projects_metric_is_a_400(
    org, member, analyzed_abtest, foreign_lifecycle
):
    api = token_client(org, member)
    response = post(
        api,
        f"/api/v1/ab-tests/{analyzed_abtest.pk}/decide/",
        {"outcome": "ship", "rationale": "r", "business_metric": foreign_lifecycle.business.pk},
    )
    assert response.status_code == 400
    assert "business_metric" in response.content.decode()
    assert not ABTestDecision.objects.exists()


def test_the_design_of_a_started_test_is_a_409_over_the_api(org, member, running_abtest):
    api = token_client(org, member)
    response = api.put(
        f"/api/v1/ab-tests/{running_abtest.pk}/", BODY, content_type="application/json"
    )
    assert response.status_code == 409


def test_a_read_only_token_can_follow_but_not_start(org, member, abtest):
    api = token_client(org, member, scope="read")
    assert api.get(f"/api/v1/ab-tests/{abtest.pk}/").status_code == 200
    assert post(api, f"/api/v1/ab-tests/{abtest.pk}/start/").status_code == 403
    abtest.refresh_from_db()
    assert abtest.status == "draft"


def test_the_web_decision_records_the_tests_business_metric(
    org, project, member, client_for, analyzed_abtest, lifecycle
):
    ABTest.objects.filter(pk=analyzed_abtest.pk).update(business_metric=lifecycle.revisit)
    response = client_for(member).post(
        f"/o/{org.slug}/projects/{project.slug}/ab-tests/{analyzed_abtest.pk}/decide/",
        {"outcome": "iterate", "rationale": "Revisit rate flat; try a bolder change."},
    )
    assert response.status_code == 302
    assert ABTestDecision.objects.get().business_metric == lifecycle.revisit


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"outcome": 1}, "outcome"),
        ({"rationale": 5}, "rationale"),
        ({"business_metric": "1"}, "business_metric"),
        ({"business_metric": True}, "business_metric"),
        ({"measured_value": "0.31"}, "measured_value"),
    ],
)
def test_a_wrong_json_type_in_a_decision_is_a_400_that_decides_nothing(
    org, member, analyzed_abtest, change, field
):
    body = {"outcome": "ship", "rationale": "Looks good.", **change}
    response = post(
        token_client(org, member), f"/api/v1/ab-tests/{analyzed_abtest.pk}/decide/", body
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ABTestDecision.objects.exists()
