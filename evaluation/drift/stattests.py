"""The drift statistics, as Evidently 0.7 defines them, over prepared inputs.

Every function here takes what a partial aggregate can provide (sorted finite samples, or
aligned count vectors) rather than raw columns, so the same code serves a one-shot report
and a window assembled from merged partitions. The definitions follow Evidently's
``evidently.legacy.calculations.stattests`` modules; the comments name the details that
decide the last digits (how bins are chosen, which comparison flags drift, the epsilon that
replaces empty bins).
"""

from __future__ import annotations

import numpy as np
from scipy import spatial, special, stats

#: Default thresholds and drift comparisons of Evidently's registered tests. P-value tests
#: flag drift below the threshold (KS at or below), distances at or above it.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})

# Evidently bins a numeric column for PSI / Jensen-Shannon only when its reference has more
# than this many distinct values; otherwise every distinct value is its own bin.
NUMERIC_BINNING_MIN_UNIQUE = 20


def is_drifted(method: str, statistic: float, threshold: float) -> bool:
    """Evidently's verdict for `statistic` of `method` at `threshold`."""
    if method == "ks":
        return bool(statistic <= threshold)
    if method in P_VALUE_METHODS:
        return bool(statistic < threshold)
    return bool(statistic >= threshold)


# --- binning ---------------------------------------------------------------------------


def sturges_edges(*, low: float, high: float, size: int, integer: bool) -> np.ndarray:
    """Bin edges of ``np.histogram_bin_edges(combined, bins="sturges")`` from the combined
    sample's minimum, maximum and size alone (which merge across partitions).

    Reproduces numpy's arithmetic step by step: width = range / (log2(n) + 1), at least 1
    for integer data, bin count = ceil(range / width), a zero range widened to ±0.5.
    """
    width = (high - low) / (np.log2(size) + 1.0)
    if integer and width and width < 1:
        width = 1
    if high == low:
        low, high = low - 0.5, high + 0.5
    count = int(np.ceil((high - low) / width)) if width else 1
    return np.linspace(low, high, count + 1, endpoint=True, dtype=np.float64)


def counts_on_edges(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for an already sorted sample, in O(bins·log n).

    Bins are half-open ``[e_i, e_i+1)`` except the last, which also holds its right edge,
    exactly as numpy counts them.
    """
    below = np.searchsorted(sorted_values, edges, side="left")
    below[-1] = np.searchsorted(sorted_values, edges[-1], side="right")
    return np.diff(below)


def value_runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if sorted_values.size == 0:
        return sorted_values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    counts = np.diff(np.r_[starts, sorted_values.size])
    return sorted_values[starts], counts


def fill_empty_shares(shares: np.ndarray) -> np.ndarray:
    """Evidently's replacement of empty bins before PSI: a zero share becomes the smallest
    non-zero share / 10⁶ when that share is ≤ 0.0001, else 0.0001. Shares are not
    renormalised afterwards (Evidently does not either)."""
    shares = np.array(shares, dtype=np.float64)
    empty = shares == 0
    if empty.any():
        smallest = shares[~empty].min()
        shares[empty] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return shares


# --- statistics --------------------------------------------------------------------------


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins:
    Σ (r − c)·ln(r / c) over shares, after Evidently's empty-bin replacement."""
    ref = fill_empty_shares(reference_counts / reference_counts.sum())
    cur = fill_empty_shares(current_counts / current_counts.sum())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def jensenshannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen–Shannon distance (natural log) of two count vectors over the same bins,
    computed as Evidently does: ``scipy.spatial.distance.jensenshannon`` of the shares."""
    ref = reference_counts / reference_counts.sum()
    cur = current_counts / current_counts.sum()
    return float(spatial.distance.jensenshannon(ref, cur))


def chisquare_pvalue(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Pearson chi-square goodness-of-fit p-value of the current counts against the
    reference counts scaled to the current size (Evidently's ``chisquare`` test). A
    category absent from the reference has zero expectation, so any current row in it
    gives p = 0."""
    ref_total, cur_total = reference_counts.sum(), current_counts.sum()
    expected = reference_counts * (cur_total / ref_total)
    observed = current_counts.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (observed - expected) ** 2 / expected
    statistic = float(np.sum(terms))
    if np.isnan(statistic):  # 0/0 for a category empty on both sides cannot happen here
        return float("nan")
    return float(special.chdtrc(len(observed) - 1, statistic))


def z_pvalue(
    *, reference_second: int, reference_rows: int, current_second: int, current_rows: int
) -> float:
    """Two-proportion z-test p-value, two-sided, with the pooled variance (Evidently's
    ``z`` test). "second" counts the rows holding the larger of the (at most two) values;
    ``2·(1 − Φ(|z|))`` is kept in that form rather than the survival function so the
    digits match Evidently's."""
    p1 = reference_second / reference_rows
    p2 = current_second / current_rows
    pooled = (p1 * reference_rows + p2 * current_rows) / (reference_rows + current_rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / reference_rows + 1.0 / current_rows))
    return float(2 * (1 - special.ndtr(np.abs(z))))


def wasserstein_sorted(reference_sorted: np.ndarray, current_sorted: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples, ∫|F_ref − F_cur|, summed over the
    gaps of the merged sample exactly as ``scipy.stats.wasserstein_distance`` sums them.

    Instead of sorting the concatenation, each current value's rank in the merged order
    comes from one ``searchsorted`` into the (sorted) reference; at tied values the gap is
    zero, so the order among ties does not change the sum.
    """
    n, m = reference_sorted.size, current_sorted.size
    positions = np.searchsorted(reference_sorted, current_sorted, side="right")
    positions += np.arange(m)
    from_current = np.zeros(n + m, dtype=bool)
    from_current[positions] = True
    merged = np.empty(n + m, dtype=np.float64)
    merged[positions] = current_sorted
    merged[~from_current] = reference_sorted
    current_below = np.cumsum(from_current[:-1], dtype=np.int64)
    reference_below = np.arange(1, n + m, dtype=np.int64) - current_below
    gaps = np.diff(merged)
    return float(np.sum(np.abs(reference_below / n - current_below / m) * gaps))


def wasserstein_normed(
    reference_sorted: np.ndarray, current_sorted: np.ndarray, *, reference_std: float
) -> float:
    """Evidently's ``wasserstein``: W1 divided by the reference's population standard
    deviation, floored at 0.001 so a constant reference does not divide by zero."""
    return wasserstein_sorted(reference_sorted, current_sorted) / max(reference_std, 0.001)


def ks_pvalue(reference: np.ndarray, current: np.ndarray) -> float:
    """Two-sided two-sample Kolmogorov–Smirnov p-value (scipy's default, exact for small
    samples), as Evidently's ``ks`` test computes it."""
    return float(stats.ks_2samp(reference, current).pvalue)
