"""Ranking / recommendation metrics at a cut-off k, vectorised over all groups at once.

Rows are (group, item, score, relevance): a group is one query / user / session, the items
are its candidates, the score is the model's, relevance is the truth (0 = not relevant;
graded values > 0 are allowed). An item is *relevant* when its relevance is > 0.

One ``np.lexsort`` orders rows by (group, descending score); everything else is cumulative
sums and bincounts over that order, so there is no Python loop over groups.

Ties in the score. All @k metrics are the *expected value over every ordering of tied
items* (each ordering equally likely). This is exactly scikit-learn's tie handling for
NDCG (``ndcg_score(..., ignore_ties=False)`` averages the gain of a tied block), extended
in closed form to the other metrics, so results never depend on the row order of the file
and a constant score gives the exact expected metrics of a random ranking:

* precision@k = E[#relevant in top k] / min(k, #items in the group)  (TF-Ranking's
  convention: a group with 3 candidates and k = 10 can still reach precision 1);
* recall@k = E[#relevant in top k] / #relevant in the group;
* MAP@k: AP@k = (1 / min(#relevant, k)) · Σ_{i<k} E[rel_i · #relevant in positions ≤ i] /
  (i + 1), using that two positions of one tied block holding r relevant of m items are
  both relevant with probability r(r−1)/(m(m−1));
* NDCG@k: scikit-learn's definition, linear gain (the relevance value itself), discount
  1/log2(rank + 1), ideal DCG from sorting by relevance;
* hit rate@k = P(at least one relevant item in the top k);
* coverage = E[#distinct items appearing in some top-k list] / #distinct items in the file.

Groups without any relevant item: NDCG, recall and AP are undefined for them (no ideal
ranking exists; scikit-learn's ``ndcg_score`` scores them 0 and counts them). By default they
are *excluded* from every average (the model cannot do better or worse on them) and
counted in ``groups_without_relevant``; pass ``include_groups_without_relevant=True`` to
count them as 0 for every metric, which reproduces scikit-learn's averaged ``ndcg_score``.
Coverage always uses all groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import MetricValue, factorize, fnum
from .errors import EvaluationInputError

RANKING_METRICS: tuple[str, ...] = (
    "precision_at_k",
    "recall_at_k",
    "map_at_k",
    "ndcg_at_k",
    "hit_rate",
    "coverage",
)

_PER_GROUP = ("precision_at_k", "recall_at_k", "map_at_k", "ndcg_at_k", "hit_rate")


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise EvaluationInputError(f"k must be a whole number >= 1, got {k!r}.")
    return int(k)


def ranking_per_group(
    *,
    group: np.ndarray,
    y_true: np.ndarray,
    y_score: np.ndarray,
    k: int = 10,
    item: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-group precision@k, recall@k, AP@k, NDCG@k and hit rate@k, plus coverage.

    Returns ``{"groups": unique group values (array), "n_items": int array, "n_relevant":
    int array, <metric>: float array (NaN where undefined for that group), "coverage":
    float | None}``; groups are in order of first appearance in the file.
    """
    k = _check_k(k)
    rel = np.asarray(y_true, dtype=np.float64)
    score = np.asarray(y_score, dtype=np.float64)
    n = rel.size
    if n == 0:
        raise EvaluationInputError("There are no rows to evaluate.")
    if score.shape != rel.shape or np.asarray(group).shape != rel.shape:
        raise EvaluationInputError("group, y_true and y_score must have the same length.")
    if (rel < 0).any():
        raise EvaluationInputError("Relevance (y_true) must be >= 0 for ranking metrics.")
    g_codes, g_uniques = factorize(group)
    if (g_codes < 0).any():
        raise EvaluationInputError("The group column has missing values.")
    n_groups = g_uniques.size

    # One sort: by group, then by descending score. Ties keep file order, but every metric
    # below is computed over whole tied blocks, so that order never matters.
    order = np.lexsort((-score, g_codes))
    gs = g_codes[order]
    ss = score[order]
    rs = rel[order]
    relevant = rs > 0

    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(gs[1:], gs[:-1], out=new_group[1:])
    group_start = np.flatnonzero(new_group)
    group_of_row = np.cumsum(new_group) - 1
    position = np.arange(n) - group_start[group_of_row]
    group_size = np.diff(np.append(group_start, n))
    # Group codes ascend in sorted order, so block j of the sorted rows is group code j.
    n_relevant = np.bincount(group_of_row, weights=relevant, minlength=n_groups).astype(np.int64)

    new_tie = new_group.copy()
    new_tie[1:] |= ss[1:] != ss[:-1]
    tie_start = np.flatnonzero(new_tie)
    tie_of_row = np.cumsum(new_tie) - 1
    tie_size = np.diff(np.append(tie_start, n))
    tie_first = position[tie_start]
    tie_group = group_of_row[tie_start]
    tie_rel = np.add.reduceat(relevant.astype(np.int64), tie_start)
    tie_gain = np.add.reduceat(rs, tie_start)
    # How many of the tied block's positions fall inside the top k.
    tie_slots = np.clip(k - tie_first, 0, tie_size)

    # E[#relevant in top k]: a block with r relevant of m items filling s top-k slots
    # contributes r·s/m.
    expected_hits = np.bincount(
        tie_group, weights=tie_rel * tie_slots / tie_size, minlength=n_groups
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = expected_hits / np.minimum(k, group_size)
        recall = np.where(n_relevant > 0, expected_hits / n_relevant, np.nan)

    # NDCG, scikit-learn style: block gain averaged, times the block's summed discounts.
    max_size = int(group_size.max())
    discount = 1.0 / (np.log(np.arange(max_size) + 2) / np.log(2))
    discount[k:] = 0.0
    disc_cum = np.concatenate(([0.0], np.cumsum(discount)))
    block_discount = disc_cum[tie_first + tie_size] - disc_cum[tie_first]
    dcg = np.bincount(tie_group, weights=tie_gain / tie_size * block_discount, minlength=n_groups)
    if np.all((rs == 0) | (rs == 1)):
        # Binary relevance: the ideal ranking puts the R relevant items first.
        idcg = disc_cum[np.minimum(n_relevant, max_size)]
    else:
        ideal = rs[np.lexsort((-rs, gs))]
        idcg = np.bincount(group_of_row, weights=ideal * discount[position], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndcg = np.where(n_relevant > 0, dcg / idcg, np.nan)

    hit = _expected_hit(
        k=k,
        n_groups=n_groups,
        tie_first=tie_first,
        tie_size=tie_size,
        tie_rel=tie_rel,
        tie_group=tie_group,
    )
    ap = _expected_average_precision(
        k=k,
        n_groups=n_groups,
        relevant=relevant,
        position=position,
        group_start=group_start,
        tie_start=tie_start,
        tie_of_row=tie_of_row,
        tie_size=tie_size,
        tie_rel=tie_rel,
        tie_first=tie_first,
        tie_group=tie_group,
        n_relevant=n_relevant,
    )

    coverage: MetricValue = None
    if item is not None:
        item_codes, item_uniques = factorize(np.asarray(item)[order])
        # P(row is shown in the top k) = slots / size of its tied block.
        shown = (tie_slots / tie_size)[tie_of_row]
        with np.errstate(divide="ignore"):
            log_missed = np.bincount(
                item_codes, weights=np.log1p(-shown), minlength=item_uniques.size
            )
        coverage = fnum(np.sum(1.0 - np.exp(log_missed)) / item_uniques.size)

    # Rows were grouped by code; codes follow first appearance, as do g_uniques.
    return {
        "groups": g_uniques,
        "n_items": group_size,
        "n_relevant": n_relevant,
        "precision_at_k": precision,
        "recall_at_k": recall,
        "map_at_k": ap,
        "ndcg_at_k": ndcg,
        "hit_rate": hit,
        "coverage": coverage,
    }


def _expected_hit(
    *,
    k: int,
    n_groups: int,
    tie_first: np.ndarray,
    tie_size: np.ndarray,
    tie_rel: np.ndarray,
    tie_group: np.ndarray,
) -> np.ndarray:
    """P(at least one relevant item in the top k) per group."""
    tie_end = tie_first + tie_size
    full = tie_end <= k
    hit = np.zeros(n_groups)
    # Any relevant item in a block lying wholly inside the top k is a sure hit.
    sure = np.bincount(tie_group[full], weights=tie_rel[full], minlength=n_groups) > 0
    # At most one block per group straddles the cut-off; s of its m slots are shown.
    straddle = (tie_first < k) & (tie_end > k)
    m = tie_size[straddle].astype(np.float64)
    r = tie_rel[straddle].astype(np.float64)
    s = (k - tie_first[straddle]).astype(np.int64)
    # P(no relevant among s drawn without replacement) = Π_{j<s} (m − r − j) / (m − j),
    # a product of at most k factors: exact enough, unlike log-gamma differences for big m.
    p_none = np.ones(m.size)
    for j in range(int(s.max()) if s.size else 0):
        active = j < s
        p_none[active] *= np.clip((m[active] - r[active] - j) / (m[active] - j), 0.0, 1.0)
    hit[tie_group[straddle]] = 1.0 - p_none
    hit[sure] = 1.0
    return hit


def _expected_average_precision(
    *,
    k: int,
    n_groups: int,
    relevant: np.ndarray,
    position: np.ndarray,
    group_start: np.ndarray,
    tie_start: np.ndarray,
    tie_of_row: np.ndarray,
    tie_size: np.ndarray,
    tie_rel: np.ndarray,
    tie_first: np.ndarray,
    tie_group: np.ndarray,
    n_relevant: np.ndarray,
) -> np.ndarray:
    """Expected AP@k per group (NaN for groups without relevant items).

    For position i inside tied block t (r relevant of m items, first position a, B relevant
    items in earlier blocks): E[rel_i · #relevant at positions <= i] =
    p·(B + 1) + (i − a)·q, with p = r/m and q = r(r−1)/(m(m−1)).
    """
    # Relevant items strictly before each row, counted from the start of the file.
    before = np.cumsum(relevant) - relevant
    tie_before = before[tie_start] - before[group_start[tie_group]]
    p = tie_rel / tie_size
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(tie_size > 1, tie_rel * (tie_rel - 1) / (tie_size * (tie_size - 1.0)), 0.0)
    in_top = position < k
    t = tie_of_row[in_top]
    pos = position[in_top]
    expected = (p[t] * (tie_before[t] + 1) + (pos - tie_first[t]) * q[t]) / (pos + 1)
    ap_sum = np.bincount(tie_group[t], weights=expected, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_relevant > 0, ap_sum / np.minimum(n_relevant, k), np.nan)


def ranking_metrics(
    *,
    group: np.ndarray,
    y_true: np.ndarray,
    y_score: np.ndarray,
    k: int = 10,
    item: np.ndarray | None = None,
    include_groups_without_relevant: bool = False,
) -> dict[str, Any]:
    """precision@k, recall@k, MAP@k, NDCG@k, hit rate@k (averaged over groups) and catalogue
    coverage. See the module docstring for tie handling and for groups without relevant
    items. Coverage is None without an item column.

    Returns ``{"metrics": {precision_at_k, recall_at_k, map_at_k, ndcg_at_k, hit_rate,
    coverage}, "undefined": {metric: reason}, "groups": int, "groups_without_relevant": int,
    "groups_evaluated": int}``.
    """
    per = ranking_per_group(group=group, y_true=y_true, y_score=y_score, k=k, item=item)
    has_rel = per["n_relevant"] > 0
    n_groups = int(has_rel.size)
    undefined: dict[str, str] = {}
    values: dict[str, MetricValue] = {}
    mask = np.ones(n_groups, dtype=bool) if include_groups_without_relevant else has_rel
    for name in _PER_GROUP:
        arr = per[name]
        if include_groups_without_relevant:
            arr = np.where(has_rel, arr, 0.0)
        values[name] = fnum(arr[mask].mean()) if mask.any() else None
        if values[name] is None:
            undefined[name] = (
                "No group has a relevant item (relevance > 0), so there is nothing to rank."
            )
    values["coverage"] = per["coverage"]
    if per["coverage"] is None:
        undefined["coverage"] = "Coverage needs an item column to count distinct items."
    return {
        "metrics": {name: values[name] for name in RANKING_METRICS},
        "undefined": undefined,
        "groups": n_groups,
        "groups_without_relevant": int(n_groups - has_rel.sum()),
        "groups_evaluated": int(mask.sum()),
    }
