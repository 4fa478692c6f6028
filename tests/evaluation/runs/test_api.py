"""The runs REST API: /api/v1/projects/{id}/runs/, /api/v1/runs/{id}/…"""

import math

import pytest
from django.utils import timezone

from evaluation.models import Run, RunMetric
from tests.factories import RunFactory


def post(client, url, data, **extra):
    return client.post(url, data, content_type="application/json", **extra)


def test_creating_a_run_answers_201_with_its_id(api, project, member):
    response = post(
        api,
        f"/api/v1/projects/{project.pk}/runs/",
        {"name": "xgb-1", "params": {"lr": 0.01, "depth": 6, "model": "xgb"}, "tags": {"t": "a"}},
    )
    assert response.status_code == 201
    body = response.json()
    run = Run.objects.get(pk=body["id"])
    assert (run.project, run.created_by, run.status) == (project, member, "running")
    assert body["params"] == {"lr": "0.01", "depth": "6", "model": "xgb"}
    assert body["tags"] == {"t": "a"}


def test_a_run_without_a_name_gets_one(api, project):
    response = post(api, f"/api/v1/projects/{project.pk}/runs/", {})
    assert response.status_code == 201
    assert response.json()["name"].startswith("run-")


def test_creating_a_run_in_another_orgs_project_answers_404(api, other_project):
    response = post(api, f"/api/v1/projects/{other_project.pk}/runs/", {"name": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
    assert not Run.objects.exists()


def test_a_read_token_may_not_create_runs(api_for, member, project):
    response = post(api_for(member, "read"), f"/api/v1/projects/{project.pk}/runs/", {})
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_a_viewers_write_token_may_not_create_runs(api_for, viewer, project):
    response = post(api_for(viewer, "write"), f"/api/v1/projects/{project.pk}/runs/", {})
    assert response.status_code == 403


def test_a_viewers_token_may_read_runs(api_for, viewer, run):
    response = api_for(viewer, "read").get(f"/api/v1/runs/{run.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == run.name


def test_log_batch_writes_metrics_params_and_tags(api, run):
    response = post(
        api,
        f"/api/v1/runs/{run.pk}/log-batch/",
        {
            "metrics": [
                {"key": "f1", "value": 0.5, "step": 0, "timestamp": 1000},
                {"key": "f1", "value": 0.7, "step": 1, "timestamp": 2000},
                {"key": "loss", "value": 1.5},
            ],
            "params": [{"key": "epochs", "value": 10}],
            "tags": [{"key": "git", "value": "abc123"}],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["metrics"]["f1"] == {"value": 0.7, "step": 1, "timestamp": 2000}
    assert body["metrics"]["loss"]["value"] == 1.5
    assert body["params"] == {"lr": "0.1", "epochs": "10"}
    assert body["tags"] == {"git": "abc123"}
    assert RunMetric.objects.filter(run=run).count() == 3


def test_the_latest_metric_is_the_highest_step_not_the_last_logged(api, run, log):
    log(run, step=5, f1=0.9)
    log(run, step=2, f1=0.1)
    assert api.get(f"/api/v1/runs/{run.pk}/").json()["metrics"]["f1"]["value"] == 0.9


def test_log_batch_accepts_1000_metrics(api, run):
    metrics = [{"key": "loss", "value": i / 1000, "step": i} for i in range(1000)]
    response = post(api, f"/api/v1/runs/{run.pk}/log-batch/", {"metrics": metrics})
    assert response.status_code == 200
    assert RunMetric.objects.filter(run=run).count() == 1000


def test_log_batch_refuses_1001_metrics_and_writes_nothing(api, run):
    metrics = [{"key": "loss", "value": 0.1, "step": i} for i in range(1001)]
    response = post(api, f"/api/v1/runs/{run.pk}/log-batch/", {"metrics": metrics})
    assert response.status_code == 400
    assert "metrics" in response.json()["error"]["fields"]
    assert not RunMetric.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"key": "f1", "value": "high"},
        {"key": "f1", "value": "NaN"},
        {"key": "f1", "value": "Infinity"},
        {"key": "f1"},
        {"key": "", "value": 1},
        {"key": "f1", "value": 1, "step": "first"},
        {"key": "f1", "value": "0.5"},
        {"key": "f1", "value": True},
        {"key": "f1", "value": 10**400},
        {"key": "f1", "value": 1, "step": "1"},
        {"key": "f1", "value": 1, "step": 1.5},
        {"key": "f1", "value": 1, "timestamp": "1000"},
        {"key": "f1", "value": 1, "timestamp": False},
        {"key": 5, "value": 1},
    ],
    ids=[
        "non-numeric",
        "nan",
        "infinity",
        "no-value",
        "no-key",
        "bad-step",
        "number-as-string",
        "boolean-value",
        "beyond-float",
        "step-as-string",
        "fractional-step",
        "timestamp-as-string",
        "boolean-timestamp",
        "numeric-key",
    ],
)
def test_one_bad_metric_fails_the_whole_batch(api, run, bad):
    good = {"key": "f1", "value": 0.5}
    response = post(api, f"/api/v1/runs/{run.pk}/log-batch/", {"metrics": [good, bad]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"]["metrics"]
    assert not RunMetric.objects.exists()
    run.refresh_from_db()
    assert run.latest_metrics == {}


def test_a_bare_nan_literal_is_refused(api, run):
    body = '{"metrics": [{"key": "f1", "value": NaN}]}'
    response = api.post(f"/api/v1/runs/{run.pk}/log-batch/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400
    assert not RunMetric.objects.exists()


def test_a_param_cannot_change_once_logged(api, run):
    response = post(
        api,
        f"/api/v1/runs/{run.pk}/log-batch/",
        {"metrics": [{"key": "f1", "value": 1}], "params": [{"key": "lr", "value": "0.2"}]},
    )
    assert response.status_code == 400
    assert "cannot change" in str(response.json()["error"]["fields"]["params"])
    run.refresh_from_db()
    assert run.params == {"lr": "0.1"}
    assert not RunMetric.objects.exists()


def test_logging_the_same_param_value_again_is_fine(api, run):
    response = post(
        api, f"/api/v1/runs/{run.pk}/log-batch/", {"params": [{"key": "lr", "value": "0.1"}]}
    )
    assert response.status_code == 200


def test_log_batch_on_another_orgs_run_answers_404(api, other_run):
    response = post(api, f"/api/v1/runs/{other_run.pk}/log-batch/", {"metrics": []})
    assert response.status_code == 404


def test_finishing_a_run_records_its_end(api, run):
    response = api.patch(
        f"/api/v1/runs/{run.pk}/", {"status": "finished"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "finished"
    assert response.json()["ended_at"] is not None


def test_an_unknown_status_answers_400(api, run):
    response = api.patch(
        f"/api/v1/runs/{run.pk}/", {"status": "done"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]
    run.refresh_from_db()
    assert run.status == "running"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": 1}, "status"),
        ({"name": 5}, "name"),
        ({"objective": "1"}, "objective"),
        ({"objective": 1.0}, "objective"),
        ({"objective": 2**63}, "objective"),
    ],
)
def test_a_wrong_json_type_in_a_patch_is_a_400_that_changes_nothing(api, run, body, field):
    before = (run.status, run.name, run.objective_id)
    response = api.patch(f"/api/v1/runs/{run.pk}/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    run.refresh_from_db()
    assert (run.status, run.name, run.objective_id) == before


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=b",
        "application/x-www-form-urlencoded",
        "text/plain",
    ],
)
def test_a_body_that_is_not_json_answers_415_and_changes_nothing(api, run, content_type):
    # A malformed multipart body once parsed as an empty form: a valid partial update
    # that changed nothing and answered 200, though the body was not the published JSON.
    before = (run.status, run.name, run.updated_at)
    response = api.patch(
        f"/api/v1/runs/{run.pk}/", "--b\r\n-2534653778328836.0--b--\r\n", content_type=content_type
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"]
    run.refresh_from_db()
    assert (run.status, run.name, run.updated_at) == before


def test_a_read_token_may_not_patch(api_for, member, run):
    response = api_for(member, "read").patch(
        f"/api/v1/runs/{run.pk}/", {"status": "killed"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_metric_history_lists_every_value_by_step(api, run, log):
    log(run, step=2, **{"train/loss": 0.5})
    log(run, step=1, **{"train/loss": 0.9})
    response = api.get(f"/api/v1/runs/{run.pk}/metrics/train/loss/history/")
    assert response.status_code == 200
    assert [(p["step"], p["value"]) for p in response.json()["history"]] == [(1, 0.9), (2, 0.5)]


@pytest.fixture
def runs(project, log):
    """Five runs: f1 0.1…0.5 (run 2 lacks f1), statuses and tags mixed."""
    made = []
    for i, (f1, status, team) in enumerate(
        [
            (0.3, "finished", "a"),
            (None, "failed", "b"),
            (0.5, "finished", "a"),
            (0.1, "running", "b"),
            (0.4, "finished", "a"),
        ]
    ):
        run = RunFactory(project=project, name=f"r{i}", status=status, tags={"team": team})
        if f1 is not None:
            log(run, f1=f1)
        made.append(run)
    return made


def names(response) -> list[str]:
    return [r["name"] for r in response.json()["results"]]


def test_the_run_list_filters_by_status(api, project, runs):
    response = api.get(f"/api/v1/projects/{project.pk}/runs/?status=finished&order_by=name")
    assert names(response) == ["r0", "r2", "r4"]


def test_the_run_list_filters_by_tag(api, project, runs):
    response = api.get(f"/api/v1/projects/{project.pk}/runs/?tag=team:b&order_by=name")
    assert names(response) == ["r1", "r3"]


def test_the_run_list_filters_by_metric_range(api, project, runs):
    response = api.get(
        f"/api/v1/projects/{project.pk}/runs/?metric=f1&min=0.3&max=0.45&order_by=name"
    )
    assert names(response) == ["r0", "r4"]


def test_the_run_list_orders_by_a_metric_with_missing_values_last(api, project, runs):
    url = f"/api/v1/projects/{project.pk}/runs/?order_by="
    assert names(api.get(url + "-metric.f1")) == ["r2", "r4", "r0", "r3", "r1"]
    assert names(api.get(url + "metric.f1")) == ["r3", "r0", "r4", "r2", "r1"]


@pytest.mark.parametrize("order", ["-metric.f1", "metric.f1", "-started_at", "name"])
def test_the_cursor_walks_every_run_exactly_once(api, project, runs, order):
    RunFactory(project=project, name="tie", latest_metrics=runs[0].latest_metrics)
    url = f"/api/v1/projects/{project.pk}/runs/?page_size=2&order_by={order}"
    seen = []
    while url:
        body = api.get(url).json()
        seen += [r["name"] for r in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(["r0", "r1", "r2", "r3", "r4", "tie"])


@pytest.mark.parametrize(
    "query", ["order_by=size", "cursor=garbage", "status=done", "min=x&metric=f1", "min=1", "tag=x"]
)
def test_bad_listing_parameters_answer_400(api, project, query):
    response = api.get(f"/api/v1/projects/{project.pk}/runs/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_the_run_list_shows_only_the_projects_runs(api, project, run, other_run):
    response = api.get(f"/api/v1/projects/{project.pk}/runs/")
    assert names(response) == [run.name]


def test_the_run_list_of_another_orgs_project_answers_404(api, other_project, other_run):
    assert api.get(f"/api/v1/projects/{other_project.pk}/runs/").status_code == 404


def test_a_token_of_another_org_gets_404_for_a_run(api_for, outsider, run):
    client = api_for(outsider, "write")
    assert client.get(f"/api/v1/runs/{run.pk}/").status_code == 404
    assert client.get(f"/api/v1/runs/{run.pk}/metrics/f1/history/").status_code == 404
    response = client.patch(
        f"/api/v1/runs/{run.pk}/", {"status": "killed"}, content_type="application/json"
    )
    assert response.status_code == 404


ENDPOINTS = [
    ("get", "/api/v1/projects/{project}/runs/"),
    ("post", "/api/v1/projects/{project}/runs/"),
    ("get", "/api/v1/runs/{run}/"),
    ("patch", "/api/v1/runs/{run}/"),
    ("post", "/api/v1/runs/{run}/log-batch/"),
    ("get", "/api/v1/runs/{run}/metrics/f1/history/"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
@pytest.mark.parametrize("auth", ["none", "bad", "revoked", "expired"])
def test_every_endpoint_answers_401_without_a_valid_token(
    client, org, member, project, run, method, url, auth
):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import ApiToken
    from accounts.services import api_token_create, api_token_revoke

    headers = {}
    if auth == "bad":
        headers["HTTP_AUTHORIZATION"] = "Bearer mlp_wrong"
    elif auth in ("revoked", "expired"):
        token, raw = api_token_create(org=org, user=member, name="t", scope="write")
        if auth == "revoked":
            api_token_revoke(token=token, actor=member)
        else:
            ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    path = url.format(project=project.pk, run=run.pk)
    response = getattr(client, method)(path, {}, content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401


def test_log_batch_takes_a_constant_number_of_queries(api, run, django_assert_max_num_queries):
    url = f"/api/v1/runs/{run.pk}/log-batch/"
    post(api, url, {"metrics": [{"key": "warm", "value": 1}]})  # last_used written once
    for size in (10, 1000):
        metrics = [{"key": f"m{i % 7}", "value": i, "step": i} for i in range(size)]
        # 2 auth + run lookup + lock + bulk insert (≤ 6 statements on SQLite's 999
        # variables) + run update, plus transaction statements.
        with django_assert_max_num_queries(14):
            assert post(api, url, {"metrics": metrics}).status_code == 200


def test_the_run_list_takes_a_constant_number_of_queries(
    api, project, log, django_assert_max_num_queries
):
    api.get(f"/api/v1/projects/{project.pk}/runs/")
    for count in (3, 40):
        for i in range(count):
            log(RunFactory(project=project), f1=i / 100)
        with django_assert_max_num_queries(4):
            response = api.get(f"/api/v1/projects/{project.pk}/runs/?order_by=-metric.f1")
        assert response.status_code == 200


def test_nan_and_infinity_logged_by_the_mlflow_client_are_null(api, run, log):
    log(run, step=0, loss=math.nan, up=math.inf)
    body = api.get(f"/api/v1/runs/{run.pk}/").json()
    assert body["metrics"]["loss"]["value"] is None
    assert body["metrics"]["up"]["value"] is None
    history = api.get(f"/api/v1/runs/{run.pk}/metrics/up/history/").json()["history"]
    assert [point["value"] for point in history] == [None]


def test_the_run_list_leaves_out_deleted_runs(api, project, run):
    RunFactory(project=project, name="gone", deleted_at=timezone.now())
    body = api.get(f"/api/v1/projects/{project.pk}/runs/").json()
    assert [r["name"] for r in body["results"]] == [run.name]


def test_a_deleted_run_refuses_logging(api, run):
    run.deleted_at = timezone.now()
    run.save()
    response = api.post(
        f"/api/v1/runs/{run.pk}/log-batch/",
        {"metrics": [{"key": "f1", "value": 0.5}]},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_nul_characters_are_refused_on_the_rest_api_too(api, run):
    response = api.post(
        f"/api/v1/runs/{run.pk}/log-batch/",
        {"params": [{"key": "p", "value": "a\x00b"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
