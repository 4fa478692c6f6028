"""Slices: how columns are cut, worst-first ordering, small slices."""

from __future__ import annotations

import numpy as np

from evaluation.metrics.regression import regression_metrics
from evaluation.metrics.slices import evaluate_slices, slice_codes


def _regression_slices(columns, y, pred, **kwargs):
    def metric_fn(mask):
        return regression_metrics(y_true=y[mask], y_pred=pred[mask])

    return evaluate_slices(
        columns=columns,
        slice_columns=list(columns),
        metric_fn=metric_fn,
        primary="rmse",
        higher_is_better=False,
        **kwargs,
    )


def test_numeric_column_with_many_values_is_cut_into_quantile_bins():
    codes, described = slice_codes(np.arange(100.0), bins=4)
    assert [d["value"] for d in described] == [
        "[0, 24.75)",
        "[24.75, 49.5)",
        "[49.5, 74.25)",
        "[74.25, 99]",
    ]
    assert np.bincount(codes).tolist() == [25, 25, 25, 25]


def test_numeric_column_with_few_values_is_sliced_by_value():
    _, described = slice_codes(np.array([1.0, 2.0, 2.0, 3.0]), max_values=5)
    assert [d["value"] for d in described] == ["2", "1", "3"]


def test_rare_text_values_beyond_the_top_n_are_pooled_as_other():
    values = np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 2 + ["d"], dtype=object)
    codes, described = slice_codes(values, max_values=2)
    assert [d["value"] for d in described] == ["a", "b", "other"]
    assert np.bincount(codes).tolist() == [5, 4, 3]


def test_missing_values_get_their_own_slice():
    codes, described = slice_codes(np.array(["x", None, "x"], dtype=object))
    assert described[codes[1]]["value"] == "(missing)"


def test_worst_slice_comes_first():
    rng = np.random.default_rng(0)
    city = np.array(["good", "bad", "mid"] * 100, dtype=object)
    noise = {"good": 0.1, "bad": 3.0, "mid": 1.0}
    y = rng.normal(size=300)
    pred = y + rng.normal(size=300) * np.array([noise[c] for c in city])
    slices = _regression_slices({"city": city}, y, pred, overall=1.0)
    assert [s["value"] for s in slices] == ["bad", "mid", "good"]
    assert slices[0]["delta_vs_overall"] == slices[0]["primary_value"] - 1.0


def test_small_slices_are_listed_last_without_metrics():
    city = np.array(["big"] * 50 + ["tiny"] * 3, dtype=object)
    y = np.arange(53.0)
    slices = _regression_slices({"city": city}, y, y + 1, min_rows=10)
    assert slices[-1]["value"] == "tiny" and slices[-1]["small"] is True
    assert slices[-1]["metrics"] is None and slices[-1]["rows"] == 3


def test_every_row_is_in_exactly_one_slice_per_column():
    rng = np.random.default_rng(1)
    age = np.where(rng.random(500) < 0.1, np.nan, rng.integers(18, 90, 500).astype(float))
    y = rng.normal(size=500)
    slices = _regression_slices({"age": age}, y, y, min_rows=1)
    assert sum(s["rows"] for s in slices) == 500
