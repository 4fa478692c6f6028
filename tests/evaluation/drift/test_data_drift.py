"""Data drift building blocks against numpy/scipy, and the behaviour around them
(partials merging, stored reference profiles, overrides, bad input). Always runs; the
comparison with Evidently itself is in test_evidently_reference.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.drift import (
    DriftInputError,
    column_distribution,
    column_drift,
    column_partial,
    data_drift,
    drift_from_partials,
    frame_partials,
    infer_column_type,
    merge_partials,
)
from evaluation.drift import stattests as st


@pytest.mark.parametrize("seed", range(20))
def test_wasserstein_distance_equals_scipys(seed):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=rng.integers(1, 3000))
    v = rng.standard_t(3, size=rng.integers(1, 3000)) + rng.normal()
    if seed % 2:  # heavy ties across both samples
        u, v = np.round(u, 1), np.round(v, 1)
    ours = st.wasserstein_sorted(np.sort(u), np.sort(v))
    assert ours == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("seed", range(10))
def test_counts_on_edges_equal_numpy_histogram_including_values_on_edges(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 30, size=500).astype(float)
    edges = np.linspace(0, 29, 1 + rng.integers(1, 15))
    ours = st.counts_on_edges(np.sort(values), edges)
    np.testing.assert_array_equal(ours, np.histogram(values, edges)[0])


@pytest.mark.parametrize(
    "sample",
    [
        np.random.default_rng(0).normal(size=2001),
        np.random.default_rng(1).integers(-50, 50, size=777),
        np.random.default_rng(2).integers(0, 21, size=3_000_000),  # integer width floor of 1
        np.full(40, 3.5),
        np.array([1.0, 2.0]),
    ],
)
def test_sturges_edges_from_min_max_and_size_equal_numpys(sample):
    ours = st.sturges_edges(
        low=sample.min(),
        high=sample.max(),
        size=sample.size,
        integer=sample.dtype.kind == "i",
    )
    np.testing.assert_array_equal(ours, np.histogram_bin_edges(sample, bins="sturges"))


def test_empty_bins_get_evidentlys_epsilon_before_psi():
    assert st.fill_empty_shares(np.array([0.5, 0.5, 0.0])).tolist() == [0.5, 0.5, 0.0001]
    tiny = st.fill_empty_shares(np.array([0.99995, 0.00005, 0.0]))
    assert tiny[2] == 0.00005 / 10**6


def frames(seed: int, rows: int = 4000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(shift, size=rows),
                "k": rng.integers(0, 12, size=rows).astype(float),
                "c": rng.choice(
                    ["a", "b", "c"], p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4], size=rows
                ),
            }
        )

    return frame(0.0), frame(0.4)


TYPES = {"x": "numeric", "k": "numeric", "c": "categorical"}


def test_partials_of_partitions_merge_into_the_report_of_the_whole_window():
    reference, current = frames(0)
    whole = data_drift(reference, current, column_types=TYPES)
    parts = [current.iloc[:1000], current.iloc[1000:2500], current.iloc[2500:]]
    merged = merge_partials(*(frame_partials(p, column_types=TYPES) for p in parts))
    from_parts = drift_from_partials(frame_partials(reference, column_types=TYPES), merged)
    assert from_parts.as_dict() == whole.as_dict()


def test_a_stored_reference_profile_gives_the_one_shot_report():
    reference, current = frames(1, rows=800)
    profile = frame_partials(reference, column_types=TYPES)
    assert drift_from_partials(profile, frame_partials(current, column_types=TYPES)) == data_drift(
        reference, current, column_types=TYPES
    )


def test_the_method_switches_from_ks_to_wasserstein_above_1000_reference_rows():
    rng = np.random.default_rng(3)
    current = column_partial(rng.normal(size=500), column_type="numeric")
    small = column_partial(rng.normal(size=1000), column_type="numeric")
    large = column_partial(rng.normal(size=1001), column_type="numeric")
    assert column_drift(small, current, column="x").method == "ks"
    assert column_drift(large, current, column="x").method == "wasserstein"


def test_the_dataset_drifts_when_exactly_half_of_the_columns_drift():
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    current = pd.DataFrame({"a": rng.normal(3, size=2000), "b": rng.normal(size=2000)})
    report = data_drift(reference, current, column_types={"a": "numeric", "b": "numeric"})
    assert (report.drifted_columns, report.share_drifted, report.dataset_drifted) == (1, 0.5, True)


def test_method_and_threshold_can_be_overridden_per_column():
    reference, current = frames(5)
    report = data_drift(
        reference,
        current,
        column_types=TYPES,
        methods={"x": "psi", "c": "chisquare"},
        thresholds={"x": 10.0},
    )
    x, _, c = report.columns
    assert (x.method, x.statistic, x.threshold, x.drifted) == ("psi", x.psi, 10.0, False)
    assert (c.method, c.threshold) == ("chisquare", 0.05)


def test_a_numeric_only_method_is_refused_for_a_categorical_column():
    reference, current = frames(6)
    with pytest.raises(DriftInputError, match="does not apply"):
        data_drift(reference, current, column_types=TYPES, methods={"c": "wasserstein"})


def test_missing_and_infinite_values_are_dropped_and_counted():
    partial = column_partial(np.array([1.0, np.nan, np.inf, -np.inf, 2.0]), column_type="numeric")
    assert (partial.values.tolist(), partial.missing) == ([1.0, 2.0], 3)
    categories = column_partial(pd.Series(["a", None, "b", "a"]), column_type="categorical")
    assert (sorted(categories.values.tolist()), categories.counts.sum(), categories.missing) == (
        ["a", "b"],
        3,
        1,
    )


def test_a_column_without_any_value_in_the_window_is_rejected_with_its_name():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    current = pd.DataFrame({"x": [np.nan, np.nan]})
    with pytest.raises(DriftInputError, match="'x'.*window"):
        data_drift(reference, current, column_types={"x": "numeric"})


def test_text_in_a_numeric_column_is_rejected():
    with pytest.raises(DriftInputError, match="numbers"):
        column_partial(np.array(["a", "b"]), column_type="numeric")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([0.5, 1.5]), "numeric"),
        (np.arange(10), "categorical"),
        (np.arange(11), "numeric"),
        (np.array([True, False]), "categorical"),
        (pd.Series(["a", "b", "a", "a"]), "categorical"),
        (pd.Series(["a", "b", "c", "a"]), None),  # more than half distinct: free text
        (pd.Series(["x", "y", "x"], dtype="category"), "categorical"),
        (pd.Series(pd.to_datetime(["2024-01-01"])), None),
    ],
)
def test_column_types_are_inferred_by_evidentlys_rules(values, expected):
    assert infer_column_type(values) == expected


def test_the_numeric_distribution_uses_doane_bins_over_both_sides():
    reference, current = frames(7)
    ref = column_partial(reference["x"], column_type="numeric")
    cur = column_partial(current["x"], column_type="numeric")
    chart = column_distribution(ref, cur)
    combined = np.concatenate([reference["x"], current["x"]])
    edges = np.histogram_bin_edges(combined, bins="doane")
    assert chart["edges"] == edges.tolist()
    assert chart["reference"] == np.histogram(reference["x"], edges)[0].tolist()
    assert chart["current"] == np.histogram(current["x"], edges)[0].tolist()
    assert sum(chart["current_share"]) == pytest.approx(1.0)


def test_the_categorical_distribution_lists_every_value_of_either_side_in_text_order():
    ref = column_partial(np.array(["b", "a", "b"]), column_type="categorical")
    cur = column_partial(np.array(["c", "a"]), column_type="categorical")
    chart = column_distribution(ref, cur)
    assert (chart["values"], chart["reference"], chart["current"]) == (
        ["a", "b", "c"],
        [1, 2, 0],
        [1, 0, 1],
    )
