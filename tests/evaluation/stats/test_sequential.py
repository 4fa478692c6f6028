"""Sequential (always-valid) tests: GrowthBook's own expected values, the confidence
sequence's defining properties, and a simulation of peeking."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from evaluation.stats import (
    DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
    CupedInput,
    StatsInputError,
    binomial_statistics,
    continuous_statistics,
    cuped_adjust,
    frequentist_test,
    sequential_rho_squared,
    sequential_test,
)

# The continuous pair of GrowthBook's TestSequentialTTest (tests/frequentist/test_tests.py).
CONTROL = continuous_statistics(users=3_000, sum=1396.87, sum_squares=52377.9767)
TREATMENT = continuous_statistics(users=3_461, sum=2422.7, sum_squares=134698.29)


def test_growthbooks_continuous_case_gives_growthbooks_interval() -> None:
    result = sequential_test(
        control=CONTROL, treatment=TREATMENT, sequential_tuning_parameter=1_000
    )
    assert round(result.relative.estimate, 5) == 0.50336
    assert round(result.relative.ci_low, 5) == -0.55844
    assert round(result.relative.ci_high, 5) == 1.56516
    assert round(result.relative.std_error, 5) == 0.33341
    assert result.relative.p_value == 1.0


def test_growthbooks_proportion_case_gives_growthbooks_interval() -> None:
    result = sequential_test(
        control=binomial_statistics(users=3_000, conversions=1_396),
        treatment=binomial_statistics(users=3_461, conversions=2_422),
    )
    assert round(result.relative.estimate, 5) == 0.50386
    assert round(result.relative.ci_low, 5) == 0.40098
    assert round(result.relative.ci_high, 5) == 0.60675
    assert round(result.relative.std_error, 5) == 0.03386
    assert round(result.relative.p_value, 5) == 0.0


def test_growthbooks_cuped_case_gives_growthbooks_interval() -> None:
    def cuped_input(n: int, post: tuple[float, float], pre: tuple[float, float]) -> CupedInput:
        return CupedInput(
            n=n,
            sum=post[0],
            sum_squares=post[1],
            covariate_sum=pre[0],
            covariate_sum_squares=pre[1],
            covariate_sum_products=1.0,
        )

    adjusted = cuped_adjust(
        control=cuped_input(3_000, (1396.87, 52377.9767), (16.87, 527.9767)),
        treatment=cuped_input(3_461, (2422.7, 134698.29), (22.7, 1348.29)),
    )
    result = sequential_test(control=adjusted.control, treatment=adjusted.treatment)
    assert round(result.relative.estimate, 5) == 0.50338
    assert round(result.relative.ci_low, 5) == -0.50969
    assert round(result.relative.ci_high, 5) == 1.51646
    assert result.relative.p_value == 1.0


def test_growthbooks_analysis_case_gives_growthbooks_p_value_and_bound() -> None:
    # tests/test_gbstats.py, TestAnalyzeMetricDfSequential, dimension "one", tuning 600.
    control = continuous_statistics(users=100, sum=270, sum_squares=848.79)
    treatment = continuous_statistics(users=120, sum=300, sum_squares=869)
    result = sequential_test(control=control, treatment=treatment, sequential_tuning_parameter=600)
    assert round(result.relative.estimate, 9) == -0.074074074
    assert round(result.relative.p_value, 9) == 0.892332229
    assert round(result.relative.ci_low, 9) == -0.233322085
    badly_tuned = sequential_test(
        control=control, treatment=treatment, sequential_tuning_parameter=1
    )
    assert badly_tuned.relative.ci_low < result.relative.ci_low


def test_the_interval_is_tightest_when_tuned_near_the_sample_size() -> None:
    # GrowthBook's tuning test: 6,461 users in all.
    widths = {
        tuning: sequential_test(
            control=CONTROL, treatment=TREATMENT, sequential_tuning_parameter=tuning
        ).relative
        for tuning in (10, 6_461, 10_000)
    }
    width = {k: v.ci_high - v.ci_low for k, v in widths.items()}
    assert width[10] > width[10_000] > width[6_461]


def test_the_default_tuning_parameter_is_growthbooks_5000() -> None:
    assert DEFAULT_SEQUENTIAL_TUNING_PARAMETER == 5_000
    default = sequential_test(control=CONTROL, treatment=TREATMENT)
    explicit = sequential_test(
        control=CONTROL, treatment=TREATMENT, sequential_tuning_parameter=5_000
    )
    assert default == explicit


def test_rho_follows_the_closed_form_for_the_tuning_parameter() -> None:
    alpha = 0.05
    expected = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / 5_000
    assert sequential_rho_squared(alpha=alpha, sequential_tuning_parameter=5_000) == pytest.approx(
        expected, rel=1e-15
    )


@pytest.mark.parametrize("seed", range(12))
def test_a_p_value_below_alpha_means_the_interval_excludes_zero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    control = binomial_statistics(users=20_000, conversions=int(rng.integers(1_800, 2_200)))
    treatment = binomial_statistics(users=20_000, conversions=int(rng.integers(1_800, 2_400)))
    result = sequential_test(control=control, treatment=treatment, alpha=alpha)
    for effect in (result.relative, result.absolute):
        excludes_zero = effect.ci_low > 0 or effect.ci_high < 0
        assert excludes_zero is (effect.p_value < alpha)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_the_always_valid_interval_is_wider_than_the_fixed_horizon_one(alpha: float) -> None:
    fixed = frequentist_test(control=CONTROL, treatment=TREATMENT, alpha=alpha)
    sequential = sequential_test(control=CONTROL, treatment=TREATMENT, alpha=alpha)
    for a, b in ((fixed.absolute, sequential.absolute), (fixed.relative, sequential.relative)):
        assert b.ci_low < a.ci_low and b.ci_high > a.ci_high
        assert b.p_value >= a.p_value
        assert b.estimate == a.estimate and b.std_error == a.std_error


def test_peeking_every_day_keeps_false_positives_below_alpha() -> None:
    # A/A experiments looked at after every 1,000 users up to 30,000 and stopped at the
    # first p < 0.05: the fixed-horizon test rejects far more often than 5%, the
    # sequential one less often.
    rng = np.random.default_rng(2024)
    experiments, looks, batch = 300, 30, 1_000
    fixed_hits = sequential_hits = 0
    for _ in range(experiments):
        conversions = rng.binomial(batch, 0.1, size=(2, looks)).cumsum(axis=1)
        fixed_hit = sequential_hit = False
        for look in range(looks):
            users = batch * (look + 1)
            control = binomial_statistics(users=users, conversions=int(conversions[0, look]))
            treatment = binomial_statistics(users=users, conversions=int(conversions[1, look]))
            fixed_hit |= (
                frequentist_test(control=control, treatment=treatment).absolute.p_value < 0.05
            )
            sequential_hit |= (
                sequential_test(control=control, treatment=treatment).absolute.p_value < 0.05
            )
        fixed_hits += fixed_hit
        sequential_hits += sequential_hit
    assert fixed_hits / experiments > 0.15
    assert sequential_hits / experiments < 0.05


def test_the_p_value_is_the_reciprocal_of_the_e_value() -> None:
    result = sequential_test(
        control=binomial_statistics(users=10_000, conversions=1_000),
        treatment=binomial_statistics(users=10_000, conversions=1_120),
    ).absolute
    n, rho2 = 20_000, sequential_rho_squared(alpha=0.05, sequential_tuning_parameter=5_000)
    z2 = (result.estimate / result.std_error) ** 2
    evalue = math.exp(rho2 * n * z2 / (2 * (n * rho2 + 1))) / math.sqrt(n * rho2 + 1)
    assert result.p_value == pytest.approx(1 / evalue, rel=1e-12)


def test_a_huge_effect_gives_a_zero_p_value_instead_of_an_overflow() -> None:
    result = sequential_test(
        control=binomial_statistics(users=10_000_000, conversions=1_000_000),
        treatment=binomial_statistics(users=10_000_000, conversions=3_000_000),
    )
    assert result.absolute.p_value == 0.0


def test_pairs_the_t_test_declines_are_declined_too() -> None:
    flat = binomial_statistics(users=400, conversions=400)
    other = binomial_statistics(users=400, conversions=396)
    result = sequential_test(control=flat, treatment=other)
    assert result.absolute.estimate == pytest.approx(-0.01)
    assert result.absolute.p_value is None and result.absolute.ci_low is None
    assert [n.code for n in result.notes] == ["zero_variance_arm"]
    one = continuous_statistics(users=1, sum=1.0, sum_squares=1.0)
    assert [n.code for n in sequential_test(control=one, treatment=CONTROL).notes] == [
        "too_few_users"
    ]


@pytest.mark.parametrize("tuning", [0, -5, math.inf, math.nan, "5000", True])
def test_an_invalid_tuning_parameter_is_rejected(tuning: object) -> None:
    with pytest.raises(StatsInputError, match=r"'sequential_tuning_parameter'"):
        sequential_test(
            control=CONTROL,
            treatment=TREATMENT,
            sequential_tuning_parameter=tuning,  # type: ignore[arg-type]
        )


def test_results_serialise_to_plain_dictionaries() -> None:
    data = sequential_test(control=CONTROL, treatment=TREATMENT).to_dict()
    json.dumps(data, allow_nan=False)
    assert set(data) == {"relative", "absolute", "alpha", "sequential_tuning_parameter", "notes"}


def test_the_interval_matches_a_direct_evaluation_of_growthbooks_formula() -> None:
    result = sequential_test(control=CONTROL, treatment=TREATMENT, alpha=0.1).absolute
    n, alpha = CONTROL.n + TREATMENT.n, 0.1
    rho = math.sqrt(sequential_rho_squared(alpha=alpha, sequential_tuning_parameter=5_000))
    s2 = result.std_error**2 * n
    half = math.sqrt(s2) * math.sqrt(
        2 * (n * rho**2 + 1) * math.log(math.sqrt(n * rho**2 + 1) / alpha) / (n * rho) ** 2
    )
    assert result.ci_high - result.estimate == pytest.approx(half, rel=1e-12)
    assert stats.norm.ppf(0.95) * result.std_error < half
