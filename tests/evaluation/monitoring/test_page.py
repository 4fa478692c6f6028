"""The monitoring page's charts and heat map, a drift cell's drill-down, the association
shown when no attribution is logged, and labels read per day of their predictions."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.drift import column_partial
from evaluation.drift.data_drift import column_distribution
from evaluation.evaluations.models import EvaluationMetric
from evaluation.models import MonitoringWindow
from evaluation.monitoring import selectors, windows
from mlprojects.models import WatchedMetric
from tests.evaluation.monitoring import test_predictions_api as ingest
from tests.evaluation.monitoring.test_predictions_api import post, predictions, records, rows_for
from tests.factories import EvaluationFactory, ProjectFactory

# The ingestion tests' fixtures: an API client whose windows are computed after commit,
# media in a temporary directory, and two days of rows (the second one shifted).
_media, api, two_days = ingest._media, ingest.api, ingest.two_days


def page(project):
    return f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/"


def charts(html: str) -> dict:
    found = re.search(
        r'<script id="monitoring-charts" type="application/json">(.*?)</script>', html
    )
    return json.loads(found.group(1))


@pytest.fixture
def ingested(api, project, two_days):
    for frame in two_days:
        post(api, project, "predictions", predictions(frame))
    post(api, project, "labels", records(two_days[0], "prediction_id", "label"))
    return MonitoringWindow.objects.filter(project=project).order_by("start")


def test_the_page_charts_estimated_against_realized_performance_per_window(
    ingested, reader_for, member, project
):
    reference, second = ingested
    response = reader_for(member).get(page(project))
    assert response.status_code == 200
    data = charts(response.content.decode())["windows"]
    assert data["volume"] == [
        {"x": int(w.start.timestamp() * 1000), "rows": w.rows, "labelled": w.labelled_rows}
        for w in ingested
    ]
    recall = next(p for p in data["performance"] if p["key"] == "recall")
    # Labels only for the first day: realized there, estimated (CBPE) on both days.
    assert recall["realized"] == [
        {
            "x": int(reference.start.timestamp() * 1000),
            "y": reference.result["performance"]["metrics"]["recall"],
        }
    ]
    assert [p["y"] for p in recall["estimated"]] == [
        w.result["estimated_performance"]["recall"] for w in ingested
    ]
    # The logged shap_amount column: mean |attribution| per window, not the association.
    assert data["attribution_kind"] == "attribution"
    assert data["attribution"] == [
        {
            "feature": "amount",
            "points": [
                {"x": int(w.start.timestamp() * 1000), "y": w.result["attribution"]["amount"]}
                for w in ingested
            ],
        }
    ]


def test_the_drift_heat_map_is_features_by_window_and_links_each_cell(
    ingested, reader_for, member, project
):
    reference, second = ingested
    html = reader_for(member).get(page(project)).content.decode()
    heat = selectors.window_heatmap(windows=list(ingested))
    assert [w.pk for w in heat["windows"]] == [reference.pk, second.pk]
    assert [r["column"] for r in heat["rows"]] == ["amount", "merchant", "score"]
    amount = heat["rows"][0]["cells"]
    assert not amount[0]["drifted"] and amount[1]["drifted"]
    url = f"{page(project)}windows/{second.pk}/distribution/?column=amount"
    assert f'href="{url}"' in html and f'hx-get="{url}"' in html


def test_a_numeric_cell_drills_down_to_both_histograms(
    ingested, reader_for, member, project, two_days
):
    reference, second = ingested
    url = f"{page(project)}windows/{second.pk}/distribution/?column=amount"
    response = reader_for(member).get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="distribution"' in html
    data = json.loads(
        re.search(
            r'<script id="distribution-data" type="application/json">(.*?)</script>', html
        ).group(1)
    )
    assert (data["reference_rows"], data["current_rows"]) == (300, 250)
    assert sum(data["reference"]) == pytest.approx(1.0)
    assert sum(data["current"]) == pytest.approx(1.0)
    assert len(data["labels"]) <= selectors.DISTRIBUTION_BINS
    # The window's values fall in the bins as numpy counts them.
    edges = [float(e) for e in re.findall(r"[-\d.e+]+", " ".join(data["labels"]))[::2]]
    assert edges[0] == pytest.approx(
        min(two_days[0]["amount"].min(), two_days[1]["amount"].min()), rel=1e-3
    )
    # Without htmx it is a page of its own.
    response = reader_for(member).get(url)
    assert response.status_code == 200 and "<html" in response.content.decode()


def test_a_categorical_cell_drills_down_to_counts_per_value(ingested, member, project, two_days):
    first, second_rows = two_days
    _, second = ingested
    detail = selectors.window_distribution(project=project, window=second, column="merchant")
    expected = column_distribution(
        column_partial(first["merchant"], column_type="categorical"),
        column_partial(second_rows["merchant"], column_type="categorical"),
    )
    assert detail["type"] == "categorical"
    assert detail["chart"]["labels"] == expected["values"]
    assert detail["chart"]["reference"] == expected["reference_share"]
    assert detail["chart"]["current"] == expected["current_share"]


def test_many_values_are_capped_with_the_rest_summed():
    values = [f"v{i}" for i in range(40)]
    chart = {
        "labels": values,
        "reference": list(range(40)),
        "current": list(range(40)),
        "reference_share": [i / 780 for i in range(40)],
        "current_share": [i / 780 for i in range(40)],
    }
    capped = selectors._top_values(chart)
    assert len(capped["labels"]) == selectors.DISTRIBUTION_VALUES
    assert capped["labels"][-1] == selectors.OTHER_VALUES
    assert sum(capped["current_share"]) == pytest.approx(1.0)
    assert capped["labels"][0] == f"v{40 - selectors.DISTRIBUTION_VALUES + 1}"


@pytest.mark.parametrize("query", ["?column=nope", "", "?column=label"])
def test_a_cell_without_a_drift_result_is_a_404(ingested, reader_for, member, project, query):
    _, second = ingested
    url = f"{page(project)}windows/{second.pk}/distribution/{query}"
    assert reader_for(member).get(url).status_code == 404


def test_another_projects_window_is_a_404(ingested, reader_for, member, project):
    _, second = ingested
    other = ProjectFactory(organization=project.organization, owner=member, slug="other")
    url = f"{page(other)}windows/{second.pk}/distribution/?column=amount"
    assert reader_for(member).get(url).status_code == 404


def test_without_attribution_columns_the_page_shows_the_association_labelled_as_such(
    api, project, reader_for, member
):
    frame = rows_for("2026-11-01", 400, seed=3).drop(columns=["shap_amount"])
    post(api, project, "predictions", predictions(frame))
    window = MonitoringWindow.objects.get(project=project)
    association = window.result["association"]
    rho = stats.spearmanr(frame["amount"], frame["score"]).statistic
    assert association["amount"] == pytest.approx(abs(rho))
    # The correlation ratio: between-category spread of the score over its total spread.
    score = frame["score"]
    means = score.groupby(frame["merchant"]).transform("mean")
    eta = np.sqrt(((means - score.mean()) ** 2).sum() / ((score - score.mean()) ** 2).sum())
    assert association["merchant"] == pytest.approx(eta)
    assert window.result["attribution"] == {}
    html = reader_for(member).get(page(project)).content.decode()
    assert charts(html)["windows"]["attribution_kind"] == "association"
    assert "Association, not attribution" in html


def test_a_constant_feature_has_no_association():
    rows = pd.DataFrame({"flat": [1.0] * 5, "score": [0.1, 0.2, 0.3, 0.4, 0.5]})
    assert windows.feature_association(rows, ["flat"]) == {}


def test_a_watched_metric_is_charted_with_its_offline_reference(
    reader_for, member, project, lifecycle
):
    from datetime import UTC, datetime

    from evaluation.monitoring import services

    WatchedMetric.objects.create(
        cycle=lifecycle.cycle, metric=lifecycle.recall, alert_when="below", threshold=0.7
    )
    evaluation = EvaluationFactory(
        project=project,
        status="succeeded",
        target_metric=lifecycle.recall,
        target_metric_key="recall",
        finished_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    EvaluationMetric.objects.create(
        evaluation=evaluation, source="model", name="recall", value=0.81
    )
    EvaluationMetric.objects.create(evaluation=evaluation, source="model", name="f1", value=0.5)
    services.metric_values_record(
        project=project,
        user=member,
        values=[
            {
                "metric": lifecycle.recall.pk,
                "timestamp": datetime(2026, 11, 1, tzinfo=UTC),
                "value": 0.75,
            }
        ],
    )
    series = charts(reader_for(member).get(page(project)).content.decode())["series"]
    assert series[0]["offline"] == 0.81
    assert series[0]["offline_label"] == f"offline evaluation #{evaluation.pk}"
    assert series[0]["threshold"] == 0.7


# -- labels filed under their prediction's day --------------------------------------------------


def _label_dirs(project):
    root = f"monitoring/{project.organization_id}/{project.pk}/labels"
    dirs, files = windows._listdir(root)
    return sorted(dirs), files


def test_labels_are_filed_under_the_day_of_their_prediction(api, project, two_days):
    first, second = two_days
    for frame in two_days:
        post(api, project, "predictions", predictions(frame))
    post(api, project, "labels", records(pd.concat(two_days), "prediction_id", "label"))
    dirs, pending = _label_dirs(project)
    assert dirs == ["2026-11-01", "2026-11-02"] and pending == []


def test_computing_a_day_reads_no_other_days_labels(api, project, two_days, monkeypatch):
    third = rows_for("2026-11-03", 200, seed=4)
    for frame in (*two_days, third):
        post(api, project, "predictions", predictions(frame))
    post(api, project, "labels", records(pd.concat([*two_days, third]), "prediction_id", "label"))
    read = []
    original = windows._storage_batches

    def spy(path, names, columns=None):
        if names:
            read.append(path)
        return original(path, names, columns=columns)

    monkeypatch.setattr(windows, "_storage_batches", spy)
    windows.compute_partition(project, pd.Timestamp("2026-11-03").date())
    label_days = {p.rsplit("/", 1)[1] for p in read if "/labels/" in p}
    # The reference day (the first) and the day itself, never the day in between.
    assert label_days == {"2026-11-01", "2026-11-03"}
    window = MonitoringWindow.objects.get(project=project, start__day=3)
    assert window.labelled_rows == 200


def test_labels_before_their_predictions_wait_and_then_join(api, project, two_days):
    first, second = two_days
    post(api, project, "predictions", predictions(first))
    # Labels of both days; the second day's predictions have not arrived.
    post(api, project, "labels", records(pd.concat(two_days), "prediction_id", "label"))
    dirs, pending = _label_dirs(project)
    assert dirs == ["2026-11-01"] and len(pending) == 1
    post(api, project, "predictions", predictions(second))
    dirs, pending = _label_dirs(project)
    assert dirs == ["2026-11-01", "2026-11-02"] and pending == []
    window = MonitoringWindow.objects.get(project=project, start__day=2)
    assert window.labelled_rows == len(second)
    assert window.result["performance"] is not None


def test_a_corrected_label_replaces_the_earlier_one(api, project, two_days):
    first, _ = two_days
    post(api, project, "predictions", predictions(first))
    post(api, project, "labels", records(first, "prediction_id", "label"))
    flipped = first.assign(label=1 - first["label"])
    post(api, project, "labels", records(flipped, "prediction_id", "label"))
    window = MonitoringWindow.objects.get(project=project)
    assert window.labelled_rows == len(first)
    labels = windows.read_labels(
        project, pd.Timestamp("2026-11-01").date(), set(first["prediction_id"])
    )
    merged = first.merge(labels, on="prediction_id", suffixes=("", "_stored"))
    assert (merged["label_stored"] == 1 - merged["label"]).all()
