"""The saved-query API under /api/v1/ab-queries/: with a token, a team does what the
warehouse pages let it do — list, create, read, save a new version (a draft submitted for
review), approve or request changes — through the same services, with the same rules."""

import pytest
from django.test import Client

from accounts.models import AuditEvent
from accounts.services import api_token_create
from evaluation.abtests import services
from evaluation.models import ABDataSource, ABQuery, ABQueryVersion

from .conftest import VARIANTS

EXPOSURE_SQL = "SELECT user_id, variant, exposed_at FROM exposures"
REVENUE_SQL = "SELECT user_id, amount AS value, created_at AS ts FROM orders"
ORDERS_SQL = "SELECT user_id, 1 AS value, created_at AS ts FROM orders"


def token_client(org, user, scope: str = "write") -> Client:
    raw = api_token_create(org=org, user=user, name="pipeline", scope=scope)[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


@pytest.fixture
def source(org, admin):
    return services.data_source_create(
        org=org, user=admin, name="dwh", url="postgresql+psycopg://reader:pw@127.0.0.1:1/dwh"
    )


@pytest.fixture
def body(source):
    return {
        "data_source": source.pk,
        "name": "Revenue",
        "kind": "metric",
        "metric_type": "continuous",
        "sql": REVENUE_SQL,
        "note": "first cut",
    }


@pytest.fixture
def query(org, member, source):
    return services.query_create(
        org=org,
        user=member,
        data_source=source,
        name="Exposures",
        kind="exposure",
        sql=EXPOSURE_SQL,
    )


def test_a_member_saves_a_metric_definition_as_a_draft_version_1(org, member, body, source):
    response = post(token_client(org, member), "/api/v1/ab-queries/", body)
    assert response.status_code == 201, response.json()
    answer = response.json()
    query = ABQuery.objects.get()
    assert answer["id"] == query.pk
    assert (answer["name"], answer["kind"], answer["metric_type"]) == (
        "Revenue",
        "metric",
        "continuous",
    )
    assert answer["data_source"] == source.pk
    assert answer["approved_version"] is None
    [version] = answer["versions"]
    assert (version["number"], version["status"], version["sql"], version["note"]) == (
        1,
        "draft",
        REVENUE_SQL,
        "first cut",
    )
    assert version["author"] == member.email and version["reviewed_by"] is None
    assert query.created_by == member
    assert AuditEvent.objects.filter(action="abtest.query_created").count() == 1


def test_the_list_shows_each_query_with_its_versions(org, member, query, client_for):
    response = client_for(member).get("/api/v1/ab-queries/")
    assert response.status_code == 200
    [listed] = response.json()["results"]
    assert (listed["id"], listed["name"], listed["kind"]) == (query.pk, "Exposures", "exposure")
    assert [v["number"] for v in listed["versions"]] == [1]


def test_listing_queries_takes_a_constant_number_of_queries(
    org, member, admin, source, client_for, django_assert_max_num_queries
):
    for i in range(6):
        made = services.query_create(
            org=org,
            user=member,
            data_source=source,
            name=f"q{i}",
            kind="exposure",
            sql=f"SELECT {i}",
        )
        services.query_version_create(query=made, user=member, sql=f"SELECT {i} + 1")
        version = made.versions.get(number=1)
        services.query_version_review(version=version, user=admin, decision="approve")
    client = client_for(member)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/ab-queries/")
    assert len(response.json()["results"]) == 6


def test_a_bad_definition_is_a_400_that_saves_nothing(org, member, body):
    client = token_client(org, member)
    ratio_without_denominator = {**body, "metric_type": "ratio"}
    response = post(client, "/api/v1/ab-queries/", ratio_without_denominator)
    assert response.status_code == 400
    assert "denominator_sql" in response.json()["error"]["fields"]
    assert post(client, "/api/v1/ab-queries/", {**body, "name": 7}).status_code == 400
    two_statements = {**body, "sql": "SELECT 1; DROP TABLE orders"}
    answer = post(client, "/api/v1/ab-queries/", two_statements)
    assert answer.status_code == 400 and "sql" in answer.json()["error"]["fields"]
    assert not ABQuery.objects.exists()


def test_a_data_source_of_another_organization_is_refused(org, member, body, other_warehouse_query):
    theirs = {**body, "data_source": other_warehouse_query.data_source_id}
    response = post(token_client(org, member), "/api/v1/ab-queries/", theirs)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["data_source"] == [
        "Choose a data source of this organization."
    ]
    assert not ABQuery.objects.filter(organization=org).exists()


def test_a_new_version_is_a_draft_and_the_approved_one_keeps_running(org, member, admin, query):
    services.query_version_review(
        version=query.versions.get(number=1), user=admin, decision="approve"
    )
    url = f"/api/v1/ab-queries/{query.pk}/versions/"
    changed = {"sql": EXPOSURE_SQL + " WHERE NOT is_bot", "note": "drop bots"}
    response = post(token_client(org, member), url, changed)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert [(v["number"], v["status"]) for v in answer["versions"]] == [
        (2, "draft"),
        (1, "approved"),
    ]
    assert answer["approved_version"] == 1


def test_saving_the_same_text_again_is_refused(org, member, query):
    response = post(
        token_client(org, member), f"/api/v1/ab-queries/{query.pk}/versions/", {"sql": EXPOSURE_SQL}
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["sql"] == [
        "This is the text of version 1; change it first."
    ]
    assert ABQueryVersion.objects.count() == 1


def test_another_member_approves_a_version(org, member, admin, query):
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    response = post(token_client(org, admin), url, {"decision": "approve", "comment": "ok"})
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["approved_version"] == 1
    [version] = answer["versions"]
    assert (version["status"], version["reviewed_by"], version["review_comment"]) == (
        "approved",
        admin.email,
        "ok",
    )
    assert query.approved_version().number == 1


def test_its_author_may_not_review_a_version(org, member, query):
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    response = post(token_client(org, member), url, {"decision": "approve"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["non_field_errors"] == [
        "A version is reviewed by someone other than its author."
    ]
    assert query.versions.get().status == "draft"


def test_requesting_changes_needs_a_comment(org, admin, query):
    client = token_client(org, admin)
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    response = post(client, url, {"decision": "request_changes"})
    assert response.status_code == 400
    assert "comment" in response.json()["error"]["fields"]
    response = post(client, url, {"decision": "request_changes", "comment": "Filter bots."})
    assert response.status_code == 200
    assert response.json()["versions"][0]["status"] == "changes_requested"
    assert response.json()["approved_version"] is None


def test_a_reviewed_version_cannot_be_reviewed_again(org, admin, query):
    client = token_client(org, admin)
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    assert post(client, url, {"decision": "approve"}).status_code == 200
    response = post(client, url, {"decision": "request_changes", "comment": "no"})
    assert response.status_code == 400
    assert query.versions.get().status == "approved"


def test_an_unknown_decision_or_version_is_refused(org, admin, query):
    client = token_client(org, admin)
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    assert post(client, url, {"decision": "reject"}).status_code == 400
    missing = f"/api/v1/ab-queries/{query.pk}/versions/9/review/"
    assert post(client, missing, {"decision": "approve"}).status_code == 404


def test_a_viewer_reads_queries_but_may_not_write_or_review(org, viewer, body, query):
    client = token_client(org, viewer)
    assert client.get(f"/api/v1/ab-queries/{query.pk}/").status_code == 200
    assert post(client, "/api/v1/ab-queries/", body).status_code == 403
    url = f"/api/v1/ab-queries/{query.pk}/versions/"
    assert post(client, url, {"sql": "SELECT 2"}).status_code == 403
    review = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    assert post(client, review, {"decision": "approve"}).status_code == 403
    assert query.versions.get().status == "draft"


def test_a_read_only_token_may_not_review(org, admin, query):
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    response = post(token_client(org, admin, scope="read"), url, {"decision": "approve"})
    assert response.status_code == 403
    assert query.versions.get().status == "draft"


def test_a_version_approved_through_the_api_shows_on_the_query_page(
    org, admin, member, query, client_for
):
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    assert post(token_client(org, admin), url, {"decision": "approve"}).status_code == 200
    page = client_for(member).get(f"/o/{org.slug}/ab-warehouse/queries/{query.pk}/")
    assert page.status_code == 200
    assert "Approved" in page.content.decode()


def test_a_test_is_pointed_at_approved_saved_queries(org, member, admin, source, query, project):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Checkout",
        hypothesis="h",
        variants=VARIANTS,
        metrics=[{"key": "revenue", "type": "continuous", "role": "primary"}],
    )
    revenue = services.query_create(
        org=org,
        user=member,
        data_source=source,
        name="Revenue",
        kind="metric",
        metric_type="continuous",
        sql=REVENUE_SQL,
    )
    client = token_client(org, member)
    url = f"/api/v1/ab-tests/{abtest.pk}/queries/"
    body = {"exposure_query": query.pk, "metric_queries": {"revenue": revenue.pk}}
    response = client.put(url, body, content_type="application/json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["exposure_query"] == query.pk
    assert answer["metrics"][0]["query"] == revenue.pk
    assert (answer["conversion_window_hours"], answer["cuped_lookback_days"]) == (72.0, 14.0)
    wrong_kind = {"exposure_query": revenue.pk, "metric_queries": {"revenue": query.pk}}
    response = client.put(url, wrong_kind, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"exposure_query", "metric_revenue"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data_source": "1"}, "data_source"),
        ({"data_source": 2**63}, "data_source"),
        ({"kind": 1}, "kind"),
        ({"metric_type": False}, "metric_type"),
        ({"sql": 1}, "sql"),
    ],
)
def test_a_wrong_json_type_in_a_definition_is_a_400_that_saves_nothing(
    org, member, body, change, field
):
    response = post(token_client(org, member), "/api/v1/ab-queries/", {**body, **change})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ABQuery.objects.exists()


def test_a_review_decision_that_is_no_string_is_a_400(org, admin, query):
    url = f"/api/v1/ab-queries/{query.pk}/versions/1/review/"
    response = post(token_client(org, admin), url, {"decision": 1})
    assert response.status_code == 400
    assert "decision" in response.json()["error"]["fields"]
    assert query.versions.get().status == "draft"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"statement_timeout_ms": "60000"}, "statement_timeout_ms"),
        ({"row_cap": 1.5}, "row_cap"),
        ({"row_cap": True}, "row_cap"),
    ],
)
def test_a_wrong_json_type_in_a_data_source_is_a_400_that_saves_nothing(org, admin, change, field):
    body = {"name": "dwh", "url": "postgresql+psycopg://reader:pw@127.0.0.1:1/dwh", **change}
    response = post(token_client(org, admin), "/api/v1/ab-data-sources/", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ABDataSource.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"exposure_query": "1"}, "exposure_query"),
        ({"metric_queries": {"conversion": 1.0}}, "metric_queries"),
        ({"conversion_window_hours": "72"}, "conversion_window_hours"),
        ({"cuped_lookback_days": False}, "cuped_lookback_days"),
    ],
)
def test_a_wrong_json_type_in_a_tests_queries_is_a_400_that_changes_nothing(
    org, member, abtest, query, change, field
):
    body = {"exposure_query": query.pk, "metric_queries": {}, **change}
    url = f"/api/v1/ab-tests/{abtest.pk}/queries/"
    response = token_client(org, member).put(url, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    abtest.refresh_from_db()
    assert abtest.exposure_query_id is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data_source": "1"}, "data_source"),
        ({"conversion_window_hours": "72"}, "conversion_window_hours"),
        ({"exposure_sql": 1}, "exposure_sql"),
    ],
)
def test_a_wrong_json_type_in_a_tests_warehouse_is_a_400_that_changes_nothing(
    org, member, abtest, source, change, field
):
    body = {"data_source": source.pk, "exposure_sql": EXPOSURE_SQL, "metric_sql": {}, **change}
    url = f"/api/v1/ab-tests/{abtest.pk}/warehouse/"
    response = token_client(org, member).put(url, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    abtest.refresh_from_db()
    assert (abtest.data_source_id, abtest.exposure_sql) == (None, "")
