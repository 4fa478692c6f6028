"""Pages and API lists make as many database queries with 100 rows as with 1: no query
per row (bench/bench_load.py measures the same pages under load)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from evaluation.models import ABTest
from mlprojects.models import Proposal
from tests.factories import EvaluationFactory, ProjectFactory, RunFactory

pytestmark = pytest.mark.django_db


def _queries(client, url: str, headers=None) -> int:
    client.get(url, headers=headers)  # warm: the session's first visit writes it
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return len(queries)


def _add_projects(org, project, member, n):
    for _ in range(n):
        ProjectFactory(organization=org, owner=member)


def _add_runs(org, project, member, n):
    for _ in range(n):
        RunFactory(project=project)


def _add_evaluations(org, project, member, n):
    for _ in range(n):
        EvaluationFactory(project=project, status="succeeded")


def _add_abtests(org, project, member, n):
    start = ABTest.objects.filter(project=project).count()
    ABTest.objects.bulk_create(
        ABTest(project=project, name=f"Test {start + i}", created_by=member) for i in range(n)
    )


def _add_proposals(org, project, member, n):
    start = Proposal.objects.filter(project=project).count()
    Proposal.objects.bulk_create(
        Proposal(
            project=project, version=start + i + 1, cycle=project.cycle, snapshot={}, author=member
        )
        for i in range(n)
    )


def _add_events(org, project, member, n):
    AuditEvent.objects.bulk_create(
        AuditEvent(organization=org, actor=member, action="project.update", target=project.slug)
        for _ in range(n)
    )


PAGES = [
    ("dashboard", "/o/{org}/", _add_projects),
    ("project page", "/o/{org}/projects/{slug}/", _add_runs),
    ("runs list", "/o/{org}/projects/{slug}/runs/", _add_runs),
    ("evaluations list", "/o/{org}/projects/{slug}/evaluations/", _add_evaluations),
    ("A/B test list", "/o/{org}/projects/{slug}/ab-tests/", _add_abtests),
    ("proposals list", "/o/{org}/projects/{slug}/proposals/", _add_proposals),
    ("activity", "/o/{org}/activity/", _add_events),
    ("api projects", "/api/v1/projects/", _add_projects),
    ("api runs", "/api/v1/projects/{pk}/runs/", _add_runs),
    ("api evaluations", "/api/v1/projects/{pk}/evaluations/", _add_evaluations),
    ("api A/B tests", "/api/v1/projects/{pk}/ab-tests/", _add_abtests),
]


@pytest.mark.parametrize(("name", "url", "add"), PAGES, ids=[p[0] for p in PAGES])
def test_queries_do_not_grow_with_rows(name, url, add, org, project, member, reader_for):
    client = reader_for(member)
    url = url.format(org=org.slug, slug=project.slug, pk=project.pk)
    headers = {"X-Organization": org.slug} if url.startswith("/api/") else None
    add(org, project, member, 1)
    with_one = _queries(client, url, headers)
    add(org, project, member, 99)
    assert _queries(client, url, headers) == with_one, name
