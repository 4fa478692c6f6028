"""CUPED: θ from pooled sums and adjusted statistics, checked against per-user data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluation.stats import CupedInput, analyze, cuped_adjust, cuped_theta, frequentist_test
from tests.evaluation.stats._helpers import TWO_ARMS, cuped_sums, sums

TOL = 1e-6


def per_user_data(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_c, y_c, x_t, y_t): pre-period x strongly predicts in-experiment y."""
    rng = np.random.default_rng(seed)
    x_c = rng.gamma(3.0, 2.0, size=600)
    x_t = rng.gamma(3.0, 2.0, size=650)
    y_c = 0.8 * x_c + rng.normal(1.0, 1.5, size=x_c.size)
    y_t = 0.8 * x_t + rng.normal(1.4, 1.5, size=x_t.size)
    return x_c, y_c, x_t, y_t


def cuped_input(y: np.ndarray, x: np.ndarray, binomial: bool = False) -> CupedInput:
    return CupedInput(
        n=y.size,
        sum=float(y.sum()),
        sum_squares=float((y**2).sum()),
        covariate_sum=float(x.sum()),
        covariate_sum_squares=float((x**2).sum()),
        covariate_sum_products=float((x * y).sum()),
        binomial=binomial,
    )


def reference_theta(x_c: np.ndarray, y_c: np.ndarray, x_t: np.ndarray, y_t: np.ndarray) -> float:
    x, y = np.concatenate([x_c, x_t]), np.concatenate([y_c, y_t])
    return float(np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1))


def test_theta_is_the_pooled_covariance_over_the_pooled_covariate_variance() -> None:
    x_c, y_c, x_t, y_t = per_user_data()
    theta = cuped_theta(control=cuped_input(y_c, x_c), treatment=cuped_input(y_t, x_t))
    assert theta == pytest.approx(reference_theta(x_c, y_c, x_t, y_t), abs=1e-9)


def test_theta_equals_the_pooled_ols_slope_from_statsmodels() -> None:
    x_c, y_c, x_t, y_t = per_user_data(8)
    theta = cuped_theta(control=cuped_input(y_c, x_c), treatment=cuped_input(y_t, x_t))
    x, y = np.concatenate([x_c, x_t]), np.concatenate([y_c, y_t])
    slope = sm.OLS(y, sm.add_constant(x)).fit().params[1]
    assert theta == pytest.approx(slope, abs=1e-9)


def test_adjusted_means_and_variances_equal_those_of_y_minus_theta_x() -> None:
    x_c, y_c, x_t, y_t = per_user_data()
    result = cuped_adjust(control=cuped_input(y_c, x_c), treatment=cuped_input(y_t, x_t))
    z_c, z_t = y_c - result.theta * x_c, y_t - result.theta * x_t
    assert result.control.mean == pytest.approx(z_c.mean(), abs=1e-9)
    assert result.treatment.mean == pytest.approx(z_t.mean(), abs=1e-9)
    assert result.control.variance == pytest.approx(z_c.var(ddof=1), abs=1e-9)
    assert result.treatment.variance == pytest.approx(z_t.var(ddof=1), abs=1e-9)


