"""Sample size and duration, checked against statsmodels' power calculations."""

from __future__ import annotations

import math
import warnings

import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from evaluation.stats import StatsInputError, sample_size_binomial, sample_size_continuous

BINOMIAL_CASES = [
    # baseline, mde, mde_type, alpha, power
    (0.10, 0.05, "relative", 0.05, 0.80),
    (0.02, 0.10, "relative", 0.05, 0.90),
    (0.50, -0.20, "relative", 0.01, 0.80),
    (0.30, 0.02, "absolute", 0.10, 0.60),
    (0.001, 0.20, "relative", 0.05, 0.80),
]


def statsmodels_binomial_n(p1: float, p2: float, alpha: float, power: float) -> float:
    return float(
        NormalIndPower().solve_power(
            effect_size=proportion_effectsize(p2, p1),
            alpha=alpha,
            power=power,
            ratio=1,
            alternative="two-sided",
        )
    )


@pytest.mark.parametrize("baseline,mde,mde_type,alpha,power", BINOMIAL_CASES)
def test_binomial_n_before_rounding_equals_statsmodels(
    baseline: float, mde: float, mde_type: str, alpha: float, power: float
) -> None:
    p2 = baseline * (1 + mde) if mde_type == "relative" else baseline + mde
    result = sample_size_binomial(
        baseline_rate=baseline, mde=mde, mde_type=mde_type, alpha=alpha, power=power
    )
    assert result.per_variant_exact == pytest.approx(
        statsmodels_binomial_n(baseline, p2, alpha, power), abs=1e-6
    )


def test_binomial_n_gives_exactly_the_target_power_by_statsmodels() -> None:
    result = sample_size_binomial(baseline_rate=0.1, mde=0.05)
    achieved = NormalIndPower().power(
        effect_size=proportion_effectsize(0.105, 0.1),
        nobs1=result.per_variant_exact,
        alpha=0.05,
        ratio=1,
    )
    assert achieved == pytest.approx(0.8, abs=1e-12)


def test_binomial_effect_size_is_cohens_h() -> None:
    result = sample_size_binomial(baseline_rate=0.2, mde=0.03, mde_type="absolute")
    assert result.effect_size == pytest.approx(proportion_effectsize(0.23, 0.2), abs=1e-12)


def test_per_variant_n_is_rounded_up_and_total_counts_every_variant() -> None:
    result = sample_size_binomial(baseline_rate=0.1, mde=0.05, variants=3)
    assert result.per_variant == math.ceil(result.per_variant_exact)
    assert result.total == 3 * result.per_variant


def test_days_are_total_users_over_daily_users_rounded_up() -> None:
    result = sample_size_binomial(baseline_rate=0.1, mde=0.05, daily_users=5_000)
    assert result.days == math.ceil(result.total / 5_000)


def test_days_are_undefined_without_daily_traffic() -> None:
    assert sample_size_binomial(baseline_rate=0.1, mde=0.05).days is None


def test_bonferroni_plans_each_comparison_at_alpha_over_the_number_of_treatments() -> None:
    result = sample_size_binomial(baseline_rate=0.1, mde=0.05, variants=4, correction="bonferroni")
    assert result.alpha_per_comparison == pytest.approx(0.05 / 3)
    assert result.per_variant_exact == pytest.approx(
        statsmodels_binomial_n(0.1, 0.105, 0.05 / 3, 0.8), abs=1e-6
    )


def test_bonferroni_changes_nothing_with_a_single_treatment() -> None:
    plain = sample_size_binomial(baseline_rate=0.1, mde=0.05)
    corrected = sample_size_binomial(baseline_rate=0.1, mde=0.05, correction="bonferroni")
    assert plain == corrected


