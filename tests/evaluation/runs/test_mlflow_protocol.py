"""The MLflow endpoint at the HTTP level: every answer in MLflow's error shape with the right
code, whatever DEBUG is; request bodies checked against the protocol's types and MLflow's
limits (after tests/tracking/test_rest_tracking.py's *_validation tests); no input answers
500 or writes half of a request."""

import json

import pytest

from evaluation.models import Experiment, Run, RunMetric
from evaluation.runs.mlflow import views
from mlprojects.models import Project

API = "/mlflow/api/2.0/mlflow/"


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def post(api, endpoint: str, body) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    response = api.post(API + endpoint, raw, content_type="application/json")
    return response.status_code, response.json()


def get(api, endpoint: str, **params) -> tuple[int, dict]:
    response = api.get(API + endpoint, params)
    return response.status_code, response.json()


# -- the shape of every error ---------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["webhooks/list", "runs/nope", "../../x", "api/2.0/mlflow/runs/get"]
)
def test_an_unknown_endpoint_is_endpoint_not_found(api, debug, path):
    for method in (api.get, api.post):
        response = method(API + path)
        assert response.status_code == 404
        assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_a_path_outside_the_api_is_endpoint_not_found_too(api, debug):
    response = api.post("/mlflow/ajax-api/2.0/mlflow/runs/search", {})
    assert (response.status_code, response.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [("post", "runs/get"), ("get", "runs/create"), ("delete", "runs/delete"),
     ("put", "experiments/update"), ("get", "runs/search")],
)  # fmt: skip
def test_a_wrong_method_answers_405_in_mlflows_shape(api, debug, method, endpoint):
    response = getattr(api, method)(API + endpoint)
    assert response.status_code == 405
    assert set(response.json()) == {"error_code", "message"}


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe", b"[" * 100_000, b"42", b"null"],
    ids=["malformed", "list", "string", "not-utf8", "too-deep", "number", "null"],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(api, debug, run, body):
    status, error = post(api, "runs/log-metric", body)
    assert (status, error["error_code"]) == (400, "BAD_REQUEST")
    assert not RunMetric.objects.exists()


def test_an_unexpected_failure_answers_500_in_mlflows_shape(api, debug, run, monkeypatch):
    def fail(self, args):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.RunGet, "handle", fail)
    status, error = get(api, "runs/get", run_id=str(run.pk))
    assert (status, error) == (
        500,
        {"error_code": "INTERNAL_ERROR", "message": "Internal server error."},
    )


def test_a_bad_token_is_unauthenticated_in_mlflows_shape(db, client, debug):
    response = client.get(API + "experiments/get?experiment_id=1", HTTP_AUTHORIZATION="Bearer x")
    assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")


# -- request types, as MLflow's validation tests send them ------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"run_id": 31, "key": "metric", "value": 41, "timestamp": 59, "step": 26},
         "Invalid value 31 for parameter 'run_id' supplied"),
        ({"key": 31, "value": 41, "timestamp": 59, "step": 26},
         "Invalid value 31 for parameter 'key' supplied"),
        ({"key": "foo", "value": 31, "timestamp": 59, "step": "foo"},
         'Invalid value "foo" for parameter \'step\' supplied'),
        ({"key": "foo", "value": 31, "timestamp": "foo", "step": 41},
         'Invalid value "foo" for parameter \'timestamp\' supplied'),
        ({"run_id": None, "key": "foo", "value": 31, "timestamp": 59},
         "Missing value for required parameter 'run_id'"),
        ({"value": 31, "timestamp": 59, "step": 41},
         "Missing value for required parameter 'key'"),
        ({"key": None, "value": 31, "timestamp": 59}, "Missing value for required parameter 'key'"),
        ({"key": "foo", "timestamp": 59}, "Missing value for required parameter 'value'"),
        ({"key": "foo", "value": 1}, "Missing value for required parameter 'timestamp'"),
        ({"key": "foo", "value": True, "timestamp": 59}, "parameter 'value'"),
        ({"key": "foo", "value": "high", "timestamp": 59}, "parameter 'value'"),
        ({"key": "foo", "value": 1, "timestamp": 2**63}, "parameter 'timestamp'"),
        ({"key": "foo", "value": 1, "timestamp": -1}, "parameter 'timestamp'"),
        ({"key": "foo", "value": 1, "timestamp": 1, "step": -(2**63) - 1}, "parameter 'step'"),
        ({"key": "foo", "value": 1, "timestamp": 1.5}, "parameter 'timestamp'"),
        ({"key": "foo", "value": 10**400, "timestamp": 1}, "parameter 'value'"),
    ],
)  # fmt: skip
def test_log_metric_checks_the_protocols_types(api, run, body, message):
    status, error = post(api, "runs/log-metric", {"run_id": str(run.pk), **body})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert message in error["message"]
    assert not RunMetric.objects.exists()


