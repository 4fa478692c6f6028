"""Personas: one user per role in `org`, and an outsider who owns `other_org`.
`other_*` fixtures are objects of the other organization, for tenancy tests."""

import os
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.permissions import Role
from tests.factories import (
    EvaluationFactory,
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    ProjectFactory,
    UserFactory,
)

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to
# run next to one unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROLES = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.STAKEHOLDER, Role.VIEWER]


def pytest_collection_modifyitems(config, items) -> None:
    """Under `pytest -n` (pytest-xdist, `make test`), the tests that start real Celery
    workers all run in one test process, one after another: a worker answers every
    `inspect` broadcast on its Redis database, so two at once would see each other."""
    for item in items:
        if item.get_closest_marker("worker"):
            item.add_marker(pytest.mark.xdist_group("celery-workers"))


def pytest_configure(config) -> None:
    # Settings never create directories; the test database and static root live here.
    settings.VAR_DIR.mkdir(exist_ok=True)
    settings.STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns without it


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate limits, throttles and lockout counters start afresh in every test."""
    cache.clear()
    yield


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


def _member(org, role, email):
    return MembershipFactory(organization=org, role=role, user=UserFactory(email=email)).user


@pytest.fixture
def owner(org):
    return _member(org, Role.OWNER, "owner@acme.test")


@pytest.fixture
def admin(org):
    return _member(org, Role.ADMIN, "admin@acme.test")


@pytest.fixture
def member(org):
    return _member(org, Role.MEMBER, "member@acme.test")


@pytest.fixture
def stakeholder(org):
    return _member(org, Role.STAKEHOLDER, "stakeholder@acme.test")


@pytest.fixture
def viewer(org):
    return _member(org, Role.VIEWER, "viewer@acme.test")


@pytest.fixture
def outsider(other_org):
    """Owner of the other organization: a logged-in user who must see nothing of `org`."""
    return _member(other_org, Role.OWNER, "outsider@globex.test")


@pytest.fixture
def user_with_role(org):
    def make(role: str):
        return _member(org, role, f"{role}-{Role(role).value}@acme.test")

    return make


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def reader_for(client_for):
    """A signed-in client already working in `org` (the first request in an organization
    remembers it in the session, a write of its own)."""

    def make(user) -> Client:
        client = client_for(user)
        session = client.session
        session["current_org"] = "acme"
        session.save()
        return client

    return make


@pytest.fixture
def assert_no_writes():
    """`with assert_no_writes(): ...` fails if the block runs an INSERT, UPDATE or DELETE."""

    @contextmanager
    def check():
        with CaptureQueriesContext(connection) as queries:
            yield
        statements = [q["sql"] for q in queries.captured_queries]
        assert [sql for sql in statements if sql.lstrip().upper().startswith(WRITES)] == []

    return check


WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def project(org, member):
    return ProjectFactory(
        organization=org, owner=member, name="Menu recommender", slug="menu-recommender"
    )


@pytest.fixture
def other_project(other_org, outsider):
    return ProjectFactory(
        organization=other_org, owner=outsider, name="Secret", slug="secret-project"
    )


@pytest.fixture
def other_evaluation(other_project):
    return EvaluationFactory(project=other_project)


@pytest.fixture
def other_drift_report(other_project):
    from evaluation.models import DriftReport

    return DriftReport.objects.create(
        project=other_project,
        reference="drift-reports/secret-reference.csv",
        reference_format="csv",
        current="drift-reports/secret-current.csv",
        current_format="csv",
    )


@pytest.fixture
def other_alert(other_project):
    from evaluation.models import Alert

    return Alert.objects.create(project=other_project, kind="drift", title="Their drift")


@pytest.fixture
def other_invitation(other_org):
    return InvitationFactory(organization=other_org)


@pytest.fixture
def other_abtest(other_project, outsider):
    """An A/B test of the other organization, with an analysis version and a raw upload."""
    from evaluation.abtests.services import abtest_create
    from evaluation.models import ABRawUpload, ABTestAnalysis

    abtest = abtest_create(
        project=other_project,
        user=outsider,
        name="Secret test",
        hypothesis="Nobody outside Globex may read this.",
        variants=[{"key": "control", "allocation": 0.5}, {"key": "b", "allocation": 0.5}],
        metrics=[{"key": "conversion", "type": "binomial", "role": "primary"}],
    )
    ABTestAnalysis.objects.create(abtest=abtest, version=1)
    ABRawUpload.objects.create(abtest=abtest, file="abtests/secret.csv")
    return abtest


@pytest.fixture
def other_warehouse_query(other_org, outsider):
    """The other organization's A/B data source and a saved query (version 1) on it."""
    from evaluation.abtests import services

    source = services.data_source_create(
        org=other_org, user=outsider, name="their dwh", url="postgresql+psycopg://r:pw@h/db"
    )
    return services.query_create(
        org=other_org,
        user=outsider,
        data_source=source,
        name="Their exposures",
        kind="exposure",
        sql="SELECT user_id, variant, exposed_at FROM exposures",
    )


@pytest.fixture
def other_review(other_org, other_project, outsider):
    """The other organization's proposal v1, a comment on it and a notification of its
    owner: none of them may be reached from `org`."""
    from accounts.models import Membership, Notification
    from accounts.permissions import Role
    from mlprojects.models import Comment, Proposal

    reviewer = UserFactory(email="reviewer@globex.test")
    Membership.objects.create(organization=other_org, user=reviewer, role=Role.STAKEHOLDER)
    proposal = Proposal.objects.create(
        project=other_project, version=1, cycle=1, snapshot={"steps": {}}, author=outsider
    )
    comment = Comment.objects.create(
        organization=other_org,
        project=other_project,
        section="phenomenon",
        author=outsider,
        body="Globex only",
    )
    notification = Notification.objects.create(
        recipient=outsider, organization=other_org, kind="mention", text="Secret", url="/"
    )
    return {"proposal": proposal, "comment": comment, "notification": notification}


from tests.mlprojects.analyses.fixtures import *  # noqa: E402,F401,F403  (fixtures)
from tests.s3 import s3_endpoint, s3_storage  # noqa: E402,F401  (fixtures)
from tests.worker import celery_worker_process  # noqa: E402,F401  (fixture)
