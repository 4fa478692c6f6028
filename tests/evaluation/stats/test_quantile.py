"""Quantile metrics: the variance from the bounds, the clustering design effect, when a
quantile cannot be tested, GrowthBook's own expected values, and a simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evaluation.stats import (
    GaussianPrior,
    StatsInputError,
    bayesian_test,
    frequentist_test,
    posterior,
    quantile_clustered_statistics,
    quantile_statistics,
    ratio_statistics,
)
from tests.evaluation.stats._generated import quantile_event_case, quantile_inputs

Z = stats.norm.ppf(0.975)

# GrowthBook's p90 case (tests/bayesian/test_tests.py, TestEffectBayesianABTest).
GB_CONTROL = quantile_statistics(
    n=11_054,
    n_star=11_054,
    nu=0.9,
    quantile=7.157987489967789,
    lower=7.098780136176828,
    upper=7.217194843758751,
)
GB_TREATMENT = quantile_statistics(
    n=10_861,
    n_star=10_861,
    nu=0.9,
    quantile=7.694499927525767,
    lower=7.64180598628119,
    upper=7.747193868770344,
)


def test_the_variance_comes_from_the_width_of_the_bounds() -> None:
    stats_ = quantile_statistics(
        n=2_500, n_star=2_000, nu=0.5, quantile=10.0, lower=9.0, upper=11.5
    )
    expected = 2_000 / 2_500 * 2_499 * (2.5 / (2 * Z)) ** 2
    assert stats_.variance == pytest.approx(expected, rel=1e-12)
    assert stats_.mean == stats_.unadjusted_mean == 10.0 and stats_.n == 2_500
    assert stats_.notes == ()


def test_the_variance_is_floored_from_100_values_on() -> None:
    tight = {"nu": 0.5, "quantile": 1.0, "lower": 1.0, "upper": 1.000001}
    assert quantile_statistics(n=99, n_star=99, **tight).variance < 1e-5
    assert quantile_statistics(n=100, n_star=100, **tight).variance == 1e-5


def test_the_standard_error_agrees_with_a_simulation_of_the_sample_quantile() -> None:
    rng = np.random.default_rng(5)
    nu, n = 0.9, 4_000
    values = rng.lognormal(1.0, 0.8, size=n)
    stats_ = quantile_statistics(**quantile_inputs(values, nu))
    simulated = np.quantile(rng.lognormal(1.0, 0.8, size=(2_000, n)), nu, axis=1)
    assert np.sqrt(stats_.variance / stats_.n) == pytest.approx(simulated.std(ddof=1), rel=0.08)


def test_growthbooks_p90_case_gives_growthbooks_absolute_posterior() -> None:
    difference = GB_TREATMENT.mean - GB_CONTROL.mean
    variance = GB_CONTROL.standard_error_squared + GB_TREATMENT.standard_error_squared
    assert difference == 0.5365124375579775
    low, high = stats.norm.ppf([0.025, 0.975], difference, np.sqrt(variance))
    assert (low, high) == pytest.approx((0.45725595891154214, 0.6157689162044129), rel=1e-12)
    # gbstats rescales a relative prior to the absolute scale with the control quantile.
    for prior_variance, expected_mean, expected_low in (
        (1e6, 0.536512437540855, 0.4572559588956844),
        (1.0, 0.536495315442269, 0.4572401014910488),
    ):
        prior = GaussianPrior(mean=0.0, variance=prior_variance * GB_CONTROL.mean**2)
        mean, var = posterior(data_mean=difference, data_variance=variance, prior=prior)
        assert mean == pytest.approx(expected_mean, rel=1e-12)
        assert stats.norm.ppf(0.025, mean, np.sqrt(var)) == pytest.approx(expected_low, rel=1e-12)


@pytest.mark.parametrize(
    "prior_variance,expected,ci",
    [
        (1e6, 0.07495297222736319, (0.06341005842481906, 0.08649588602990732)),
        (1.0, 0.07495037261804469, (0.06340765898986044, 0.08649308624622894)),
    ],
)
def test_growthbooks_p90_case_gives_growthbooks_relative_posterior(
    prior_variance: float, expected: float, ci: tuple[float, float]
) -> None:
    result = bayesian_test(
        control=GB_CONTROL,
        treatment=GB_TREATMENT,
        prior=GaussianPrior(mean=0.0, variance=prior_variance),
    )
    assert result.posterior_mean == pytest.approx(expected, rel=1e-12)
    assert (result.cred_low, result.cred_high) == pytest.approx(ci, rel=1e-12)


@pytest.mark.parametrize("nu,boundary", [(0.99, 380), (0.01, 380), (0.5, 3), (0.9, 34)])
def test_a_quantile_needs_enough_values_for_its_rank_interval(nu: float, boundary: int) -> None:
    # n must exceed z²·ν/(1 − ν) and z²·(1 − ν)/ν (p99: 380 values are too few, 381 do).
    assert boundary < max(Z**2 * nu / (1 - nu), Z**2 * (1 - nu) / nu) < boundary + 1
    bounds = {"nu": nu, "quantile": 5.0, "lower": 4.0, "upper": 6.0}
    few = quantile_statistics(n=boundary, n_star=boundary, **bounds)
    enough = quantile_statistics(n=boundary + 1, n_star=boundary + 1, **bounds)
    assert [n.code for n in few.notes] == ["quantile_too_few_values"]
    assert enough.notes == ()
    declined = frequentist_test(control=few, treatment=enough)
    assert declined.relative.estimate is None
    assert [n.code for n in declined.notes] == ["quantile_too_few_values"]


def test_coinciding_bounds_make_the_quantile_untestable() -> None:
    flat = quantile_statistics(n=50_000, n_star=50_000, nu=0.5, quantile=3.0, lower=3.0, upper=3.0)
    assert [n.code for n in flat.notes] == ["quantile_zero_variance"]


def test_the_clustered_variance_is_the_iid_one_times_the_design_effect() -> None:
    case, _ = quantile_event_case(3)
    iid = quantile_statistics(
        **{k: case[k] for k in ("n", "n_star", "nu", "quantile", "lower", "upper")}
    )
    share = ratio_statistics(
        users=case["users"],
        numerator_sum=case["numerator_sum"],
        numerator_sum_squares=case["numerator_sum_squares"],
        denominator_sum=case["denominator_sum"],
        denominator_sum_squares=case["denominator_sum_squares"],
        sum_products=case["sum_products"],
    )
    clustered = quantile_clustered_statistics(**case)
    nu, n = case["nu"], case["n"]
    design_effect = (share.variance / case["users"]) / (nu * (1 - nu) / n)
    assert clustered.variance == pytest.approx(iid.variance * design_effect, rel=1e-12)
    assert clustered.mean == iid.mean and clustered.n == n


def clustered_case(events_per_user: np.ndarray, values: np.ndarray, nu: float) -> dict:
    owner = np.repeat(np.arange(events_per_user.size), events_per_user)
    inputs = quantile_inputs(values, nu)
    below = np.bincount(owner, weights=values <= inputs["quantile"], minlength=owner.max() + 1)
    counts = events_per_user.astype(float)
    return {
        **inputs,
        "users": int(events_per_user.size),
        "numerator_sum": float(below.sum()),
        "numerator_sum_squares": float((below**2).sum()),
        "denominator_sum": float(counts.sum()),
        "denominator_sum_squares": float((counts**2).sum()),
        "sum_products": float((below * counts).sum()),
    }


def test_one_event_per_user_has_a_design_effect_of_about_one() -> None:
    rng = np.random.default_rng(8)
    values = rng.lognormal(0.0, 1.0, 5_000)
    case = clustered_case(np.ones(5_000, dtype=int), values, 0.75)
    iid = quantile_statistics(
        **{k: case[k] for k in ("n", "n_star", "nu", "quantile", "lower", "upper")}
    )
    assert quantile_clustered_statistics(**case).variance == pytest.approx(iid.variance, rel=0.01)


def test_users_who_repeat_similar_values_inflate_the_variance() -> None:
    rng = np.random.default_rng(9)
    events = rng.poisson(4.0, 2_000) + 1
    taste = np.repeat(rng.lognormal(0.0, 1.0, 2_000), events)
    values = taste * rng.lognormal(0.0, 0.1, taste.size)
    case = clustered_case(events, values, 0.5)
    iid = quantile_statistics(
        **{k: case[k] for k in ("n", "n_star", "nu", "quantile", "lower", "upper")}
    )
    assert quantile_clustered_statistics(**case).variance > 2 * iid.variance


def test_a_per_event_quantile_from_one_user_is_not_tested() -> None:
    case = clustered_case(np.array([500]), np.random.default_rng(1).normal(size=500), 0.5)
    stats_ = quantile_clustered_statistics(**case)
    assert [n.code for n in stats_.notes] == ["too_few_users"]


@pytest.mark.parametrize(
    "change,message",
    [
        ({"nu": 1.0}, r"'nu'"),
        ({"nu": 0.0}, r"'nu'"),
        ({"lower": 7.0}, r"'lower' \(7.0\) cannot exceed 'upper'"),
        ({"n": 0}, r"'n' must be at least 1"),
        ({"n_star": -3}, r"'n_star' cannot be negative"),
        ({"quantile": float("nan")}, r"'quantile' must be a finite number"),
    ],
)
def test_invalid_quantile_inputs_are_rejected(change: dict, message: str) -> None:
    inputs = {"n": 500, "n_star": 500, "nu": 0.5, "quantile": 5.0, "lower": 4.0, "upper": 6.0}
    with pytest.raises(StatsInputError, match=message):
        quantile_statistics(**{**inputs, **change})


def test_a_per_event_quantile_needs_events() -> None:
    case, _ = quantile_event_case(0)
    with pytest.raises(StatsInputError, match=r"'denominator_sum'"):
        quantile_clustered_statistics(**{**case, "denominator_sum": 0.0})
