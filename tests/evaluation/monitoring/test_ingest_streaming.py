"""File ingest of predictions and labels streamed in bounded batches (all or nothing), and
the per-partition fan-out of window computations whose last task evaluates the alert
rules once."""

import gzip
import io
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import MonitoringWindow, WindowComputation
from evaluation.monitoring import jobs, services, windows
from tests.factories import ProjectFactory


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def api(committed_api):
    return committed_api


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 1,000 rows (and CSV blocks of 16 KB): a few thousand rows make many."""
    monkeypatch.setattr(windows, "INGEST_BATCH_ROWS", 1_000)
    monkeypatch.setattr(jobs, "CSV_BLOCK_BYTES", 16 * 1024)


def predictions_frame(n: int, days: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, days, n))
    seconds = rng.integers(0, 86_400, n)
    stamps = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(day * 86_400 + seconds, "s")
    return pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(n)],
            "timestamp": stamps,
            "amount": rng.lognormal(3.0, size=n),
            "merchant": rng.choice(["grocery", "travel", "online"], size=n),
            "score": rng.random(n),
        }
    )


def as_file(frame: pd.DataFrame, fmt: str, name: str = "rows") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False, row_group_size=5_000)
    else:
        text = frame.to_csv(index=False).encode()
        buffer.write(gzip.compress(text) if fmt == "csv.gz" else text)
    return SimpleUploadedFile(f"{name}.{fmt}", buffer.getvalue())


def stored_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def post_file(api, project, kind, upload):
    return api.post(f"/api/v1/projects/{project.pk}/{kind}/", {"file": upload})


def by_day(api, project) -> dict[str, dict]:
    response = api.get(f"/api/v1/projects/{project.pk}/monitoring/")
    assert response.status_code == 200, response.json()
    return {w["start"][:10]: w for w in response.json()["results"]}


def test_a_big_file_is_read_in_bounded_batches_not_whole(project, member, monkeypatch):
    monkeypatch.setattr(windows, "INGEST_BATCH_ROWS", 20_000)
    sizes = []
    clean = windows.clean_predictions
    monkeypatch.setattr(
        windows, "clean_predictions", lambda f, offset: (sizes.append(len(f)), clean(f, offset))[1]
    )

    def ingest_peak(upload) -> int:
        tracemalloc.start()
        services.predictions_ingest(project=project, user=member, upload=upload)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small = predictions_frame(60_000, days=4, seed=9)
    small["prediction_id"] = "s" + small["prediction_id"]
    small_peak = ingest_peak(as_file(small, "parquet"))
    sizes.clear()
    frame = predictions_frame(300_000, days=4)
    big_peak = ingest_peak(as_file(frame, "parquet"))
    assert sum(sizes) == 300_000 and max(sizes) == 20_000 and len(sizes) == 15
    # Five times the rows, about the same peak: one batch is in memory, never the file.
    assert big_peak < 1.5 * small_peak, (big_peak, small_peak)
    # Every row is stored in its day, one file per day for the whole upload.
    for day, rows in frame.groupby(frame["timestamp"].dt.date):
        stored = windows.read_partition(project, day)
        stored = stored[~stored["prediction_id"].str.startswith("s")]
        assert len(stored) == len(rows)
        assert stored["score"].sum() == pytest.approx(rows["score"].sum())
        folder = f"monitoring/{project.organization_id}/{project.pk}/predictions/{day}"
        assert len(windows._listdir(folder)[1]) == 2  # one file per day and upload


@pytest.mark.parametrize("fmt", ["parquet", "csv", "csv.gz"])
def test_streamed_predictions_and_labels_become_the_same_windows(api, project, small_batches, fmt):
    frame = predictions_frame(6_000, days=3, seed=1)
    response = post_file(api, project, "predictions", as_file(frame, fmt))
    assert response.status_code == 202, response.json()
    assert response.json() == {
        "received": 6_000,
        "recomputing": ["2026-11-01", "2026-11-02", "2026-11-03"],
    }
    rng = np.random.default_rng(2)
    labels = frame[["prediction_id"]].assign(label=(rng.random(len(frame)) < 0.3).astype(int))
    labelled = labels.sample(frac=0.5, random_state=3)  # spread over every batch and day
    response = post_file(api, project, "labels", as_file(labelled, fmt, "labels"))
    assert response.status_code == 202, response.json()
    found = by_day(api, project)
    for day, rows in frame.groupby(frame["timestamp"].dt.strftime("%Y-%m-%d")):
        window = found[day]
        assert window["rows"] == len(rows)
        assert (
            window["labelled_rows"] == rows["prediction_id"].isin(labelled["prediction_id"]).sum()
        )
        assert window["result"]["score"]["mean"] == pytest.approx(rows["score"].mean())
    assert not WindowComputation.objects.exists()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_bad_row_in_the_last_batch_stores_nothing(api, project, settings, small_batches, fmt):
    frame = predictions_frame(5_000, days=3)
    # Parquet: a text column in the file's schema; CSV: numbers until the last block.
    frame["score"] = frame["score"].astype(str if fmt == "parquet" else object)
    frame.loc[4_999, "score"] = "high"
    response = post_file(api, project, "predictions", as_file(frame, fmt))
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    # Parquet keeps the column's text type: the row is named; CSV's types come from the
    # first block, so the value that does not fit is.
    assert "Row 4999: score is not a number" in message or "'high'" in message
    assert stored_files(settings) == []
    assert not WindowComputation.objects.exists()
    assert not MonitoringWindow.objects.exists()


def test_a_bad_label_in_the_last_batch_stores_nothing(api, project, settings, small_batches):
    frame = predictions_frame(3_000, days=2)
    assert post_file(api, project, "predictions", as_file(frame, "parquet")).status_code == 202
    before = sorted(stored_files(settings))
    labels = frame[["prediction_id"]].assign(label="1")
    labels.loc[2_999, "label"] = "yes"
    response = post_file(api, project, "labels", as_file(labels, "parquet", "labels"))
    assert response.status_code == 400
    assert "Row 2999: label is not a number" in response.json()["error"]["fields"]["file"][0]
    assert sorted(stored_files(settings)) == before
    assert all(w["labelled_rows"] == 0 for w in by_day(api, project).values())


def test_re_ingesting_a_streamed_file_replaces_and_never_double_counts(api, project, small_batches):
    frame = predictions_frame(4_000, days=2, seed=4)
    post_file(api, project, "predictions", as_file(frame, "parquet"))
    post_file(api, project, "predictions", as_file(frame, "parquet"))
    # A prediction sent twice in one file (in different batches): the later row wins.
    changed = pd.concat([frame, frame.iloc[:500].assign(score=0.99)], ignore_index=True)
    post_file(api, project, "predictions", as_file(changed, "csv"))
    found = by_day(api, project)
    assert sum(w["rows"] for w in found.values()) == 4_000
    expected = pd.concat([frame.iloc[500:], changed.iloc[4_000:]])
    for day, rows in expected.groupby(expected["timestamp"].dt.strftime("%Y-%m-%d")):
        assert found[day]["rows"] == len(rows)
        assert found[day]["result"]["score"]["mean"] == pytest.approx(rows["score"].mean())


@pytest.fixture
def alert_runs(monkeypatch):
    calls = []
    evaluate = jobs.alerts_evaluate

    def counted(*, project_id):
        calls.append(project_id)
        return evaluate(project_id=project_id)

    monkeypatch.setattr(jobs, "alerts_evaluate", counted)
    return calls


def test_the_alert_rules_run_once_after_every_partition_of_an_ingest(
    api, project, alert_runs, small_batches
):
    frame = predictions_frame(3_000, days=3)
    response = post_file(api, project, "predictions", as_file(frame, "parquet"))
    assert len(response.json()["recomputing"]) == 3
    assert alert_runs == [project.pk]
    assert len(by_day(api, project)) == 3
    assert not WindowComputation.objects.exists()


def test_a_redelivered_partition_task_neither_double_counts_nor_alerts_twice(project, alert_runs):
    for day in ("2026-11-01", "2026-11-02"):
        day_rows = predictions_frame(200, days=1).assign(
            prediction_id=lambda f, d=day: d + f["prediction_id"],
            timestamp=lambda f, d=day: (
                pd.Timestamp(d, tz="UTC") + (f["timestamp"] - f["timestamp"].dt.floor("D"))
            ),
        )
        windows.store_predictions(project, day_rows)
    computation = WindowComputation.objects.create(
        project=project, days=["2026-11-01", "2026-11-02"]
    )
    run = jobs.window_partition_compute
    run(project_id=project.pk, day="2026-11-01", computation_id=computation.pk)
    run(project_id=project.pk, day="2026-11-01", computation_id=computation.pk)  # again
    assert alert_runs == []
    computation.refresh_from_db()
    assert computation.done == ["2026-11-01"]
    run(project_id=project.pk, day="2026-11-02", computation_id=computation.pk)
    assert alert_runs == [project.pk]
    run(project_id=project.pk, day="2026-11-02", computation_id=computation.pk)  # late copy
    assert alert_runs == [project.pk]
    assert not WindowComputation.objects.exists()
    assert [w.rows for w in MonitoringWindow.objects.filter(project=project)] == [200, 200]


def test_a_stalled_fan_out_sends_its_missing_days_again_then_gives_up_once(
    project, alert_runs, settings
):
    """A partition task lost with its worker (or out of retries) leaves its day not done:
    beat's sweep sends that day again, JOB_MAX_ATTEMPTS sends in all, and then evaluates
    the alert rules once on what was computed."""
    from datetime import timedelta

    from django.utils import timezone

    settings.JOB_MAX_ATTEMPTS = 2
    days = ["2026-11-01", "2026-11-02"]
    computation = WindowComputation.objects.create(project=project, days=days, done=[days[0]])
    assert jobs.window_computations_stalled() == []  # just sent: not stalled yet
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_RECLAIM_AFTER_SECONDS + 1)
    WindowComputation.objects.filter(pk=computation.pk).update(sent_at=long_ago)
    assert jobs.window_computations_stalled() == [(project.pk, days[1], computation.pk)]
    computation.refresh_from_db()
    assert computation.attempts == 2 and computation.sent_at > long_ago
    assert jobs.window_computations_stalled() == []  # sent again just now
    WindowComputation.objects.filter(pk=computation.pk).update(sent_at=long_ago)
    assert jobs.window_computations_stalled() == []  # out of sends: gives up
    assert alert_runs == [project.pk]
    assert not WindowComputation.objects.exists()


def test_the_beat_sweep_sends_a_stalled_day_to_a_worker(project, monkeypatch, settings):
    from datetime import timedelta

    from django.utils import timezone

    from evaluation.monitoring import tasks

    sent = []
    monkeypatch.setattr(tasks.compute_window_partition_task, "delay", lambda *a: sent.append(a))
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_RECLAIM_AFTER_SECONDS + 1)
    computation = WindowComputation.objects.create(
        project=project, days=["2026-11-01"], sent_at=long_ago
    )
    tasks.evaluate_all_alerts_task()
    assert sent == [(project.pk, "2026-11-01", computation.pk)]


def wide_frame(n: int, features: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = predictions_frame(n, days=1, seed=seed)
    for i in range(features):
        frame[f"f{i}"] = rng.normal(i, 1.0, n)
    return frame


def compute_peak(project, member, frame: pd.DataFrame) -> int:
    """Traced peak (numpy and pandas; not Arrow's pool) of computing the day's windows
    against an already-read reference."""
    services.predictions_ingest(project=project, user=member, upload=as_file(frame, "parquet"))
    context = windows.partition_context(project)
    tracemalloc.start()
    windows.compute_partition(project, pd.Timestamp("2026-11-01").date(), context)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_window_is_computed_one_column_at_a_time(project, member, org):
    narrow = compute_peak(project, member, wide_frame(40_000, features=2))
    other = ProjectFactory(organization=org, owner=member)
    wide = compute_peak(other, member, wide_frame(40_000, features=30))
    # Fifteen times the feature columns, about the same working memory: the day's rows
    # stay in Arrow's compact form and each aggregate converts one column at a time.
    assert wide < 1.5 * narrow, (wide, narrow)
    window = MonitoringWindow.objects.get(project=other)
    compared = {c["column"] for c in window.result["drift"]["columns"]}
    assert {f"f{i}" for i in range(30)} <= compared


def test_files_of_one_day_with_different_columns_are_computed_together(api, project):
    first = predictions_frame(600, days=1, seed=5)
    second = predictions_frame(400, days=1, seed=6)
    second["prediction_id"] = "q" + second["prediction_id"]
    # A later ingest without `merchant`, with whole-number amounts and a new column.
    second = second.drop(columns=["merchant"]).assign(
        amount=lambda f: f["amount"].round().astype(int), channel="app"
    )
    for frame in (first, second):
        assert post_file(api, project, "predictions", as_file(frame, "parquet")).status_code == 202
    window = MonitoringWindow.objects.get(project=project)
    assert window.rows == 1_000
    stored = windows.read_partition(project, pd.Timestamp("2026-11-01").date())
    assert stored["merchant"].isna().sum() == 400 and stored["channel"].isna().sum() == 600
    assert stored["amount"].dtype == np.float64
    expected = pd.concat([first["score"], second["score"]]).mean()
    assert window.result["score"]["mean"] == pytest.approx(expected)