@pytest.mark.parametrize(
    "d,alpha,power", [(0.2, 0.05, 0.8), (1.5, 0.05, 0.8), (0.01, 0.05, 0.9), (0.05, 0.001, 0.95)]
)
def test_continuous_t_test_n_equals_statsmodels_ttestindpower(
    d: float, alpha: float, power: float
) -> None:
    result = sample_size_continuous(
        std_dev=2.0, mde=2.0 * d, mde_type="absolute", alpha=alpha, power=power
    )
    expected = TTestIndPower().solve_power(
        effect_size=d, alpha=alpha, power=power, ratio=1, alternative="two-sided"
    )
    assert result.per_variant_exact == pytest.approx(expected, rel=1e-6)


def test_continuous_t_test_n_gives_exactly_the_target_power_by_statsmodels() -> None:
    result = sample_size_continuous(std_dev=1.0, mde=0.2, mde_type="absolute")
    achieved = TTestIndPower().power(
        effect_size=0.2, nobs1=result.per_variant_exact, alpha=0.05, ratio=1
    )
    assert achieved == pytest.approx(0.8, abs=1e-12)


def test_continuous_z_method_equals_statsmodels_normalindpower() -> None:
    result = sample_size_continuous(std_dev=4.0, mde=0.5, mde_type="absolute", method="z")
    expected = NormalIndPower().solve_power(effect_size=0.125, alpha=0.05, power=0.8, ratio=1)
    assert result.per_variant_exact == pytest.approx(expected, rel=1e-6)


def test_continuous_relative_mde_is_a_share_of_the_baseline_mean() -> None:
    relative = sample_size_continuous(mean=50.0, std_dev=20.0, mde=0.04)
    absolute = sample_size_continuous(std_dev=20.0, mde=2.0, mde_type="absolute")
    assert relative == absolute


def test_huge_effects_never_plan_fewer_than_two_users_per_variant() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sample_size_continuous(std_dev=1.0, mde=10.0, mde_type="absolute")
    assert result.per_variant == 2


def test_smaller_effects_need_more_users() -> None:
    small = sample_size_binomial(baseline_rate=0.1, mde=0.02)
    large = sample_size_binomial(baseline_rate=0.1, mde=0.10)
    assert small.per_variant > large.per_variant


def test_a_target_rate_outside_zero_and_one_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"target rate would be 1\.2"):
        sample_size_binomial(baseline_rate=0.6, mde=1.0)


def test_a_baseline_rate_outside_zero_and_one_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'baseline_rate' must be strictly between"):
        sample_size_binomial(baseline_rate=1.0, mde=0.1)


def test_a_zero_effect_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"minimum detectable effect is zero"):
        sample_size_binomial(baseline_rate=0.1, mde=0.0)


def test_a_vanishingly_small_effect_is_rejected_instead_of_overflowing() -> None:
    with pytest.raises(StatsInputError, match=r"too small to plan for"):
        sample_size_continuous(mean=1.0, std_dev=1.0, mde=1e-200)


def test_power_not_above_alpha_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'power' \(0\.04\) must be greater"):
        sample_size_binomial(baseline_rate=0.1, mde=0.1, power=0.04)


def test_fewer_than_two_variants_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'variants' \(including control\)"):
        sample_size_binomial(baseline_rate=0.1, mde=0.1, variants=1)


def test_non_positive_daily_users_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'daily_users' must be greater than 0"):
        sample_size_binomial(baseline_rate=0.1, mde=0.1, daily_users=0)


def test_a_non_positive_standard_deviation_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'std_dev' must be greater than 0"):
        sample_size_continuous(mean=1.0, std_dev=0.0, mde=0.1)


def test_a_relative_mde_without_a_baseline_mean_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"needs the baseline 'mean'"):
        sample_size_continuous(std_dev=1.0, mde=0.1)


def test_an_unknown_correction_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'correction' must be 'none' or 'bonferroni'"):
        sample_size_binomial(baseline_rate=0.1, mde=0.1, correction="holm")  # type: ignore[arg-type]


def test_results_serialise_to_plain_dictionaries() -> None:
    data = sample_size_binomial(baseline_rate=0.1, mde=0.05, daily_users=1000).to_dict()
    assert data["per_variant"] * 2 == data["total"] and isinstance(data["days"], int)
