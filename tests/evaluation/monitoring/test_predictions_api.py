"""POST /api/v1/projects/{id}/predictions/ and /labels/, GET /monitoring/: production rows
stored as Parquet by day, aggregated per window with the metrics and drift engines."""

import io

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.drift import (
    cbpe_estimate,
    cbpe_fit,
    data_drift,
    infer_column_types,
    worst_slices,
)
from evaluation.metrics import binary_metrics
from evaluation.models import MonitoringWindow, MonitorSettings


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def api(committed_api):
    return committed_api


def rows_for(day: str, n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0 + shift, size=n)
    label = (rng.random(n) < 0.3).astype(int)
    score = np.clip(0.35 * label + rng.random(n) * 0.65, 0, 1)
    hours = rng.integers(0, 24, size=n)
    return pd.DataFrame(
        {
            "prediction_id": [f"{day}-{i}" for i in range(n)],
            "timestamp": [f"{day}T{h:02d}:15:00Z" for h in hours],
            "amount": amount,
            "merchant": rng.choice(["grocery", "travel", "online"], size=n),
            "score": score,
            "shap_amount": rng.normal(size=n),
            "label": label,
        }
    )


def records(frame: pd.DataFrame, *columns) -> list[dict]:
    return frame[list(columns) if columns else frame.columns].to_dict("records")


def predictions(frame: pd.DataFrame) -> list[dict]:
    return records(frame.drop(columns=["label"]))


def post(api, project, kind, rows):
    return api.post(
        f"/api/v1/projects/{project.pk}/{kind}/", {"rows": rows}, content_type="application/json"
    )


def windows(api, project):
    response = api.get(f"/api/v1/projects/{project.pk}/monitoring/")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def two_days():
    return rows_for("2026-11-01", 300, seed=1), rows_for("2026-11-02", 250, seed=2, shift=0.6)


def test_json_rows_become_daily_windows_equal_to_the_engines(api, project, two_days):
    first, second = two_days
    for frame in two_days:
        response = post(api, project, "predictions", predictions(frame))
        assert response.status_code == 202, response.json()
        assert response.json()["received"] == len(frame)
    response = post(api, project, "labels", records(pd.concat(two_days), "prediction_id", "label"))
    assert response.status_code == 202, response.json()
    body = windows(api, project)
    assert body["size"] == "day"
    found = body["results"]
    assert [w["start"] for w in found] == ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"]
    assert [w["rows"] for w in found] == [300, 250]
    assert found[0]["is_reference"] and not found[1]["is_reference"]
    window = found[1]["result"]
    assert window["label_coverage"] == 1.0
    expected = binary_metrics(y_true=second["label"].to_numpy(), y_score=second["score"].to_numpy())
    for name, value in expected["metrics"].items():
        assert window["performance"]["metrics"][name] == pytest.approx(value, abs=1e-12)
    # Drift of the shifted day against the first, column by column as the engine says.
    reference = first.drop(columns=["label"])
    columns = ["amount", "merchant", "score"]
    report = data_drift(
        reference, second, column_types=infer_column_types(reference, columns)
    ).as_dict()
    got = {c["column"]: c for c in window["drift"]["columns"]}
    for column in report["columns"]:
        assert got[column["column"]]["statistic"] == pytest.approx(column["statistic"])
        assert got[column["column"]]["drifted"] == column["drifted"]
    assert got["amount"]["drifted"]
    # CBPE calibrated on the labelled reference window, estimated on the window's scores.
    model = cbpe_fit(scores=first["score"].to_numpy(), targets=first["label"].to_numpy())
    estimate = cbpe_estimate(model, scores=second["score"].to_numpy())
    assert window["estimated_performance"]["roc_auc"] == pytest.approx(estimate.roc_auc)
    assert window["estimated_performance"]["recall"] == pytest.approx(estimate.recall)
    assert window["attribution"]["amount"] == pytest.approx(second["shap_amount"].abs().mean())
    assert window["score"]["mean"] == pytest.approx(second["score"].mean())
    errors = (second["score"] >= 0.5).astype(int) != second["label"]
    slices = worst_slices(
        {c: second[c].to_numpy() for c in ("amount", "merchant")}, errors=errors.to_numpy(), top=5
    )
    assert [(s["column"], s["value"], s["rows"]) for s in window["worst_slices"]] == [
        (s.column, s.value, s.rows) for s in slices
    ]
    assert window["worst_slices"][0]["ci_low"] == pytest.approx(slices[0].ci_low)
    # Only aggregates are in the database.
    assert MonitoringWindow.objects.filter(project=project).count() == 2


