"""GET/POST /api/v1/projects/{id}/deployments/: what runs where, since when, on which
share of the traffic, who recorded it."""

import pytest

from evaluation.models import Deployment


def url(project):
    return f"/api/v1/projects/{project.pk}/deployments/"


def test_a_pipeline_records_a_deployment(api, project, member):
    response = api.post(
        url(project),
        {
            "what": "fraud-gbm 2026-11-30",
            "environment": "production",
            "since": "2026-11-30T08:00:00Z",
            "traffic_share": 0.25,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["what"] == "fraud-gbm 2026-11-30"
    assert body["model_version"] is None
    assert body["traffic_share"] == 0.25
    assert body["since"] == "2026-11-30T08:00:00Z"
    assert body["recorded_by"] == member.email
    assert Deployment.objects.get().recorded_by == member


def test_deployments_are_listed_newest_first(api, project):
    for day in ("01", "15", "08"):
        api.post(
            url(project),
            {"what": f"model {day}", "since": f"2026-11-{day}T00:00:00Z"},
            content_type="application/json",
        )
    results = api.get(url(project)).json()["results"]
    assert [d["what"] for d in results] == ["model 15", "model 08", "model 01"]
    assert results[0]["environment"] == "production" and results[0]["traffic_share"] == 1.0


def test_a_traffic_share_outside_zero_to_one_is_refused(api, project):
    response = api.post(
        url(project),
        {"what": "m", "since": "2026-11-01T00:00:00Z", "traffic_share": 1.5},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "traffic_share" in response.json()["error"]["fields"]
    assert not Deployment.objects.exists()


def test_what_and_since_are_required(api, project):
    response = api.post(url(project), {}, content_type="application/json")
    assert response.status_code == 400
    assert {"what", "since"} <= set(response.json()["error"]["fields"])


def test_a_viewer_may_read_but_not_record(viewer, client_for, project):
    client = client_for(viewer)
    assert client.get(url(project)).status_code == 200
    response = client.post(
        url(project),
        {"what": "m", "since": "2026-11-01T00:00:00Z"},
        content_type="application/json",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"what": 5}, "what"),
        ({"since": 1764489600}, "since"),
        ({"traffic_share": "0.5"}, "traffic_share"),
        ({"traffic_share": True}, "traffic_share"),
    ],
)
def test_a_wrong_json_type_is_a_400_that_records_nothing(api, project, change, field):
    body = {"what": "m", "since": "2026-11-01T00:00:00Z", **change}
    response = api.post(url(project), body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Deployment.objects.exists()
