"""Property-based checks (hypothesis) of invariants that must hold for any valid input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from evaluation.stats import (
    StatsInputError,
    VariantStatistics,
    adjust_p_values,
    aggregate_file,
    analyze,
    bayesian_test,
    binomial_statistics,
    continuous_statistics,
    frequentist_test,
    normal_risk,
    sample_size_binomial,
    srm_test,
)
from tests.evaluation.stats._helpers import binomial_experiment

Pair = tuple[VariantStatistics, VariantStatistics]

# database=None: no .hypothesis/ example store is written into the shared working tree.
FAST = settings(max_examples=60, deadline=None, database=None)


@st.composite
def binomial_variant(draw: st.DrawFn) -> VariantStatistics:
    users = draw(st.integers(min_value=2, max_value=1_000_000))
    conversions = draw(st.integers(min_value=0, max_value=users))
    return binomial_statistics(users=users, conversions=conversions)


@st.composite
def continuous_variant(draw: st.DrawFn) -> VariantStatistics:
    users = draw(st.integers(min_value=2, max_value=100_000))
    mean = draw(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False))
    sd = draw(st.floats(min_value=1e-3, max_value=1e3, allow_nan=False))
    total = users * mean
    return continuous_statistics(
        users=users, sum=total, sum_squares=(users - 1) * sd * sd + total * total / users
    )


variants = st.one_of(
    st.tuples(binomial_variant(), binomial_variant()),
    st.tuples(continuous_variant(), continuous_variant()),
)


@FAST
@given(variants)
def test_swapping_control_and_treatment_flips_the_absolute_difference(pair: Pair) -> None:
    a, b = pair
    forward = frequentist_test(control=a, treatment=b).absolute
    backward = frequentist_test(control=b, treatment=a).absolute
    # A pair with a zero-variance variant keeps its estimate but has no interval to flip.
    assume(forward.p_value is not None)
    assert backward.estimate == -forward.estimate
    assert math.isclose(backward.ci_low, -forward.ci_high, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(backward.p_value, forward.p_value, rel_tol=1e-9, abs_tol=1e-15)


@FAST
@given(variants, st.floats(min_value=0.001, max_value=0.5))
def test_p_values_lie_between_zero_and_one(pair: Pair, alpha: float) -> None:
    result = frequentist_test(control=pair[0], treatment=pair[1], alpha=alpha)
    for p in (result.relative.p_value, result.absolute.p_value):
        assert p is None or 0.0 <= p <= 1.0


@FAST
@given(variants, st.floats(min_value=0.001, max_value=0.5))
def test_a_p_value_below_alpha_means_the_interval_excludes_zero(pair: Pair, alpha: float) -> None:
    result = frequentist_test(control=pair[0], treatment=pair[1], alpha=alpha)
    for effect in (result.relative, result.absolute):
        if effect.p_value is None or abs(effect.p_value - alpha) < 1e-9:
            continue
        excludes_zero = effect.ci_low > 0 or effect.ci_high < 0
        assert excludes_zero is (effect.p_value < alpha)


@FAST
@given(variants, st.sampled_from(["increase", "decrease"]))
def test_chance_to_win_and_chance_to_lose_sum_to_one(pair: Pair, direction: str) -> None:
    result = bayesian_test(control=pair[0], treatment=pair[1], direction=direction)
    assume(result.chance_to_win is not None)
    assert 0.0 <= result.chance_to_win <= 1.0
    assert math.isclose(result.chance_to_win + result.chance_to_lose, 1.0, abs_tol=1e-12)


@FAST
@given(
    st.floats(min_value=-5, max_value=5, allow_nan=False),
    st.floats(min_value=1e-4, max_value=5, allow_nan=False),
)
def test_expected_losses_are_non_negative_and_differ_by_the_mean(mean: float, std: float) -> None:
    loss_control, loss_treatment = normal_risk(mean=mean, std=std)
    assert loss_control >= 0 and loss_treatment >= 0
    assert math.isclose(loss_control - loss_treatment, mean, rel_tol=1e-9, abs_tol=1e-12)


@FAST
@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1)), max_size=30))
def test_adjusted_p_values_are_at_least_the_raw_ones_and_holm_is_stricter_than_bh(
    p_values: list[float | None],
) -> None:
    holm = adjust_p_values(p_values=p_values, method="holm")
    bh = adjust_p_values(p_values=p_values, method="bh")
    for raw, h, b in zip(p_values, holm, bh, strict=True):
        if raw is None:
            assert h is None and b is None
        else:
            assert raw <= b + 1e-15 and b <= h + 1e-15 and h <= 1.0


@FAST
@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=2, max_size=6))
def test_srm_p_value_matches_scipy_chisquare_for_any_counts(users: list[int]) -> None:
    weights = [1.0 / len(users)] * len(users)
    result = srm_test(users=users, allocations=weights)
    reference = stats.chisquare(users).pvalue
    assert 0.0 <= result.p_value <= 1.0
    assert math.isclose(result.p_value, reference, rel_tol=1e-9, abs_tol=1e-12)


@FAST
@given(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=10**6),
    st.data(),
)
def test_analyze_always_returns_strict_json(n_c: int, n_t: int, data: st.DataObject) -> None:
    c = data.draw(st.integers(min_value=0, max_value=n_c))
    t = data.draw(st.integers(min_value=0, max_value=n_t))
    result = analyze(**binomial_experiment(control=(n_c, c), treatment=(n_t, t)), correction="bh")
    json.dumps(result, allow_nan=False)


magnitudes = st.sampled_from([0.0, 1e-300, 1e-150, 1e-40, 1.0, 1e40, 1e150, 1e300]) | st.floats(
    min_value=-1e300, max_value=1e300, allow_nan=False
)


@FAST
@given(
    st.integers(min_value=1, max_value=10**12),
    st.tuples(magnitudes, magnitudes),
    st.tuples(st.floats(min_value=1.0, max_value=1e10), st.floats(min_value=1.0, max_value=1e10)),
    st.booleans(),
)
def test_analyze_never_crashes_on_extreme_magnitudes(
    users: int, totals: tuple[float, float], spreads: tuple[float, float], cuped: bool
) -> None:
    # Any valid input yields strict JSON, any invalid one a StatsInputError: never an
    # OverflowError/ZeroDivisionError or a NaN leaking into the output.
    results = {}
    for key, total, spread in zip(("control", "treatment"), totals, spreads, strict=True):
        squares = total * total / users * spread
        results[key] = {"users": users, "sum": total, "sum_squares": squares}
        if cuped:
            results[key].update(
                covariate_sum=total, covariate_sum_squares=squares, covariate_sum_products=squares
            )
    try:
        out = analyze(
            variants=[
                {"key": "control", "allocation": 0.5},
                {"key": "treatment", "allocation": 0.5},
            ],
            control="control",
            metrics=[{"key": "m", "type": "continuous", "role": "guardrail"}],
            results={"m": results},
            cuped=cuped,
            prior={"mean": 0.0, "variance": 0.01},
            correction="holm",
        )
    except StatsInputError:
        return
    json.dumps(out, allow_nan=False)


@FAST
@given(
    st.floats(min_value=0.01, max_value=0.6),  # with mde ≤ 0.5 the target stays below 0.9
    st.floats(min_value=0.02, max_value=0.5),
    st.floats(min_value=0.5, max_value=0.9),
)
def test_more_power_never_needs_fewer_users(baseline: float, mde: float, power: float) -> None:
    low = sample_size_binomial(baseline_rate=baseline, mde=mde, power=power)
    high = sample_size_binomial(baseline_rate=baseline, mde=mde, power=power + 0.05)
    assert high.per_variant_exact > low.per_variant_exact


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=1, max_value=300), st.integers(min_value=0, max_value=2**16))
def test_aggregation_does_not_depend_on_the_chunk_size(
    tmp_path: Path, chunk_size: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"variant": rng.choice(["a", "b"], 250), "y": rng.normal(size=250).round(3)}
    )
    path = tmp_path / f"rows-{seed}-{chunk_size}.csv"
    frame.to_csv(path, index=False)
    options = {
        "variant_column": "variant",
        "variants": ["a", "b"],
        "metrics": [{"key": "y", "type": "continuous"}],
    }
    whole = aggregate_file(path, chunk_size=1_000, **options)
    chunked = aggregate_file(path, chunk_size=chunk_size, **options)
    for variant in ("a", "b"):
        for field, value in whole["y"][variant].items():
            assert math.isclose(chunked["y"][variant][field], value, rel_tol=1e-12, abs_tol=1e-9)