def test_adjusted_absolute_difference_matches_a_welch_test_on_adjusted_values() -> None:
    x_c, y_c, x_t, y_t = per_user_data()
    theta = reference_theta(x_c, y_c, x_t, y_t)
    adjusted = cuped_adjust(control=cuped_input(y_c, x_c), treatment=cuped_input(y_t, x_t))
    result = frequentist_test(control=adjusted.control, treatment=adjusted.treatment)
    reference = stats.ttest_ind(y_t - theta * x_t, y_c - theta * x_c, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert result.absolute.p_value == pytest.approx(reference.pvalue, abs=TOL)
    assert result.dof == pytest.approx(reference.df, abs=TOL)
    assert (result.absolute.ci_low, result.absolute.ci_high) == pytest.approx(
        (interval.low, interval.high), abs=TOL
    )


def test_adjusted_relative_lift_divides_by_the_unadjusted_control_mean() -> None:
    x_c, y_c, x_t, y_t = per_user_data()
    theta = reference_theta(x_c, y_c, x_t, y_t)
    z_c, z_t = y_c - theta * x_c, y_t - theta * x_t
    lift = (z_t.mean() - z_c.mean()) / y_c.mean()
    variance = z_t.var(ddof=1) / (z_t.size * y_c.mean() ** 2) + z_c.var(
        ddof=1
    ) * y_t.mean() ** 2 / (z_c.size * y_c.mean() ** 4)
    adjusted = cuped_adjust(control=cuped_input(y_c, x_c), treatment=cuped_input(y_t, x_t))
    result = frequentist_test(control=adjusted.control, treatment=adjusted.treatment)
    assert result.relative.estimate == pytest.approx(lift, abs=TOL)
    assert result.relative.std_error == pytest.approx(math.sqrt(variance), abs=TOL)


def test_cuped_narrows_the_interval_when_the_covariate_predicts_the_metric() -> None:
    x_c, y_c, x_t, y_t = per_user_data()
    variants = {"control": (y_c, x_c), "treatment": (y_t, x_t)}
    kwargs = {
        "variants": TWO_ARMS,
        "control": "control",
        "metrics": [{"key": "revenue", "type": "continuous"}],
        "results": {"revenue": {k: cuped_sums(y, x) for k, (y, x) in variants.items()}},
    }
    plain = analyze(**kwargs)["metrics"]["revenue"]["treatment"]
    adjusted = analyze(**kwargs, cuped=True)["metrics"]["revenue"]["treatment"]
    assert adjusted["ci_high"] - adjusted["ci_low"] < 0.5 * (plain["ci_high"] - plain["ci_low"])


def test_analyze_reports_observed_means_under_cuped() -> None:
    x_c, y_c, x_t, y_t = per_user_data()
    result = analyze(
        variants=TWO_ARMS,
        control="control",
        metrics=[{"key": "revenue", "type": "continuous"}],
        results={"revenue": {"control": cuped_sums(y_c, x_c), "treatment": cuped_sums(y_t, x_t)}},
        cuped=True,
    )["metrics"]["revenue"]["treatment"]
    assert result["control_mean"] == pytest.approx(y_c.mean(), abs=1e-12)
    assert result["treatment_mean"] == pytest.approx(y_t.mean(), abs=1e-12)


def test_a_constant_covariate_falls_back_to_unadjusted_results_with_a_warning() -> None:
    _, y_c, _, y_t = per_user_data()
    ones_c, ones_t = np.ones_like(y_c), np.ones_like(y_t)
    results = {
        "revenue": {"control": cuped_sums(y_c, ones_c), "treatment": cuped_sums(y_t, ones_t)}
    }
    kwargs = {
        "variants": TWO_ARMS,
        "control": "control",
        "metrics": [{"key": "revenue", "type": "continuous"}],
    }
    adjusted = analyze(**kwargs, results=results, cuped=True)
    plain = analyze(**kwargs, results={"revenue": {"control": sums(y_c), "treatment": sums(y_t)}})
    assert adjusted["metrics"]["revenue"]["treatment"]["lift"] == pytest.approx(
        plain["metrics"]["revenue"]["treatment"]["lift"], abs=1e-12
    )
    assert [w["code"] for w in adjusted["warnings"]] == ["cuped_no_effect"]


def test_requesting_cuped_without_a_covariate_warns_and_analyses_unadjusted() -> None:
    _, y_c, _, y_t = per_user_data()
    result = analyze(
        variants=TWO_ARMS,
        control="control",
        metrics=[{"key": "revenue", "type": "continuous"}],
        results={"revenue": {"control": sums(y_c), "treatment": sums(y_t)}},
        cuped=True,
    )
    assert [w["code"] for w in result["warnings"]] == ["cuped_unavailable"]
    assert result["metrics"]["revenue"]["treatment"]["lift"] == pytest.approx(
        y_t.mean() / y_c.mean() - 1, abs=1e-12
    )


def test_binomial_cuped_uses_the_bernoulli_variance_for_the_metric() -> None:
    rng = np.random.default_rng(5)
    x_c, x_t = rng.poisson(2.0, 3000).astype(float), rng.poisson(2.0, 3000).astype(float)
    y_c = (rng.uniform(size=3000) < 0.05 + 0.03 * x_c).astype(float)
    y_t = (rng.uniform(size=3000) < 0.06 + 0.03 * x_t).astype(float)
    result = cuped_adjust(
        control=cuped_input(y_c, x_c, binomial=True), treatment=cuped_input(y_t, x_t, True)
    )
    p = y_c.mean()
    expected = (
        p * (1 - p)
        + result.theta**2 * x_c.var(ddof=1)
        - 2 * result.theta * np.cov(x_c, y_c, ddof=1)[0, 1]
    )
    assert result.control.variance == pytest.approx(expected, abs=1e-12)
