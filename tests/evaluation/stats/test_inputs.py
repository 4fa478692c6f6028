"""Every invalid input is rejected with StatsInputError and a message naming the problem."""

from __future__ import annotations

import copy
import math
from decimal import Decimal

import numpy as np
import pytest

from evaluation.stats import (
    BinomialAggregate,
    ContinuousAggregate,
    StatsInputError,
    analyze,
    expand_mean_sd,
    parse_aggregate,
    sums_from_mean_sd,
)
from tests.evaluation.stats._helpers import binomial_experiment


def continuous(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"users": 100, "sum": 250.0, "sum_squares": 900.0}
    data.update(overrides)
    return data


def test_stats_input_error_is_a_value_error_carrying_its_message() -> None:
    error = StatsInputError("bad thing")
    assert isinstance(error, ValueError)
    assert error.message == "bad thing" and str(error) == "bad thing"


def test_a_valid_binomial_aggregate_is_parsed_into_counts() -> None:
    parsed = parse_aggregate({"users": 10, "conversions": 3}, metric_type="binomial")
    assert parsed == BinomialAggregate(users=10, conversions=3)


def test_decimal_and_integral_float_counts_are_accepted() -> None:
    parsed = parse_aggregate(
        {"users": 10.0, "sum": Decimal("2.5"), "sum_squares": 3}, metric_type="continuous"
    )
    assert parsed == ContinuousAggregate(users=10, sum=2.5, sum_squares=3.0)


def test_numpy_numbers_from_dataframes_are_accepted_everywhere() -> None:
    kwargs = binomial_experiment()
    kwargs["results"]["conv"]["treatment"] = {
        "users": np.int64(10_000),
        "conversions": np.int32(1_100),
    }
    kwargs["variants"] = [
        {"key": "control", "allocation": np.float64(0.5)},
        {"key": "treatment", "allocation": np.float32(0.5)},
    ]
    result = analyze(
        **kwargs, alpha=np.float64(0.05), users={"control": np.int64(9), "treatment": 9}
    )
    assert result["metrics"]["conv"]["treatment"]["users_treatment"] == 10_000


def test_negative_users_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'users' cannot be negative"):
        parse_aggregate({"users": -1, "conversions": 0}, metric_type="binomial")


def test_negative_conversions_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'conversions' cannot be negative"):
        parse_aggregate({"users": 10, "conversions": -2}, metric_type="binomial")


def test_fractional_counts_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'users' must be a whole number"):
        parse_aggregate({"users": 10.5, "conversions": 2}, metric_type="binomial")


def test_conversions_above_users_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'conversions' \(11\) cannot exceed 'users' \(10\)"):
        parse_aggregate({"users": 10, "conversions": 11}, metric_type="binomial")


def test_zero_users_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'users' is 0"):
        parse_aggregate({"users": 0, "conversions": 0}, metric_type="binomial")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(value: float) -> None:
    with pytest.raises(StatsInputError, match=r"'sum' must be a finite number"):
        parse_aggregate(continuous(sum=value), metric_type="continuous")


def test_text_where_a_number_is_expected_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'sum' must be a number, got '12'"):
        parse_aggregate(continuous(sum="12"), metric_type="continuous")


def test_booleans_are_not_accepted_as_counts() -> None:
    with pytest.raises(StatsInputError, match=r"'users' must be a number, got True"):
        parse_aggregate({"users": True, "conversions": 0}, metric_type="binomial")


def test_sum_squares_implying_negative_variance_are_rejected() -> None:
    # sum²/n = 250²/100 = 625 > 600, impossible for real data.
    with pytest.raises(StatsInputError, match=r"negative variance"):
        parse_aggregate(continuous(sum_squares=600.0), metric_type="continuous")


def test_zero_variance_sums_with_rounding_noise_are_accepted() -> None:
    # Every user has the value 0.1: Σy² and (Σy)²/n then differ only by float rounding.
    values = np.full(1001, 0.1)
    total, total_squares = float(values.sum()), float((values**2).sum())
    assert total_squares - total * total / 1001 != 0  # the noise this test is about
    parsed = parse_aggregate(
        {"users": 1001, "sum": total, "sum_squares": total_squares}, metric_type="continuous"
    )
    assert parsed.users == 1001


def test_negative_sum_squares_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'sum_squares' cannot be negative"):
        parse_aggregate(continuous(sum=0.0, sum_squares=-1.0), metric_type="continuous")


