"""Saved warehouse queries: admins connect data sources (the URL never shown back), members
write exposure queries and metric definitions whose every save is a new version, another
member approves a version, and refreshes run the approved version and record it — on a
real second PostgreSQL database."""

import pytest

from evaluation.abtests import jobs, services
from evaluation.models import ABDataSource, ABQuery, ABQueryVersion, ABResult, ABWarehouseRefresh

from .test_data_sources import warehouse_abtest as warehouse_abtest  # noqa: F401 - fixture
from .test_warehouse import EXPOSURES, METRICS, run
from .test_warehouse import warehouse as warehouse  # noqa: F401 - the database fixture

SECRET_URL = "postgresql+psycopg://reader:s3cret-pw@127.0.0.1:1/dwh"


@pytest.fixture
def source(org, admin):
    return services.data_source_create(org=org, user=admin, name="dwh", url=SECRET_URL)


def home(org) -> str:
    return f"/o/{org.slug}/ab-warehouse/"


def test_an_admin_connects_a_data_source_whose_url_is_never_shown_back(org, admin, client_for):
    client = client_for(admin)
    response = client.post(
        home(org) + "sources/new/",
        {"name": "dwh", "url": SECRET_URL, "statement_timeout_ms": 5000, "row_cap": 1000},
    )
    assert response.status_code == 302
    source = ABDataSource.objects.get()
    assert source.url == SECRET_URL and "s3cret-pw" not in source.url_encrypted
    for page in (home(org), home(org) + f"sources/{source.pk}/edit/"):
        assert "s3cret-pw" not in client.get(page).content.decode()


def test_editing_a_data_source_without_a_url_keeps_the_stored_one(org, admin, client_for, source):
    response = client_for(admin).post(
        home(org) + f"sources/{source.pk}/edit/",
        {"name": "warehouse", "url": "", "statement_timeout_ms": 9000, "row_cap": 10},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.name, source.statement_timeout_ms, source.url) == ("warehouse", 9000, SECRET_URL)


def test_test_connection_says_why_it_failed(org, admin, client_for, source):
    response = client_for(admin).post(home(org) + f"sources/{source.pk}/test/", follow=True)
    assert "dwh: Could not connect to the data source" in response.content.decode()


def test_test_connection_reaches_a_real_database(org, admin, client_for, warehouse):
    source = services.data_source_create(org=org, user=admin, name="real", url=warehouse["url"])
    response = client_for(admin).post(home(org) + f"sources/{source.pk}/test/", follow=True)
    assert "real: connected, read-only. PostgreSQL" in response.content.decode()


def test_members_may_not_manage_data_sources(org, member, client_for, source):
    client = client_for(member)
    assert client.get(home(org) + "sources/new/").status_code == 403
    assert client.post(home(org) + f"sources/{source.pk}/edit/").status_code == 403
    assert client.post(home(org) + f"sources/{source.pk}/test/").status_code == 403
    assert client.get(home(org)).status_code == 200


def _create_query(client, org, source, **overrides):
    data = {
        "name": "Orders revenue",
        "data_source": source.pk,
        "kind": "metric",
        "metric_type": "continuous",
        "sql": METRICS[1].sql,
        "note": "first cut",
        **overrides,
    }
    return client.post(home(org) + "queries/new/", data)


def test_a_member_saves_a_metric_definition_as_a_draft_version(org, member, client_for, source):
    response = _create_query(client_for(member), org, source)
    query = ABQuery.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/queries/{query.pk}/")
    version = query.versions.get()
    assert (version.number, version.status, version.author) == (1, "draft", member)
    page = client_for(member).get(response["Location"]).content.decode()
    assert "No approved version yet" in page and "Waiting for another member" in page


def test_a_ratio_definition_needs_a_denominator_and_one_statement(org, member, client_for, source):
    client = client_for(member)
    response = _create_query(client, org, source, metric_type="ratio")
    assert "The denominator query is empty." in response.content.decode()
    response = _create_query(client, org, source, sql="SELECT 1; DELETE FROM orders")
    assert "single SELECT statement" in response.content.decode()
    assert not ABQuery.objects.exists()


