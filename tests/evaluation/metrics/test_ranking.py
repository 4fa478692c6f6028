"""Ranking metrics: NDCG against scikit-learn, the others against brute force over every
ordering of tied items."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from evaluation.metrics import EvaluationInputError, ranking_metrics, ranking_per_group

from ._helpers import approx, ranking_data


def _orderings(score: np.ndarray):
    """Every ordering of row indices by descending score (tied rows permuted)."""
    blocks = [np.flatnonzero(score == v).tolist() for v in sorted(set(score), reverse=True)]
    for perms in itertools.product(*(itertools.permutations(b) for b in blocks)):
        yield [i for p in perms for i in p]


def _brute_force(relevance: np.ndarray, score: np.ndarray, k: int) -> dict[str, float]:
    """Mean of precision@k, recall@k, AP@k, hit@k over all tie orderings of one group."""
    rows = []
    n_relevant = int((relevance > 0).sum())
    for order in _orderings(score):
        top = relevance[order][:k] > 0
        hits = top.sum()
        ap = sum(top[i] * top[: i + 1].sum() / (i + 1) for i in range(top.size))
        rows.append(
            (
                hits / min(k, relevance.size),
                hits / n_relevant if n_relevant else np.nan,
                ap / min(n_relevant, k) if n_relevant else np.nan,
                float(top.any()),
            )
        )
    names = ("precision_at_k", "recall_at_k", "map_at_k", "hit_rate")
    return dict(zip(names, np.mean(rows, 0), strict=True))


@settings(max_examples=60, deadline=None)
@given(ranking_data(), st.integers(1, 8))
def test_ndcg_per_group_matches_sklearn_with_graded_relevance_and_ties(data, k):
    group, relevance, score = data
    per = ranking_per_group(group=group, y_true=relevance, y_score=score, k=k)
    for g in range(per["groups"].size):
        rows = group == per["groups"][g]
        if relevance[rows].sum() == 0:
            assert np.isnan(per["ndcg_at_k"][g])
            continue
        expected = ndcg_score([relevance[rows]], [score[rows]], k=k)
        assert per["ndcg_at_k"][g] == approx(expected)


@settings(max_examples=40, deadline=None)
@given(ranking_data(max_groups=3, max_size=6), st.integers(1, 6))
def test_precision_recall_map_and_hit_rate_are_expectations_over_tie_orderings(data, k):
    group, relevance, score = data
    per = ranking_per_group(group=group, y_true=relevance, y_score=score, k=k)
    for g in range(per["groups"].size):
        rows = group == per["groups"][g]
        expected = _brute_force(relevance[rows], score[rows], k)
        for name, value in expected.items():
            if np.isnan(value):
                assert np.isnan(per[name][g])
            else:
                assert per[name][g] == approx(value)


def test_averaged_ndcg_matches_sklearn_when_groups_without_relevant_items_count_as_zero():
    rng = np.random.default_rng(3)
    relevance = rng.integers(0, 3, size=(30, 8)).astype(float)
    relevance[:4] = 0  # four users without any relevant item
    score = rng.random((30, 8)).round(1)
    group = np.repeat(np.arange(30), 8)
    result = ranking_metrics(
        group=group,
        y_true=relevance.ravel(),
        y_score=score.ravel(),
        k=5,
        include_groups_without_relevant=True,
    )
    assert result["metrics"]["ndcg_at_k"] == approx(ndcg_score(relevance, score, k=5))


def test_groups_without_relevant_items_are_excluded_by_default_and_counted():
    group = np.array([1, 1, 2, 2])
    relevance = np.array([1.0, 0.0, 0.0, 0.0])
    result = ranking_metrics(group=group, y_true=relevance, y_score=np.array([0.9, 0.1, 0.5, 0.4]))
    assert result["metrics"]["ndcg_at_k"] == 1.0
    assert result["groups_without_relevant"] == 1 and result["groups_evaluated"] == 1


def test_precision_at_k_divides_by_the_group_size_when_smaller_than_k():
    result = ranking_metrics(
        group=np.array([7, 7, 7]),
        y_true=np.array([1.0, 1.0, 0.0]),
        y_score=np.array([0.9, 0.8, 0.1]),
        k=10,
    )
    assert result["metrics"]["precision_at_k"] == approx(2 / 3)


def test_coverage_is_the_share_of_items_in_some_top_k_list():
    group = np.array([1, 1, 1, 2, 2, 2])
    item = np.array(["a", "b", "c", "a", "b", "d"])
    score = np.array([0.9, 0.5, 0.1, 0.8, 0.7, 0.2])
    result = ranking_metrics(group=group, y_true=np.ones(6), y_score=score, k=1, item=item)
    assert result["metrics"]["coverage"] == approx(1 / 4)  # only "a" is ever first


def test_coverage_with_tied_scores_is_the_expected_share_of_items_shown():
    # Two tied items, one slot: each is shown with probability 1/2.
    result = ranking_metrics(
        group=np.array([1, 1]),
        y_true=np.array([1.0, 0.0]),
        y_score=np.array([0.5, 0.5]),
        k=1,
        item=np.array(["x", "y"]),
    )
    assert result["metrics"]["coverage"] == approx(0.5)


def test_coverage_is_none_with_reason_without_an_item_column():
    result = ranking_metrics(
        group=np.array([1, 1]), y_true=np.array([1.0, 0.0]), y_score=np.array([0.2, 0.1])
    )
    assert result["metrics"]["coverage"] is None
    assert "item column" in result["undefined"]["coverage"]


@settings(max_examples=30, deadline=None)
@given(ranking_data(), st.integers(1, 5), st.randoms(use_true_random=False))
def test_metrics_do_not_depend_on_the_row_order_of_the_file(data, k, rnd):
    group, relevance, score = data
    order = list(range(group.size))
    rnd.shuffle(order)
    a = ranking_metrics(group=group, y_true=relevance, y_score=score, k=k)["metrics"]
    b = ranking_metrics(group=group[order], y_true=relevance[order], y_score=score[order], k=k)
    for name, value in a.items():
        if value is None:
            assert b["metrics"][name] is None
        else:
            assert b["metrics"][name] == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_group_ids_may_be_text():
    a = ranking_metrics(
        group=np.array(["u1", "u1", "u2", "u2"], dtype=object),
        y_true=np.array([1.0, 0.0, 0.0, 1.0]),
        y_score=np.array([0.3, 0.2, 0.9, 0.1]),
        k=1,
    )
    assert a["metrics"]["precision_at_k"] == 0.5


def test_k_must_be_a_positive_whole_number():
    with pytest.raises(EvaluationInputError, match="k must be"):
        ranking_metrics(group=np.array([1]), y_true=np.array([1.0]), y_score=np.array([1.0]), k=0)


def test_negative_relevance_is_rejected():
    with pytest.raises(EvaluationInputError, match=">= 0"):
        ranking_metrics(
            group=np.array([1, 1]), y_true=np.array([-1.0, 1.0]), y_score=np.array([0.5, 0.2])
        )
