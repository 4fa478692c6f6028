"""An organization connects its warehouse, a test's exposure and metric queries are saved,
and "Refresh results" puts the warehouse's aggregates into the test's results — over the
API and the page, on a real second PostgreSQL database."""

import pytest

from evaluation.abtests import jobs, services
from evaluation.models import ABDataSource, ABResult, ABTest, ABWarehouseRefresh

from .test_warehouse import END, EXPOSURES, METRICS, START, run
from .test_warehouse import warehouse as warehouse  # noqa: F401 - the database fixture

VARIANTS = [{"key": "control", "allocation": 0.5}, {"key": "treatment", "allocation": 0.5}]


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


@pytest.fixture
def warehouse_abtest(project, member):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Checkout",
        hypothesis="h",
        variants=VARIANTS,
        metrics=[
            {
                "key": m.key,
                "type": m.type,
                "quantile_level": m.quantile_level,
                "role": "primary" if i == 0 else "secondary",
            }
            for i, m in enumerate(METRICS)
        ],
    )
    services.abtest_start(abtest=abtest, user=member)
    ABTest.objects.filter(pk=abtest.pk).update(started_at=START, stopped_at=END)
    abtest.refresh_from_db()
    return abtest


def configure(client, abtest, source_id):
    return client.put(
        f"/api/v1/ab-tests/{abtest.pk}/warehouse/",
        {
            "data_source": source_id,
            "exposure_sql": EXPOSURES,
            "conversion_window_hours": 72,
            "metric_sql": {
                m.key: {"sql": m.sql, "denominator_sql": m.denominator_sql} for m in METRICS
            },
        },
        content_type="application/json",
    )


def test_a_refresh_puts_the_warehouse_aggregates_into_the_results(
    warehouse, org, admin, member, client_for, warehouse_abtest, django_capture_on_commit_callbacks
):
    created = post(
        client_for(admin), "/api/v1/ab-data-sources/", {"name": "dwh", "url": warehouse["url"]}
    )
    assert created.status_code == 201, created.json()
    api = client_for(member)
    assert configure(api, warehouse_abtest, created.json()["id"]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(api, f"/api/v1/ab-tests/{warehouse_abtest.pk}/refresh/")
    assert answer.status_code == 202
    refresh = api.get(f"/api/v1/ab-tests/{warehouse_abtest.pk}/refresh/").json()
    assert refresh["status"] == "succeeded", refresh["error"]
    assert [q["metric"] for q in refresh["queries"]] == [m.key for m in METRICS]
    # With the default CUPED lookback (14 days) every metric but the quantile carries its
    # pre-exposure covariate.
    expected = run(warehouse, cuped_lookback_hours=14 * 24).results
    assert "covariate_sum" in expected["revenue"]["control"]
    saved = {
        (r.metric.key, r.variant.key): r
        for r in ABResult.objects.select_related("metric", "variant")
    }
    for metric, per_variant in expected.items():
        for variant, data in per_variant.items():
            row = saved[(metric, variant)]
            assert row.source == "warehouse"
            assert row.as_stats() == pytest.approx(data, rel=1e-12)


def test_a_refused_query_fails_the_refresh_and_keeps_the_results(
    warehouse, org, member, warehouse_abtest
):
    source = services.data_source_create(org=org, user=member, name="dwh", url=warehouse["url"])
    services.abtest_warehouse_set(
        abtest=warehouse_abtest,
        user=member,
        data_source=source,
        exposure_sql="SELECT user_id, variant, exposed_at FROM exposures, pg_sleep(2) AS p",
        metric_sql={"purchase": {"sql": METRICS[0].sql}},
    )
    ABDataSource.objects.filter(pk=source.pk).update(statement_timeout_ms=200)
    refresh = services.abtest_refresh_request(abtest=warehouse_abtest, user=member, enqueue=False)
    refresh = jobs.abtest_refresh_run(refresh_id=refresh.pk)
    assert refresh.status == "failed"
    assert "longer than the data source's limit of 0.2 s" in refresh.error
    assert not ABResult.objects.exists()


def test_credentials_are_encrypted_at_rest_and_masked_in_answers(org, admin, client_for):
    url = "postgresql+psycopg://reader:s3cret-pw@db.internal:5432/dwh"
    answer = post(client_for(admin), "/api/v1/ab-data-sources/", {"name": "dwh", "url": url})
    assert answer.status_code == 201
    assert "s3cret-pw" not in answer.content.decode()
    assert answer.json()["display_url"] == "postgresql+psycopg://reader:***@db.internal:5432/dwh"
    source = ABDataSource.objects.get()
    assert "s3cret-pw" not in source.url_encrypted and source.url == url


def test_only_postgresql_urls_are_accepted_for_now(admin, client_for):
    answer = post(
        client_for(admin), "/api/v1/ab-data-sources/", {"name": "x", "url": "mysql://a@b/c"}
    )
    assert answer.status_code == 400 and "PostgreSQL" in answer.content.decode()


def test_only_an_admin_connects_a_data_source_as_on_the_pages(member, client_for):
    url = "postgresql+psycopg://reader:pw@db.internal:5432/dwh"
    api = client_for(member)
    answer = post(api, "/api/v1/ab-data-sources/", {"name": "dwh", "url": url})
    assert answer.status_code == 403
    assert not ABDataSource.objects.exists()
    assert api.get("/api/v1/ab-data-sources/").status_code == 200


def test_another_organizations_data_source_is_invisible(
    org, other_org, member, outsider, client_for, warehouse_abtest
):
    theirs = services.data_source_create(
        org=other_org, user=outsider, name="their dwh", url="postgresql+psycopg://x@y/z"
    )
    api = client_for(member)
    assert api.get("/api/v1/ab-data-sources/").json() == {"results": []}
    answer = configure(api, warehouse_abtest, theirs.pk)
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"]["data_source"] == [
        "Choose a data source of this organization."
    ]
    warehouse_abtest.refresh_from_db()
    assert warehouse_abtest.data_source is None


def test_the_page_has_a_refresh_button_that_queues_a_refresh(
    org, project, member, client_for, warehouse_abtest, django_capture_on_commit_callbacks
):
    source = services.data_source_create(
        org=org, user=member, name="dwh", url="postgresql+psycopg://x@127.0.0.1:1/none"
    )
    services.abtest_warehouse_set(
        abtest=warehouse_abtest,
        user=member,
        data_source=source,
        exposure_sql=EXPOSURES,
        metric_sql={"purchase": {"sql": METRICS[0].sql}},
    )
    client = client_for(member)
    url = f"/o/{org.slug}/projects/{project.slug}/ab-tests/{warehouse_abtest.pk}/"
    assert 'id="warehouse-refresh"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url + "refresh/")
    assert response.status_code == 302
    refresh = ABWarehouseRefresh.objects.get()
    # Nothing listens on port 1: the refresh fails with a message, not a 500.
    assert refresh.status == "failed" and "connect" in refresh.error.lower()