def test_missing_fields_are_named() -> None:
    with pytest.raises(StatsInputError, match=r"missing field\(s\) sum_squares"):
        parse_aggregate({"users": 3, "sum": 1.0}, metric_type="continuous")


def test_unknown_fields_are_named_to_catch_typos() -> None:
    with pytest.raises(StatsInputError, match=r"unknown field\(s\) conversion"):
        parse_aggregate({"users": 3, "conversion": 1}, metric_type="binomial")


def test_a_partial_covariate_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"missing covariate_sum_products"):
        parse_aggregate(
            continuous(covariate_sum=1.0, covariate_sum_squares=2.0), metric_type="continuous"
        )


def test_covariate_sums_implying_correlation_beyond_one_are_rejected() -> None:
    data = continuous(covariate_sum=250.0, covariate_sum_squares=900.0)
    data["covariate_sum_products"] = 5000.0  # |cov| far above sd(x)·sd(y)
    with pytest.raises(StatsInputError, match=r"correlation beyond ±1"):
        parse_aggregate(data, metric_type="continuous")


def test_covariate_sum_squares_implying_negative_variance_are_rejected() -> None:
    data = continuous(covariate_sum=250.0, covariate_sum_squares=100.0, covariate_sum_products=0.0)
    with pytest.raises(StatsInputError, match=r"'covariate_sum_squares'.*negative variance"):
        parse_aggregate(data, metric_type="continuous")


def test_errors_name_the_metric_and_variant_at_fault() -> None:
    kwargs = binomial_experiment(treatment=(100, 101))
    with pytest.raises(StatsInputError, match=r"^Metric 'conv', variant 'treatment': "):
        analyze(**kwargs)


def test_a_control_key_that_is_not_a_variant_is_reported_missing() -> None:
    kwargs = binomial_experiment()
    kwargs["control"] = "baseline"
    with pytest.raises(StatsInputError, match=r"control variant 'baseline' is missing"):
        analyze(**kwargs)


def test_results_without_the_control_variant_are_rejected() -> None:
    kwargs = binomial_experiment()
    del kwargs["results"]["conv"]["control"]
    with pytest.raises(StatsInputError, match=r"control variant 'control' are missing"):
        analyze(**kwargs)


def test_results_without_a_treatment_variant_are_rejected() -> None:
    kwargs = binomial_experiment()
    del kwargs["results"]["conv"]["treatment"]
    with pytest.raises(StatsInputError, match=r"variant\(s\) 'treatment' are missing"):
        analyze(**kwargs)


def test_unknown_variant_keys_in_results_are_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["results"]["conv"]["treatmnet"] = {"users": 5, "conversions": 1}
    with pytest.raises(StatsInputError, match=r"unknown variant key\(s\) 'treatmnet'"):
        analyze(**kwargs)


def test_unknown_metric_keys_in_results_are_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["results"]["revenue"] = kwargs["results"]["conv"]
    with pytest.raises(StatsInputError, match=r"unknown metric key\(s\) 'revenue'"):
        analyze(**kwargs)


def test_a_defined_metric_without_results_is_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["metrics"].append({"key": "revenue", "type": "continuous"})
    with pytest.raises(StatsInputError, match=r"Metric 'revenue' has no results"):
        analyze(**kwargs)


def test_allocations_not_summing_to_one_are_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["variants"] = [
        {"key": "control", "allocation": 0.5},
        {"key": "treatment", "allocation": 0.49},
    ]
    with pytest.raises(StatsInputError, match=r"must add up to 1 .* add up to 0\.99"):
        analyze(**kwargs)


def test_allocations_within_the_tolerance_are_accepted() -> None:
    kwargs = binomial_experiment()
    kwargs["variants"] = [
        {"key": "control", "allocation": 1 / 3 + 4e-7},
        {"key": "treatment", "allocation": 2 / 3},
    ]
    assert analyze(**kwargs)["metrics"]["conv"]["treatment"]["users_control"] == 10_000


def test_a_zero_allocation_is_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["variants"] = [
        {"key": "control", "allocation": 1.0},
        {"key": "treatment", "allocation": 0},
    ]
    with pytest.raises(StatsInputError, match=r"'allocation' must be greater than 0"):
        analyze(**kwargs)


def test_duplicate_variant_keys_are_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["variants"] = [{"key": "control", "allocation": 0.5}] * 2
    with pytest.raises(StatsInputError, match=r"'control' is listed more than once"):
        analyze(**kwargs)