def test_each_save_is_a_new_version_with_its_diff_and_old_ones_kept(
    org, member, client_for, source
):
    client = client_for(member)
    _create_query(client, org, source)
    query = ABQuery.objects.get()
    changed = METRICS[1].sql + " WHERE amount > 0"
    response = client.post(
        home(org) + f"queries/{query.pk}/versions/", {"sql": changed, "note": "drop refunds"}
    )
    assert response.status_code == 302
    assert list(query.versions.values_list("number", "sql")) == [
        (2, changed),
        (1, METRICS[1].sql),
    ]
    page = client.get(home(org) + f"queries/{query.pk}/").content.decode()
    assert '<span class="diff-add">+' in page and "WHERE amount &gt; 0" in page
    assert '<span class="diff-remove">-' in page
    # Saving the same text again is refused: a version is a change.
    again = client.post(home(org) + f"queries/{query.pk}/versions/", {"sql": changed})
    assert "This is the text of version 2" in again.content.decode()
    assert query.versions.count() == 2


def test_the_author_cannot_approve_their_own_version(org, member, admin, client_for, source):
    _create_query(client_for(member), org, source)
    query = ABQuery.objects.get()
    url = home(org) + f"queries/{query.pk}/versions/1/review/"
    response = client_for(member).post(url, {"decision": "approve"})
    assert "reviewed by someone other than its author" in response.content.decode()
    assert query.versions.get().status == "draft"
    assert client_for(admin).post(url, {"decision": "approve"}).status_code == 302
    version = query.versions.get()
    assert (version.status, version.reviewed_by) == ("approved", admin)
    assert query.approved_version() == version


def test_requesting_changes_needs_a_comment(org, member, admin, client_for, source):
    _create_query(client_for(member), org, source)
    query = ABQuery.objects.get()
    url = home(org) + f"queries/{query.pk}/versions/1/review/"
    response = client_for(admin).post(url, {"decision": "request_changes"})
    assert "Say what should change." in response.content.decode()
    client_for(admin).post(url, {"decision": "request_changes", "comment": "window?"})
    assert query.versions.get().status == "changes_requested"


def test_a_viewer_can_read_but_not_write_queries(org, member, viewer, client_for, source):
    _create_query(client_for(member), org, source)
    query = ABQuery.objects.get()
    client = client_for(viewer)
    assert client.get(home(org) + f"queries/{query.pk}/").status_code == 200
    assert client.post(home(org) + f"queries/{query.pk}/versions/", {"sql": "x"}).status_code == 403
    review = home(org) + f"queries/{query.pk}/versions/1/review/"
    assert client.post(review, {"decision": "approve"}).status_code == 403


def _saved(org, source, author, reviewer, name, kind, sql, metric_type="", denominator=""):
    query = services.query_create(
        org=org,
        user=author,
        data_source=source,
        name=name,
        kind=kind,
        metric_type=metric_type,
        sql=sql,
        denominator_sql=denominator,
    )
    if reviewer is not None:
        services.query_version_review(
            version=query.versions.get(), user=reviewer, decision="approve"
        )
    return query


def _link_everything(org, project, client, abtest, source, member, admin, approve=True):
    reviewer = admin if approve else None
    exposure = _saved(org, source, member, reviewer, "Exposures", "exposure", EXPOSURES)
    data = {
        "exposure_query": exposure.pk,
        "conversion_window_hours": 72,
        "cuped_lookback_days": 1.5,
    }
    for m in METRICS:
        query = _saved(
            org,
            source,
            member,
            reviewer,
            f"def {m.key}",
            "metric",
            m.sql,
            m.type,
            m.denominator_sql,
        )
        data[f"metric_{m.key}"] = query.pk
    url = f"/o/{org.slug}/projects/{project.slug}/ab-tests/{abtest.pk}/queries/"
    return client.post(url, data)