def test_late_labels_change_the_windows_realized_performance(api, project, two_days):
    first, _ = two_days
    post(api, project, "predictions", predictions(first))
    window = windows(api, project)["results"][0]
    assert window["labelled_rows"] == 0 and window["result"]["performance"] is None
    half = first.iloc[:150]
    post(api, project, "labels", records(half, "prediction_id", "label"))
    window = windows(api, project)["results"][0]
    assert window["labelled_rows"] == 150
    assert window["result"]["label_coverage"] == 0.5
    recall = binary_metrics(y_true=half["label"].to_numpy(), y_score=half["score"].to_numpy())
    assert window["result"]["performance"]["metrics"]["recall"] == pytest.approx(
        recall["metrics"]["recall"]
    )
    # A corrected label replaces the earlier one.
    flipped = half.assign(label=1 - half["label"])
    post(api, project, "labels", records(flipped, "prediction_id", "label"))
    again = windows(api, project)["results"][0]
    expected = binary_metrics(y_true=flipped["label"].to_numpy(), y_score=half["score"].to_numpy())
    assert again["result"]["performance"]["metrics"]["recall"] == pytest.approx(
        expected["metrics"]["recall"]
    )
    assert again["labelled_rows"] == 150


def test_re_ingesting_the_same_predictions_never_double_counts(api, project, two_days):
    first, _ = two_days
    post(api, project, "predictions", predictions(first))
    post(api, project, "predictions", predictions(first))
    changed = first.iloc[:10].assign(score=0.99)
    post(api, project, "predictions", predictions(changed))
    window = windows(api, project)["results"][0]
    assert window["rows"] == 300
    expected = pd.concat([changed, first.iloc[10:]])["score"].mean()
    assert window["result"]["score"]["mean"] == pytest.approx(expected)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_of_predictions_and_of_labels(api, project, two_days, fmt):
    first, _ = two_days

    def upload(frame, name):
        buffer = io.BytesIO()
        if fmt == "parquet":
            frame.to_parquet(buffer, index=False)
        else:
            frame.to_csv(buffer, index=False)
        return SimpleUploadedFile(f"{name}.{fmt}", buffer.getvalue())

    url = f"/api/v1/projects/{project.pk}/"
    response = api.post(url + "predictions/", {"file": upload(first.drop(columns="label"), "p")})
    assert response.status_code == 202, response.json()
    labels = first[["prediction_id", "label"]]
    response = api.post(url + "labels/", {"file": upload(labels, "l")})
    assert response.status_code == 202, response.json()
    window = windows(api, project)["results"][0]
    assert window["rows"] == 300 and window["labelled_rows"] == 300
    expected = binary_metrics(y_true=first["label"].to_numpy(), y_score=first["score"].to_numpy())
    assert window["result"]["performance"]["metrics"]["roc_auc"] == pytest.approx(
        expected["metrics"]["roc_auc"]
    )


