"""The window rules: feature drift, score drift and estimated performance below step 5's
minimum, each over consecutive windows with enough rows, evaluated after the windows are
computed (late labels and re-ingests included) - and firing exactly once per breach,
notified in the app and by email."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from accounts.models import Notification, OutgoingEmail
from evaluation.models import Alert, MonitoringWindow, MonitorSettings
from evaluation.monitoring import jobs, windows
from mlprojects.lifecycle.selectors import cycle_get

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
ROWS = 400


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def _grid(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def day_rows(d: int, *, new_category: bool) -> pd.DataFrame:
    """One day of scored payments, the same distributions every day (quantiles, shuffled:
    no sampling noise to drift by chance); with `new_category`, a merchant category the
    model never saw takes a fifth of the traffic, 30 % of it fraud the model scores low."""
    rng = np.random.default_rng(d)
    new = ROWS // 5 if new_category else 0
    old = ROWS - new
    grocery, travel = old // 2, old * 3 // 10
    merchant = ["grocery"] * grocery + ["travel"] * travel + ["online"] * (old - grocery - travel)
    merchant = list(rng.permutation(merchant)) + ["crypto"] * new
    old_fraud, new_fraud = old // 20, new * 3 // 10
    score = np.concatenate(
        [
            stats.beta(8, 1.5).ppf(_grid(old_fraud)),
            stats.beta(0.3, 60).ppf(_grid(old - old_fraud)),
            stats.beta(2, 5).ppf(_grid(new_fraud)),
            stats.beta(0.3, 60).ppf(_grid(new - new_fraud)),
        ]
    )
    fraud = np.concatenate(
        [
            np.ones(old_fraud),
            np.zeros(old - old_fraud),
            np.ones(new_fraud),
            np.zeros(new - new_fraud),
        ]
    )
    order = rng.permutation(ROWS)
    start = DAY0 + timedelta(days=d)
    return pd.DataFrame(
        {
            "prediction_id": [f"{d}-{i}" for i in range(ROWS)],
            "timestamp": [start + timedelta(seconds=int(s)) for s in (_grid(ROWS) * 86_000)],
            "amount": rng.permutation(np.exp(stats.norm(3.0, 1.0).ppf(_grid(ROWS)))),
            "merchant": np.array(merchant)[order],
            "score": score[order],
            "label": fraud[order].astype(int),
        }
    )


def ingest(project, days: range, *, new_from: int, labelled: range = range(0)) -> list:
    frames = [day_rows(d, new_category=d >= new_from) for d in days]
    for frame in frames:
        windows.store_predictions(project, frame.drop(columns=["label"]))
    late = [f for d, f in zip(days, frames, strict=True) if d in labelled]
    if late:
        windows.store_labels(project, pd.concat(late)[["prediction_id", "label"]])
    return frames


def compute(project) -> list[Alert]:
    before = set(Alert.objects.values_list("pk", flat=True))
    days = [d.isoformat() for d in windows.partition_days(project)]
    jobs.windows_compute(project_id=project.pk, days=days)
    return list(Alert.objects.exclude(pk__in=before))


def rules(project, **values) -> MonitorSettings:
    row = MonitorSettings.objects.get_or_create(project=project)[0]
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return row


def require_recall(project, minimum: float) -> None:
    performance = cycle_get(project=project).performance
    performance.required_metric, performance.required_minimum = "recall", minimum
    performance.save()


def test_a_feature_drifting_in_consecutive_windows_fires_once(project, member):
    rules(project, alert_on_score_drift=False)
    ingest(project, range(6), new_from=3, labelled=range(1))
    raised = compute(project)
    assert [a.kind for a in raised] == ["feature_drift"]
    alert = raised[0]
    assert alert.breach_started_at == DAY0 + timedelta(days=3)
    assert alert.breach_ended_at == DAY0 + timedelta(days=5)
    assert "merchant" in alert.details["columns"] and alert.details["run"] == 3
    assert alert.status == "open" and "merchant" in alert.title


def test_the_same_breach_alerts_once_however_often_the_windows_are_computed(project, member):
    rules(project, alert_on_score_drift=False)
    frames = ingest(project, range(5), new_from=3, labelled=range(1))
    assert len(compute(project)) == 1
    assert compute(project) == []  # the same windows again
    for frame in frames:  # the same predictions sent again
        windows.store_predictions(project, frame.drop(columns=["label"]))
    assert compute(project) == []
    # The labels of the drifting days arrive late: still the same breach.
    windows.store_labels(project, pd.concat(frames[3:])[["prediction_id", "label"]])
    assert compute(project) == []
    # One more drifting day extends the breach instead of raising another alert.
    ingest(project, range(5, 6), new_from=3)
    assert compute(project) == []
    alert = Alert.objects.get(kind="feature_drift")
    assert alert.breach_ended_at == DAY0 + timedelta(days=5)
    assert Alert.objects.count() == 1


def test_the_alert_is_notified_in_the_app_and_by_email(project, member, owner):
    ingest(project, range(4), new_from=2, labelled=range(1))
    compute(project)
    notified = Notification.objects.filter(kind="monitoring_alert")
    assert {n.recipient for n in notified} >= {member, owner}
    alert = Alert.objects.get()
    assert notified.first().url.endswith(f"/monitoring/#alert-{alert.pk}")
    assert OutgoingEmail.objects.filter(notification__in=notified).count() == len(
        [n for n in notified if n.recipient.email_notifications]
    )


def test_one_drifting_window_pages_nobody(project, member):
    ingest(project, range(4), new_from=3, labelled=range(1))
    assert compute(project) == []


def test_the_score_drifting_alerts_too(project, member):
    for d in range(5):
        frame = day_rows(d, new_category=False)
        if d >= 3:  # the same payments, scored higher by a new model version
            frame["score"] = np.clip(frame["score"] + 0.2, 0, 1)
        windows.store_predictions(project, frame.drop(columns=["label"]))
    windows.store_labels(project, day_rows(0, new_category=False)[["prediction_id", "label"]])
    raised = compute(project)
    assert [a.kind for a in raised] == ["score_drift"]
    assert raised[0].breach_started_at == DAY0 + timedelta(days=3)


def test_windows_below_the_minimum_volume_are_left_out(project, member):
    rules(project, min_volume=ROWS + 1, alert_on_score_drift=False)
    ingest(project, range(5), new_from=2, labelled=range(1))
    assert compute(project) == []
    rules(project, min_volume=ROWS)
    assert [a.kind for a in compute(project)] == ["feature_drift"]


def test_more_consecutive_windows_can_be_required(project, member):
    rules(project, consecutive_windows=4)
    ingest(project, range(5), new_from=2, labelled=range(1))
    assert compute(project) == []


def test_rules_can_be_switched_off(project, member):
    rules(project, alert_on_feature_drift=False, alert_on_score_drift=False)
    require_recall(project, 0.99)
    ingest(project, range(5), new_from=2, labelled=range(1))
    rules(project, alert_on_estimated_performance=False)
    assert compute(project) == []


def test_estimated_performance_below_step_5s_minimum_alerts_before_labels(project, member):
    rules(project, alert_on_feature_drift=False, alert_on_score_drift=False)
    require_recall(project, 0.85)
    ingest(project, range(6), new_from=3, labelled=range(1))
    raised = compute(project)
    assert [a.kind for a in raised] == ["estimated_performance"]
    alert = raised[0]
    assert alert.breach_started_at == DAY0 + timedelta(days=3)
    assert alert.threshold == 0.85 and alert.value < 0.85
    assert alert.details["metric"] == "recall" and "before labels" in alert.title
    # No window of the breach had a label.
    breached = MonitoringWindow.objects.filter(start__gte=alert.breach_started_at)
    assert all(w.labelled_rows == 0 for w in breached)


def test_without_a_minimum_in_step_5_the_estimate_raises_nothing(project, member):
    rules(project, alert_on_feature_drift=False, alert_on_score_drift=False)
    ingest(project, range(6), new_from=3, labelled=range(1))
    assert compute(project) == []


def test_a_breach_that_ended_and_came_back_is_a_new_alert(project, member):
    rules(project, alert_on_score_drift=False)
    for d in range(8):
        windows.store_predictions(
            project, day_rows(d, new_category=d in (2, 3, 6, 7)).drop(columns=["label"])
        )
    windows.store_labels(project, day_rows(0, new_category=False)[["prediction_id", "label"]])
    raised = compute(project)
    starts = sorted(a.breach_started_at.date() for a in raised if a.kind == "feature_drift")
    assert starts == [date(2026, 11, 3), date(2026, 11, 7)]


def _window(day: int, columns: list[str]) -> MonitoringWindow:
    start = DAY0 + timedelta(days=day)
    return MonitoringWindow(
        start=start,
        end=start + timedelta(days=1),
        rows=10,
        result={"drift": {"columns": [{"column": c, "drifted": True} for c in columns]}},
    )


def test_a_run_of_feature_drift_needs_one_feature_drifting_throughout():
    found = [
        _window(0, ["hour"]),
        _window(1, ["channel"]),
        _window(2, ["merchant", "hour"]),
        _window(3, ["merchant"]),
        _window(4, []),
        _window(5, ["merchant"]),
    ]
    runs = jobs.window_runs(found, jobs._feature_drift, same_columns=True)
    assert [[w["start"].day for w in run] for run in runs] == [[1], [2], [3, 4], [6]]
    assert runs[2][0]["columns"] == ["merchant"]
