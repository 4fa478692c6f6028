"""Binary metrics against scikit-learn: real data, then random data with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from evaluation.metrics import EvaluationInputError, binary_metrics, binary_report
from evaluation.metrics.binary import SortedScores, average_precision, confusion_matrix, roc_auc

from ._helpers import approx, binary_data, breast_cancer_predictions

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def cancer():
    y, p = breast_cancer_predictions()
    return y, p, binary_metrics(y_true=y, y_score=p, threshold=THRESHOLD)["metrics"]


def test_accuracy_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["accuracy"] == approx(skm.accuracy_score(y, p >= THRESHOLD))


def test_precision_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["precision"] == approx(skm.precision_score(y, p >= THRESHOLD))


def test_recall_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["recall"] == approx(skm.recall_score(y, p >= THRESHOLD))


def test_f1_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["f1"] == approx(skm.f1_score(y, p >= THRESHOLD))


def test_specificity_matches_sklearn_confusion_matrix_on_breast_cancer(cancer):
    y, p, m = cancer
    tn, fp, _, _ = skm.confusion_matrix(y, p >= THRESHOLD).ravel()
    assert m["specificity"] == approx(tn / (tn + fp))


def test_roc_auc_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["roc_auc"] == approx(skm.roc_auc_score(y, p))


def test_average_precision_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["average_precision"] == approx(skm.average_precision_score(y, p))


def test_log_loss_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["log_loss"] == approx(skm.log_loss(y, p))


def test_brier_matches_sklearn_on_breast_cancer(cancer):
    y, p, m = cancer
    assert m["brier"] == approx(skm.brier_score_loss(y, p))


def test_confusion_matrix_matches_sklearn_on_breast_cancer():
    y, p = breast_cancer_predictions()
    cm = confusion_matrix(y_true=y, y_score=p, threshold=0.3)
    tn, fp, fn, tp = skm.confusion_matrix(y, p >= 0.3).ravel()
    assert (cm["tn"], cm["fp"], cm["fn"], cm["tp"]) == (tn, fp, fn, tp)


def test_calibration_curve_matches_sklearn_on_breast_cancer():
    y, p = breast_cancer_predictions()
    bins = binary_report(y_true=y, y_score=p)["curves"]["calibration"]["bins"]
    filled = [b for b in bins if b["count"]]
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10)
    assert [b["fraction_positive"] for b in filled] == pytest.approx(prob_true, rel=1e-9)
    assert [b["mean_predicted"] for b in filled] == pytest.approx(prob_pred, rel=1e-9)


def test_calibration_puts_a_score_on_a_bin_edge_in_the_lower_bin_like_sklearn():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.1, 0.2, 0.5, 0.9])
    bins = binary_report(y_true=y, y_score=p)["curves"]["calibration"]["bins"]
    assert [b["count"] for b in bins] == [1, 1, 0, 0, 1, 0, 0, 0, 1, 0]
    prob_true, _ = calibration_curve(y, p, n_bins=10)
    assert [b["fraction_positive"] for b in bins if b["count"]] == pytest.approx(prob_true)


# -- random data -----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(binary_data())
def test_roc_auc_matches_sklearn_with_ties(data):
    y, p = data
    assert roc_auc(y_true=y, y_score=p) == approx(skm.roc_auc_score(y, p))


@settings(max_examples=80, deadline=None)
@given(binary_data())
def test_average_precision_matches_sklearn_with_ties(data):
    y, p = data
    assert average_precision(y_true=y, y_score=p) == approx(skm.average_precision_score(y, p))


@settings(max_examples=60, deadline=None)
@given(binary_data())
def test_log_loss_matches_sklearn_on_random_data(data):
    y, p = data
    m = binary_metrics(y_true=y, y_score=p)["metrics"]
    assert m["log_loss"] == approx(skm.log_loss(y, p, labels=[0, 1]))


@settings(max_examples=60, deadline=None)
@given(binary_data())
def test_brier_matches_sklearn_on_random_data(data):
    y, p = data
    m = binary_metrics(y_true=y, y_score=p)["metrics"]
    assert m["brier"] == approx(skm.brier_score_loss(y, p, pos_label=1))


@settings(max_examples=60, deadline=None)
@given(binary_data(), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.33]))
def test_thresholded_metrics_match_sklearn_at_any_threshold(data, threshold):
    y, p = data
    result = binary_metrics(y_true=y, y_score=p, threshold=threshold)
    m = result["metrics"]
    pred = (p >= threshold).astype(int)
    assert m["accuracy"] == approx(skm.accuracy_score(y, pred))
    assert m["recall"] == approx(skm.recall_score(y, pred))
    assert m["f1"] == approx(skm.f1_score(y, pred, zero_division=0.0))
    tn, fp, _, _ = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert m["specificity"] == approx(tn / (tn + fp))
    if pred.any():
        assert m["precision"] == approx(skm.precision_score(y, pred))
    else:
        assert m["precision"] is None and "precision" in result["undefined"]


@settings(max_examples=60, deadline=None)
@given(binary_data(), st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_recommended_threshold_minimises_cost_over_every_threshold(data, cost_fn, cost_fp):
    y, p = data
    best = binary_report(y_true=y, y_score=p, cost_fn=cost_fn, cost_fp=cost_fp)[
        "recommended_threshold"
    ]
    candidates = np.append(np.unique(p), np.inf)
    costs = [
        cost_fn * np.sum((p < t) & (y == 1)) + cost_fp * np.sum((p >= t) & (y == 0))
        for t in candidates
    ]
    assert best["cost"] == pytest.approx(min(costs), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(binary_data())
def test_threshold_table_rows_match_sklearn_precision_recall_curve(data):
    y, p = data
    rows = binary_report(y_true=y, y_score=p)["thresholds"]
    precision, recall, thresholds = skm.precision_recall_curve(y, p)
    reference = {t: (pr, rc) for pr, rc, t in zip(precision, recall, thresholds, strict=False)}
    checked = [row for row in rows if row["threshold"] in reference]
    assert checked
    for row in checked:
        pr, rc = reference[row["threshold"]]
        assert (row["precision"], row["recall"]) == (approx(pr), approx(rc))


@settings(max_examples=40, deadline=None)
@given(binary_data())
def test_roc_points_lie_on_sklearn_roc_curve(data):
    y, p = data
    points = binary_report(y_true=y, y_score=p, curve_points=6)["curves"]["roc"]
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    reference = set(zip(np.round(fpr, 12), np.round(tpr, 12), strict=True))
    for point in points:
        assert (round(point["fpr"], 12), round(point["tpr"], 12)) in reference


def test_roc_curve_is_downsampled_but_keeps_both_ends():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(int)
    roc = binary_report(y_true=y, y_score=p, curve_points=200)["curves"]["roc"]
    assert len(roc) <= 202
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0)
    assert (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)


def test_pr_curve_points_match_sklearn_vertices():
    y, p = breast_cancer_predictions()
    points = binary_report(y_true=y, y_score=p, curve_points=50)["curves"]["pr"]
    precision, recall, _ = skm.precision_recall_curve(y, p)
    reference = set(zip(np.round(recall, 12), np.round(precision, 12), strict=True))
    assert all((round(q["recall"], 12), round(q["precision"], 12)) in reference for q in points)


def test_threshold_table_includes_current_and_recommended_thresholds():
    y, p = breast_cancer_predictions()
    report = binary_report(y_true=y, y_score=p, threshold=0.4242, curve_points=20)
    rows = report["thresholds"]
    assert any(row["current"] and row["threshold"] == 0.4242 for row in rows)
    assert sum(row["recommended"] for row in rows) == 1


def test_expensive_false_negatives_lower_the_recommended_threshold():
    y, p = breast_cancer_predictions()
    cheap = binary_report(y_true=y, y_score=p, cost_fn=1, cost_fp=1)["recommended_threshold"]
    costly = binary_report(y_true=y, y_score=p, cost_fn=20, cost_fp=1)["recommended_threshold"]
    assert costly["threshold"] < cheap["threshold"]


def test_recommendation_is_predict_nothing_when_false_positives_are_prohibitive():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.1])
    best = binary_report(y_true=y, y_score=p, cost_fn=1, cost_fp=100)["recommended_threshold"]
    assert best["threshold"] is None and best["cost"] == 2


def test_precision_is_none_with_reason_when_nothing_is_predicted_positive():
    result = binary_metrics(y_true=np.array([0, 1, 1]), y_score=np.array([0.1, 0.2, 0.3]))
    assert result["metrics"]["precision"] is None
    assert "nothing is predicted positive" in result["undefined"]["precision"]


def test_roc_auc_is_none_with_reason_for_a_single_class():
    result = binary_metrics(y_true=np.array([1, 1, 1]), y_score=np.array([0.1, 0.2, 0.3]))
    assert result["metrics"]["roc_auc"] is None
    assert "both classes" in result["undefined"]["roc_auc"]


def test_raw_scores_skip_log_loss_and_brier_with_a_reason():
    result = binary_metrics(
        y_true=np.array([0, 1]), y_score=np.array([-2.0, 3.0]), score_is_probability=False
    )
    assert result["metrics"]["log_loss"] is None
    assert "not probabilities" in result["undefined"]["brier"]


def test_metrics_do_not_depend_on_row_order():
    y, p = breast_cancer_predictions()
    order = np.random.default_rng(1).permutation(y.size)
    a = binary_metrics(y_true=y, y_score=p)["metrics"]
    b = binary_metrics(y_true=y[order], y_score=p[order])["metrics"]
    assert a == pytest.approx(b, rel=1e-12)


def test_labels_other_than_zero_and_one_are_rejected():
    with pytest.raises(EvaluationInputError, match="0 or 1"):
        binary_metrics(y_true=np.array([0, 2]), y_score=np.array([0.1, 0.2]))


def test_constant_scores_give_an_auc_of_one_half():
    scores = SortedScores.constant(n_pos=3, n_neg=7, value=0.3)
    assert scores.roc_auc()[0] == 0.5