def test_int64_fields_may_be_strings_and_doubles_may_be_nan_or_infinity(api, run):
    body = {"run_id": str(run.pk), "key": "loss", "value": "NaN", "timestamp": "59", "step": "3"}
    assert post(api, "runs/log-metric", body) == (200, {})
    body.update(key="up", value="Infinity")
    assert post(api, "runs/log-metric", body) == (200, {})
    status, answer = get(api, "metrics/get-history", run_id=str(run.pk), metric_key="loss")
    assert answer["metrics"] == [{"key": "loss", "value": "NaN", "step": 3, "timestamp": 59}]
    status, answer = get(api, "runs/get", run_id=str(run.pk))
    metrics = {m["key"]: m["value"] for m in answer["run"]["data"]["metrics"]}
    assert metrics == {"loss": "NaN", "up": "Infinity"}


@pytest.mark.parametrize(
    ("endpoint", "body", "message"),
    [
        ("runs/log-parameter", {"key": 31, "value": 41}, "parameter 'key'"),
        ("runs/log-parameter", {"key": "p", "value": 41}, "parameter 'value'"),
        ("runs/set-tag", {"key": "tag", "value": 41}, "Invalid value 41 for parameter 'value'"),
        ("runs/set-tag", {"value": "value"}, "Missing value for required parameter 'key'"),
        ("runs/log-batch", {"metrics": "foo"}, "Invalid value \"foo\" for parameter 'metrics'"),
        ("runs/log-batch", {"params": "foo"}, "Invalid value \"foo\" for parameter 'params'"),
        ("runs/log-batch", {"tags": "foo"}, "Invalid value \"foo\" for parameter 'tags'"),
        ("runs/log-batch", {"metrics": [{"key": "mae", "value": 2.5}]},
         "Missing value for required parameter 'metrics[0].timestamp'"),
        ("runs/log-batch", {"params": [{"value": "x"}]}, "'params[0].key'"),
        ("runs/log-batch", {"params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
         "Duplicate param keys"),
        ("runs/log-inputs", {"datasets": [{"dataset": {"name": "n"}}]},
         "'datasets[0].dataset.digest'"),
        ("runs/log-inputs", {"datasets": [{"tags": []}]}, "'datasets[0].dataset'"),
        ("runs/update", {"status": "PAUSED"}, "parameter 'status'"),
        ("runs/update", {"end_time": "soon"}, "parameter 'end_time'"),
    ],
)  # fmt: skip
def test_run_writes_check_the_protocols_types(api, run, endpoint, body, message):
    status, error = post(api, endpoint, {"run_id": str(run.pk), **body})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert message in error["message"]
    run.refresh_from_db()
    assert (run.params, run.tags, run.latest_metrics) == ({"lr": "0.1"}, {}, {})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": 123}, "Invalid value 123 for parameter 'name'"),
        ({}, "Missing value for required parameter 'name'"),
        ({"name": "x", "artifact_location": 9.0},
         "Invalid value 9.0 for parameter 'artifact_location'"),
        ({"name": "x", "tags": "5"}, "Invalid value \"5\" for parameter 'tags'"),
        ({"name": "x" * 501}, "at most 500 characters"),
        ({"name": "   "}, "needs a name"),
    ],
)  # fmt: skip
def test_experiments_create_checks_the_protocols_types(api, body, message):
    status, error = post(api, "experiments/create", body)
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert message in error["message"]
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"experiment_ids": "0"}, "parameter 'experiment_ids'"),
        ({"experiment_ids": [0]}, "parameter 'experiment_ids[0]'"),
        ({"max_results": 123456789}, "Invalid value 123456789 for parameter 'max_results'"),
        ({"max_results": 0}, "parameter 'max_results'"),
        ({"order_by": "metrics.x"}, "parameter 'order_by'"),
        ({"run_view_type": "SOME"}, "parameter 'run_view_type'"),
        ({"page_token": "garbage!!"}, "Invalid page token"),
        ({"page_token": "eyJvZmZzZXQiOiAxZTMwfQ=="}, "Invalid page token"),
        ({"filter": "params.p = 'unterminated"}, "Could not parse"),
    ],
)
def test_runs_search_checks_its_request(api, body, message):
    status, error = post(api, "runs/search", body)
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert message in error["message"]


# -- text that no database may see, numbers no column holds -----------------------------------
@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("runs/log-parameter", {"key": "p\x00", "value": "x"}),
        ("runs/log-parameter", {"key": "p", "value": "a\x00b"}),
        ("runs/set-tag", {"key": "t", "value": "\x00"}),
        ("runs/log-metric", {"key": "m\x00", "value": 1, "timestamp": 1}),
        ("runs/update", {"run_name": "x\x00"}),
        ("runs/log-inputs", {"datasets": [{"dataset": {"name": "n", "digest": "d",
                                                       "source": "\x00"}}]}),
    ],
)  # fmt: skip
def test_nul_characters_are_refused(api, run, endpoint, body):
    status, error = post(api, endpoint, {"run_id": str(run.pk), **body})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "NUL" in error["message"]


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("experiments/create", {"name": "a\x00"}),
        ("experiments/get-by-name", {"experiment_name": "a\x00"}),
        ("runs/search", {"experiment_ids": ["1"], "filter": "params.p = 'a\x00'"}),
        ("runs/create", {"experiment_id": "0", "tags": [{"key": "t", "value": "\x00"}]}),
    ],
)
def test_nul_characters_are_refused_everywhere(api, endpoint, body):
    if endpoint.endswith("get-by-name"):
        status, error = get(api, endpoint, **body)
    else:
        status, error = post(api, endpoint, body)
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert Run.objects.count() == 0


