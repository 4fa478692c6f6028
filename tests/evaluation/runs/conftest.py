"""Runs, tokens and a Bearer-authenticated client for the tracking tests."""

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
