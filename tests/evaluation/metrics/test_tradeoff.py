"""Multi-objective trade-off curve."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from evaluation.metrics import EvaluationInputError, ranking_metrics, tradeoff_curve

from ._helpers import approx


@pytest.fixture(scope="module")
def two_objectives():
    rng = np.random.default_rng(7)
    n = 2000
    a = rng.random(n)
    b = rng.random(n)
    quality = (rng.random(n) < a).astype(int)
    engaged = (rng.random(n) < b).astype(int)
    return a, b, quality, engaged


def test_weight_one_equals_ranking_by_score_a_alone(two_objectives):
    a, b, quality, engaged = two_objectives
    points = tradeoff_curve(score_a=a, score_b=b, label_a=quality, label_b=engaged)["points"]
    last = points[-1]
    assert last["weight"] == 1.0
    assert last["a"]["roc_auc"] == approx(skm.roc_auc_score(quality, a))
    assert last["b"]["roc_auc"] == approx(skm.roc_auc_score(engaged, a))


def test_weight_zero_equals_ranking_by_score_b_alone(two_objectives):
    a, b, quality, engaged = two_objectives
    first = tradeoff_curve(score_a=a, score_b=b, label_a=quality, label_b=engaged)["points"][0]
    assert first["a"]["average_precision"] == approx(skm.average_precision_score(quality, b))


def test_moving_weight_towards_a_trades_objective_b_for_objective_a(two_objectives):
    a, b, quality, engaged = two_objectives
    points = tradeoff_curve(score_a=a, score_b=b, label_a=quality, label_b=engaged)["points"]
    assert points[-1]["a"]["roc_auc"] > points[0]["a"]["roc_auc"]
    assert points[-1]["b"]["roc_auc"] < points[0]["b"]["roc_auc"]


def test_points_not_beaten_on_both_objectives_are_pareto_optimal(two_objectives):
    a, b, quality, engaged = two_objectives
    points = tradeoff_curve(score_a=a, score_b=b, label_a=quality, label_b=engaged)["points"]
    best_a = max(points, key=lambda p: p["a"]["roc_auc"])
    assert best_a["pareto_optimal"] is True


def test_steps_sets_the_number_of_weights(two_objectives):
    a, b, quality, engaged = two_objectives
    points = tradeoff_curve(score_a=a, score_b=b, label_a=quality, label_b=engaged, steps=21)[
        "points"
    ]
    assert [p["weight"] for p in points] == pytest.approx(np.linspace(0, 1, 21).tolist())


def test_with_groups_each_label_gets_ndcg_under_the_blended_ranking():
    rng = np.random.default_rng(2)
    group = np.repeat(np.arange(50), 6)
    a, b = rng.random(300), rng.random(300)
    la, lb = rng.integers(0, 3, 300).astype(float), rng.integers(0, 2, 300).astype(float)
    points = tradeoff_curve(score_a=a, score_b=b, label_a=la, label_b=lb, group=group, k=3)[
        "points"
    ]
    expected = ranking_metrics(group=group, y_true=la, y_score=a, k=3)["metrics"]["ndcg_at_k"]
    assert points[-1]["a"]["ndcg_at_k"] == approx(expected)


def test_minmax_normalisation_reports_the_scaling(two_objectives):
    a, b, quality, engaged = two_objectives
    curve = tradeoff_curve(
        score_a=a * 100, score_b=b, label_a=quality, label_b=engaged, normalize="minmax"
    )
    assert curve["scaling"]["a"] == {"min": approx(a.min() * 100), "max": approx(a.max() * 100)}


def test_graded_labels_without_groups_are_rejected():
    with pytest.raises(EvaluationInputError, match="0/1"):
        tradeoff_curve(
            score_a=np.ones(2),
            score_b=np.ones(2),
            label_a=np.array([0.0, 2.0]),
            label_b=np.array([0.0, 1.0]),
        )