def test_a_lone_surrogate_is_refused(api, run):
    body = '{"run_id": "RUN", "key": "\\ud800", "value": "x"}'.replace("RUN", str(run.pk))
    status, error = post(api, "runs/set-tag", body)
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("runs/log-parameter", {"key": "p", "value": "x" * 6001}),
        ("runs/log-parameter", {"key": "k" * 251, "value": "x"}),
        ("runs/set-tag", {"key": "t", "value": "x" * 8001}),
        ("runs/update", {"run_name": "x" * 251}),
        ("runs/log-inputs", {"datasets": [{"dataset": {"name": "n", "digest": "d" * 37}}]}),
        ("runs/log-inputs", {"datasets": [{"dataset": {"name": "n", "digest": "d"},
                                           "tags": [{"key": "k", "value": "v" * 501}]}]}),
    ],
)  # fmt: skip
def test_strings_over_mlflows_limits_are_refused(api, run, endpoint, body):
    status, error = post(api, endpoint, {"run_id": str(run.pk), **body})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_mlflows_limits_themselves_are_accepted(api, run):
    body = {"run_id": str(run.pk), "key": "k" * 250, "value": "x" * 6000}
    assert post(api, "runs/log-parameter", body) == (200, {})
    assert post(api, "runs/set-tag", {**body, "value": "x" * 8000}) == (200, {})


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("runs/create", {"experiment_id": "0", "start_time": 2**63}),
        ("runs/create", {"experiment_id": "0", "start_time": 10**17}),  # beyond year 9999
        ("runs/update", {"end_time": 2**62}),
        ("runs/search", {"experiment_ids": ["1"], "filter": "attributes.start_time > 1e20"}),
    ],
)
def test_times_no_date_can_hold_are_refused(api, run, endpoint, body):
    status, error = post(api, endpoint, {"run_id": str(run.pk), **body})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("run_id", ["٣", "²", "x", "-1", "1.0", "99999999999999999999999", " 1"])
def test_a_run_id_that_is_not_ours_does_not_exist(api, run_id):
    status, error = get(api, "runs/get", run_id=run_id)
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, error = post(api, "runs/delete", {"run_id": run_id})
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("experiment_id", ["٣", "abc", "-1", "99999999999999999999999"])
def test_an_experiment_id_that_is_not_ours_does_not_exist(api, experiment_id):
    status, error = get(api, "experiments/get", experiment_id=experiment_id)
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_a_batch_with_one_bad_item_writes_nothing(api, run):
    good, bad = {"key": "f1", "value": 0.5, "timestamp": 0}, {"key": "", "value": 1, "timestamp": 0}
    body = {"run_id": str(run.pk), "metrics": [good, bad], "params": [{"key": "new", "value": "1"}]}
    status, error = post(api, "runs/log-batch", body)
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert not RunMetric.objects.exists()
    run.refresh_from_db()
    assert run.params == {"lr": "0.1"}


def test_a_batch_over_mlflows_size_is_refused(api, run):
    metrics = [{"key": "m", "value": 1, "timestamp": i} for i in range(1000)]
    body = {"run_id": str(run.pk), "metrics": metrics, "params": [{"key": "p", "value": "1"}]}
    status, error = post(api, "runs/log-batch", body)
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert not RunMetric.objects.exists()


def test_empty_values_are_values(api, run):
    run_id = str(run.pk)
    assert (
        post(api, "runs/log-parameter", {"run_id": run_id, "key": "param_key", "value": ""})[0]
        == 200
    )
    assert post(api, "runs/set-tag", {"run_uuid": run_id, "key": "tag_key", "value": ""})[0] == 200
    run.refresh_from_db()
    assert (run.params["param_key"], run.tags["tag_key"]) == ("", "")


def test_an_existing_name_is_resource_already_exists(api):
    assert post(api, "experiments/create", {"name": "test"})[0] == 200
    status, error = post(api, "experiments/create", {"name": "test"})
    assert (status, error["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    assert Experiment.objects.count() == 1


def test_a_missing_tag_does_not_exist(api, run):
    status, error = post(api, "runs/delete-tag", {"run_id": str(run.pk), "key": "fakeTag"})
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert "No tag with name: fakeTag" in error["message"]


def test_a_read_token_may_search_but_not_delete(api_for, member, run):
    reader = api_for(member, "read")
    assert post(reader, "runs/search", {"experiment_ids": [str(run.project_id)]})[0] == 200
    status, error = post(reader, "runs/delete", {"run_id": str(run.pk)})
    assert (status, error["error_code"]) == (403, "PERMISSION_DENIED")
    run.refresh_from_db()
    assert run.deleted_at is None
