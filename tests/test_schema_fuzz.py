"""The published API schema is the API's behaviour: schemathesis generates requests for
every operation of /api/schema/ (valid ones and, where the schema allows, invalid ones)
and sends them to a live server as the owner of a seeded organization with a write API
token. A server error, a status, content type, body or header that the schema does not
document, or an invalid request that is accepted fails the test.

Bounded: FUZZ_EXAMPLES examples per operation (default 15), about four minutes for the
whole schema on a loaded CI machine; `FUZZ_EXAMPLES=200` digs deeper."""

import os

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks as openapi_checks

from accounts.permissions import Role
from accounts.services import api_token_create
from tests.factories import MembershipFactory, OrganizationFactory, ProjectFactory, UserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))

# Every check schemathesis runs on a response (server errors, status codes, content
# types, bodies and headers against the schema, invalid data rejected, authentication
# enforced, undocumented methods refused) except `positive_data_acceptance`: it expects
# every request that matches the schema to succeed, but the ids generated for paths are
# random numbers that mostly name no object of the organization, and rightly answer the
# documented 404.
EXCLUDED_CHECKS = [openapi_checks.positive_data_acceptance]

# The schema as /api/schema/ serves it, generated in-process when the tests are collected
# (one test per operation).
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def token(transactional_db) -> str:
    """An owner's write token in an organization with one project."""
    org = OrganizationFactory(name="Fuzz", slug="fuzz")
    owner = UserFactory(email="owner@fuzz.test")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    ProjectFactory(organization=org, owner=owner, name="Fuzzed")
    _, raw = api_token_create(org=org, user=owner, name="fuzz", scope="write")
    return raw


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_matches_the_schema(case, live_server, token):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=EXCLUDED_CHECKS,
    )
