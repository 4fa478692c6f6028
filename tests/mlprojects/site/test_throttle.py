"""Calls without valid credentials are throttled per client address: API answers 429 in
the API's error shape, /mlflow in MLflow's, before any token is looked up."""

import pytest
from django.test import Client

from accounts.services import api_token_create

MLFLOW_GET = "/mlflow/api/2.0/mlflow/experiments/get?experiment_id=1"


@pytest.fixture
def anon_rate(settings):
    """Three failed calls per minute and address."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "3/min",
        },
    }


def bearer(raw: str, address: str = "203.0.113.5") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address)


def test_bad_token_calls_are_throttled_in_the_api_error_shape(db, anon_rate):
    client = bearer("mlp_not-a-real-token")
    codes = [client.get("/api/v1/projects/").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    response = client.get("/api/v1/projects/")
    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (429, "throttled")
    assert "Try again in" in error["message"]
    assert int(response["Retry-After"]) >= 1


def test_calls_without_credentials_are_throttled(db, anon_rate):
    client = Client(REMOTE_ADDR="203.0.113.6")
    codes = [client.get("/api/v1/projects/").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_the_throttle_counts_per_client_address(db, anon_rate):
    for _ in range(3):
        bearer("wrong", address="203.0.113.7").get("/api/v1/projects/")
    assert bearer("wrong", address="203.0.113.7").get("/api/v1/projects/").status_code == 429
    assert bearer("wrong", address="203.0.113.8").get("/api/v1/projects/").status_code == 401


def test_a_throttled_address_is_refused_even_with_a_valid_token(org, member, anon_rate):
    raw = api_token_create(org=org, user=member, name="ci", scope="read")[1]
    for _ in range(3):
        bearer("wrong").get("/api/v1/projects/")
    assert bearer(raw).get("/api/v1/projects/").status_code == 429


def test_calls_with_a_valid_token_do_not_count(org, member, anon_rate):
    raw = api_token_create(org=org, user=member, name="ci", scope="read")[1]
    codes = {bearer(raw).get("/api/v1/projects/").status_code for _ in range(6)}
    assert codes == {200}
    assert bearer("wrong").get("/api/v1/projects/").status_code == 401


def test_mlflow_bad_token_calls_answer_429_in_mlflow_shape(db, anon_rate):
    client = bearer("mlp_not-a-real-token")
    codes = [client.get(MLFLOW_GET).status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    response = client.get(MLFLOW_GET)
    assert response.status_code == 429
    body = response.json()
    assert body["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "Try again in" in body["message"]
    assert response["Retry-After"]


def test_mlflow_calls_without_credentials_are_throttled(db, anon_rate):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        assert client.get(MLFLOW_GET).json()["error_code"] == "UNAUTHENTICATED"
    assert client.get(MLFLOW_GET).json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_authenticated_mlflow_calls_over_the_user_rate_answer_429_in_mlflow_shape(
    org, member, project, monkeypatch
):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    raw = api_token_create(org=org, user=member, name="ci", scope="read")[1]
    url = f"/mlflow/api/2.0/mlflow/experiments/get?experiment_id={project.pk}"
    codes = [bearer(raw).get(url).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert bearer(raw).get(url).json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_pages_outside_the_api_are_not_counted(db, anon_rate):
    client = Client(REMOTE_ADDR="203.0.113.10")
    for _ in range(5):
        assert client.get("/o/acme/").status_code == 302  # to the login page
    assert client.get("/api/v1/projects/").status_code == 401
