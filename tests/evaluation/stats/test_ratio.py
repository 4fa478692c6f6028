"""Ratio metrics and CUPED on ratios: checked against per-user data (numerical delta
method, bootstrap) and against the expected values of GrowthBook's own gbstats tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from evaluation.stats import (
    RatioCupedInput,
    StatsInputError,
    bayesian_test,
    frequentist_test,
    ratio_cuped_adjust,
    ratio_cuped_theta,
    ratio_statistics,
    relative_lift_variance,
    sequential_test,
)
from tests.evaluation.stats._generated import (
    RatioCupedArm,
    ratio_arms,
    ratio_cuped_arms,
)

TOL = 1e-6

# GrowthBook's test case for CUPED on ratio metrics (tests/frequentist/test_tests.py and
# tests/test_gbstats.py, "ratio_ra"): 100 users per variant.
GROWTHBOOK_CONTROL = RatioCupedInput(
    users=100,
    numerator_sum=485.112236689623,
    numerator_sum_squares=2715.484666118136,
    denominator_sum=679.9093275844917,
    denominator_sum_squares=4939.424001640236,
    pre_numerator_sum=192.59138069991536,
    pre_numerator_sum_squares=460.076026390857,
    pre_denominator_sum=290.1398399750233,
    pre_denominator_sum_squares=920.9461385038898,
    numerator_denominator_sum_products=3602.146836776702,
    numerator_pre_numerator_sum_products=1113.6215759318352,
    numerator_pre_denominator_sum_products=1559.2878434944676,
    denominator_pre_numerator_sum_products=1460.3181079276983,
    denominator_pre_denominator_sum_products=2130.9404074446747,
    pre_numerator_pre_denominator_sum_products=634.239482353647,
)
GROWTHBOOK_TREATMENT = RatioCupedInput(
    users=100,
    numerator_sum=514.7757826608777,
    numerator_sum_squares=2994.897482705013,
    denominator_sum=705.4090874383759,
    denominator_sum_squares=5291.36604146392,
    pre_numerator_sum=206.94157227402536,
    pre_numerator_sum_squares=514.2903702246757,
    pre_denominator_sum=302.54389139107326,
    pre_denominator_sum_squares=994.4506208125663,
    numerator_denominator_sum_products=3918.1561431600717,
    numerator_pre_numerator_sum_products=1237.0953021125997,
    numerator_pre_denominator_sum_products=1701.0287270040265,
    denominator_pre_numerator_sum_products=1604.0759503266522,
    denominator_pre_denominator_sum_products=2292.081739775257,
    pre_numerator_pre_denominator_sum_products=698.4173425817908,
)


def numerical_gradient(function: Callable[[np.ndarray], float], point: np.ndarray) -> np.ndarray:
    """Central differences, step 1e-6 relative to each coordinate."""
    gradient = np.empty(point.size)
    for i in range(point.size):
        step = 1e-6 * max(abs(point[i]), 1e-3)
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        gradient[i] = (function(up) - function(down)) / (2 * step)
    return gradient


def delta_variance(function: Callable[[np.ndarray], float], columns: list[np.ndarray]) -> float:
    """Per-user delta-method variance of function(column means), covariance with ddof=1."""
    means = np.array([c.mean() for c in columns])
    gradient = numerical_gradient(function, means)
    return float(gradient @ np.cov(np.vstack(columns), ddof=1) @ gradient)


# Plain ratios.


def test_the_ratio_is_the_numerator_sum_over_the_denominator_sum() -> None:
    control, _ = ratio_arms(0)
    stats = ratio_statistics(**control.sums())
    assert stats.mean == pytest.approx(control.m.sum() / control.d.sum(), rel=1e-12)
    assert stats.n == control.m.size and stats.unadjusted_mean == stats.mean


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
def test_the_ratio_variance_is_the_numerical_delta_method_on_per_user_data(seed: int) -> None:
    arm, _ = ratio_arms(seed)
    expected = delta_variance(lambda b: b[0] / b[1], [arm.m, arm.d])
    assert ratio_statistics(**arm.sums()).variance == pytest.approx(expected, rel=TOL)


def test_the_ratio_standard_error_agrees_with_a_bootstrap_over_users() -> None:
    # The user is the unit: resampling users (with all their orders) must give the spread
    # the delta method predicts, to within bootstrap noise (~3% at 4,000 resamples).
    arm, _ = ratio_arms(2)
    rng = np.random.default_rng(11)
    picks = rng.integers(0, arm.m.size, size=(4_000, arm.m.size))
    ratios = arm.m[picks].sum(axis=1) / arm.d[picks].sum(axis=1)
    stats = ratio_statistics(**arm.sums())
    assert np.sqrt(stats.variance / stats.n) == pytest.approx(ratios.std(ddof=1), rel=0.05)


def test_a_0_1_numerator_uses_the_bernoulli_variance_like_gbstats() -> None:
    arm, _ = ratio_arms(3)
    assert arm.m_binomial
    p = arm.m.mean()
    d, n = arm.d.mean(), arm.m.size
    cov = np.cov(arm.m, arm.d, ddof=1)
    r = arm.m.sum() / arm.d.sum()
    expected = (p * (1 - p) - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / d**2
    stats = ratio_statistics(**arm.sums())
    assert stats.variance == pytest.approx(expected, rel=1e-9) and stats.n == n


def test_a_zero_denominator_is_declined_by_every_test() -> None:
    empty = ratio_statistics(
        users=50,
        numerator_sum=0.0,
        numerator_sum_squares=0.0,
        denominator_sum=0.0,
        denominator_sum_squares=0.0,
        sum_products=0.0,
    )
    control, _ = ratio_arms(0)
    other = ratio_statistics(**control.sums())
    assert [n.code for n in empty.notes] == ["denominator_zero"]
    for result in (
        frequentist_test(control=empty, treatment=other),
        bayesian_test(control=other, treatment=empty),
        sequential_test(control=empty, treatment=other),
    ):
        assert [n.code for n in result.notes] == ["denominator_zero"]


def test_growthbooks_ratio_fixture_is_rejected_because_its_sums_are_impossible() -> None:
    # GrowthBook's RATIO_STATISTICS_DF gives 120 users a denominator sum of 500 but a sum of
    # squares of 800 < 500²/120: no real data have that, and we say so.
    with pytest.raises(StatsInputError, match=r"'denominator_sum_squares'"):
        ratio_statistics(
            users=120,
            numerator_sum=300,
            numerator_sum_squares=869,
            denominator_sum=500,
            denominator_sum_squares=800,
            sum_products=-905,
        )


def test_a_cross_product_implying_a_correlation_beyond_one_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'sum_products'.*correlation beyond ±1"):
        ratio_statistics(
            users=3,
            numerator_sum=6.0,
            numerator_sum_squares=14.0,
            denominator_sum=3.0,
            denominator_sum_squares=5.0,
            sum_products=100.0,
        )


def test_a_ratio_needs_at_least_one_user() -> None:
    with pytest.raises(StatsInputError, match=r"'users' is 0"):
        ratio_statistics(
            users=0,
            numerator_sum=0.0,
            numerator_sum_squares=0.0,
            denominator_sum=0.0,
            denominator_sum_squares=0.0,
            sum_products=0.0,
        )


# CUPED on ratios: GrowthBook's own expected values.


def test_growthbooks_cuped_ratio_case_gives_growthbooks_frequentist_result() -> None:
    adjusted = ratio_cuped_adjust(control=GROWTHBOOK_CONTROL, treatment=GROWTHBOOK_TREATMENT)
    result = frequentist_test(
        control=adjusted.control,
        treatment=adjusted.treatment,
        relative_variance=adjusted.relative_variance,
    )
    # Nine decimals in tests/test_gbstats.py, five in tests/frequentist/test_tests.py.
    assert round(adjusted.control.unadjusted_mean, 9) == 0.713495487
    assert round(adjusted.treatment.unadjusted_mean, 9) == 0.729754963
    assert round(result.relative.estimate, 9) == -0.000701483
    assert round(result.relative.p_value, 9) == 0.857710405
    assert round(result.relative.ci_low, 5) == -0.00841
    assert round(result.relative.ci_high, 5) == 0.00700
    assert round(result.relative.std_error, 5) == 0.00391


def test_growthbooks_cuped_ratio_case_gives_growthbooks_sequential_result() -> None:
    adjusted = ratio_cuped_adjust(control=GROWTHBOOK_CONTROL, treatment=GROWTHBOOK_TREATMENT)
    result = sequential_test(
        control=adjusted.control,
        treatment=adjusted.treatment,
        relative_variance=adjusted.relative_variance,
    )
    assert round(result.relative.estimate, 5) == -0.0007
    assert round(result.relative.ci_low, 5) == -0.02063
    assert round(result.relative.ci_high, 5) == 0.01923
    assert round(result.relative.std_error, 5) == 0.00391
    assert result.relative.p_value == 1.0


# CUPED on ratios: independent checks on per-user data.


def adjusted_ratio(beta: np.ndarray, theta: float) -> float:
    m, d, mp, dp = beta
    return m / d - theta * mp / dp


def columns(arm: RatioCupedArm) -> list[np.ndarray]:
    return [arm.m, arm.d, arm.mp, arm.dp]


@pytest.mark.parametrize("seed", range(6))
def test_theta_is_the_summed_covariance_of_the_two_ratios_over_their_summed_variance(
    seed: int,
) -> None:
    arms = ratio_cuped_arms(seed)
    covariance = variance = 0.0
    for arm in arms:
        both = delta_variance(lambda b: b[0] / b[1] + b[2] / b[3], columns(arm))
        post = delta_variance(lambda b: b[0] / b[1], columns(arm))
        pre = delta_variance(lambda b: b[2] / b[3], columns(arm))
        covariance += (both - post - pre) / 2
        variance += pre
    control, treatment = (RatioCupedInput(**arm.sums()) for arm in arms)
    theta = ratio_cuped_theta(control=control, treatment=treatment)
    assert theta == pytest.approx(covariance / variance, rel=TOL)


@pytest.mark.parametrize("seed", range(6))
def test_adjusted_ratio_variances_are_the_numerical_delta_method_on_per_user_data(
    seed: int,
) -> None:
    arms = ratio_cuped_arms(seed)
    control, treatment = (RatioCupedInput(**arm.sums()) for arm in arms)
    result = ratio_cuped_adjust(control=control, treatment=treatment)
    for arm, stats in zip(arms, (result.control, result.treatment), strict=True):
        means = np.array([c.mean() for c in columns(arm)])
        expected = delta_variance(lambda b: adjusted_ratio(b, result.theta), columns(arm))
        assert stats.variance == pytest.approx(expected, rel=TOL)
        assert stats.mean == pytest.approx(adjusted_ratio(means, result.theta), rel=1e-12)
        assert stats.unadjusted_mean == pytest.approx(means[0] / means[1], rel=1e-12)


def relative_lift_delta_variance(arms: tuple[RatioCupedArm, RatioCupedArm], theta: float) -> float:
    """Variance of (R_t − R_c)/|r_c| by numerical gradients in each variant's four means."""
    control, treatment = arms
    beta_c = np.array([c.mean() for c in columns(control)])
    beta_t = np.array([c.mean() for c in columns(treatment)])

    def lift(beta_c: np.ndarray, beta_t: np.ndarray) -> float:
        baseline = abs(beta_c[0] / beta_c[1])
        return (adjusted_ratio(beta_t, theta) - adjusted_ratio(beta_c, theta)) / baseline

    total = 0.0
    for arm, gradient in (
        (control, numerical_gradient(lambda b: lift(b, beta_t), beta_c)),
        (treatment, numerical_gradient(lambda b: lift(beta_c, b), beta_t)),
    ):
        total += float(gradient @ np.cov(np.vstack(columns(arm)), ddof=1) @ gradient) / arm.m.size
    return total


