"""Runs, tokens, a Bearer-authenticated client and the mlflow client pointed at a live
server, for the tracking tests."""

import pytest
from django.test import Client

from accounts.services import api_token_create
from evaluation.runs.services import MetricPoint, run_log_batch
from tests.factories import RunFactory


@pytest.fixture
def token_for():
    """token_for(user, scope) → raw token in the user's (first) organization."""

    def make(user, scope: str = "write", name: str = "tests") -> str:
        org = user.memberships.get().organization
        return api_token_create(org=org, user=user, name=name, scope=scope)[1]

    return make


@pytest.fixture
def api_for(token_for):
    """api_for(user, scope) → a test client sending that user's Bearer token."""

    def make(user, scope: str = "write") -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scope)}")

    return make


@pytest.fixture
def api(api_for, member):
    return api_for(member)


@pytest.fixture
def run(project, member):
    return RunFactory(project=project, created_by=member, name="baseline-lr", params={"lr": "0.1"})


@pytest.fixture
def other_run(other_project, outsider):
    return RunFactory(project=other_project, created_by=outsider, name="secret-run")


@pytest.fixture
def log():
    """log(run, f1=0.8, step=1): log metric values of one step."""

    def do(run, step: int = 0, **values):
        return run_log_batch(
            run=run, metrics=[MetricPoint(k, v, step=step) for k, v in values.items()]
        )

    return do


@pytest.fixture
def use_token(live_server, monkeypatch):
    """use_token(raw): the mlflow client talks to the live server with that token."""
    mlflow = pytest.importorskip("mlflow")

    def use(raw: str) -> None:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"{live_server.url}/mlflow")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", raw)
        mlflow.set_tracking_uri(f"{live_server.url}/mlflow")

    # Fail fast instead of retrying with back-off, and forget the previous test's state.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    yield use
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri("")


@pytest.fixture
def tracking(use_token, token_for, member):
    """The mlflow client logs as `member` with a write token of `org`."""
    use_token(token_for(member, "write"))
