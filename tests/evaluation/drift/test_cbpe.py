"""CBPE building blocks against scikit-learn and scipy (bit for bit where NannyML's
decision depends on it), and CBPE's behaviour. Always runs; the comparison with NannyML
itself is in test_nannyml_reference.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedShuffleSplit

from evaluation.drift import (
    DriftInputError,
    cbpe_estimate,
    cbpe_fit,
    expected_confusion,
    isotonic_fit,
    needs_calibration,
)
from evaluation.drift.cbpe import _pool_adjacent_violators, stratified_shuffle_splits


def scored_rows(seed: int, rows: int, *, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(-1.5 * latent))).astype(np.int64)
    score = 1 / (1 + np.exp(-3 * latent))
    return (np.round(score, 2) if ties else score), y


@pytest.mark.parametrize("seed", range(12))
def test_isotonic_calibration_equals_scikit_learn_to_the_last_bit(seed):
    score, y = scored_rows(seed, 300 + 400 * seed, ties=seed % 3 == 0)
    new = np.random.default_rng(seed + 99).uniform(-0.1, 1.1, size=2000)
    new[:5] = [score.min(), score.max(), score[0], score[1], score[2]]  # knots and ends
    theirs = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(score, y).predict(new)
    ours = isotonic_fit(scores=score, targets=y).calibrate(new)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("seed", range(8))
def test_pool_adjacent_violators_equals_scipys_isotonic_regression(seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=500).cumsum() * rng.choice([-1, 1])
    weights = rng.integers(1, 5, size=500).astype(float)
    expected = optimize.isotonic_regression(values, weights=weights).x
    np.testing.assert_array_equal(_pool_adjacent_violators(values, weights), expected)


@pytest.mark.parametrize(("seed", "rows"), [(0, 40), (1, 333), (2, 1000), (3, 5001)])
def test_held_out_rows_are_those_of_scikit_learns_stratified_shuffle_split(seed, rows):
    _, y = scored_rows(seed, rows)
    splitter = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    for (train, test), (our_train, our_test) in zip(
        splitter.split(np.zeros(rows), y), stratified_shuffle_splits(y, splits=10), strict=True
    ):
        np.testing.assert_array_equal(our_train, train)
        np.testing.assert_array_equal(our_test, test)


def test_a_reference_with_one_class_or_a_near_perfect_ranking_is_not_calibrated():
    score = np.linspace(0, 1, 200)
    assert not needs_calibration(scores=score, targets=np.ones(200, dtype=int))
    assert not needs_calibration(scores=score, targets=(score > 0.5).astype(int))


def test_overconfident_scores_are_calibrated():
    score, y = scored_rows(4, 5000)
    assert cbpe_fit(scores=score, targets=y).calibrated


def test_calibration_can_be_forced_or_turned_off():
    score, y = scored_rows(5, 1000)
    assert cbpe_fit(scores=score, targets=y, calibration="isotonic").calibrated
    assert not cbpe_fit(scores=score, targets=y, calibration="none").calibrated


def test_estimates_on_calibrated_scores_track_the_realized_performance():
    rng = np.random.default_rng(6)
    p = rng.beta(2, 2, size=200_000)
    y = rng.random(p.size) < p
    model = cbpe_fit(scores=p[:20_000], targets=y[:20_000], calibration="none")
    estimate = cbpe_estimate(model, scores=p[20_000:])
    truth, pred = y[20_000:], p[20_000:] >= 0.5
    tp = np.sum(truth & pred)
    assert estimate.accuracy == pytest.approx(np.mean(truth == pred), abs=0.005)
    assert estimate.precision == pytest.approx(tp / pred.sum(), abs=0.005)
    assert estimate.recall == pytest.approx(tp / truth.sum(), abs=0.005)
    ranks = np.argsort(np.argsort(p[20_000:])) + 1
    n_pos = truth.sum()
    auc = (ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (truth.size - n_pos))
    assert estimate.roc_auc == pytest.approx(auc, abs=0.005)


def test_expected_confusion_of_partitions_merges_into_that_of_the_window():
    score, y = scored_rows(7, 4000)
    model = cbpe_fit(scores=score[:2000], targets=y[:2000])
    window = score[2000:]
    whole = expected_confusion(model, scores=window)
    merged = expected_confusion(model, scores=window[:700]).merge(
        expected_confusion(model, scores=window[700:])
    )
    assert merged.rows == whole.rows
    for name in ("tp", "fp", "fn", "tn"):
        assert getattr(merged, name) == pytest.approx(getattr(whole, name), rel=1e-12)


def test_rows_with_a_missing_score_are_left_out_of_the_estimate():
    score, y = scored_rows(8, 3000)
    model = cbpe_fit(scores=score[:2000], targets=y[:2000])
    window = score[2000:].copy()
    with_gaps = np.r_[window, np.nan, np.nan]
    assert cbpe_estimate(model, scores=with_gaps) == cbpe_estimate(model, scores=window)


def test_missing_reference_targets_are_rejected():
    with pytest.raises(DriftInputError, match="missing"):
        cbpe_fit(scores=np.linspace(0, 1, 50), targets=np.r_[np.zeros(25), np.ones(24), np.nan])
