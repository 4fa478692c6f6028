"""Database queries per page with 1 row and with 100 rows of what the page lists.

    DJANGO_SETTINGS_MODULE=mlprojects.settings.production DATABASE_URL=… \\
        python bench/query_counts.py

bench/bench_load.py runs it on its database before the load, and
tests/test_query_counts.py on the test database. In one transaction that is
rolled back at the end (nothing stays): a new organization, a member and a project; for
each page (the dashboard, the project page, the project's lists, the activity page and
the API lists) one row of what it lists, the page's queries counted (a second view, as the
first one writes the session), then 99 rows more and the queries counted again. Prints
one line per page and exits non-zero when a page makes more queries with 100 rows.
"""

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlprojects.settings.local")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import AuditEvent, Membership, Organization, User  # noqa: E402
from accounts.permissions import Role  # noqa: E402
from evaluation.models import ABTest, Evaluation, Run  # noqa: E402
from mlprojects.lifecycle.services import project_create  # noqa: E402
from mlprojects.models import Proposal  # noqa: E402


class RolledBack(Exception):
    pass


def add_projects(org, project, member, n):
    for i in range(n):
        project_create(org=org, user=member, name=f"Counted {i}")


def add_runs(org, project, member, n):
    start = Run.objects.filter(project=project).count()
    Run.objects.bulk_create(Run(project=project, name=f"run-{start + i}") for i in range(n))


def _evaluations(project, n: int, **fields) -> None:
    start = Evaluation.objects.filter(project=project).count()
    Evaluation.objects.bulk_create(
        Evaluation(
            project=project,
            name=f"Evaluation {start + i}",
            status="succeeded",
            file="evaluations/0/missing.csv",
            file_format="csv",
            **fields,
        )
        for i in range(n)
    )


def add_evaluations(org, project, member, n):
    _evaluations(project, n, columns={"y_true": "label", "y_score": "score"})


def add_ranking_evaluations(org, project, member, n):
    """Ranking evaluations show their cut-off k beside the headline (`NDCG@10`)."""
    _evaluations(
        project,
        n,
        task="ranking",
        columns={"group": "query", "y_true": "relevance", "y_score": "score"},
        options={"k": 10},
        result={"info": {"k": 10}},
    )


def add_abtests(org, project, member, n):
    start = ABTest.objects.filter(project=project).count()
    ABTest.objects.bulk_create(
        ABTest(project=project, name=f"Test {start + i}", created_by=member) for i in range(n)
    )


def add_proposals(org, project, member, n):
    start = Proposal.objects.filter(project=project).count()
    Proposal.objects.bulk_create(
        Proposal(
            project=project, version=start + i + 1, cycle=project.cycle, snapshot={}, author=member
        )
        for i in range(n)
    )


def add_events(org, project, member, n):
    AuditEvent.objects.bulk_create(
        AuditEvent(organization=org, actor=member, action="project.update", target=project.slug)
        for _ in range(n)
    )


PAGES = [
    ("dashboard", "/o/{org}/", add_projects),
    ("project page", "/o/{org}/projects/{slug}/", add_runs),
    ("runs list", "/o/{org}/projects/{slug}/runs/", add_runs),
    ("evaluations list", "/o/{org}/projects/{slug}/evaluations/", add_evaluations),
    ("ranking evaluations", "/o/{org}/projects/{slug}/evaluations/", add_ranking_evaluations),
    ("project page, ranking", "/o/{org}/projects/{slug}/", add_ranking_evaluations),
    ("A/B test list", "/o/{org}/projects/{slug}/ab-tests/", add_abtests),
    ("proposals list", "/o/{org}/projects/{slug}/proposals/", add_proposals),
    ("activity", "/o/{org}/activity/", add_events),
    ("api projects", "/api/v1/projects/", add_projects),
    ("api runs", "/api/v1/projects/{pk}/runs/", add_runs),
    ("api evaluations", "/api/v1/projects/{pk}/evaluations/", add_evaluations),
    ("api ranking evals", "/api/v1/projects/{pk}/evaluations/", add_ranking_evaluations),
    ("api A/B tests", "/api/v1/projects/{pk}/ab-tests/", add_abtests),
]


def queries(client: Client, url: str, headers: dict) -> int:
    client.get(url, headers=headers)  # the first view writes the session
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return len(captured)


def measure_page(pattern: str, add) -> tuple[int, int]:
    """The queries of the page at `pattern` with 1 and with 100 rows that `add` makes, in
    an organization of its own (so rows added for one page don't count for the next)."""
    tag = secrets.token_hex(5)
    org = Organization.objects.create(name=f"Counted {tag}", slug=f"counted-{tag}")
    member = User.objects.create_user(email=f"counted-{tag}@example.invalid", password=None)
    Membership.objects.create(organization=org, user=member, role=Role.MEMBER)
    project = project_create(org=org, user=member, name="Counted")
    host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip() or "localhost"
    client = Client(HTTP_HOST=host, **{"wsgi.url_scheme": "https"})
    client.force_login(member)
    url = pattern.format(org=org.slug, slug=project.slug, pk=project.pk)
    headers = {"X-Organization": org.slug} if url.startswith("/api/") else {}
    add(org, project, member, 1)
    one = queries(client, url, headers)
    add(org, project, member, 99)
    return one, queries(client, url, headers)


def measure() -> list[tuple[str, int, int]]:
    return [(name, *measure_page(pattern, add)) for name, pattern, add in PAGES]


def main() -> int:
    try:
        with transaction.atomic():
            rows = measure()
            raise RolledBack
    except RolledBack:
        pass
    print(f"{'page':<20}{'1 row':>8}{'100 rows':>10}")
    for name, one, hundred in rows:
        print(f"{name:<20}{one:>8}{hundred:>10}{'' if one == hundred else '  GROWS'}")
    return 1 if any(one != hundred for _, one, hundred in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