def test_a_single_variant_is_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["variants"] = [{"key": "control", "allocation": 1.0}]
    with pytest.raises(StatsInputError, match=r"at least two variants"):
        analyze(**kwargs)


def test_an_unknown_metric_type_is_rejected() -> None:
    kwargs = binomial_experiment()
    kwargs["metrics"][0]["type"] = "median"
    with pytest.raises(StatsInputError, match=r"'type' must be one of binomial, continuous"):
        analyze(**kwargs)


def test_an_unknown_metric_role_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'role' must be one of"):
        analyze(**binomial_experiment(role="north-star"))


def test_an_unknown_direction_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'direction' must be 'increase' or 'decrease'"):
        analyze(**binomial_experiment(direction="up"))


@pytest.mark.parametrize("alpha", [0, 1, -0.1, math.nan, "0.05"])
def test_alpha_outside_zero_and_one_is_rejected(alpha: object) -> None:
    with pytest.raises(StatsInputError, match=r"'alpha' must be"):
        analyze(**binomial_experiment(), alpha=alpha)


def test_an_unknown_correction_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'correction' must be null, 'holm' or 'bh'"):
        analyze(**binomial_experiment(), correction="bonferroni")


def test_a_prior_with_non_positive_variance_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"Prior 'variance' must be greater than 0"):
        analyze(**binomial_experiment(), prior={"mean": 0, "variance": 0})


def test_a_prior_with_unknown_fields_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'prior' has unknown field\(s\) sd"):
        analyze(**binomial_experiment(), prior={"mean": 0, "sd": 0.1})


def test_a_covariate_given_for_only_some_variants_is_rejected_under_cuped() -> None:
    kwargs = binomial_experiment()
    kwargs["results"]["conv"]["control"].update(
        covariate_sum=900.0, covariate_sum_squares=900.0, covariate_sum_products=300.0
    )
    with pytest.raises(StatsInputError, match=r"not for 'treatment'"):
        analyze(**kwargs, cuped=True)


def test_explicit_srm_users_must_cover_every_variant() -> None:
    with pytest.raises(StatsInputError, match=r"'users' is missing variant 'treatment'"):
        analyze(**binomial_experiment(), users={"control": 10})


def test_validation_does_not_modify_the_callers_inputs() -> None:
    kwargs = binomial_experiment()
    before = copy.deepcopy(kwargs)
    analyze(**kwargs, correction="holm")
    assert kwargs == before


def test_variants_must_be_a_list_not_a_mapping_or_text() -> None:
    kwargs = binomial_experiment()
    kwargs["variants"] = "control,treatment"
    with pytest.raises(StatsInputError, match=r"'variants' must be a list"):
        analyze(**kwargs)


@pytest.mark.parametrize("n", [2, 7, 1000])
def test_mean_and_sample_sd_convert_exactly_to_the_sums_numpy_computes(n: int) -> None:
    values = np.random.default_rng(n).normal(24.8, 9.5, size=n)
    total, squares = sums_from_mean_sd(
        users=n, mean=float(values.mean()), sd=float(values.std(ddof=1))
    )
    assert total == pytest.approx(values.sum(), rel=1e-12)
    assert squares == pytest.approx(np.square(values).sum(), rel=1e-12)


def test_mean_and_sd_become_the_continuous_aggregate() -> None:
    values = np.array([3.0, 5.0, 10.0])
    data = {"users": 3, "mean": float(values.mean()), "sd": float(values.std(ddof=1))}
    expanded = expand_mean_sd(data)
    assert expanded["users"] == 3
    assert expanded["sum"] == pytest.approx(18.0)
    assert expanded["sum_squares"] == pytest.approx(134.0)
    assert parse_aggregate(expanded, metric_type="continuous").sum == pytest.approx(18.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"users": 3, "mean": 1.0}, "go together"),
        ({"users": 3, "mean": 1.0, "sd": 2.0, "sum": 3.0}, "not both"),
        ({"users": 3, "mean": 1.0, "sd": -2.0}, "cannot be negative"),
        ({"users": 1, "mean": 1.0, "sd": 2.0}, "at least 2 users"),
        ({"users": 3, "mean": "x", "sd": 2.0}, "must be a number"),
    ],
)
def test_bad_means_and_sds_are_refused(data: dict, message: str) -> None:
    with pytest.raises(StatsInputError, match=message):
        expand_mean_sd(data)
