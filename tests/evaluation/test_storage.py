"""Uploads stream to the S3-compatible server (a real moto server process) and the
workers read them back from it: nothing is shared between web and worker but the bucket."""

import gzip
import io
import json

import boto3
import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.abtests import services as abtest_services
from evaluation.models import ABResult, Evaluation
from evaluation.stats import aggregate_file
from tests.evaluation.abtests.conftest import METRICS, VARIANTS
from tests.evaluation.evaluations.conftest import BINARY_COLUMNS, cancer_csv
from tests.s3 import TEST_CREDENTIALS, TEST_REGION

# -- the app's uploads and workers on S3 ------------------------------------------------------


def _objects(s3_storage, s3_endpoint) -> dict[str, int]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=TEST_REGION,
        aws_access_key_id=TEST_CREDENTIALS["access_key"],
        aws_secret_access_key=TEST_CREDENTIALS["secret_key"],
    )
    listing = client.list_objects_v2(Bucket=s3_storage.bucket.name)
    return {item["Key"]: item["Size"] for item in listing.get("Contents", [])}


def test_an_evaluation_upload_goes_to_the_bucket_and_the_worker_reads_it_there(
    s3_storage, s3_endpoint, project, member, client_for, django_capture_on_commit_callbacks
):
    content = gzip.compress(cancer_csv(rows=5000))
    api = client_for(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/projects/{project.pk}/evaluations/",
            {
                "file": SimpleUploadedFile("p.csv.gz", content),
                "task": "binary",
                "columns": json.dumps(BINARY_COLUMNS),
                "options": json.dumps({"slice_columns": ["size"]}),
            },
        )
    assert response.status_code == 202, response.content
    evaluation = Evaluation.objects.get(pk=response.json()["id"])
    assert evaluation.status == "succeeded", evaluation.error
    assert evaluation.result["info"]["rows"] == 5000
    assert _objects(s3_storage, s3_endpoint) == {evaluation.file.name: len(content)}
    download = api.get(f"/o/acme/projects/{project.slug}/evaluations/{evaluation.pk}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content


def test_an_ab_raw_upload_goes_to_the_bucket_and_is_aggregated_from_it(
    s3_storage, s3_endpoint, project, member, django_capture_on_commit_callbacks
):
    abtest = abtest_services.abtest_create(
        project=project,
        user=member,
        name="Menu",
        hypothesis="h",
        variants=VARIANTS,
        metrics=METRICS,
    )
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "conversion": (rng.random(n) < 0.1).astype(int),
            "revenue": rng.gamma(2.0, 5.0, n),
            "order_time": rng.normal(8.0, 3.0, n),
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    content = buffer.getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        upload = abtest_services.abtest_raw_upload_create(
            abtest=abtest, user=member, file=SimpleUploadedFile("raw.parquet", content)
        )
    upload.refresh_from_db()
    assert upload.status == "succeeded", upload.error
    assert _objects(s3_storage, s3_endpoint) == {upload.file.name: len(content)}
    expected = aggregate_file(
        io.BytesIO(content),
        variant_column="variant",
        variants=["control", "treatment"],
        metrics=METRICS,
    )
    saved = ABResult.objects.get(metric__key="revenue", variant__key="treatment").as_stats()
    assert saved == pytest.approx(expected["revenue"]["treatment"], rel=1e-12)
