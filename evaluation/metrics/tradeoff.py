"""Multi-objective trade-off: blend two model scores and see what each objective gets.

Given scores ``a`` and ``b`` (e.g. a quality model and an engagement model) and a label for
each objective, rank by ``w·a + (1 − w)·b`` for weights ``w`` from 0 to 1 and measure both
labels under that one ranking. The curve shows how much of objective B must be given up
for each gain in objective A, so a team can pick ``w`` without retraining anything.

What is measured under the blended ranking:

* with a group column (ranking/recommendation: one list per user/query): NDCG@k and
  precision@k of each label, averaged over groups, with the tie handling of `ranking`;
* without groups (one global ranking, e.g. a feed or a triage queue): ROC-AUC and average
  precision of each (binary) label.

The first metric of each pair (NDCG@k or ROC-AUC) is the *primary* one; weights whose
(primary A, primary B) point is not beaten on both by another weight are flagged
``pareto_optimal``.

By default the raw scores are blended, so the chosen ``w`` can be deployed as is. With
``normalize="minmax"`` each score is first rescaled to [0, 1] over the file (the
``scaling`` in the result says how), which makes weights comparable when the scores live on
different scales; the deployed blend must then apply the same rescaling. At ``w = 1`` the
ranking is exactly the ranking by ``a`` alone (``1·a + 0·b`` is ``a``).

Cost: one full sort per weight and label, so keep `steps` modest on very large files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import MetricValue, fnum
from .binary import SortedScores
from .errors import EvaluationInputError
from .ranking import ranking_per_group


def _finite(name: str, arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(a).all():
        raise EvaluationInputError(
            f"Trade-off column {name!r} has missing or infinite values; the blend needs a "
            "number in every row."
        )
    return a


def _scale(arr: np.ndarray, normalize: str | None) -> tuple[np.ndarray, dict[str, float] | None]:
    if normalize is None:
        return arr, None
    if normalize != "minmax":
        raise EvaluationInputError(
            f"Unknown normalisation {normalize!r}; use None (raw scores) or 'minmax'."
        )
    lo, hi = float(arr.min()), float(arr.max())
    if hi == lo:
        return np.zeros_like(arr), {"min": lo, "max": hi}
    return (arr - lo) / (hi - lo), {"min": lo, "max": hi}


def _binary_pair(label: np.ndarray, score: np.ndarray) -> dict[str, MetricValue]:
    scores = SortedScores.from_arrays(y_true=label, y_score=score, validate=False)
    return {
        "roc_auc": fnum(scores.roc_auc()[0]),
        "average_precision": fnum(scores.average_precision()[0]),
    }


def _ranking_pair(
    group: np.ndarray, label: np.ndarray, score: np.ndarray, k: int
) -> dict[str, MetricValue]:
    per = ranking_per_group(group=group, y_true=label, y_score=score, k=k)
    has_rel = per["n_relevant"] > 0
    if not has_rel.any():
        return {"ndcg_at_k": None, "precision_at_k": None}
    return {
        "ndcg_at_k": fnum(per["ndcg_at_k"][has_rel].mean()),
        "precision_at_k": fnum(per["precision_at_k"][has_rel].mean()),
    }


def tradeoff_curve(
    *,
    score_a: np.ndarray,
    score_b: np.ndarray,
    label_a: np.ndarray,
    label_b: np.ndarray,
    group: np.ndarray | None = None,
    k: int = 10,
    steps: int = 11,
    normalize: str | None = None,
) -> dict[str, Any]:
    """Metrics of both labels under the blended score ``w·a + (1 − w)·b`` for `steps`
    weights evenly spaced from 0 to 1.

    Returns ``{"points": [{"weight", "a": {metric: value}, "b": {metric: value},
    "pareto_optimal": bool}, ...], "metrics": [primary, secondary], "scaling": {...} |
    None}``. Without `group`, labels must be 0/1.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 101:
        raise EvaluationInputError("The trade-off needs between 2 and 101 weight steps.")
    a = _finite("score_a", score_a)
    b = _finite("score_b", score_b)
    la = _finite("label_a", label_a)
    lb = _finite("label_b", label_b)
    if not (a.size == b.size == la.size == lb.size):
        raise EvaluationInputError("Trade-off scores and labels must have the same length.")
    if group is None:
        for name, label in (("label_a", la), ("label_b", lb)):
            if np.count_nonzero((label == 0) | (label == 1)) != label.size:
                raise EvaluationInputError(
                    f"Trade-off {name} must be 0/1 when there is no group column "
                    "(add a group column to use graded relevance)."
                )
    elif (la < 0).any() or (lb < 0).any():
        raise EvaluationInputError("Trade-off labels must be >= 0 (relevance).")
    a, scale_a = _scale(a, normalize)
    b, scale_b = _scale(b, normalize)
    points = []
    for w in np.linspace(0.0, 1.0, steps):
        blended = w * a + (1.0 - w) * b
        if group is None:
            ma, mb = _binary_pair(la, blended), _binary_pair(lb, blended)
        else:
            ma, mb = _ranking_pair(group, la, blended, k), _ranking_pair(group, lb, blended, k)
        points.append({"weight": float(w), "a": ma, "b": mb})
    names = ["roc_auc", "average_precision"] if group is None else ["ndcg_at_k", "precision_at_k"]
    _flag_pareto(points, names[0])
    return {
        "points": points,
        "metrics": names,
        "scaling": {"a": scale_a, "b": scale_b} if normalize else None,
    }


def _flag_pareto(points: list[dict[str, Any]], metric: str) -> None:
    pairs = [(p["a"][metric], p["b"][metric]) for p in points]
    for i, (xa, xb) in enumerate(pairs):
        if xa is None or xb is None:
            points[i]["pareto_optimal"] = False
            continue
        dominated = any(
            ya is not None and yb is not None and ya >= xa and yb >= xb and (ya > xa or yb > xb)
            for j, (ya, yb) in enumerate(pairs)
            if j != i
        )
        points[i]["pareto_optimal"] = not dominated
