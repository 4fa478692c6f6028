"""Baselines computed on the same file as the model, and the lift of a model over them.

The point is the "scarecrow": before celebrating an AUC of 0.8, see what a model that knows
nothing gets. Every baseline is fitted on the evaluated file itself (it knows the label
distribution of exactly these rows), so it is a slightly optimistic version of the naive
model — the model has to beat it honestly.

* binary: ``majority`` (every row gets the majority label as its score, ties -> 0) and
  ``prior`` (every row scores the positive rate). Both predict the majority class, and
  both are scored at threshold 0.5 whatever the model's threshold, since their scores are
  probabilities whereas the model's threshold is in the model's own score scale.
* multiclass: ``majority`` (the most frequent class, as a probability of 1) and
  ``class_prior`` (every row gets the class frequencies; predicts the majority class).
* regression: ``mean`` and ``median`` of the target.
* ranking: ``popularity`` (an item's score is its number of relevant rows across all
  groups, so every group gets the same top-k order of its candidates; excludes nothing)
  and ``random`` (a constant score; with the tie handling of `ranking` that is the exact
  expected metrics of a random order).
* rules: see `rules.py`; named ``rule:<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._common import HIGHER_IS_BETTER, MetricValue, fnum
from .binary import SortedScores
from .multiclass import MULTICLASS_METRICS, multiclass_report, sorted_labels
from .ranking import ranking_metrics
from .regression import regression_metrics

_EPS = float(np.finfo(np.float64).eps)
BASELINE_THRESHOLD = 0.5


def lift(
    model_metrics: Mapping[str, MetricValue],
    baseline_metrics: Mapping[str, MetricValue],
    higher_is_better: Mapping[str, bool] | None = None,
) -> dict[str, dict[str, Any]]:
    """The model's difference to a baseline, per metric present in both.

    `higher_is_better` maps metric name -> direction (default: `HIGHER_IS_BETTER`). Returns
    ``{metric: {"absolute": model - baseline, "relative": (model - baseline) / |baseline|,
    "improvement": difference signed so that > 0 is better, "better": bool}}``, each None
    when a side is undefined (and "relative" None when the baseline is 0).
    """
    directions = HIGHER_IS_BETTER if higher_is_better is None else higher_is_better
    out: dict[str, dict[str, Any]] = {}
    for name, model_value in model_metrics.items():
        if name not in baseline_metrics or name not in directions:
            continue
        base = baseline_metrics[name]
        if model_value is None or base is None:
            out[name] = {"absolute": None, "relative": None, "improvement": None, "better": None}
            continue
        diff = float(model_value) - float(base)
        improvement = diff if directions[name] else -diff
        out[name] = {
            "absolute": fnum(diff),
            "relative": fnum(diff / abs(base)) if base != 0 else None,
            "improvement": fnum(improvement),
            "better": improvement > 0,
        }
    return out


def binary_baselines(*, y_true: np.ndarray) -> dict[str, dict[str, Any]]:
    """`majority` and `prior` metric sets (``{"metrics", "undefined"}``) for 0/1 labels."""
    positive = np.asarray(y_true).astype(bool, copy=False)
    n_pos = int(np.count_nonzero(positive))
    n_neg = int(positive.size - n_pos)
    majority = 1.0 if n_pos > n_neg else 0.0
    out = {}
    for name, value in (("majority", majority), ("prior", n_pos / positive.size)):
        scores = SortedScores.constant(n_pos=n_pos, n_neg=n_neg, value=value)
        out[name] = scores.metrics(threshold=BASELINE_THRESHOLD)
    return out


def _hard_log_loss(correct: int, n: int) -> float:
    # A hard prediction is probability 1 for one class, clipped like sklearn to 1 - eps /
    # eps: right rows cost -log(1 - eps), wrong rows -log(eps).
    return (correct * -np.log(1 - _EPS) + (n - correct) * -np.log(_EPS)) / n


def multiclass_baselines(
    *, y_true: np.ndarray, classes: list[Any] | None = None
) -> dict[str, dict[str, Any]]:
    """`majority` and `class_prior` metric sets for class labels.

    `classes` are the model's probability classes (for the prior's log loss); default the
    labels present in `y_true`.
    """
    y = np.asarray(y_true)
    counts = pd.Series(y).value_counts(sort=False)
    labels = sorted_labels(list(counts.index))
    counts = counts.reindex(labels)
    # Most frequent; ties go to the smallest label, like DummyClassifier.
    top = labels[int(np.argmax(counts.to_numpy()))]
    pred = np.full(y.size, top, dtype=y.dtype if y.dtype.kind != "U" else object)
    report = multiclass_report(y_true=y, y_pred=pred)
    n = y.size
    correct = int(counts[top])
    majority = {"metrics": dict(report["metrics"]), "undefined": {}}
    majority["metrics"]["log_loss"] = fnum(_hard_log_loss(correct, n))
    prior_classes = sorted_labels(list(set(classes or []) | set(labels)))
    freq = counts.reindex(prior_classes, fill_value=0).to_numpy() / n
    # Cross-entropy of the labels under the constant class-frequency distribution.
    prior_ll = float(
        -np.dot(
            counts.reindex(prior_classes, fill_value=0).to_numpy(),
            np.log(np.clip(freq, _EPS, 1 - _EPS)),
        )
        / n
    )
    prior = {"metrics": dict(report["metrics"]), "undefined": {}}
    prior["metrics"]["log_loss"] = fnum(prior_ll)
    for entry in (majority, prior):
        entry["metrics"] = {k: entry["metrics"][k] for k in MULTICLASS_METRICS}
    return {"majority": majority, "class_prior": prior}


def regression_baselines(*, y_true: np.ndarray) -> dict[str, dict[str, Any]]:
    """`mean` and `median` regressors (``{"metrics", "undefined"}`` each)."""
    y = np.asarray(y_true, dtype=np.float64)
    out = {}
    for name, value in (("mean", float(y.mean())), ("median", float(np.median(y)))):
        report = regression_metrics(y_true=y, y_pred=np.full(y.size, value))
        out[name] = {"metrics": report["metrics"], "undefined": report["undefined"]}
    return out


def ranking_baselines(
    *,
    group: np.ndarray,
    y_true: np.ndarray,
    k: int,
    item: np.ndarray | None = None,
    include_groups_without_relevant: bool = False,
) -> dict[str, dict[str, Any]]:
    """`popularity` (needs `item`) and `random` metric sets."""
    rel = np.asarray(y_true, dtype=np.float64)
    out = {}
    if item is not None:
        codes, uniques = pd.factorize(np.asarray(item))
        popularity = np.bincount(codes, weights=rel > 0, minlength=len(uniques))
        score = popularity[codes]
        report = ranking_metrics(
            group=group,
            y_true=rel,
            y_score=score,
            k=k,
            item=item,
            include_groups_without_relevant=include_groups_without_relevant,
        )
        out["popularity"] = {"metrics": report["metrics"], "undefined": report["undefined"]}
    report = ranking_metrics(
        group=group,
        y_true=rel,
        y_score=np.zeros(rel.size),
        k=k,
        item=item,
        include_groups_without_relevant=include_groups_without_relevant,
    )
    out["random"] = {"metrics": report["metrics"], "undefined": report["undefined"]}
    return out