@pytest.mark.parametrize("seed", range(6))
def test_the_relative_lift_variance_is_the_numerical_delta_method_over_both_variants(
    seed: int,
) -> None:
    arms = ratio_cuped_arms(seed)
    control, treatment = (RatioCupedInput(**arm.sums()) for arm in arms)
    result = ratio_cuped_adjust(control=control, treatment=treatment)
    expected = relative_lift_delta_variance(arms, result.theta)
    assert result.relative_variance == pytest.approx(expected, rel=TOL)


def test_a_negative_control_ratio_differentiates_its_magnitude() -> None:
    # gbstats writes the gradient for a positive baseline; with net refunds per order the
    # baseline is negative and the lift is divided by its magnitude.
    control, treatment = ratio_cuped_arms(4)
    arms = tuple(
        RatioCupedArm(m=-arm.m + 1.0, d=arm.d, mp=-arm.mp + 1.0, dp=arm.dp)
        for arm in (control, treatment)
    )
    inputs = [RatioCupedInput(**arm.sums()) for arm in arms]
    result = ratio_cuped_adjust(control=inputs[0], treatment=inputs[1])
    assert result.control.unadjusted_mean < 0
    assert result.relative_variance == pytest.approx(
        relative_lift_delta_variance(arms, result.theta), rel=TOL
    )


