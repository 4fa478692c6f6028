"""Liveness (/healthz: process and database only), readiness (/readyz: database, broker,
migrations) and the worker status for alerting (/status/workers: broker, workers, beat).
The checks against a real worker are in tests/test_worker.py."""

import time

import pytest
from django.core.cache import cache

from mlprojects.site import health
from mlprojects.site.tasks import record_beat_heartbeat_task


def boom(message: str):
    def check() -> str:
        raise RuntimeError(message)

    return check


@pytest.fixture
def broker_up(monkeypatch):
    monkeypatch.setattr(health, "check_broker", lambda: "ok")


@pytest.fixture
def workers_up(monkeypatch):
    monkeypatch.setattr(health, "check_workers", lambda: "ok (2 workers)")


def test_healthz_answers_ok_with_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_does_not_depend_on_the_broker_or_workers(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_broker", boom("broker down"))
    monkeypatch.setattr(health, "check_workers", boom("no worker"))
    assert client.get("/healthz").status_code == 200


def test_healthz_answers_503_when_the_database_is_unreachable(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_database", boom("connection refused"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "error: connection refused"},
    }


def test_readyz_checks_the_database_migrations_and_broker(client, db, broker_up):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}


def test_readyz_answers_503_with_unapplied_migrations(client, db, broker_up, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: ["pending"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"].startswith("error: 1 unapplied migration")


def test_readyz_answers_503_when_the_broker_is_unreachable(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_broker", boom("broker down"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: broker down"


def test_worker_status_answers_503_without_a_worker(client, db, broker_up, monkeypatch):
    monkeypatch.setattr(health, "check_workers", boom("no worker consuming queue 'q'"))
    response = client.get("/status/workers")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == "error: no worker consuming queue 'q'"


def test_worker_status_says_beat_is_unknown_before_any_heartbeat(client, db, broker_up, workers_up):
    response = client.get("/status/workers")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["workers"] == "ok (2 workers)"
    assert checks["beat"].startswith("unknown")


def test_the_heartbeat_task_makes_beat_ok(client, db, broker_up, workers_up):
    record_beat_heartbeat_task.delay()
    response = client.get("/status/workers")
    assert response.status_code == 200
    assert response.json()["checks"]["beat"].startswith("ok (last heartbeat")


def test_a_stale_heartbeat_answers_503(client, db, broker_up, workers_up):
    cache.set(health.BEAT_HEARTBEAT_KEY, time.time() - health.BEAT_STALE_AFTER_SECONDS - 5)
    response = client.get("/status/workers")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"].startswith("error: last heartbeat")


def test_beat_sends_the_heartbeat_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["beat-heartbeat"]
    assert entry["task"] == "mlprojects.site.tasks.record_beat_heartbeat_task"
    assert entry["schedule"] == health.BEAT_HEARTBEAT_SECONDS
