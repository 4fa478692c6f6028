"""`evaluate` and `compare`: result shape, JSON safety, options, dispatch by task."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from sklearn import metrics as skm

from evaluation.metrics import EvaluationInputError, compare, evaluate

from ._helpers import (
    approx,
    binary_data,
    breast_cancer_predictions,
    diabetes_predictions,
    multiclass_predictions,
    ranking_data,
)

RESULT_KEYS = {
    "metrics",
    "baselines",
    "thresholds",
    "curves",
    "slices",
    "tradeoff",
    "warnings",
    "info",
}


def _binary_columns() -> dict[str, np.ndarray]:
    y, p = breast_cancer_predictions()
    rng = np.random.default_rng(0)
    return {
        "y_true": y,
        "y_score": p,
        "age": rng.integers(20, 80, y.size).astype(float),
        "city": rng.choice(["Seoul", "Busan", "Jeju"], y.size).astype(object),
    }


@pytest.fixture(scope="module")
def binary_result():
    return evaluate(
        task="binary",
        columns=_binary_columns(),
        options={
            "slice_columns": ["age", "city"],
            "rules": {
                "older": {
                    "rules": [{"when": [{"feature": "age", "op": ">=", "value": 50}], "then": 1}],
                    "default": 0,
                }
            },
            "cost_fn": 5,
        },
    )


def test_binary_result_has_exactly_the_documented_keys(binary_result):
    assert set(binary_result) == RESULT_KEYS
    assert list(binary_result["metrics"]) == [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "specificity",
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
    ]


def test_binary_result_serialises_to_strict_json(binary_result):
    json.dumps(binary_result, allow_nan=False)


def test_binary_metrics_in_the_result_match_sklearn(binary_result):
    y, p = breast_cancer_predictions()
    assert binary_result["metrics"]["roc_auc"] == approx(skm.roc_auc_score(y, p))
    assert binary_result["metrics"]["f1"] == approx(skm.f1_score(y, p >= 0.5))


def test_every_baseline_carries_its_lift(binary_result):
    assert set(binary_result["baselines"]) == {"majority", "prior", "rule:older"}
    prior = binary_result["baselines"]["prior"]
    assert prior["lift"]["roc_auc"]["absolute"] == approx(binary_result["metrics"]["roc_auc"] - 0.5)


def test_rule_usage_is_reported(binary_result):
    usage = binary_result["info"]["rule_baselines"]["older"]
    assert sum(usage["rows_per_rule"]) + usage["rows_default"] == binary_result["info"]["rows"]


def test_a_single_unnamed_rule_set_becomes_the_custom_rule_baseline():
    rules = {
        "rules": [{"when": [{"feature": "city", "op": "==", "value": "Seoul"}], "then": 1}],
        "default": 0,
    }
    result = evaluate(task="binary", columns=_binary_columns(), options={"rules": rules})
    assert "rule:custom" in result["baselines"]


def test_slices_cover_every_requested_column(binary_result):
    assert {s["column"] for s in binary_result["slices"]} == {"age", "city"}


def test_cost_options_drive_the_recommended_threshold(binary_result):
    assert binary_result["info"]["recommended_threshold"]["cost_fn"] == 5.0
    assert sum(row["recommended"] for row in binary_result["thresholds"]) == 1


def test_undefined_baseline_metrics_are_explained_in_warnings(binary_result):
    scopes = {(w.get("scope"), w.get("metric")) for w in binary_result["warnings"]}
    majority_predicts_positive = binary_result["baselines"]["majority"]["precision"] is not None
    assert majority_predicts_positive or ("baseline:majority", "precision") in scopes


def test_multiclass_evaluation_uses_probability_columns():
    y, proba, classes = multiclass_predictions("iris")
    columns = {"y_true": y, **{f"proba:{c}": proba[:, i] for i, c in enumerate(classes)}}
    result = evaluate(task="multiclass", columns=columns)
    assert result["metrics"]["log_loss"] == approx(skm.log_loss(y, proba))
    assert set(result["baselines"]) == {"majority", "class_prior"}
    assert result["curves"]["confusion_matrix"]["labels"] == [0, 1, 2]


def test_regression_evaluation_reports_excluded_mape_rows():
    y, pred = diabetes_predictions()
    y = y.copy()
    y[:3] = 0
    result = evaluate(task="regression", columns={"y_true": y, "y_pred": pred})
    assert list(result["metrics"]) == ["rmse", "mae", "mape", "r2"]
    assert result["info"]["mape_excluded_rows"] == 3
    assert result["baselines"]["mean"]["r2"] == approx(0.0)
    assert "residuals" in result["curves"]


def test_ranking_evaluation_reports_the_six_ranking_metrics():
    rng = np.random.default_rng(4)
    group = np.repeat(np.arange(40), 8)
    item = np.tile(np.arange(8), 40)
    relevance = (rng.random(320) < 0.3).astype(float)
    result = evaluate(
        task="ranking",
        columns={
            "group": group,
            "item": item,
            "y_true": relevance,
            "y_score": relevance + rng.random(320),
        },
        options={"k": 3},
    )
    assert list(result["metrics"]) == [
        "precision_at_k",
        "recall_at_k",
        "map_at_k",
        "ndcg_at_k",
        "hit_rate",
        "coverage",
    ]
    assert result["metrics"]["hit_rate"] > result["baselines"]["random"]["hit_rate"]


def test_ranking_evaluation_rejects_repeated_group_item_pairs():
    with pytest.raises(EvaluationInputError, match="repeat a \\(group, item\\) pair"):
        evaluate(
            task="ranking",
            columns={
                "group": np.array([1, 1]),
                "item": np.array([5, 5]),
                "y_true": np.array([1.0, 0.0]),
                "y_score": np.array([0.3, 0.2]),
            },
        )


def test_tradeoff_option_adds_the_curve():
    columns = _binary_columns()
    rng = np.random.default_rng(5)
    columns["engagement"] = rng.random(columns["y_true"].size)
    columns["engaged"] = (rng.random(columns["y_true"].size) < 0.5).astype(int)
    result = evaluate(
        task="binary",
        columns=columns,
        options={
            "tradeoff": {
                "score_a": "y_score",
                "score_b": "engagement",
                "label_a": "y_true",
                "label_b": "engaged",
                "steps": 5,
            }
        },
    )
    assert [p["weight"] for p in result["tradeoff"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert result["tradeoff"][-1]["a"]["roc_auc"] == approx(result["metrics"]["roc_auc"])


def test_single_class_fails_the_whole_evaluation_with_the_reason():
    with pytest.raises(EvaluationInputError, match="ROC-AUC"):
        evaluate(task="binary", columns={"y_true": np.ones(5), "y_score": np.linspace(0, 1, 5)})


def test_drop_invalid_option_drops_rows_and_says_so():
    result = evaluate(
        task="binary",
        columns={"y_true": np.array([0, 1, 0, 1]), "y_score": np.array([0.1, np.nan, 0.3, 0.8])},
        options={"drop_invalid": True},
    )
    assert result["info"]["rows_dropped"] == 1 and result["info"]["rows"] == 3
    assert result["warnings"][0]["code"] == "rows_dropped"


def test_unknown_option_is_rejected():
    with pytest.raises(EvaluationInputError, match="Unknown option"):
        evaluate(
            task="binary",
            columns={"y_true": np.array([0, 1]), "y_score": np.array([0.2, 0.7])},
            options={"treshold": 0.3},
        )


def test_unknown_task_is_rejected():
    with pytest.raises(EvaluationInputError, match="Unknown task"):
        evaluate(task="clustering", columns={"y_true": np.array([0, 1])})


def test_missing_score_column_names_what_is_needed():
    with pytest.raises(EvaluationInputError, match="'group' column"):
        evaluate(task="ranking", columns={"y_true": np.array([1.0]), "y_score": np.array([1.0])})


def test_unknown_slice_column_is_rejected_with_available_columns():
    with pytest.raises(EvaluationInputError, match="Slice column 'town'.*city"):
        evaluate(task="binary", columns=_binary_columns(), options={"slice_columns": ["town"]})


def test_hard_predictions_alone_are_evaluated_as_zero_one_scores_with_a_warning():
    result = evaluate(
        task="binary", columns={"y_true": np.array([0, 1, 1, 0]), "y_pred": np.array([0, 1, 0, 0])}
    )
    assert result["metrics"]["recall"] == 0.5
    assert any(w["code"] == "hard_predictions" for w in result["warnings"])


@settings(max_examples=40, deadline=None)
@given(binary_data())
def test_binary_evaluation_never_emits_nan(data):
    y, p = data
    result = evaluate(task="binary", columns={"y_true": y, "y_score": p})
    json.dumps(result, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(ranking_data())
def test_ranking_evaluation_never_emits_nan(data):
    group, relevance, score = data
    item = np.arange(group.size)
    result = evaluate(
        task="ranking",
        columns={"group": group, "item": item, "y_true": relevance, "y_score": score},
    )
    json.dumps(result, allow_nan=False)


def test_compare_lists_both_values_and_which_is_better():
    y, p = breast_cancer_predictions()
    a = evaluate(task="binary", columns={"y_true": y, "y_score": p})
    b = evaluate(task="binary", columns={"y_true": y, "y_score": np.sqrt(p)})
    rows = {row["metric"]: row for row in compare(a, b)}
    assert rows["roc_auc"]["difference"] == approx(0.0)  # same ranking
    assert rows["roc_auc"]["better"] in ("tie", "a", "b")
    assert rows["log_loss"]["difference"] == approx(
        b["metrics"]["log_loss"] - a["metrics"]["log_loss"]
    )
    assert rows["log_loss"]["better"] == ("a" if rows["log_loss"]["difference"] > 0 else "b")


def test_compare_refuses_different_tasks():
    y, pred = diabetes_predictions()
    reg = evaluate(task="regression", columns={"y_true": y, "y_pred": pred})
    yb, p = breast_cancer_predictions()
    binary = evaluate(task="binary", columns={"y_true": yb, "y_score": p})
    with pytest.raises(EvaluationInputError, match="Cannot compare"):
        compare(reg, binary)
