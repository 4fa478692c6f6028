"""The prototype over the API: predict with a token, feedback on one's own call."""

import pytest

from accounts.services import api_token_create
from evaluation.prototypes.models import PrototypeCall, PrototypeFeedback


@pytest.fixture
def auth(org, stakeholder):
    def make(scope="write"):
        _, raw = api_token_create(org=org, user=stakeholder, name="api", scope=scope)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


def test_a_stakeholder_asks_the_model_over_the_api(echo_endpoint, auth, client):
    url = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/predict/"
    body = {"inputs": {"favourite_dishes": "japchae", "likes_spicy": False, "diet": "vegetarian"}}
    response = client.post(url, body, content_type="application/json", **auth())
    assert response.status_code == 200
    data = response.json()
    assert data["answer"]["label"] == "vegetarian"
    assert data["baseline_answer"]["text"] == "bibimbap"
    assert data["error"] == ""


def test_bad_inputs_are_a_400_in_the_error_shape(echo_endpoint, auth, client):
    url = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/predict/"
    body = {"inputs": {"diet": "carnivore"}}
    response = client.post(url, body, content_type="application/json", **auth())
    assert response.status_code == 400
    assert "not a valid category" in str(response.json()["error"]["fields"]["inputs"])


def test_predict_is_rate_limited(echo_endpoint, auth, client, settings):
    settings.PROTOTYPE_RATE_PER_USER = "1/m"
    url = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/predict/"
    headers = auth()
    body = {"inputs": {"favourite_dishes": "x"}}
    codes = [
        client.post(url, body, content_type="application/json", **headers).status_code
        for _ in range(2)
    ]
    assert codes == [200, 429]


def test_feedback_over_the_api(echo_endpoint, auth, client):
    headers = auth()
    base = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/"
    call = client.post(
        base + "predict/", {"inputs": {"favourite_dishes": "x"}},
        content_type="application/json", **headers,
    ).json()  # fmt: skip
    response = client.post(
        base + "feedback/", {"call": call["id"], "verdict": "up", "comment": "Nice"},
        content_type="application/json", **headers,
    )  # fmt: skip
    assert response.status_code == 201
    assert PrototypeFeedback.objects.get().call_id == call["id"]
    listed = client.get(base + "feedback/", **headers).json()["results"]
    assert [f["comment"] for f in listed] == ["Nice"]


def test_a_read_only_token_can_not_post(echo_endpoint, auth, client):
    url = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/predict/"
    response = client.post(url, {"inputs": {}}, content_type="application/json", **auth("read"))
    assert response.status_code == 403
    assert not PrototypeCall.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"call": "CALL"}, "call"),
        ({"call": 1.0}, "call"),
        ({"call": True}, "call"),
        ({"call": 2**63}, "call"),
        ({"verdict": 1}, "verdict"),
        ({"comment": 5}, "comment"),
    ],
)
def test_feedback_of_a_wrong_json_type_is_a_400_that_saves_nothing(
    echo_endpoint, auth, client, change, field
):
    headers = auth()
    base = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/"
    call = client.post(
        base + "predict/", {"inputs": {"favourite_dishes": "x"}},
        content_type="application/json", **headers,
    ).json()  # fmt: skip
    body = {"call": call["id"], "verdict": "up", **change}
    if body["call"] == "CALL":
        body["call"] = str(call["id"])
    response = client.post(base + "feedback/", body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not PrototypeFeedback.objects.exists()


@pytest.mark.parametrize("inputs", [["favourite_dishes"], "favourite_dishes=x", 5])
def test_inputs_that_are_no_object_are_a_400_that_calls_nothing(
    echo_endpoint, auth, client, inputs
):
    url = f"/api/v1/projects/{echo_endpoint.project.pk}/prototype/predict/"
    response = client.post(url, {"inputs": inputs}, content_type="application/json", **auth())
    assert response.status_code == 400
    assert "inputs" in response.json()["error"]["fields"]
    assert not PrototypeCall.objects.exists()
