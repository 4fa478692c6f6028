"""The evaluations API: submit (202), poll (GET shape), list, and its refusals."""

import json

import pytest
from django.core.files.base import ContentFile

from evaluation.models import Evaluation

from .conftest import BINARY_COLUMNS, cancer_csv, upload


def submit(client, project, *, columns=BINARY_COLUMNS, options=None, content=None, **extra):
    data = {
        "file": upload(cancer_csv() if content is None else content),
        "task": "binary",
        "columns": json.dumps(columns),
        "options": json.dumps(
            options or {"threshold": 0.5, "cost_fn": 3, "slice_columns": ["size"]}
        ),
        **extra,
    }
    return client.post(f"/api/v1/projects/{project.pk}/evaluations/", data)


@pytest.fixture
def api(member, client_for):
    return client_for(member)


def test_submitting_answers_202_and_the_worker_computes_it(
    api, project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, project)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert Evaluation.objects.get(pk=body["id"]).status == "succeeded"


def test_the_evaluation_has_status_progress_and_results(
    api, project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluation_id = submit(api, project).json()["id"]
    body = api.get(f"/api/v1/evaluations/{evaluation_id}/").json()
    assert body["status"] == "succeeded"
    assert body["progress"] == 1.0
    assert body["error"] is None
    assert set(body["metrics"]) >= {"accuracy", "roc_auc", "log_loss", "brier"}
    assert "majority" in body["baselines"]
    assert body["thresholds"] and body["slices"]
    assert body["info"]["recommended_threshold"]["cost_fn"] == 3
    assert body["columns"] == BINARY_COLUMNS
    assert body["file"]["format"] == "csv"


def test_a_queued_evaluation_has_no_results_yet(api, project):
    evaluation_id = submit(api, project).json()["id"]  # on_commit never runs: no worker
    body = api.get(f"/api/v1/evaluations/{evaluation_id}/").json()
    assert body["status"] == "queued"
    assert body["progress"] == 0.0
    assert body["metrics"] is None


def test_a_failed_evaluation_has_the_error_and_no_results(
    api, project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluation_id = submit(
            api,
            project,
            columns={"y_true": "label", "y_score": "score"},
            options={"threshold": 0.5},
            content=b"label,score\n1,1.5\n0,0.2\n",
        ).json()["id"]
    body = api.get(f"/api/v1/evaluations/{evaluation_id}/").json()
    assert body["status"] == "failed"
    assert "[0, 1]" in body["error"]
    assert body["metrics"] is None


def test_a_missing_column_is_a_400_field_error_and_nothing_is_saved(api, project):
    response = submit(api, project, columns={"y_true": "labels", "y_score": "score"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "Column 'labels' (y_true) is not in the file" in error["fields"]["columns"][0]
    assert not Evaluation.objects.exists()


def test_columns_that_are_not_json_are_a_400(api, project):
    response = submit(api, project, columns="{not json")
    assert response.status_code == 400
    assert "columns" in response.json()["error"]["fields"]


def test_a_txt_file_is_a_400_naming_the_accepted_extensions(api, project):
    response = submit(api, project, file=upload(cancer_csv(), "p.txt"))
    assert response.status_code == 400
    assert ".csv, .csv.gz or .parquet" in str(response.json()["error"]["fields"]["file"])
    assert not Evaluation.objects.exists()


def test_an_oversize_file_is_a_413(api, project, settings):
    settings.EVALUATION_MAX_UPLOAD_BYTES = 2000
    response = submit(api, project)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "2.0 KB" in response.json()["error"]["message"]
    assert not Evaluation.objects.exists()


def test_a_file_over_the_json_body_limit_is_accepted_up_to_the_upload_limit(api, project, settings):
    # JSON bodies are capped by DATA_UPLOAD_MAX_MEMORY_SIZE; file uploads have their own.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    response = submit(api, project)
    assert response.status_code == 202, response.content
    assert Evaluation.objects.count() == 1


def test_a_body_far_over_the_upload_limit_is_refused_before_it_is_read(api, project, settings):
    settings.EVALUATION_MAX_UPLOAD_BYTES = 500
    response = api.post(
        f"/api/v1/projects/{project.pk}/evaluations/",
        {"file": ContentFile(b"y_true,y_score\n" * 100_000, name="big.csv"), "task": "binary"},
        format="multipart",
    )
    assert response.status_code == 413
    assert "EVALUATION_MAX_UPLOAD_BYTES" in response.json()["error"]["message"]
    assert not Evaluation.objects.exists()


def test_the_list_has_the_projects_evaluations(api, project):
    submit(api, project)
    submit(api, project)
    body = api.get(f"/api/v1/projects/{project.pk}/evaluations/").json()
    assert body["count"] == 2
    assert set(body["results"][0]) >= {"id", "status", "progress", "error", "task"}


def test_a_viewer_may_read_but_not_submit(project, viewer, client_for):
    client = client_for(viewer)
    assert client.get(f"/api/v1/projects/{project.pk}/evaluations/").status_code == 200
    assert submit(client, project).status_code == 403


def test_another_organizations_evaluation_is_not_found(api, other_evaluation, other_project):
    assert api.get(f"/api/v1/evaluations/{other_evaluation.pk}/").status_code == 404
    assert api.get(f"/api/v1/projects/{other_project.pk}/evaluations/").status_code == 404
    assert submit(api, other_project).status_code == 404


def test_the_uploaded_file_downloads_back_unchanged(api, project):
    content = cancer_csv(rows=50)
    evaluation_id = submit(api, project, content=content).json()["id"]
    response = api.get(f"/api/v1/evaluations/{evaluation_id}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert 'filename="predictions.csv"' in response["Content-Disposition"]


def test_another_organizations_file_is_not_found(api, other_evaluation):
    response = api.get(f"/api/v1/evaluations/{other_evaluation.pk}/file/")
    assert response.status_code == 404
