"""POST /api/v1/projects/{id}/drift-reports/ and GET /api/v1/drift-reports/{id}/: the
contract, the worker's values (the drift engine's, which agrees with Evidently), and the
refusals."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from django.test import override_settings

from evaluation.drift import data_drift, infer_column_types
from evaluation.models import DriftReport

from .conftest import as_upload, drift_frames

CONTRACT_KEYS = {"column", "type", "method", "statistic", "threshold", "drifted", "psi"}


def submit(api, project, reference, current, *, fmt="csv", columns=None):
    data = {
        "reference": as_upload(reference, fmt, "reference"),
        "current": as_upload(current, fmt, "current"),
    }
    if columns is not None:
        data["columns"] = json.dumps(columns)
    return api.post(f"/api/v1/projects/{project.pk}/drift-reports/", data)


def test_a_submitted_report_is_queued_until_a_worker_computes_it(api, project):
    reference, current = drift_frames()
    response = submit(api, project, reference, current)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["columns"] is None and body["share_drifted"] is None
    detail = api.get(f"/api/v1/drift-reports/{body['id']}/").json()
    assert detail["status"] == "queued"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_report_equals_the_drift_engine_on_the_same_data(
    api, project, fmt, django_capture_on_commit_callbacks
):
    reference, current = drift_frames(seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current, fmt=fmt).json()["id"]
    body = api.get(f"/api/v1/drift-reports/{report_id}/").json()
    assert body["status"] == "succeeded", body["error"]

    # What pandas reads back from the file is what the engine gets.
    def roundtrip(frame):
        buffer = io.BytesIO()
        if fmt == "parquet":
            frame.to_parquet(buffer, index=False)
            return pd.read_parquet(io.BytesIO(buffer.getvalue()))
        frame.to_csv(buffer, index=False)
        return pd.read_csv(io.BytesIO(buffer.getvalue()))

    ref, cur = roundtrip(reference), roundtrip(current)
    expected = data_drift(ref, cur, column_types=infer_column_types(ref)).as_dict()
    assert [c["column"] for c in body["columns"]] == [c["column"] for c in expected["columns"]]
    for got, want in zip(body["columns"], expected["columns"], strict=True):
        assert CONTRACT_KEYS <= set(got)
        for key in CONTRACT_KEYS:
            assert got[key] == want[key], (got["column"], key)
    assert body["share_drifted"] == expected["share_drifted"]
    assert body["dataset_drifted"] == expected["dataset_drifted"]


def test_the_shifted_columns_drift_and_the_stable_one_does_not(
    api, project, django_capture_on_commit_callbacks
):
    reference, current = drift_frames(seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current).json()["id"]
    body = api.get(f"/api/v1/drift-reports/{report_id}/").json()
    by_column = {c["column"]: c for c in body["columns"]}
    assert by_column["amount"]["drifted"] and by_column["amount"]["type"] == "numeric"
    assert by_column["merchant"]["drifted"] and by_column["merchant"]["type"] == "categorical"
    assert by_column["merchant"]["method"] == "chisquare"  # ≤ 1000 reference rows
    assert by_column["amount"]["method"] == "ks"
    assert not by_column["stable"]["drifted"]
    assert body["share_drifted"] == pytest.approx(
        sum(c["drifted"] for c in body["columns"]) / len(body["columns"])
    )


def test_large_references_use_distances(api, project, django_capture_on_commit_callbacks):
    reference, current = drift_frames(seed=2, ref_rows=3000, cur_rows=2000)
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current, fmt="parquet").json()["id"]
    methods = {
        c["column"]: (c["method"], c["threshold"])
        for c in api.get(f"/api/v1/drift-reports/{report_id}/").json()["columns"]
    }
    assert methods["amount"] == ("wasserstein", 0.1)
    assert methods["merchant"] == ("jensenshannon", 0.1)


def test_only_the_chosen_columns_are_compared(api, project, django_capture_on_commit_callbacks):
    reference, current = drift_frames()
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current, columns=["merchant"]).json()["id"]
    body = api.get(f"/api/v1/drift-reports/{report_id}/").json()
    assert [c["column"] for c in body["columns"]] == ["merchant"]
    assert body["share_drifted"] == 1.0


def test_a_column_missing_from_a_file_is_refused_and_nothing_is_stored(api, project):
    reference, current = drift_frames()
    response = submit(api, project, reference, current, columns=["amount", "nope"])
    assert response.status_code == 400
    assert "nope" in response.json()["error"]["fields"]["columns"][0]
    response = submit(api, project, reference, current.drop(columns=["hour"]))
    assert response.status_code == 400
    assert "hour" in response.json()["error"]["fields"]["current"][0]
    assert not DriftReport.objects.exists()


def test_columns_must_be_a_json_list(api, project):
    reference, current = drift_frames()
    data = {
        "reference": as_upload(reference, "csv", "r"),
        "current": as_upload(current, "csv", "c"),
        "columns": '{"amount": 1}',
    }
    response = api.post(f"/api/v1/projects/{project.pk}/drift-reports/", data)
    assert response.status_code == 400
    assert "columns" in response.json()["error"]["fields"]


def test_a_file_that_is_not_data_is_refused(api, project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    reference, _ = drift_frames()
    data = {
        "reference": as_upload(reference, "csv", "r"),
        "current": SimpleUploadedFile("c.xlsx", b"PK\x03\x04 zipped spreadsheet"),
    }
    response = api.post(f"/api/v1/projects/{project.pk}/drift-reports/", data)
    assert response.status_code == 400
    assert "current" in response.json()["error"]["fields"]


def test_both_files_are_required(api, project):
    reference, _ = drift_frames()
    response = api.post(
        f"/api/v1/projects/{project.pk}/drift-reports/",
        {"reference": as_upload(reference, "csv", "r")},
    )
    assert response.status_code == 400
    assert "current" in response.json()["error"]["fields"]


@override_settings(MONITORING_MAX_UPLOAD_BYTES=1000)
def test_a_file_over_the_limit_is_refused_with_413(api, project):
    reference, current = drift_frames()
    response = submit(api, project, reference, current)
    assert response.status_code == 413
    assert not DriftReport.objects.exists()


def test_a_text_column_asked_for_fails_the_report_with_a_message(
    api, project, django_capture_on_commit_callbacks
):
    reference, current = drift_frames()
    reference["note"] = [f"free text {i}" for i in range(len(reference))]
    current["note"] = [f"other text {i}" for i in range(len(current))]
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current, columns=["note"]).json()["id"]
    body = api.get(f"/api/v1/drift-reports/{report_id}/").json()
    assert body["status"] == "failed"
    assert "note" in body["error"] and body["columns"] is None


def test_text_columns_are_left_out_by_default(api, project, django_capture_on_commit_callbacks):
    reference, current = drift_frames()
    reference["note"] = [f"free text {i}" for i in range(len(reference))]
    current["note"] = [f"other text {i}" for i in range(len(current))]
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current).json()["id"]
    body = api.get(f"/api/v1/drift-reports/{report_id}/").json()
    assert body["status"] == "succeeded"
    assert "note" not in {c["column"] for c in body["columns"]}


def test_a_finished_report_is_not_computed_again(project, member):
    from evaluation.monitoring import jobs, services

    reference, current = drift_frames()
    report = services.drift_report_create(
        project=project,
        user=member,
        reference=as_upload(reference, "csv", "r"),
        current=as_upload(current, "csv", "c"),
    )
    jobs.drift_report_run(report_id=report.pk)
    jobs.drift_report_run(report_id=report.pk)  # a redelivered message
    report.refresh_from_db()
    assert report.status == "succeeded" and report.attempts == 1


def test_a_viewer_may_read_but_not_submit(viewer, client_for, project, member):
    from evaluation.monitoring import services

    reference, current = drift_frames()
    report = services.drift_report_create(
        project=project,
        user=member,
        reference=as_upload(reference, "csv", "r"),
        current=as_upload(current, "csv", "c"),
    )
    client = client_for(viewer)
    assert client.get(f"/api/v1/drift-reports/{report.pk}/").status_code == 200
    assert submit(client, project, reference, current).status_code == 403


def test_statistics_are_numbers_even_for_a_constant_column(
    api, project, django_capture_on_commit_callbacks
):
    reference, current = drift_frames()
    reference["const"], current["const"] = 1.5, 1.5
    with django_capture_on_commit_callbacks(execute=True):
        report_id = submit(api, project, reference, current).json()["id"]
    body = api.get(f"/api/v1/drift-reports/{report_id}/").json()
    assert body["status"] == "succeeded", body["error"]
    const = next(c for c in body["columns"] if c["column"] == "const")
    assert const["statistic"] is None or np.isfinite(const["statistic"])
