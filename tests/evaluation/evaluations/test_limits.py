"""Bounded work: a small compressed file that expands to millions of rows, options that
multiply the size of the result, and results too large to store are refused, each naming
the limit and the setting that holds it."""

import gzip
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import Evaluation

from .conftest import BINARY_COLUMNS, cancer_csv, upload


@pytest.fixture
def api(member, client_for):
    return client_for(member)


def submit(api, project, content: bytes, *, options=None, name="predictions.csv"):
    return api.post(
        f"/api/v1/projects/{project.pk}/evaluations/",
        {
            "file": SimpleUploadedFile(name, content),
            "task": "binary",
            "columns": json.dumps({"y_true": "label", "y_score": "score"}),
            "options": json.dumps(options or {}),
        },
    )


def gzip_bomb(rows: int) -> bytes:
    """One repeated line: gzip shrinks it about 700 times."""
    return gzip.compress(b"label,score\n" + b"1,0.5\n" * rows, compresslevel=9)


def test_a_gzip_bomb_fails_the_evaluation_at_the_row_limit_naming_the_setting(
    api, project, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATION_MAX_ROWS = 100_000
    bomb = gzip_bomb(3_000_000)  # 18 MB of CSV in about 26 KB
    assert len(bomb) < 50_000
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, project, bomb, name="bomb.csv.gz")
    assert response.status_code == 202
    evaluation = Evaluation.objects.get(pk=response.json()["id"])
    assert evaluation.status == "failed"
    assert "more than 100,000 data rows" in evaluation.error
    assert "EVALUATION_MAX_ROWS" in evaluation.error
    assert evaluation.result is None
    # The reader stopped near the limit instead of reading all 3M rows.
    assert evaluation.rows_read < 1_000_000


def test_a_gzip_bomb_fails_the_evaluation_at_the_decompressed_size_limit(
    api, project, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATION_MAX_DECOMPRESSED_BYTES = 5_000_000
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, project, gzip_bomb(3_000_000), name="bomb.csv.gz")
    evaluation = Evaluation.objects.get(pk=response.json()["id"])
    assert evaluation.status == "failed"
    assert "decompresses to more than 5,000,000 bytes" in evaluation.error
    assert "EVALUATION_MAX_DECOMPRESSED_BYTES" in evaluation.error


def test_a_file_under_the_limits_is_evaluated(
    api, project, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATION_MAX_ROWS = 569
    settings.EVALUATION_MAX_DECOMPRESSED_BYTES = 1_000_000
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, project, gzip.compress(cancer_csv()), name="p.csv.gz")
    evaluation = Evaluation.objects.get(pk=response.json()["id"])
    assert evaluation.status == "succeeded", evaluation.error
    assert evaluation.result["info"]["rows"] == 569


def test_a_parquet_file_over_the_row_limit_is_a_400_at_once(api, project, settings):
    settings.EVALUATION_MAX_ROWS = 1000
    table = pa.table({"label": np.zeros(5000, dtype=int), "score": np.full(5000, 0.5)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    response = submit(api, project, buffer.getvalue(), name="p.parquet")
    assert response.status_code == 400
    assert "EVALUATION_MAX_ROWS" in response.json()["error"]["fields"]["file"][0]
    assert not Evaluation.objects.exists()


def test_a_slice_bomb_is_a_400_naming_the_setting(api, project):
    response = api.post(
        f"/api/v1/projects/{project.pk}/evaluations/",
        {
            "file": upload(cancer_csv()),
            "task": "binary",
            "columns": json.dumps(BINARY_COLUMNS),
            "options": json.dumps({"slice_columns": ["texture"], "max_slice_values": 20_000}),
        },
    )
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["options"][0]
    assert "max_slice_values is at most 50" in message
    assert "EVALUATION_MAX_SLICE_VALUES" in message
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"slice_columns": ["texture"], "slice_bins": 500}, "EVALUATION_MAX_SLICE_VALUES"),
        ({"curve_points": 100_000}, "EVALUATION_MAX_CURVE_POINTS"),
        ({"calibration_bins": 5000}, "EVALUATION_MAX_CURVE_POINTS"),
        ({"slice_columns": ["size", "texture"]}, "EVALUATION_MAX_SLICE_COLUMNS"),
    ],
)
def test_options_that_multiply_the_result_are_capped(api, project, settings, options, setting):
    settings.EVALUATION_MAX_SLICE_COLUMNS = 1
    response = api.post(
        f"/api/v1/projects/{project.pk}/evaluations/",
        {
            "file": upload(cancer_csv()),
            "task": "binary",
            "columns": json.dumps(BINARY_COLUMNS),
            "options": json.dumps(options),
        },
    )
    assert response.status_code == 400
    assert setting in response.json()["error"]["fields"]["options"][0]


def test_a_result_over_the_size_limit_fails_the_evaluation(
    api, project, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATION_MAX_RESULT_BYTES = 20_000
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/projects/{project.pk}/evaluations/",
            {
                "file": upload(cancer_csv()),
                "task": "binary",
                "columns": json.dumps(BINARY_COLUMNS),
                "options": json.dumps({"slice_columns": ["texture"], "max_slice_values": 50}),
            },
        )
    evaluation = Evaluation.objects.get(pk=response.json()["id"])
    assert evaluation.status == "failed"
    assert "EVALUATION_MAX_RESULT_BYTES" in evaluation.error
    assert evaluation.result is None
