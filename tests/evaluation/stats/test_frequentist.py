"""The Welch t-test on absolute differences and relative lifts, checked against SciPy and
an independent numerical delta method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evaluation.stats import (
    StatsInputError,
    VariantStatistics,
    binomial_statistics,
    continuous_statistics,
    frequentist_test,
    relative_lift_variance,
    welch_dof,
)

TOL = 1e-6


def raw_samples(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 3.0, size=400), rng.gamma(2.2, 3.0, size=350)


def stats_of(values: np.ndarray) -> VariantStatistics:
    return continuous_statistics(
        users=values.size, sum=float(values.sum()), sum_squares=float((values**2).sum())
    )


def test_binomial_variance_is_p_times_one_minus_p() -> None:
    s = binomial_statistics(users=200, conversions=30)
    assert s.mean == pytest.approx(0.15, abs=1e-15)
    assert s.variance == pytest.approx(0.15 * 0.85, abs=1e-15)


def test_continuous_variance_uses_n_minus_one() -> None:
    values = np.array([1.0, 4.0, 4.5, 10.0, -2.0])
    s = stats_of(values)
    assert s.mean == pytest.approx(values.mean(), abs=1e-12)
    assert s.variance == pytest.approx(values.var(ddof=1), abs=1e-12)


def test_absolute_difference_matches_scipy_welch_ttest_on_raw_data() -> None:
    control, treatment = raw_samples()
    result = frequentist_test(control=stats_of(control), treatment=stats_of(treatment))
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert result.absolute.estimate == pytest.approx(treatment.mean() - control.mean(), abs=TOL)
    assert result.absolute.p_value == pytest.approx(reference.pvalue, abs=TOL)
    assert result.absolute.ci_low == pytest.approx(interval.low, abs=TOL)
    assert result.absolute.ci_high == pytest.approx(interval.high, abs=TOL)


def test_welch_degrees_of_freedom_match_scipy() -> None:
    control, treatment = raw_samples()
    result = frequentist_test(control=stats_of(control), treatment=stats_of(treatment))
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    assert result.dof == pytest.approx(reference.df, abs=TOL)


def test_binomial_absolute_difference_matches_scipy_ttest_from_stats() -> None:
    control = binomial_statistics(users=5_000, conversions=410)
    treatment = binomial_statistics(users=4_900, conversions=455)
    result = frequentist_test(control=control, treatment=treatment)
    reference = stats.ttest_ind_from_stats(
        treatment.mean, math.sqrt(treatment.variance), treatment.n,
        control.mean, math.sqrt(control.variance), control.n,
        equal_var=False,
    )  # fmt: skip
    statistic = result.absolute.estimate / result.absolute.std_error
    assert statistic == pytest.approx(reference.statistic, abs=TOL)
    assert result.absolute.p_value == pytest.approx(reference.pvalue, abs=TOL)


def test_confidence_level_follows_alpha() -> None:
    control, treatment = raw_samples(3)
    result = frequentist_test(control=stats_of(control), treatment=stats_of(treatment), alpha=0.1)
    interval = stats.ttest_ind(treatment, control, equal_var=False).confidence_interval(0.9)
    assert (result.absolute.ci_low, result.absolute.ci_high) == pytest.approx(
        (interval.low, interval.high), abs=TOL
    )


def test_relative_lift_is_treatment_mean_over_control_mean_minus_one() -> None:
    control = binomial_statistics(users=1_000, conversions=100)
    treatment = binomial_statistics(users=1_000, conversions=130)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.relative.estimate == pytest.approx(0.13 / 0.10 - 1, abs=1e-12)


def test_relative_lift_variance_matches_a_numerical_delta_method() -> None:
    # Independent check: gradient of g(m_c, m_t) = m_t/m_c − 1 by central differences,
    # then Var ≈ ∇gᵀ diag(v_c/n_c, v_t/n_t) ∇g.
    control, treatment = raw_samples(11)
    c, t = stats_of(control), stats_of(treatment)

    def g(mc: float, mt: float) -> float:
        return mt / mc - 1.0

    hc, ht = 1e-6 * c.mean, 1e-6 * t.mean
    d_mc = (g(c.mean + hc, t.mean) - g(c.mean - hc, t.mean)) / (2 * hc)
    d_mt = (g(c.mean, t.mean + ht) - g(c.mean, t.mean - ht)) / (2 * ht)
    numeric = d_mc**2 * c.variance / c.n + d_mt**2 * t.variance / t.n
    assert relative_lift_variance(control=c, treatment=t) == pytest.approx(numeric, rel=TOL)


def test_relative_lift_standard_error_agrees_with_monte_carlo() -> None:
    # The delta method is an approximation: with large samples the spread of simulated
    # ratios of sample means must match it to within Monte-Carlo noise (~0.5% here).
    control = binomial_statistics(users=20_000, conversions=2_000)
    treatment = binomial_statistics(users=20_000, conversions=2_300)
    rng = np.random.default_rng(2024)
    draws = 200_000
    pc = rng.binomial(control.n, control.mean, size=draws) / control.n
    pt = rng.binomial(treatment.n, treatment.mean, size=draws) / treatment.n
    simulated = np.std(pt / pc - 1.0, ddof=1)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.relative.std_error == pytest.approx(simulated, rel=0.01)


def test_relative_p_value_and_interval_use_student_t_with_welch_df() -> None:
    control, treatment = raw_samples(5)
    c, t = stats_of(control), stats_of(treatment)
    result = frequentist_test(control=c, treatment=t)
    lift = t.mean / c.mean - 1
    se = math.sqrt(relative_lift_variance(control=c, treatment=t))
    dof = stats.ttest_ind(treatment, control, equal_var=False).df
    low, high = stats.t.interval(0.95, dof, loc=lift, scale=se)
    assert result.relative.p_value == pytest.approx(2 * stats.t.sf(abs(lift / se), dof), abs=TOL)
    assert (result.relative.ci_low, result.relative.ci_high) == pytest.approx((low, high), abs=TOL)


def test_tiny_p_values_do_not_round_to_zero() -> None:
    # z ≈ 9.4 → p ≈ 1e-20, which 2·(1 − cdf) would round to exactly 0.
    control = binomial_statistics(users=1_000_000, conversions=100_000)
    treatment = binomial_statistics(users=1_000_000, conversions=104_000)
    result = frequentist_test(control=control, treatment=treatment)
    statistic = result.absolute.estimate / result.absolute.std_error
    assert result.absolute.p_value > 0
    assert result.absolute.p_value == pytest.approx(2 * stats.t.sf(statistic, result.dof), rel=1e-9)


def test_zero_control_mean_leaves_relative_lift_undefined_with_a_reason() -> None:
    # A control that averages 0 but varies (e.g. net refunds), so only the baseline is odd.
    control = continuous_statistics(users=500, sum=0.0, sum_squares=900.0)
    treatment = continuous_statistics(users=500, sum=700.0, sum_squares=2_000.0)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.relative.estimate is None and result.relative.p_value is None
    assert result.absolute.estimate == pytest.approx(7 / 5)
    assert result.absolute.p_value is not None
    assert [n.code for n in result.notes] == ["baseline_zero"]


def test_a_zero_conversion_control_is_not_tested_but_keeps_its_estimate() -> None:
    control = binomial_statistics(users=500, conversions=0)
    treatment = binomial_statistics(users=500, conversions=7)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.absolute.estimate == pytest.approx(7 / 500)
    assert result.absolute.p_value is None and result.absolute.ci_low is None
    assert [n.code for n in result.notes] == ["baseline_zero", "zero_variance_arm"]


def test_one_variant_without_variance_is_not_called_significant() -> None:
    # 400/400 against 396/400: Welch would give p ≈ 0.045 from the treatment's spread
    # alone, while Fisher's exact test gives p ≈ 0.124.
    control = binomial_statistics(users=400, conversions=400)
    treatment = binomial_statistics(users=400, conversions=396)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.relative.estimate == pytest.approx(-0.01)
    assert result.absolute.estimate == pytest.approx(-0.01)
    for effect in (result.relative, result.absolute):
        assert effect.p_value is None and effect.std_error is None
        assert effect.ci_low is None and effect.ci_high is None
    assert [n.code for n in result.notes] == ["zero_variance_arm"]
    assert "control" in result.notes[0].message


def test_a_constant_treatment_is_named_in_the_note() -> None:
    control = continuous_statistics(users=50, sum=100.0, sum_squares=400.0)
    treatment = continuous_statistics(users=50, sum=150.0, sum_squares=450.0)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.absolute.estimate == pytest.approx(1.0)
    assert result.absolute.p_value is None
    assert "treatment" in result.notes[-1].message


def test_zero_variance_in_both_variants_leaves_everything_undefined() -> None:
    control = binomial_statistics(users=500, conversions=0)
    treatment = binomial_statistics(users=500, conversions=0)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.absolute.p_value is None and result.dof is None
    assert [n.code for n in result.notes] == ["zero_variance"]


def test_a_variant_with_one_user_cannot_be_tested() -> None:
    control = continuous_statistics(users=1, sum=3.0, sum_squares=9.0)
    treatment = continuous_statistics(users=50, sum=100.0, sum_squares=400.0)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.absolute.estimate is None
    assert [n.code for n in result.notes] == ["too_few_users"]


def test_welch_dof_is_none_when_both_variances_are_zero() -> None:
    flat = continuous_statistics(users=10, sum=10.0, sum_squares=10.0)
    assert welch_dof(control=flat, treatment=flat) is None


def test_negative_control_mean_keeps_the_lift_sign_of_the_difference() -> None:
    control = continuous_statistics(users=100, sum=-1000.0, sum_squares=20_000.0)
    treatment = continuous_statistics(users=100, sum=-500.0, sum_squares=12_500.0)
    result = frequentist_test(control=control, treatment=treatment)
    assert result.absolute.estimate == pytest.approx(5.0)
    assert result.relative.estimate == pytest.approx(0.5)


def test_an_invalid_alpha_is_rejected() -> None:
    s = binomial_statistics(users=10, conversions=5)
    with pytest.raises(StatsInputError, match=r"'alpha'"):
        frequentist_test(control=s, treatment=s, alpha=1.5)


def test_results_serialise_to_plain_dictionaries() -> None:
    control, treatment = raw_samples()
    data = frequentist_test(control=stats_of(control), treatment=stats_of(treatment)).to_dict()
    assert set(data) == {"relative", "absolute", "dof", "alpha", "notes"}
    assert set(data["relative"]) == {"estimate", "std_error", "ci_low", "ci_high", "p_value"}
