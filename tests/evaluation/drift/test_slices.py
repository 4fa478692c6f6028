"""Worst slices against a brute-force pandas computation, and Wilson intervals against
statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from evaluation.drift import (
    DriftInputError,
    slice_counts,
    slice_definitions,
    wilson_interval,
    worst_slices,
)
from evaluation.drift.slices import MISSING_LABEL, OTHER_LABEL


def labelled_rows(
    seed: int, rows: int = 3000
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, size=rows)
    age[rng.random(rows) < 0.03] = np.nan
    country = rng.choice(["de", "fr", "it", "es", "pl", "nl", "se"], size=rows).astype(object)
    country[rng.random(rows) < 0.02] = None
    plan = rng.choice([1, 2, 3], size=rows)
    risk = 0.1 + 0.25 * (np.nan_to_num(age, nan=40) > 55) + 0.2 * (country == "pl") + 0.05 * plan
    errors = rng.random(rows) < risk
    loss = rng.exponential(risk)
    return {"age": age, "country": country, "plan": plan}, errors, loss


def brute_force(columns, outcome, *, max_values=4, bins=4):
    """Every slice by plain pandas: value slices from value_counts, bins from np.quantile."""
    out = []
    for name, values in columns.items():
        series = pd.Series(values)
        present = series.dropna()
        if series.dtype.kind in "iuf" and present.nunique() > max_values:
            edges = np.unique(np.quantile(present.astype(float), np.linspace(0, 1, bins + 1)))
            for i in range(edges.size - 1):
                last = i == edges.size - 2
                lo, hi = edges[i], edges[i + 1]
                if i == 0:
                    mask = series < hi
                elif last:
                    mask = series >= lo
                else:
                    mask = (series >= lo) & (series < hi)
                out.append((name, ("bin", lo, hi), outcome[mask.to_numpy()]))
        else:
            counts = present.value_counts()
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            kept = [v for v, _ in ranked[:max_values]]
            for v in kept:
                out.append((name, ("value", v), outcome[(series == v).to_numpy()]))
            rest = present.index[~present.isin(kept)]
            if len(ranked) > max_values:
                out.append((name, ("other",), outcome[rest]))
        if series.isna().any():
            out.append((name, ("missing",), outcome[series.isna().to_numpy()]))
    return out


def key_of(s):
    if s.kind == "bin":
        return (s.column, ("bin", s.lower, s.upper))
    if s.kind == "value":
        return (s.column, ("value", s.value))
    return (s.column, (s.kind,))


@pytest.mark.parametrize("seed", range(6))
def test_error_counts_rates_and_wilson_bounds_equal_a_brute_force_pandas_computation(seed):
    columns, errors, _ = labelled_rows(seed)
    found = {key_of(s): s for s in worst_slices(columns, errors=errors, max_values=4, bins=4)}
    expected = brute_force(columns, errors.astype(float))
    assert len(found) == len(expected)
    for name, key, outcome in expected:
        s = found[(name, key)]
        low, high = proportion_confint(
            int(outcome.sum()), outcome.size, alpha=0.05, method="wilson"
        )
        assert (s.rows, s.errors) == (outcome.size, outcome.sum())
        assert s.rate == pytest.approx(outcome.mean(), rel=1e-12)
        assert (s.ci_low, s.ci_high) == pytest.approx((low, high), rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_slices_are_ranked_by_the_lower_bound_of_the_interval(seed):
    columns, errors, _ = labelled_rows(seed)
    ranked = worst_slices(columns, errors=errors, max_values=4, bins=4)
    lows = [s.ci_low for s in ranked]
    assert lows == sorted(lows, reverse=True)


@pytest.mark.parametrize("seed", range(4))
def test_mean_loss_and_t_interval_equal_a_brute_force_computation(seed):
    columns, _, loss = labelled_rows(seed)
    found = {key_of(s): s for s in worst_slices(columns, loss=loss, max_values=4, bins=4)}
    for name, key, outcome in brute_force(columns, loss):
        s = found[(name, key)]
        low, high = stats.t.interval(
            0.95, outcome.size - 1, loc=outcome.mean(), scale=stats.sem(outcome)
        )
        assert s.rate == pytest.approx(outcome.mean(), rel=1e-12)
        assert (s.ci_low, s.ci_high) == pytest.approx((low, high), rel=1e-8)


def test_a_small_noisy_slice_ranks_below_a_large_clearly_bad_one():
    group = np.array(["small"] * 5 + ["large"] * 400 + ["rest"] * 2000)
    errors = np.r_[[1, 1, 1, 0, 0], np.arange(400) < 140, np.arange(2000) < 200].astype(bool)
    ranked = worst_slices({"group": group}, errors=errors)
    assert [s.value for s in ranked] == ["large", "small", "rest"]
    assert ranked[1].rate > ranked[0].rate


def test_rare_values_are_pooled_as_other_and_missing_values_get_their_own_slice():
    values = np.array(["a"] * 50 + ["b"] * 40 + ["c"] * 3 + ["d"] * 2 + [None] * 5, dtype=object)
    ranked = worst_slices({"v": values}, errors=np.zeros(100, dtype=bool), max_values=2)
    assert sorted(s.value for s in ranked) == sorted(["a", "b", OTHER_LABEL, MISSING_LABEL])
    assert {s.value: s.rows for s in ranked}[OTHER_LABEL] == 5


def test_counts_of_partitions_merge_into_the_counts_of_the_whole():
    columns, errors, _ = labelled_rows(7)
    definitions = slice_definitions(columns, max_values=4, bins=4)
    whole = slice_counts(definitions, columns, outcome=errors)
    half = 1700
    first = slice_counts(
        definitions, {k: v[:half] for k, v in columns.items()}, outcome=errors[:half]
    )
    second = slice_counts(
        definitions, {k: v[half:] for k, v in columns.items()}, outcome=errors[half:]
    )
    for w, a, b in zip(whole, first, second, strict=True):
        merged = a.merge(b)
        np.testing.assert_array_equal(merged.rows, w.rows)
        np.testing.assert_allclose(merged.errors, w.errors)


def test_wilson_interval_equals_statsmodels_over_many_counts():
    rng = np.random.default_rng(3)
    rows = rng.integers(1, 5000, size=200)
    errors = rng.binomial(rows, rng.random(200))
    low, high = wilson_interval(errors.astype(float), rows.astype(float), 0.9)
    ref_low, ref_high = proportion_confint(errors, rows, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, ref_low, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(high, ref_high, rtol=1e-9, atol=1e-15)


def test_it_requires_exactly_one_outcome_and_binary_errors():
    with pytest.raises(DriftInputError):
        worst_slices({"a": np.arange(3)}, errors=np.zeros(3), loss=np.zeros(3))
    with pytest.raises(DriftInputError, match="0/1"):
        worst_slices({"a": np.arange(3)}, errors=np.array([0.0, 0.5, 1.0]))
