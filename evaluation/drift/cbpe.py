"""Confidence-based performance estimation (CBPE) for binary classifiers, as NannyML 0.13
defines it: estimate a classifier's performance on unlabelled data from its own scores,
once those scores are calibrated probabilities.

1. **Fit on labelled reference data.** Decide whether the scores need calibrating the way
   NannyML does (``nannyml.calibration.needs_calibration``): not when the reference holds
   one class or the scores already rank it almost perfectly (ROC AUC > 0.999); otherwise
   ten stratified shuffle splits (10 % held out, seed 42, the same draws as scikit-learn's
   ``StratifiedShuffleSplit``) fit an isotonic calibrator on each training part and score
   its held-out part; the expected calibration error (ECE, equal-count bins, 10 of them) of
   all held-out scores is compared before and after calibration, and calibration is needed
   when it lowers the ECE. If needed, the isotonic calibrator is refitted on the whole
   reference.
2. **Estimate on a window.** With calibrated probabilities p and the model's predicted
   labels (score ≥ 0.5 unless given), the expected confusion matrix is
   TP = Σ_{ŷ=1} p, FP = Σ_{ŷ=1} (1 − p), FN = Σ_{ŷ=0} p, TN = Σ_{ŷ=0} (1 − p), from which
   precision, recall, F1 = TP / (TP + (FP + FN)/2), specificity and accuracy follow (0 when
   a denominator is 0, as in NannyML). ROC AUC is estimated by walking the rows in
   decreasing *uncalibrated* score, accumulating p as expected true positives and 1 − p
   as expected false positives, and integrating that expected ROC curve.

The expected confusion counts of partitions merge by addition (`ExpectedConfusion`); the
estimated ROC AUC needs the window's scores in order, so it is computed on the window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from .errors import DriftInputError

AUC_NO_CALIBRATION = 0.999
ECE_BINS = 10
CALIBRATION_SPLITS = 10
CALIBRATION_TEST_SHARE = 0.1
CALIBRATION_SEED = 42
# Distinct scores closer than this are one point for the isotonic fit, as in scikit-learn
# (the resolution of float64).
SCORE_RESOLUTION = 1e-15


# --- isotonic calibration (pool adjacent violators) ---------------------------------------


@dataclass(frozen=True)
class IsotonicCalibrator:
    """A non-decreasing map from score to probability: linear between the fitted points,
    constant beyond the first and last (out-of-range scores are clipped)."""

    x: np.ndarray
    y: np.ndarray

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        scores = np.clip(np.asarray(scores, dtype=np.float64), self.x[0], self.x[-1])
        if self.x.size == 1:
            return np.full(scores.shape, self.y[0])
        # Interpolate from the knot at or left of each score, in the order of operations
        # scipy's interp1d (which NannyML's calibrator uses) follows: held-out probabilities
        # are later sorted, and a last-digit difference would reorder ties.
        hi = np.clip(np.searchsorted(self.x, scores), 1, self.x.size - 1)
        lo = hi - 1
        slope = (self.y[hi] - self.y[lo]) / (self.x[hi] - self.x[lo])
        return slope * (scores - self.x[lo]) + self.y[lo]


def isotonic_fit(*, scores: np.ndarray, targets: np.ndarray) -> IsotonicCalibrator:
    """Least-squares non-decreasing fit of `targets` on `scores` (pool adjacent violators).

    Rows with equal scores are first pooled into one point (their mean target, weighted by
    their count); then adjacent points whose means decrease are pooled into blocks until
    the block means are non-decreasing.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    order = np.lexsort((targets, scores))
    x, y = scores[order], targets[order]
    x, means, weights = _pool_equal_scores(x, y)
    fitted = _pool_adjacent_violators(means, weights)
    # Interior points equal to both neighbours add nothing to the interpolation.
    keep = np.ones(x.size, dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return IsotonicCalibrator(x=x[keep], y=fitted[keep])


def _pool_equal_scores(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores with the mean target and the number of rows of each."""
    gaps = np.diff(x)
    if np.all((gaps == 0) | (gaps >= SCORE_RESOLUTION)):
        starts = np.flatnonzero(np.r_[True, gaps != 0])
    else:  # scores within 1e-15 of a group's first score join that group (rare)
        starts_list, first = [0], x[0]
        for i in range(1, x.size):
            if x[i] - first >= SCORE_RESOLUTION:
                starts_list.append(i)
                first = x[i]
        starts = np.asarray(starts_list)
    weights = np.diff(np.r_[starts, x.size]).astype(np.float64)
    return x[starts], np.add.reduceat(y, starts) / weights, weights


def _pool_adjacent_violators(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit of weighted points, by the single-pass PAVA of
    Busing (2022, "Monotone Regression: A Simple and Fast O(n) PAVA Implementation").

    Walking left to right, a point not above the last block is pooled with it; the pooled
    block then absorbs following points it is not below, and preceding blocks not below
    it. Each block's value is updated as (running Σ weight·value) / (running Σ weight) in
    that order — the arithmetic of scipy's implementation, which scikit-learn and through
    it NannyML use, so the fitted values agree to the last digit.
    """
    x, w = values.tolist(), weights.tolist()
    n = len(x)
    bounds = [0] * (n + 1)  # block k covers points bounds[k]:bounds[k + 1]
    bounds[1] = 1
    block = 0
    last_value, last_weight = x[0], w[0]
    i = 1
    while i < n:
        block += 1
        value, weight = x[i], w[i]
        if last_value >= value:
            block -= 1
            total = last_weight * last_value + weight * value
            weight += last_weight
            value = total / weight
            while i < n - 1 and value >= x[i + 1]:
                i += 1
                total += w[i] * x[i]
                weight += w[i]
                value = total / weight
            while block > 0 and x[block - 1] >= value:
                block -= 1
                total += w[block] * x[block]
                weight += w[block]
                value = total / weight
        x[block] = last_value = value
        w[block] = last_weight = weight
        bounds[block + 1] = i + 1
        i += 1
    sizes = np.diff(bounds[: block + 2])
    return np.repeat(np.asarray(x[: block + 1]), sizes)


# --- does the model need calibrating? -----------------------------------------------------


def needs_calibration(*, scores: np.ndarray, targets: np.ndarray) -> bool:
    """NannyML's test of whether isotonic calibration improves the scores (see module)."""
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if np.isnan(scores).any() or _has_missing(targets):
        raise DriftInputError("Reference scores and targets must not contain missing values.")
    classes = np.unique(targets)
    if classes.size == 1:
        return False
    if _roc_auc(targets == classes[-1], scores) > AUC_NO_CALIBRATION:
        return False
    y = (targets == classes[-1]).astype(np.float64)
    tests = []
    for train, test in stratified_shuffle_splits(targets, splits=CALIBRATION_SPLITS):
        calibrator = isotonic_fit(scores=scores[train], targets=y[train])
        tests.append((test, calibrator.calibrate(scores[test])))
    held_out = np.concatenate([t for t, _ in tests])
    calibrated = np.concatenate([c for _, c in tests])
    edges = _ece_bin_edges(held_out.size, ECE_BINS)
    before = expected_calibration_error(y[held_out], scores[held_out], edges)
    after = expected_calibration_error(y[held_out], calibrated, edges)
    return bool(before > after)


def stratified_shuffle_splits(targets: np.ndarray, *, splits: int, seed: int = CALIBRATION_SEED):
    """(train, test) index arrays with the draws of scikit-learn's
    ``StratifiedShuffleSplit(n_splits, test_size=0.1, random_state=seed)``: the same
    legacy random stream, consumed in the same order, so the same rows are held out."""
    n = targets.size
    n_test = math.ceil(CALIBRATION_TEST_SHARE * n)
    n_train = n - n_test
    _, class_of, class_counts = np.unique(targets, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or n_train < class_counts.size or n_test < class_counts.size:
        raise DriftInputError(
            "Each class needs at least two reference rows (and the reference at least "
            "twenty) to test whether calibration helps."
        )
    by_class = np.split(np.argsort(class_of, kind="stable"), np.cumsum(class_counts)[:-1])
    # The legacy RandomState stream, because that is what reproduces the same splits.
    rng = np.random.RandomState(seed)
    for _ in range(splits):
        train_counts = _approximate_mode(class_counts, n_train, rng)
        test_counts = _approximate_mode(class_counts - train_counts, n_test, rng)
        train: list[int] = []
        test: list[int] = []
        for rows, k_train, k_test in zip(by_class, train_counts, test_counts, strict=True):
            shuffled = rows.take(rng.permutation(rows.size), mode="clip")
            train.extend(shuffled[:k_train])
            test.extend(shuffled[k_train : k_train + k_test])
        yield rng.permutation(train), rng.permutation(test)


def _approximate_mode(
    class_counts: np.ndarray, draws: int, rng: np.random.RandomState
) -> np.ndarray:
    """Per-class counts of a draw of `draws` rows: the floor of each class's proportional
    share, the remainder handed out by largest fractional part, ties broken at random."""
    continuous = class_counts / class_counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (candidates,) = np.where(remainder == value)
            take = min(len(candidates), need)
            floored[rng.choice(candidates, size=take, replace=False)] += 1
            need -= take
            if need == 0:
                break
    return floored.astype(int)


def _ece_bin_edges(size: int, bins: int) -> np.ndarray:
    if size <= 2 * bins:
        bins = size // 2
        if bins < 2:
            raise DriftInputError("Too few held-out rows to measure calibration.")
    edges = np.arange(0, size + 1, size // bins)
    edges[-1] = size
    return edges


def expected_calibration_error(
    targets: np.ndarray, probabilities: np.ndarray, edges: np.ndarray
) -> float:
    """Σ over equal-count bins of the rows sorted by probability: share of rows in the bin
    × |mean probability − mean target|."""
    order = probabilities.argsort()
    probabilities, targets = probabilities[order], targets[order]
    terms = [
        (hi - lo) / probabilities.size * abs(probabilities[lo:hi].mean() - targets[lo:hi].mean())
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    return float(np.sum(terms))


def _roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    ranks = stats.rankdata(scores)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _has_missing(values: np.ndarray) -> bool:
    if values.dtype.kind == "f":
        return bool(np.isnan(values).any())
    if values.dtype.kind == "O":
        return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)
    return False


# --- fit and estimate ---------------------------------------------------------------------


@dataclass(frozen=True)
class CBPEModel:
    """What CBPE keeps from the reference: the calibrator (None when the scores are used
    as they are) and the decision threshold turning scores into predicted labels."""

    calibrator: IsotonicCalibrator | None
    threshold: float = 0.5

    @property
    def calibrated(self) -> bool:
        return self.calibrator is not None

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        return scores if self.calibrator is None else self.calibrator.calibrate(scores)


def cbpe_fit(
    *, scores: np.ndarray, targets: np.ndarray, calibration: str = "auto", threshold: float = 0.5
) -> CBPEModel:
    """Fit CBPE on labelled reference data. `calibration` is ``"auto"`` (NannyML's test
    decides), ``"isotonic"`` (always calibrate) or ``"none"``. `targets` are 0/1."""
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if scores.shape != targets.shape or scores.ndim != 1 or scores.size == 0:
        raise DriftInputError("Scores and targets must be non-empty 1-d arrays of equal length.")
    if calibration not in ("auto", "isotonic", "none"):
        raise DriftInputError("calibration must be 'auto', 'isotonic' or 'none'.")
    if calibration == "none" or (
        calibration == "auto" and not needs_calibration(scores=scores, targets=targets)
    ):
        return CBPEModel(calibrator=None, threshold=threshold)
    return CBPEModel(calibrator=isotonic_fit(scores=scores, targets=targets), threshold=threshold)


@dataclass(frozen=True)
class ExpectedConfusion:
    """Expected confusion-matrix counts of a set of rows; partitions merge by addition."""

    rows: int
    tp: float
    fp: float
    fn: float
    tn: float

    def merge(self, other: ExpectedConfusion) -> ExpectedConfusion:
        return ExpectedConfusion(
            rows=self.rows + other.rows,
            tp=self.tp + other.tp,
            fp=self.fp + other.fp,
            fn=self.fn + other.fn,
            tn=self.tn + other.tn,
        )

    def metrics(self) -> dict[str, float]:
        """Precision, recall, F1, specificity and accuracy from the expected counts."""
        tp, fp, fn, tn = self.tp, self.fp, self.fn, self.tn
        return {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(tp, tp + 0.5 * (fp + fn)),
            "specificity": _ratio(tn, tn + fp),
            "accuracy": (tp + tn) / self.rows if self.rows else float("nan"),
        }


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 else 0.0


def expected_confusion(
    model: CBPEModel, *, scores: np.ndarray, predictions: np.ndarray | None = None
) -> ExpectedConfusion:
    """Expected confusion counts of rows with these scores (and predicted labels; by
    default score ≥ the model's threshold). Rows with a missing score are left out."""
    scores, predicted = _window(model, scores, predictions)
    p = model.probabilities(scores)
    positive = predicted == 1
    p_pos, p_neg = p[positive], p[~positive]
    return ExpectedConfusion(
        rows=int(p.size),
        tp=float(p_pos.sum()),
        fp=float((1 - p_pos).sum()),
        fn=float(p_neg.sum()),
        tn=float((1 - p_neg).sum()),
    )


def estimated_roc_auc(model: CBPEModel, *, scores: np.ndarray) -> float:
    """NannyML's estimated ROC AUC of a window (see module). Expected cumulative counts are
    rounded to 5 decimals before the curve is normalised, as NannyML rounds them, so that
    the two agree to the last digits."""
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores[~np.isnan(scores)]
    if scores.size == 0:
        return float("nan")
    p = model.probabilities(scores)[np.argsort(scores)[::-1]]
    tps = np.cumsum(p)
    fps = 1 + np.arange(p.size) - tps
    tps = np.round(np.r_[0, tps], 5)
    fps = np.round(np.r_[0, fps], 5)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.trapezoid(tpr, fpr))


@dataclass(frozen=True)
class CBPEEstimate:
    """Estimated performance of one window of unlabelled rows."""

    rows: int
    calibrated: bool
    tp: float
    fp: float
    fn: float
    tn: float
    roc_auc: float
    precision: float
    recall: float
    f1: float
    specificity: float
    accuracy: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cbpe_estimate(
    model: CBPEModel, *, scores: np.ndarray, predictions: np.ndarray | None = None
) -> CBPEEstimate:
    """Estimated confusion matrix, ROC AUC, precision, recall, F1, specificity and accuracy
    of a window of unlabelled rows."""
    confusion = expected_confusion(model, scores=scores, predictions=predictions)
    return CBPEEstimate(
        rows=confusion.rows,
        calibrated=model.calibrated,
        tp=confusion.tp,
        fp=confusion.fp,
        fn=confusion.fn,
        tn=confusion.tn,
        roc_auc=estimated_roc_auc(model, scores=scores),
        **confusion.metrics(),
    )


def _window(
    model: CBPEModel, scores: np.ndarray, predictions: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    if predictions is None:
        predicted = (scores >= model.threshold).astype(np.int8)
    else:
        predicted = np.asarray(predictions)
        if predicted.shape != scores.shape:
            raise DriftInputError("Predictions and scores must have the same length.")
    keep = ~np.isnan(scores)
    if predicted.dtype.kind == "f":
        keep &= ~np.isnan(predicted)
    return scores[keep], predicted[keep]
