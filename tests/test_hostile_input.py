"""Hostile and unlucky input gets a clear 4xx, never a 500: wrong types, numbers beyond
int64, NUL characters, names longer than the database holds and deeply nested JSON, on
/api/v1/ (the API's error shape) and /mlflow (MLflow's); OPTIONS on every endpoint;
concurrent sign-ups on one invitation link; the Activity page with old audit rows."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client, override_settings
from rest_framework.exceptions import ParseError

from accounts.api.parsers import DepthLimitedJSONParser
from accounts.models import Membership, User
from accounts.services import api_token_create, audit, invitation_create
from tests.factories import RunFactory

DEEP = "[" * 1000 + "]" * 1000
MLFLOW = "/mlflow/api/2.0/mlflow"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def api(org, member) -> Client:
    raw = api_token_create(org=org, user=member, name="hostile", scope="write")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post_json(client: Client, url: str, body) -> tuple[int, dict]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(url, raw, content_type="application/json")
    return response.status_code, response.json()


def error_of(body: dict) -> dict:
    assert set(body) == {"error"}, body
    return body["error"]


# -- JSON depth ------------------------------------------------------------------------------
def test_a_body_nested_1000_deep_is_refused_by_the_api(api, project):
    status, body = post_json(api, "/api/v1/projects/", DEEP)
    assert status == 400
    error = error_of(body)
    assert error["code"] == "too_deep"
    assert "API_MAX_JSON_DEPTH" in error["message"]


def test_a_nested_value_inside_a_field_is_refused_too(api, project):
    status, body = post_json(api, "/api/v1/projects/", '{"name": %s}' % ("[" * 100 + "]" * 100))
    assert status == 400
    assert error_of(body)["code"] == "too_deep"


@override_settings(API_MAX_JSON_DEPTH=3)
def test_the_depth_limit_is_the_setting():
    from io import BytesIO

    parser = DepthLimitedJSONParser()
    assert parser.parse(BytesIO(b'{"a": {"b": [1]}}')) == {"a": {"b": [1]}}
    with pytest.raises(ParseError, match="deeper than 3"):
        parser.parse(BytesIO(b'{"a": {"b": [[1]]}}'))


def test_a_body_nested_1000_deep_is_refused_by_mlflow(api, project):
    status, body = post_json(api, f"{MLFLOW}/runs/create", DEEP)
    assert status == 400
    assert body["error_code"] == "BAD_REQUEST"
    assert "API_MAX_JSON_DEPTH" in body["message"]


# -- NUL characters and unstorable text ------------------------------------------------------
def test_a_nul_character_in_a_json_string_is_refused(api, project):
    status, body = post_json(api, "/api/v1/projects/", {"name": "a\x00b"})
    assert status == 400
    assert error_of(body)["code"] == "invalid_text"


def test_a_nul_character_in_a_json_key_is_refused(api, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    status, body = post_json(api, url, {"name": "r", "params": {"a\x00": "b"}})
    assert status == 400
    assert error_of(body)["code"] == "invalid_text"


def test_a_lone_surrogate_in_a_json_string_is_refused(api, project):
    url = f"/api/v1/projects/{project.pk}/runs/"
    status, body = post_json(api, url, '{"name": "r", "params": {"a": "\\ud800"}}')
    assert status == 400
    assert error_of(body)["code"] == "invalid_text"


def test_a_nul_character_in_a_query_string_is_refused(api, project):
    response = api.get(f"/api/v1/projects/{project.pk}/runs/?metric=a%00b")
    assert response.status_code == 400
    assert "NUL" in error_of(response.json())["message"]


def test_a_nul_character_in_a_path_is_refused(api, project):
    run = RunFactory(project=project)
    response = api.get(f"/api/v1/runs/{run.pk}/metrics/a%00b/history/")
    assert response.status_code == 400


def test_a_nul_character_in_a_form_field_is_refused(client, db):
    body = "username=a%00%40x.test&password=p"
    response = client.post("/accounts/login/", body, content_type=FORM)
    assert response.status_code == 400


def test_a_nul_character_in_a_multipart_field_is_a_form_error(client, db):
    response = client.post("/accounts/login/", {"username": "a\x00@x.test", "password": "p"})
    assert response.status_code == 200  # the form's own error, no account looked up


def test_a_nul_character_in_an_mlflow_query_answers_in_mlflows_shape(api, project):
    response = api.get(f"{MLFLOW}/runs/get?run_id=1%00")
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# -- lengths and ranges ----------------------------------------------------------------------
def test_a_5000_character_project_name_is_a_field_error(api, db):
    status, body = post_json(api, "/api/v1/projects/", {"name": "x" * 5000})
    assert status == 400
    assert "name" in error_of(body)["fields"]


def test_a_5000_character_run_name_is_a_field_error(api, project):
    status, body = post_json(api, f"/api/v1/projects/{project.pk}/runs/", {"name": "x" * 5000})
    assert status == 400
    assert "name" in error_of(body)["fields"]


# -- types ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/analyses/", {"name": 0}),  # a declared input field
        ("/api/v1/projects/", {"name": 12.5}),  # a field built from the model's column
        ("/api/v1/projects/", {"name": ["a"]}),
    ],
)
def test_a_number_or_list_where_a_string_is_expected_is_a_field_error(api, db, path, body):
    status, body = post_json(api, path, body)
    assert status == 400
    assert error_of(body)["fields"]["name"] == ["Not a valid string."]


def test_a_form_body_with_too_many_fields_answers_in_the_api_error_shape(api, project):
    body = "&".join(["metrics=key"] * 1200)
    response = api.post(
        f"/api/v1/projects/{project.pk}/runs/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in error_of(response.json())["message"]


def test_an_id_beyond_int64_in_a_path_is_a_404(api, db):
    response = api.get(f"/api/v1/projects/{2**70}/")
    assert response.status_code == 404
    assert error_of(response.json())["code"] == "not_found"


# -- /mlflow wrong types and ranges ----------------------------------------------------------
@pytest.mark.parametrize(
    ("endpoint", "body", "mentions"),
    [
        ("runs/create", {"experiment_id": "0", "run_name": 5}, "run_name"),
        ("runs/search", {"experiment_ids": 5}, "experiment_ids"),
        ("runs/create", {"experiment_id": "0", "start_time": 2**70}, "start_time"),
        ("runs/create", {"experiment_id": "0", "start_time": "1e400"}, "start_time"),
        ("runs/create", {"experiment_id": "0", "tags": [{"key": "a\x00", "value": "b"}]}, "key"),
        ("experiments/create", {"name": "x" * 5000}, "500 characters"),
    ],
)
def test_mlflow_refuses_wrong_types_and_ranges(api, project, endpoint, body, mentions):
    status, answer = post_json(api, f"{MLFLOW}/{endpoint}", body)
    assert status == 400, answer
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert mentions in answer["message"]


def test_mlflow_refuses_a_list_body(api, project):
    status, answer = post_json(api, f"{MLFLOW}/runs/create", [1, 2])
    assert status == 400
    assert answer["error_code"] == "BAD_REQUEST"


def test_mlflow_metric_timestamp_beyond_int64_is_refused(api, project):
    run = RunFactory(project=project)
    body = {"run_id": str(run.pk), "key": "m", "value": 1, "timestamp": 2**63}
    status, answer = post_json(api, f"{MLFLOW}/runs/log-metric", body)
    assert status == 400
    assert "timestamp" in answer["message"]


@pytest.mark.parametrize("run_id", ["réé", "١٢", "9" * 30])
def test_mlflow_a_run_id_that_is_no_id_of_ours_is_not_found(api, project, run_id):
    status, answer = post_json(api, f"{MLFLOW}/runs/update", {"run_id": run_id})
    assert status == 404
    assert answer["error_code"] == "RESOURCE_DOES_NOT_EXIST"


# -- OPTIONS -----------------------------------------------------------------------------
SECTIONS = [
    "phenomenon",
    "problem",
    "goal",
    "performance",
    "prototype",
    "evaluation-plan",
    "deployment-plan",
    "further-analysis",
    "feasibility",
]
ITEMS = ["solutions", "objectives", "metrics", "constraints", "baselines", "references"]


@pytest.mark.parametrize(
    "path",
    [f"{s}/" for s in SECTIONS]
    + [f"{i}/" for i in ITEMS]
    + [f"{i}/1/" for i in [*ITEMS, "problem-tree"]]
    + ["", "proposals/", "next-cycle/"],
)
def test_options_describes_every_project_endpoint(api, project, path):
    response = api.options(f"/api/v1/projects/{project.pk}/{path}")
    assert response.status_code == 200
    assert "application/json" in response.json()["parses"]


def test_options_lists_the_fields_a_section_takes(api, project):
    response = api.options(f"/api/v1/projects/{project.pk}/goal/")
    assert "statement" in response.json()["actions"]["PUT"]


# -- races -----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_six_concurrent_signups_on_one_invitation_make_one_account(org, owner):
    _, raw = invitation_create(org=org, invited_by=owner, email="race@acme.test", role="member")
    statuses: list[int] = []
    start = threading.Barrier(6)

    def sign_up() -> None:
        try:
            start.wait()
            response = Client().post(
                f"/invitations/{raw}/", {"full_name": "Racer", "password": "race-secret-123"}
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One joined and was sent to the organization; the others were told the invitation
    # was used (409 while it was being accepted, 410 once it was), or, arriving after the
    # account existed but before the invitation was marked used, were asked to log in (200).
    assert statuses.count(302) == 1, statuses
    assert set(statuses) <= {200, 302, 409, 410}, statuses
    assert User.objects.filter(email="race@acme.test").count() == 1
    assert Membership.objects.filter(organization=org, user__email="race@acme.test").count() == 1


# -- the Activity page -------------------------------------------------------------------
def test_the_activity_page_reads_rows_that_name_a_project_by_slug(client_for, org, owner, project):
    audit(
        org=org,
        actor=owner,
        action="use_case.project_created",
        target="Churn",
        data={"project": project.slug},
    )
    audit(org=org, actor=owner, action="odd.row", target="x", data={"project": ["not", "a key"]})
    response = client_for(owner).get("/o/acme/activity/")
    assert response.status_code == 200
    assert "project created the use case “Churn”" in response.content.decode()
