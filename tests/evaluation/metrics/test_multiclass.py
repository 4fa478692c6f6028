"""Multiclass metrics against scikit-learn on iris and digits, and on random labels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from evaluation.metrics import EvaluationInputError, multiclass_report
from evaluation.metrics.multiclass import predict_from_proba

from ._helpers import approx, multiclass_predictions


def _report(dataset: str) -> tuple[np.ndarray, np.ndarray, dict]:
    y, proba, classes = multiclass_predictions(dataset)
    columns = {int(c): proba[:, i] for i, c in enumerate(classes)}
    pred = classes[np.argmax(proba, axis=1)]
    return y, pred, multiclass_report(y_true=y, proba=columns)


@pytest.mark.parametrize("dataset", ["iris", "digits"])
def test_accuracy_matches_sklearn(dataset):
    y, pred, report = _report(dataset)
    assert report["metrics"]["accuracy"] == approx(skm.accuracy_score(y, pred))


@pytest.mark.parametrize("dataset", ["iris", "digits"])
@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_f1_averages_match_sklearn(dataset, average):
    y, pred, report = _report(dataset)
    expected = skm.f1_score(y, pred, average=average)
    assert report["metrics"][f"f1_{average}"] == approx(expected)


@pytest.mark.parametrize("dataset", ["iris", "digits"])
def test_balanced_accuracy_matches_sklearn(dataset):
    y, pred, report = _report(dataset)
    assert report["metrics"]["balanced_accuracy"] == approx(skm.balanced_accuracy_score(y, pred))


@pytest.mark.parametrize("dataset", ["iris", "digits"])
def test_log_loss_matches_sklearn(dataset):
    y, proba, classes = multiclass_predictions(dataset)
    _, _, report = _report(dataset)
    assert report["metrics"]["log_loss"] == approx(skm.log_loss(y, proba, labels=classes))


@pytest.mark.parametrize("dataset", ["iris", "digits"])
def test_per_class_precision_and_recall_match_sklearn(dataset):
    y, pred, report = _report(dataset)
    precision = skm.precision_score(y, pred, average=None, zero_division=np.nan)
    recall = skm.recall_score(y, pred, average=None, zero_division=np.nan)
    ours_p = [np.nan if r["precision"] is None else r["precision"] for r in report["per_class"]]
    ours_r = [r["recall"] for r in report["per_class"]]
    np.testing.assert_allclose(ours_p, precision, rtol=1e-9)
    np.testing.assert_allclose(ours_r, recall, rtol=1e-9)


@pytest.mark.parametrize("dataset", ["iris", "digits"])
def test_confusion_matrix_matches_sklearn(dataset):
    y, pred, report = _report(dataset)
    assert report["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, pred).tolist()


def test_predicted_label_is_the_argmax_of_the_probability_columns():
    y, proba, classes = multiclass_predictions("iris")
    columns = {int(c): proba[:, i] for i, c in enumerate(classes)}
    np.testing.assert_array_equal(
        predict_from_proba(proba=columns), classes[np.argmax(proba, axis=1)]
    )


def test_argmax_ties_go_to_the_first_class_like_numpy():
    pred = predict_from_proba(proba={"b": np.array([0.5]), "a": np.array([0.5])})
    assert pred.tolist() == ["a"]


def test_text_labels_give_the_same_metrics_as_numbers():
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    pred = np.array([0, 2, 2, 2, 1, 1, 0])
    names = np.array(["ant", "bee", "cat"], dtype=object)
    as_numbers = multiclass_report(y_true=y, y_pred=pred)["metrics"]
    as_text = multiclass_report(y_true=names[y], y_pred=names[pred])["metrics"]
    assert as_numbers == as_text


def test_precision_of_a_never_predicted_class_is_none_with_a_warning():
    report = multiclass_report(y_true=np.array([0, 1, 2]), y_pred=np.array([0, 1, 1]))
    by_label = {row["label"]: row for row in report["per_class"]}
    assert by_label[2]["precision"] is None
    assert report["warnings"][0]["code"] == "class_never_predicted"


def test_log_loss_is_none_with_reason_without_probabilities():
    report = multiclass_report(y_true=np.array([0, 1, 2]), y_pred=np.array([0, 1, 1]))
    assert report["metrics"]["log_loss"] is None
    assert "probability" in report["undefined"]["log_loss"]


def test_log_loss_rejects_a_label_without_probability_column():
    with pytest.raises(EvaluationInputError, match="probability column"):
        multiclass_report(
            y_true=np.array(["a", "z"]),
            proba={"a": np.array([0.6, 0.3]), "b": np.array([0.4, 0.7])},
        )


@st.composite
def _labels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 50))
    n_classes = draw(st.integers(2, 5))
    y = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    pred = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    return y, pred


@settings(max_examples=60, deadline=None)
@given(_labels())
def test_f1_and_accuracy_match_sklearn_on_random_labels(data):
    y, pred = data
    m = multiclass_report(y_true=y, y_pred=pred)["metrics"]
    assert m["accuracy"] == approx(skm.accuracy_score(y, pred))
    assert m["f1_macro"] == approx(skm.f1_score(y, pred, average="macro", zero_division=0))
    assert m["f1_micro"] == approx(skm.f1_score(y, pred, average="micro", zero_division=0))
    assert m["f1_weighted"] == approx(skm.f1_score(y, pred, average="weighted", zero_division=0))


@settings(max_examples=40, deadline=None)
@given(_labels(), st.integers(0, 2**32 - 1))
def test_log_loss_matches_sklearn_on_random_probabilities(data, seed):
    y, _ = data
    classes = np.arange(max(int(y.max()) + 1, 2))
    proba = np.random.default_rng(seed).dirichlet(np.ones(classes.size), size=y.size)
    columns = {int(c): proba[:, i] for i, c in enumerate(classes)}
    ours = multiclass_report(y_true=y, proba=columns)["metrics"]["log_loss"]
    assert ours == approx(skm.log_loss(y, proba, labels=classes))