def test_refresh_runs_the_approved_versions_and_records_them(
    warehouse,
    org,
    project,
    member,
    admin,
    client_for,
    warehouse_abtest,
    django_capture_on_commit_callbacks,
):
    source = services.data_source_create(org=org, user=admin, name="dwh", url=warehouse["url"])
    client = client_for(member)
    response = _link_everything(org, project, client, warehouse_abtest, source, member, admin)
    assert response.status_code == 302, response.content.decode()
    # A newer draft of the exposure query does not run until it is approved.
    exposure = ABQuery.objects.get(name="Exposures")
    services.query_version_create(query=exposure, user=member, sql=EXPOSURES + " WHERE false")
    detail = f"/o/{org.slug}/projects/{project.slug}/ab-tests/{warehouse_abtest.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(detail + "refresh/").status_code == 302
    refresh = ABWarehouseRefresh.objects.get()
    assert refresh.status == "succeeded", refresh.error
    assert refresh.attempts == 1  # a durable job: claimed once by the worker
    assert [(q["metric"], q["origin"]["version"]) for q in refresh.queries] == [
        (m.key, 1) for m in METRICS
    ]
    assert all(q["exposure_origin"]["version"] == 1 for q in refresh.queries)
    assert all("WHERE false" not in q["sql"] and q["seconds"] >= 0 for q in refresh.queries)
    expected = run(warehouse, cuped_lookback_hours=36).results
    for row in ABResult.objects.select_related("metric", "variant"):
        assert row.as_stats() == pytest.approx(expected[row.metric.key][row.variant.key])
    page = client.get(detail).content.decode()
    assert "“Exposures” v1" in page and "Queries of the last refresh" in page


def test_a_query_without_an_approved_version_stops_the_refresh(
    org, project, member, admin, client_for, warehouse_abtest
):
    source = services.data_source_create(org=org, user=admin, name="dwh", url=SECRET_URL)
    client = client_for(member)
    response = _link_everything(
        org, project, client, warehouse_abtest, source, member, admin, approve=False
    )
    assert response.status_code == 302
    refresh = services.abtest_refresh_request(abtest=warehouse_abtest, user=member, enqueue=False)
    refresh = jobs.abtest_refresh_run(refresh_id=refresh.pk)
    assert refresh.status == "failed"
    assert "“Exposures” has no approved version yet" in refresh.error
    assert not ABResult.objects.exists()


def test_a_metric_definition_of_another_type_is_refused(
    org, project, member, admin, client_for, warehouse_abtest, source
):
    exposure = _saved(org, source, member, admin, "Exposures", "exposure", EXPOSURES)
    mean = _saved(org, source, member, admin, "Revenue", "metric", METRICS[1].sql, "continuous")
    with pytest.raises(Exception, match="is a continuous"):
        services.abtest_queries_set(
            abtest=warehouse_abtest,
            user=member,
            exposure_query=exposure,
            metric_queries={"purchase": mean},
        )


def test_another_organizations_queries_are_invisible(
    org, other_org, outsider, project, member, admin, client_for, warehouse_abtest, source
):
    theirs_source = services.data_source_create(
        org=other_org, user=outsider, name="their dwh", url=SECRET_URL
    )
    theirs = services.query_create(
        org=other_org,
        user=outsider,
        data_source=theirs_source,
        name="Their exposures",
        kind="exposure",
        sql=EXPOSURES,
    )
    client = client_for(member)
    page = client.get(home(org)).content.decode()
    assert "Their exposures" not in page and "their dwh" not in page
    assert client.get(home(org) + f"queries/{theirs.pk}/").status_code == 404
    form = f"/o/{org.slug}/projects/{project.slug}/ab-tests/{warehouse_abtest.pk}/queries/"
    assert "Their exposures" not in client.get(form).content.decode()
    response = client.post(
        form, {"exposure_query": theirs.pk, "conversion_window_hours": 72, "cuped_lookback_days": 0}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    # A source of another organization cannot back a new query either.
    response = _create_query(client, org, theirs_source)
    assert ABQuery.objects.filter(organization=org).count() == 0
    assert ABQueryVersion.objects.count() == 1


def test_the_daily_schedule_queues_a_durable_refresh_once(
    org, project, member, admin, client_for, warehouse_abtest, source
):
    _link_everything(org, project, client_for(member), warehouse_abtest, source, member, admin)
    first = jobs.abtests_refresh_running()
    assert [r.abtest_id for r in first] == [warehouse_abtest.pk]
    assert first[0].status == "queued" and first[0].queued_at is not None
    # Already queued: the next run of the schedule does not pile up another one.
    assert jobs.abtests_refresh_running() == []


def test_the_beat_schedule_refreshes_running_tests_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-running-abtests"]
    assert entry["task"] == "evaluation.abtests.tasks.refresh_running_abtests_task"
    assert entry["schedule"] == 24 * 60 * 60