def test_cuped_narrows_the_interval_when_the_pre_period_predicts_the_ratio() -> None:
    arms = ratio_cuped_arms(5)
    control, treatment = (RatioCupedInput(**arm.sums()) for arm in arms)
    adjusted = ratio_cuped_adjust(control=control, treatment=treatment)
    plain = frequentist_test(
        control=ratio_statistics(**_plain_sums(arms[0])),
        treatment=ratio_statistics(**_plain_sums(arms[1])),
    )
    cuped = frequentist_test(
        control=adjusted.control,
        treatment=adjusted.treatment,
        relative_variance=adjusted.relative_variance,
    )
    assert cuped.relative.std_error < 0.9 * plain.relative.std_error


def _plain_sums(arm: RatioCupedArm) -> dict[str, float | int]:
    return {
        "users": arm.m.size,
        "numerator_sum": float(arm.m.sum()),
        "numerator_sum_squares": float((arm.m**2).sum()),
        "denominator_sum": float(arm.d.sum()),
        "denominator_sum_squares": float((arm.d**2).sum()),
        "sum_products": float((arm.m * arm.d).sum()),
    }


def test_a_constant_pre_period_falls_back_to_the_plain_ratio() -> None:
    arms = tuple(
        RatioCupedArm(m=arm.m, d=arm.d, mp=np.full(arm.m.size, 2.0), dp=np.ones(arm.m.size))
        for arm in ratio_cuped_arms(1)
    )
    control, treatment = (RatioCupedInput(**arm.sums()) for arm in arms)
    result = ratio_cuped_adjust(control=control, treatment=treatment)
    plain_c = ratio_statistics(**_plain_sums(arms[0]))
    plain_t = ratio_statistics(**_plain_sums(arms[1]))
    assert result.theta == 0
    assert (result.control, result.treatment) == (plain_c, plain_t)
    assert result.relative_variance == pytest.approx(
        relative_lift_variance(control=plain_c, treatment=plain_t), rel=1e-12
    )


