"""Conventions every /api/v1/ endpoint shares, checked on the runs endpoints: idempotent
POSTs, 413 for oversize bodies, 429 throttling, the OpenAPI schema."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.throttling import UserRateThrottle

from accounts.models import IdempotencyRecord
from evaluation.models import Run, RunMetric


def post(client, url, data, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data, content_type="application/json", **extra)


def test_repeating_a_post_with_its_key_replays_the_first_response(api, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    first = post(api, url, {"name": "once"}, key="k-1")
    second = post(api, url, {"name": "once"}, key="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Run.objects.count() == 1


def test_a_repeated_log_batch_writes_its_metrics_once(api, run):
    url = f"/api/v1/runs/{run.pk}/log-batch/"
    batch = {"metrics": [{"key": "f1", "value": 0.5, "step": 1}]}
    assert post(api, url, batch, key="batch-7").status_code == 200
    assert post(api, url, batch, key="batch-7").status_code == 200
    assert RunMetric.objects.count() == 1


def test_reusing_a_key_with_another_body_answers_422_and_writes_nothing(api, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    post(api, url, {"name": "first"}, key="k-2")
    response = post(api, url, {"name": "second"}, key="k-2")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Run.objects.values_list("name", flat=True)) == ["first"]


def test_keys_are_scoped_to_the_caller(api_for, member, admin, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    post(api_for(member), url, {"name": "a"}, key="shared")
    assert post(api_for(admin), url, {"name": "b"}, key="shared").status_code == 201
    assert Run.objects.count() == 2


def test_a_failed_request_is_not_remembered(api, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    assert post(api, url, {"name": "x", "params": "nope"}, key="k-3").status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert post(api, url, {"name": "x"}, key="k-3").status_code == 201


def test_without_a_key_each_post_writes(api, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    post(api, url, {"name": "a"})
    post(api, url, {"name": "a"})
    assert Run.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_write_once(org, member, project, token_for):
    token = token_for(member)
    url = f"/api/v1/projects/{project.pk}/runs/"
    barrier = threading.Barrier(4)
    statuses, ids = [], []

    def send():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            response = post(client, url, {"name": "race"}, key="same-key")
            statuses.append(response.status_code)
            ids.append(response.json().get("id"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 4
    assert len(set(ids)) == 1
    assert Run.objects.count() == 1


def test_an_oversize_body_answers_413_json(api, run, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    metrics = [{"key": "loss", "value": 0.123456, "step": i} for i in range(100)]
    response = post(api, f"/api/v1/runs/{run.pk}/log-batch/", {"metrics": metrics})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "request_too_large"
    assert not RunMetric.objects.exists()


def test_too_many_requests_answer_429(api, run, monkeypatch):
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})
    codes = [api.get(f"/api/v1/runs/{run.pk}/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    cache.clear()


def test_the_schema_documents_the_runs_endpoints_and_bearer_auth(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    for path in (
        "/api/v1/projects/{id}/runs/",
        "/api/v1/runs/{id}/",
        "/api/v1/runs/{id}/log-batch/",
        "/api/v1/runs/{id}/metrics/{key}/history/",
    ):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    batch = schema["components"]["schemas"]["LogBatch"]["properties"]["metrics"]
    assert batch["maxItems"] == 1000
    log_batch = schema["paths"]["/api/v1/runs/{id}/log-batch/"]["post"]
    assert {"ApiToken": []} in log_batch["security"]
    assert any(p["name"] == "Idempotency-Key" for p in log_batch["parameters"])


def test_the_interactive_docs_load_offline_assets(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "cdn" not in response.text.lower()


def test_every_api_post_is_idempotent_including_projects(api, org):
    from mlprojects.models import Project

    first = post(api, "/api/v1/projects/", {"name": "Churn"}, key="p-1")
    second = post(api, "/api/v1/projects/", {"name": "Churn"}, key="p-1")
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert Project.objects.filter(organization=org).count() == 1


def test_every_api_view_that_takes_a_post_answers_it_idempotently():
    from django.urls import get_resolver

    def views(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from views(pattern.url_patterns)
            elif hasattr(pattern.callback, "cls"):
                yield pattern.callback.cls

    posting = [cls for cls in views(get_resolver().url_patterns) if hasattr(cls, "post")]
    assert len(posting) > 10
    for cls in posting:
        assert getattr(cls.post, "idempotent", False), f"{cls.__name__}.post is not idempotent"
