"""The Gaussian Bayesian model of the relative lift, checked by numerical integration."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, stats

from evaluation.stats import (
    GaussianPrior,
    StatsInputError,
    bayesian_test,
    binomial_statistics,
    continuous_statistics,
    frequentist_test,
    normal_risk,
    posterior,
    relative_lift_variance,
)

TOL = 1e-6
CONTROL = binomial_statistics(users=8_000, conversions=800)
TREATMENT = binomial_statistics(users=8_200, conversions=880)


def integrate_normal(function: Callable[[float], float], mean: float, std: float) -> float:
    """∫ function(x)·φ((x − mean)/std)/std dx over ±40 sd, split at 0 for the kink."""
    low, high = mean - 40 * std, mean + 40 * std
    density = stats.norm(mean, std).pdf
    points = [0.0] if low < 0 < high else None
    value, _ = integrate.quad(
        lambda x: function(x) * density(x), low, high, points=points, limit=200,
        epsabs=1e-13, epsrel=1e-12,
    )  # fmt: skip
    return value


@pytest.mark.parametrize("mean,std", [(0.05, 0.03), (-0.02, 0.01), (0.0, 0.2), (0.3, 0.01)])
def test_expected_losses_equal_the_integrals_of_the_normal_posterior(
    mean: float, std: float
) -> None:
    loss_control, loss_treatment = normal_risk(mean=mean, std=std)
    assert loss_control == pytest.approx(
        integrate_normal(lambda x: max(x, 0.0), mean, std), abs=1e-9
    )
    assert loss_treatment == pytest.approx(
        integrate_normal(lambda x: max(-x, 0.0), mean, std), abs=1e-9
    )


def test_flat_prior_posterior_is_the_observed_lift_and_its_delta_variance() -> None:
    result = bayesian_test(control=CONTROL, treatment=TREATMENT)
    lift = TREATMENT.mean / CONTROL.mean - 1
    variance = relative_lift_variance(control=CONTROL, treatment=TREATMENT)
    assert result.posterior_mean == pytest.approx(lift, abs=1e-12)
    assert result.posterior_std == pytest.approx(math.sqrt(variance), abs=1e-12)


def test_chance_to_win_is_the_posterior_mass_above_zero() -> None:
    result = bayesian_test(control=CONTROL, treatment=TREATMENT)
    mass = integrate_normal(lambda x: float(x > 0), result.posterior_mean, result.posterior_std)
    assert result.chance_to_win == pytest.approx(mass, abs=TOL)


def test_chance_to_win_and_chance_to_lose_sum_to_one() -> None:
    result = bayesian_test(control=CONTROL, treatment=TREATMENT)
    assert result.chance_to_win + result.chance_to_lose == pytest.approx(1.0, abs=1e-12)


def test_credible_interval_is_the_central_posterior_interval() -> None:
    result = bayesian_test(control=CONTROL, treatment=TREATMENT, alpha=0.1)
    low, high = stats.norm.interval(0.9, result.posterior_mean, result.posterior_std)
    assert (result.cred_low, result.cred_high) == pytest.approx((low, high), abs=TOL)


def test_expected_losses_use_the_posterior_of_the_lift() -> None:
    result = bayesian_test(control=CONTROL, treatment=TREATMENT)
    mean, std = result.posterior_mean, result.posterior_std
    assert result.expected_loss == pytest.approx(
        integrate_normal(lambda x: max(-x, 0.0), mean, std), abs=1e-9
    )
    assert result.expected_loss_control == pytest.approx(
        integrate_normal(lambda x: max(x, 0.0), mean, std), abs=1e-9
    )


def test_a_proper_prior_gives_the_numerically_integrated_posterior() -> None:
    # Independent check of precision weighting: normalise likelihood × prior on a grid
    # of θ by quadrature and take its mean and variance.
    prior = GaussianPrior(mean=0.02, variance=0.05**2)
    data_mean = TREATMENT.mean / CONTROL.mean - 1
    data_sd = math.sqrt(relative_lift_variance(control=CONTROL, treatment=TREATMENT))

    def unnormalised(theta: float) -> float:
        return stats.norm.pdf(data_mean, theta, data_sd) * stats.norm.pdf(
            theta, prior.mean, math.sqrt(prior.variance)
        )

    bounds = (-1.0, 1.0)
    options = {"epsabs": 1e-14, "epsrel": 1e-12, "limit": 200}
    z, _ = integrate.quad(unnormalised, *bounds, **options)
    m1, _ = integrate.quad(lambda t: t * unnormalised(t), *bounds, **options)
    m2, _ = integrate.quad(lambda t: t * t * unnormalised(t), *bounds, **options)
    mean, variance = m1 / z, m2 / z - (m1 / z) ** 2

    result = bayesian_test(control=CONTROL, treatment=TREATMENT, prior=prior)
    assert result.posterior_mean == pytest.approx(mean, abs=1e-8)
    assert result.posterior_std**2 == pytest.approx(variance, rel=1e-6)


def test_a_proper_prior_shrinks_the_lift_towards_the_prior_mean() -> None:
    flat = bayesian_test(control=CONTROL, treatment=TREATMENT)
    shrunk = bayesian_test(
        control=CONTROL, treatment=TREATMENT, prior=GaussianPrior(mean=0.0, variance=0.01)
    )
    assert 0 < shrunk.posterior_mean < flat.posterior_mean
    assert shrunk.posterior_std < flat.posterior_std


def test_posterior_without_prior_returns_the_data_unchanged() -> None:
    assert posterior(data_mean=0.1, data_variance=0.04) == (0.1, 0.04)


def test_decrease_is_good_metrics_count_a_drop_as_a_win() -> None:
    up = bayesian_test(control=CONTROL, treatment=TREATMENT, direction="increase")
    down = bayesian_test(control=CONTROL, treatment=TREATMENT, direction="decrease")
    assert down.chance_to_win == pytest.approx(up.chance_to_lose, abs=1e-15)
    assert down.expected_loss == up.expected_loss_control
    assert down.expected_loss_control == up.expected_loss


def test_credible_interval_matches_the_confidence_interval_closely_for_large_samples() -> None:
    # Flat prior + normal approximation versus Student t with ~16,000 df: nearly identical.
    bayes = bayesian_test(control=CONTROL, treatment=TREATMENT)
    freq = frequentist_test(control=CONTROL, treatment=TREATMENT)
    assert bayes.cred_low == pytest.approx(freq.relative.ci_low, abs=1e-4)


def test_zero_control_mean_leaves_the_posterior_undefined_with_a_reason() -> None:
    result = bayesian_test(
        control=binomial_statistics(users=100, conversions=0),
        treatment=binomial_statistics(users=100, conversions=4),
    )
    assert result.chance_to_win is None and result.expected_loss is None
    assert [n.code for n in result.notes] == ["baseline_zero"]


def test_zero_lift_variance_leaves_the_posterior_undefined_with_a_reason() -> None:
    result = bayesian_test(
        control=binomial_statistics(users=100, conversions=5),
        treatment=binomial_statistics(users=100, conversions=0),
    )
    assert result.chance_to_win is None
    assert [n.code for n in result.notes] == ["zero_variance"]


def test_a_variant_with_a_100_percent_conversion_rate_gets_no_posterior() -> None:
    result = bayesian_test(
        control=binomial_statistics(users=400, conversions=400),
        treatment=binomial_statistics(users=400, conversions=396),
    )
    assert result.chance_to_win is None and result.cred_low is None
    assert [n.code for n in result.notes] == ["zero_variance_arm"]


def test_one_user_variants_are_not_analysed() -> None:
    one = continuous_statistics(users=1, sum=2.0, sum_squares=4.0)
    result = bayesian_test(control=one, treatment=one)
    assert [n.code for n in result.notes] == ["too_few_users"]


def test_an_unknown_direction_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'direction'"):
        bayesian_test(control=CONTROL, treatment=TREATMENT, direction="up")  # type: ignore[arg-type]


def test_a_non_numeric_prior_mean_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"Prior 'mean' must be a number"):
        GaussianPrior(mean="0", variance=1.0)  # type: ignore[arg-type]


def test_normal_risk_needs_a_positive_standard_deviation() -> None:
    with pytest.raises(StatsInputError, match=r"'std' must be positive"):
        normal_risk(mean=0.0, std=0.0)


def test_expected_losses_stay_finite_and_non_negative_far_in_the_tails() -> None:
    loss_control, loss_treatment = normal_risk(mean=-50.0, std=1.0)
    assert loss_control == pytest.approx(0.0, abs=1e-300)
    assert loss_treatment == pytest.approx(50.0, rel=1e-12)
    assert np.isfinite([loss_control, loss_treatment]).all()