def test_a_zero_pre_period_denominator_is_declined() -> None:
    control, treatment = ratio_cuped_arms(2)
    silent = RatioCupedArm(
        m=control.m, d=control.d, mp=np.zeros(control.m.size), dp=np.zeros(control.m.size)
    )
    result = ratio_cuped_adjust(
        control=RatioCupedInput(**silent.sums()), treatment=RatioCupedInput(**treatment.sums())
    )
    assert result.theta != 0
    assert [n.code for n in result.control.notes] == ["denominator_zero"]
    assert result.relative_variance is None
    test = frequentist_test(control=result.control, treatment=result.treatment)
    assert [n.code for n in test.notes] == ["denominator_zero"]


def test_inconsistent_pre_period_products_are_rejected() -> None:
    sums = ratio_cuped_arms(0)[0].sums()
    sums["numerator_pre_numerator_sum_products"] *= 50
    with pytest.raises(StatsInputError, match=r"'numerator_pre_numerator_sum_products'"):
        ratio_cuped_adjust(control=RatioCupedInput(**sums), treatment=RatioCupedInput(**sums))


def test_control_and_treatment_must_have_the_same_component_types() -> None:
    sums = ratio_cuped_arms(0)[0].sums()
    with pytest.raises(StatsInputError, match=r"same component types"):
        ratio_cuped_adjust(
            control=RatioCupedInput(**sums),
            treatment=RatioCupedInput(**sums, denominator_binomial=True),
        )


def test_a_negative_relative_variance_is_rejected_by_the_tests() -> None:
    adjusted = ratio_cuped_adjust(control=GROWTHBOOK_CONTROL, treatment=GROWTHBOOK_TREATMENT)
    with pytest.raises(StatsInputError, match=r"'relative_variance' must be at least 0"):
        frequentist_test(
            control=adjusted.control, treatment=adjusted.treatment, relative_variance=-1.0
        )
