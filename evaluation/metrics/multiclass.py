"""Multiclass classification metrics from one confusion matrix.

Labels may be numbers or strings. The label set is the sorted union of the labels seen in
`y_true` and `y_pred` (scikit-learn's ``unique_labels``), so macro averages match
scikit-learn. Per-class probabilities are passed as one 1-D column per class (a mapping),
never stacked into an n×C matrix, so ten classes over ten million rows do not need another
800 MB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._common import MetricValue, fnum, format_value, ratio, warning
from .errors import EvaluationInputError

MULTICLASS_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "f1_micro",
    "f1_weighted",
    "log_loss",
)

_EPS = float(np.finfo(np.float64).eps)
#: Rows whose class probabilities sum further than this from 1 are reported.
_SUM_TOLERANCE = 1e-3


def sorted_labels(values: Sequence[Any]) -> list[Any]:
    """Sort class labels; a mix of numbers and strings is an input error."""
    try:
        return sorted(values)
    except TypeError:
        shown = ", ".join(repr(v) for v in list(values)[:6])
        raise EvaluationInputError(
            f"Class labels mix numbers and text ({shown}); use one kind of label."
        ) from None


def _unique(values: np.ndarray) -> list[Any]:
    return pd.unique(np.asarray(values)).tolist()


def predict_from_proba(
    *, proba: Mapping[Any, np.ndarray], classes: Sequence[Any] | None = None
) -> np.ndarray:
    """The argmax class per row (first class in sorted order wins ties, like numpy)."""
    order = sorted_labels(list(proba)) if classes is None else list(classes)
    if not order:
        raise EvaluationInputError("No probability columns were given.")
    best = np.asarray(proba[order[0]], dtype=np.float64).copy()
    best_idx = np.zeros(best.size, dtype=np.int64)
    for i, cls in enumerate(order[1:], start=1):
        col = np.asarray(proba[cls], dtype=np.float64)
        better = col > best  # strict: earlier classes keep ties
        best[better] = col[better]
        best_idx[better] = i
    return np.asarray(order, dtype=object if _has_text(order) else None)[best_idx]


def _has_text(labels: Sequence[Any]) -> bool:
    return any(isinstance(v, str) for v in labels)


def multiclass_report(
    *,
    y_true: np.ndarray,
    y_pred: np.ndarray | None = None,
    proba: Mapping[Any, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro/micro/weighted F1, log loss, the confusion matrix
    and per-class precision/recall/F1.

    `proba` maps each class label to its probability column. When `y_pred` is None it is the
    argmax of `proba`. Log loss (scikit-learn's, probabilities clipped to [eps, 1-eps], not
    renormalised) needs `proba` and every label of `y_true` among its classes.

    Returns::

        {"metrics": {accuracy, balanced_accuracy, f1_macro, f1_micro, f1_weighted, log_loss},
         "undefined": {metric: reason},
         "per_class": [{"label", "support", "predicted", "precision", "recall", "f1"}, ...],
         "confusion_matrix": {"labels": [...], "matrix": [[count, ...], ...]},  # rows = true
         "warnings": [...]}
    """
    y_true = np.asarray(y_true)
    if y_pred is None:
        if not proba:
            raise EvaluationInputError(
                "Multiclass evaluation needs a predicted label column or per-class "
                "probability columns."
            )
        y_pred = predict_from_proba(proba=proba)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise EvaluationInputError("Labels and predictions must be 1-D and the same length.")
    n = int(y_true.size)
    if n == 0:
        raise EvaluationInputError("There are no rows to evaluate.")
    labels = sorted_labels(list(set(_unique(y_true)) | set(_unique(y_pred))))
    index = pd.Index(labels)
    true_codes = index.get_indexer(y_true)
    pred_codes = index.get_indexer(y_pred)
    k = len(labels)
    matrix = np.bincount(true_codes * k + pred_codes, minlength=k * k).reshape(k, k)
    tp = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    # Per-class F1 = 2TP / (support + predicted); every label is in y_true or y_pred, so the
    # denominator is never 0 (sklearn's formula, which gives 0 rather than undefined).
    f1 = 2 * tp / (support + predicted)
    undefined: dict[str, str] = {}
    values: dict[str, MetricValue] = {
        "accuracy": int(tp.sum()) / n,
        # Recall averaged over classes present in y_true (sklearn's balanced accuracy).
        "balanced_accuracy": float(np.mean(tp[support > 0] / support[support > 0])),
        "f1_macro": float(f1.mean()),
        # Single-label micro F1: 2ΣTP / (2ΣTP + ΣFP + ΣFN) = 2ΣTP / 2n.
        "f1_micro": int(tp.sum()) / n,
        "f1_weighted": float(np.dot(support, f1) / n),
    }
    warnings: list[dict[str, Any]] = []
    if proba:
        values["log_loss"], ll_warnings = _log_loss(y_true=y_true, proba=proba, n=n)
        warnings.extend(ll_warnings)
    else:
        values["log_loss"] = None
        undefined["log_loss"] = (
            "Log loss needs per-class probability columns; only predicted labels were given."
        )
    per_class = [
        {
            "label": labels[i],
            "support": int(support[i]),
            "predicted": int(predicted[i]),
            "precision": ratio(int(tp[i]), int(predicted[i])),
            "recall": ratio(int(tp[i]), int(support[i])),
            "f1": fnum(f1[i]),
        }
        for i in range(k)
    ]
    never_predicted = [format_value(row["label"]) for row in per_class if not row["predicted"]]
    if never_predicted:
        warnings.append(
            warning(
                "class_never_predicted",
                "Precision is undefined for classes never predicted: "
                + ", ".join(never_predicted[:10])
                + ("…" if len(never_predicted) > 10 else "")
                + ".",
            )
        )
    return {
        "metrics": {name: fnum(values[name]) for name in MULTICLASS_METRICS},
        "undefined": undefined,
        "per_class": per_class,
        "confusion_matrix": {"labels": labels, "matrix": matrix.tolist()},
        "warnings": warnings,
    }


def _log_loss(
    *, y_true: np.ndarray, proba: Mapping[Any, np.ndarray], n: int
) -> tuple[float, list[dict[str, Any]]]:
    classes = list(proba)
    index = pd.Index(classes)
    codes = index.get_indexer(y_true)
    if (codes < 0).any():
        missing = sorted_labels(list(set(_unique(y_true[codes < 0]))))
        raise EvaluationInputError(
            "Log loss needs a probability column for every true label; none for "
            + ", ".join(format_value(v) for v in missing[:10])
            + f". Probability columns exist for: {', '.join(format_value(c) for c in classes)}."
        )
    total = 0.0
    row_sum = np.zeros(n)
    for i, cls in enumerate(classes):
        col = np.asarray(proba[cls], dtype=np.float64)
        row_sum += col
        chosen = col[codes == i]
        total += float(-np.log(np.clip(chosen, _EPS, 1 - _EPS)).sum())
    warnings = []
    # Looser than sklearn's sqrt(eps): files often round probabilities to a few decimals,
    # and warning about that on every upload would bury real problems.
    off = int(np.count_nonzero(np.abs(row_sum - 1.0) > _SUM_TOLERANCE))
    if off:
        warnings.append(
            warning(
                "probabilities_do_not_sum_to_one",
                f"{off} row(s) have class probabilities that do not sum to 1; log loss uses "
                "them as given (not renormalised).",
            )
        )
    return total / n, warnings