def test_hourly_windows_follow_the_project_setting(api, project, two_days):
    MonitorSettings.objects.create(project=project, window="hour")
    first, _ = two_days
    post(api, project, "predictions", predictions(first))
    found = windows(api, project)["results"]
    assert len(found) == first["timestamp"].str[:13].nunique()
    assert sum(w["rows"] for w in found) == 300
    assert all(w["size"] == "hour" for w in found)


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{"timestamp": "2026-11-01T00:00:00Z", "score": 0.1}], "rows"),
        ([{"prediction_id": "a", "score": 0.1}], "rows"),
        ([{"prediction_id": "a", "timestamp": "yesterday", "score": 0.1}], "rows"),
        ([{"prediction_id": "a", "timestamp": "2026-11-01T00:00:00Z"}], "rows"),
        ([{"prediction_id": "a", "timestamp": "2026-11-01", "score": "high"}], "rows"),
        ([{"prediction_id": "a", "timestamp": "2026-11-01", "score": 0.2, "label": 1}], "rows"),
    ],
)
def test_bad_prediction_rows_are_a_400(api, project, rows, field):
    response = post(api, project, "predictions", rows)
    assert response.status_code == 400
    assert response.json()["error"]["fields"][field]


def test_too_many_rows_and_unreadable_files_are_refused(api, project):
    rows = [{"prediction_id": "a", "timestamp": "2026-11-01", "score": 0.5}] * 10_001
    assert post(api, project, "predictions", rows).status_code == 400
    bad = SimpleUploadedFile("x.csv", b"\x00\x01garbage")
    response = api.post(f"/api/v1/projects/{project.pk}/predictions/", {"file": bad})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"]
    response = post(api, project, "labels", [{"prediction_id": "a", "label": "yes"}])
    assert response.status_code == 400
    assert "label is not a number" in response.json()["error"]["fields"]["rows"][0]
    both = api.post(f"/api/v1/projects/{project.pk}/labels/", {"rows": "[]", "file": bad})
    assert both.status_code == 400
    assert not MonitoringWindow.objects.exists()


def test_the_monitoring_page_shows_the_windows_and_worst_slices(
    api, reader_for, member, project, two_days
):
    first, second = two_days
    for frame in two_days:
        post(api, project, "predictions", predictions(frame))
    post(api, project, "labels", records(first, "prediction_id", "label"))
    url = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/"
    response = reader_for(member).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="windows"' in html and "Worst slices" in html
    for window in MonitoringWindow.objects.filter(project=project):
        assert f'id="window-{window.pk}"' in html
    drifted = next(
        c
        for c in MonitoringWindow.objects.get(start__day=2).result["drift"]["columns"]
        if c["column"] == "amount"
    )
    assert drifted["drifted"]
    assert "<script>" not in html  # no inline script: the CSP forbids it


def test_oversize_files_and_json_bodies_are_a_413(api, project, settings, two_days):
    first, _ = two_days
    buffer = io.BytesIO()
    first.drop(columns="label").to_csv(buffer, index=False)
    settings.MONITORING_MAX_UPLOAD_BYTES = 1000
    url = f"/api/v1/projects/{project.pk}/predictions/"
    response = api.post(url, {"file": SimpleUploadedFile("p.csv", buffer.getvalue())})
    assert response.status_code == 413
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert post(api, project, "predictions", predictions(first)).status_code == 413
    assert not MonitoringWindow.objects.exists()


def test_changing_the_window_size_or_reference_recomputes_every_window(
    api, member, project, two_days, django_capture_on_commit_callbacks
):
    from datetime import UTC, datetime

    from evaluation.monitoring import services

    for frame in two_days:
        post(api, project, "predictions", predictions(frame))
    with django_capture_on_commit_callbacks(execute=True):
        services.window_settings_update(
            project=project, user=member, window="hour", reference_start=None
        )
    found = windows(api, project)["results"]
    assert {w["size"] for w in found} == {"hour"}
    assert sum(w["rows"] for w in found) == 550
    assert MonitoringWindow.objects.filter(project=project, size="day").count() == 0
    second_day = datetime(2026, 11, 2, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        services.window_settings_update(
            project=project, user=member, window="day", reference_start=second_day
        )
    found = windows(api, project)["results"]
    assert [w["is_reference"] for w in found] == [False, True]
    assert found[0]["result"]["reference_start"] == second_day.isoformat()
