"""POST/GET /api/v1/projects/{id}/metric-values/: values of the project's metrics
measured in production; one value per (metric, timestamp, segment), re-sending replaces."""

from datetime import UTC, datetime

import pytest

from evaluation.models import MetricValue


def url(project):
    return f"/api/v1/projects/{project.pk}/metric-values/"


def post(api, project, values):
    return api.post(url(project), {"values": values}, content_type="application/json")


def test_values_are_stored_and_read_back_in_time_order(api, project, lifecycle):
    revisit = lifecycle.revisit.pk
    response = post(
        api,
        project,
        [
            {"metric": revisit, "timestamp": "2026-11-02T00:00:00Z", "value": 0.31},
            {"metric": revisit, "timestamp": "2026-11-01T00:00:00Z", "value": 0.29},
        ],
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"received": 2, "created": 2, "replaced": 0}
    results = api.get(url(project), {"metric": revisit}).json()["results"]
    assert [(r["timestamp"], r["value"], r["segment"]) for r in results] == [
        ("2026-11-01T00:00:00Z", 0.29, ""),
        ("2026-11-02T00:00:00Z", 0.31, ""),
    ]


def test_re_posting_the_same_point_replaces_it_and_never_duplicates(api, project, lifecycle):
    point = {"metric": lifecycle.recall.pk, "timestamp": "2026-11-01T00:00:00Z", "value": 0.8}
    assert post(api, project, [point]).json()["created"] == 1
    again = post(api, project, [{**point, "value": 0.7}]).json()
    assert again == {"received": 1, "created": 0, "replaced": 1}
    assert MetricValue.objects.get().value == 0.7
    # The same instant written with another offset is the same point.
    post(api, project, [{**point, "timestamp": "2026-11-01T09:00:00+09:00", "value": 0.6}])
    assert MetricValue.objects.count() == 1 and MetricValue.objects.get().value == 0.6


def test_a_segment_is_its_own_series(api, project, lifecycle):
    point = {"metric": lifecycle.recall.pk, "timestamp": "2026-11-01T00:00:00Z", "value": 0.8}
    post(api, project, [point, {**point, "segment": "crypto", "value": 0.2}])
    post(api, project, [{**point, "segment": None, "value": 0.81}])
    values = {v.segment: v.value for v in MetricValue.objects.all()}
    assert values == {"": 0.81, "crypto": 0.2}
    results = api.get(url(project), {"segment": "crypto"}).json()["results"]
    assert [r["value"] for r in results] == [0.2]


def test_the_last_of_duplicates_in_one_batch_wins(api, project, lifecycle):
    point = {"metric": lifecycle.recall.pk, "timestamp": "2026-11-01T00:00:00Z", "value": 0.8}
    body = post(api, project, [point, {**point, "value": 0.5}]).json()
    assert body == {"received": 2, "created": 1, "replaced": 0}
    assert MetricValue.objects.get().value == 0.5


def test_from_and_to_narrow_the_series(api, project, lifecycle):
    metric = lifecycle.revisit.pk
    post(
        api,
        project,
        [
            {"metric": metric, "timestamp": f"2026-11-0{day}T00:00:00Z", "value": day}
            for day in range(1, 6)
        ],
    )
    results = api.get(
        url(project), {"metric": metric, "from": "2026-11-02T00:00:00Z", "to": "2026-11-04"}
    ).json()["results"]
    assert [r["value"] for r in results] == [2, 3, 4]


def test_a_metric_of_another_project_refuses_the_whole_batch(
    api, project, lifecycle, foreign_lifecycle
):
    response = post(
        api,
        project,
        [
            {"metric": lifecycle.recall.pk, "timestamp": "2026-11-01T00:00:00Z", "value": 1},
            {"metric": foreign_lifecycle.model.pk, "timestamp": "2026-11-01T00:00:00Z", "value": 1},
        ],
    )
    assert response.status_code == 400
    assert str(foreign_lifecycle.model.pk) in response.json()["error"]["fields"]["values"][0]
    assert not MetricValue.objects.exists()


@pytest.mark.parametrize(
    "values",
    [
        [],
        [{"metric": 1, "timestamp": "yesterday", "value": 1}],
        [{"metric": 1, "timestamp": "2026-11-01T00:00:00Z", "value": "high"}],
        [{"timestamp": "2026-11-01T00:00:00Z", "value": 1}],
        # Of another JSON type than the schema's, or an id no row can have.
        [{"metric": 1, "timestamp": "2026-11-01T00:00:00Z", "value": "0.5"}],
        [{"metric": "1", "timestamp": "2026-11-01T00:00:00Z", "value": 1}],
        [{"metric": 2**64, "timestamp": "2026-11-01T00:00:00Z", "value": 1}],
    ],
)
def test_malformed_values_are_refused_with_400(api, project, values):
    response = post(api, project, values)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_non_finite_values_are_refused(api, project, lifecycle):
    response = api.post(
        url(project),
        '{"values": [{"metric": '
        + str(lifecycle.recall.pk)
        + ', "timestamp": "2026-11-01T00:00:00Z", "value": NaN}]}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not MetricValue.objects.exists()


def test_a_bad_query_parameter_is_a_400(api, project):
    assert api.get(url(project), {"from": "last week"}).status_code == 400
    assert api.get(url(project), {"metric": "recall"}).status_code == 400


@pytest.mark.parametrize("name", ["from", "to", "metric"])
def test_an_empty_query_parameter_is_a_400_naming_it(api, project, name):
    response = api.get(url(project), {name: ""})
    assert response.status_code == 400
    assert name in response.json()["error"]["fields"]


def test_values_of_a_watched_metric_are_accepted(api, project, lifecycle):
    from mlprojects.models import WatchedMetric

    watched = WatchedMetric.objects.create(
        cycle=lifecycle.cycle, metric=lifecycle.recall, alert_when="below", threshold=0.7
    )
    response = post(
        api,
        project,
        [{"metric": watched.metric_id, "timestamp": "2026-11-01T00:00:00Z", "value": 0.65}],
    )
    assert response.status_code == 200
    stored = MetricValue.objects.get()
    assert stored.timestamp == datetime(2026, 11, 1, tzinfo=UTC)
