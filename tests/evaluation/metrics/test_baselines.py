"""Automatic baselines against scikit-learn's dummy models, and lift."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

from evaluation.metrics import lift
from evaluation.metrics.baselines import (
    binary_baselines,
    multiclass_baselines,
    ranking_baselines,
    regression_baselines,
)

from ._helpers import (
    approx,
    breast_cancer_predictions,
    diabetes_predictions,
    multiclass_predictions,
)


def _dummy(y: np.ndarray, strategy: str) -> DummyClassifier:
    return DummyClassifier(strategy=strategy).fit(np.zeros((y.size, 1)), y)


def test_binary_majority_baseline_matches_sklearn_most_frequent_dummy():
    y, _ = breast_cancer_predictions()
    pred = _dummy(y, "most_frequent").predict(np.zeros((y.size, 1)))
    m = binary_baselines(y_true=y)["majority"]["metrics"]
    assert m["accuracy"] == approx(skm.accuracy_score(y, pred))
    assert m["f1"] == approx(skm.f1_score(y, pred))
    assert m["roc_auc"] == 0.5


def test_binary_prior_baseline_matches_sklearn_prior_dummy_probabilities():
    y, _ = breast_cancer_predictions()
    proba = _dummy(y, "prior").predict_proba(np.zeros((y.size, 1)))[:, 1]
    m = binary_baselines(y_true=y)["prior"]["metrics"]
    assert m["log_loss"] == approx(skm.log_loss(y, proba))
    assert m["brier"] == approx(skm.brier_score_loss(y, proba))
    assert m["average_precision"] == approx(skm.average_precision_score(y, proba))


def test_binary_majority_baseline_with_negative_majority_has_undefined_precision():
    result = binary_baselines(y_true=np.array([0, 0, 0, 1]))["majority"]
    assert result["metrics"]["precision"] is None and "precision" in result["undefined"]


def test_multiclass_majority_baseline_matches_sklearn_most_frequent_dummy():
    y, _, _ = multiclass_predictions("digits")
    pred = _dummy(y, "most_frequent").predict(np.zeros((y.size, 1)))
    m = multiclass_baselines(y_true=y)["majority"]["metrics"]
    assert m["accuracy"] == approx(skm.accuracy_score(y, pred))
    assert m["f1_macro"] == approx(skm.f1_score(y, pred, average="macro"))


def test_multiclass_majority_log_loss_treats_the_prediction_as_probability_one():
    y, _, classes = multiclass_predictions("iris")
    pred = _dummy(y, "most_frequent").predict(np.zeros((y.size, 1)))
    one_hot = (classes[None, :] == pred[:, None]).astype(float)
    m = multiclass_baselines(y_true=y)["majority"]["metrics"]
    assert m["log_loss"] == approx(skm.log_loss(y, one_hot, labels=classes))


def test_multiclass_class_prior_log_loss_matches_sklearn_prior_dummy():
    y, _, classes = multiclass_predictions("digits")
    proba = _dummy(y, "prior").predict_proba(np.zeros((y.size, 1)))
    m = multiclass_baselines(y_true=y, classes=list(classes))["class_prior"]["metrics"]
    assert m["log_loss"] == approx(skm.log_loss(y, proba, labels=classes))


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_regression_baselines_match_sklearn_dummy_regressor(strategy):
    y, _ = diabetes_predictions()
    pred = (
        DummyRegressor(strategy=strategy)
        .fit(np.zeros((y.size, 1)), y)
        .predict(np.zeros((y.size, 1)))
    )
    m = regression_baselines(y_true=y)[strategy]["metrics"]
    assert m["rmse"] == approx(skm.root_mean_squared_error(y, pred))
    assert m["mae"] == approx(skm.mean_absolute_error(y, pred))
    assert m["r2"] == approx(skm.r2_score(y, pred))


def test_popularity_baseline_ranks_every_group_by_the_same_item_popularity():
    # Item "a" is relevant for two users, "b" for one, "c" for none.
    group = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3])
    item = np.array(["a", "b", "c"] * 3)
    relevance = np.array([1, 0, 0, 1, 1, 0, 0, 0, 0], dtype=float)
    result = ranking_baselines(group=group, y_true=relevance, k=1, item=item)["popularity"]
    # Both users with a relevant item get "a" first: a hit for each.
    assert result["metrics"]["hit_rate"] == 1.0
    assert result["metrics"]["coverage"] == approx(1 / 3)


def test_random_ranking_baseline_is_the_exact_expectation_of_a_random_order():
    group = np.zeros(4, dtype=int)
    relevance = np.array([1.0, 0.0, 0.0, 0.0])
    result = ranking_baselines(group=group, y_true=relevance, k=2)["random"]
    assert result["metrics"]["hit_rate"] == approx(0.5)  # one relevant item of four, 2 slots
    assert result["metrics"]["precision_at_k"] == approx(0.25)


def test_lift_reports_absolute_and_relative_difference_signed_by_direction():
    result = lift({"roc_auc": 0.8, "log_loss": 0.3}, {"roc_auc": 0.5, "log_loss": 0.6})
    assert result["roc_auc"] == {
        "absolute": approx(0.3),
        "relative": approx(0.6),
        "improvement": approx(0.3),
        "better": True,
    }
    assert result["log_loss"]["absolute"] == approx(-0.3)
    assert result["log_loss"]["improvement"] == approx(0.3)
    assert result["log_loss"]["better"] is True


def test_lift_is_none_when_either_side_is_undefined():
    result = lift({"precision": 0.7}, {"precision": None}, {"precision": True})
    assert result["precision"] == {
        "absolute": None,
        "relative": None,
        "improvement": None,
        "better": None,
    }


def test_relative_lift_is_none_over_a_zero_baseline():
    assert lift({"f1": 0.4}, {"f1": 0.0})["f1"]["relative"] is None
