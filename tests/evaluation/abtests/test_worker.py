"""End to end with a real Celery worker on Redis: the API's analysis and a raw-rows upload
are computed by the worker process, not inline."""

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.abtests import services
from evaluation.models import ABRawUpload, ABResult, ABTestAnalysis
from evaluation.stats import analyze
from tests.worker import wait_for

from .conftest import METRICS_FOR_STATS, RESULTS, VARIANTS

pytestmark = pytest.mark.worker


def test_the_worker_runs_the_analysis_requested_over_the_api(
    celery_worker_process, running_abtest, member, client_for
):
    client = client_for(member)
    response = client.post(
        f"/api/v1/ab-tests/{running_abtest.pk}/analyze/", {}, content_type="application/json"
    )
    assert response.status_code == 202
    analysis = wait_for(
        lambda: ABTestAnalysis.objects.filter(pk=response.json()["id"], status="succeeded").first(),
        timeout=30,
        message=f"the analysis never finished; worker log:\n{celery_worker_process.log()}",
    )
    expected = analyze(
        variants=[{"key": v["key"], "allocation": v["allocation"]} for v in VARIANTS],
        control="control",
        metrics=METRICS_FOR_STATS,
        results=RESULTS,
    )
    got = client.get(f"/api/v1/ab-tests/{running_abtest.pk}/analysis/").json()
    assert got["version"] == analysis.version
    lift = got["metrics"]["conversion"]["treatment"]["lift"]
    assert lift == pytest.approx(expected["metrics"]["conversion"]["treatment"]["lift"], rel=1e-9)
    assert ABTestAnalysis.objects.count() == 1


def test_the_worker_aggregates_raw_rows_with_progress(celery_worker_process, abtest, member):
    rng = np.random.default_rng(11)
    n = 250_000  # three chunks, so progress is reported before the end
    frame = pd.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "conversion": (rng.random(n) < 0.1).astype(int),
            "revenue": rng.gamma(2.0, 12.0, n).round(2),
            "order_time": rng.normal(8, 3, n).round(1),
        }
    )
    content = frame.to_csv(index=False).encode()
    upload = services.abtest_raw_upload_create(
        abtest=abtest, user=member, file=SimpleUploadedFile("rows.csv", content)
    )
    done = wait_for(
        lambda: ABRawUpload.objects.filter(
            pk=upload.pk, status__in=["succeeded", "failed"]
        ).first(),
        timeout=60,
        message=f"the upload was never aggregated; worker log:\n{celery_worker_process.log()}",
    )
    assert done.status == "succeeded", done.error
    assert done.rows_read == n
    control = frame[frame.variant == "control"]
    saved = ABResult.objects.get(metric__key="revenue", variant__key="control")
    assert saved.users == len(control)
    assert saved.sum == pytest.approx(control.revenue.sum(), rel=1e-12)
    conversions = ABResult.objects.get(metric__key="conversion", variant__key="control")
    assert conversions.conversions == int(control.conversion.sum())
