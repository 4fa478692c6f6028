"""Ratio, quantile and sequential statistics against GrowthBook's gbstats 0.8.0 on many
generated cases (seeded per-user data), to 1e-6 relative.

Like `test_gbstats_reference`, these skip unless gbstats can be imported (see
`_helpers.load_gbstats`). CUPED on ratio metrics is not in gbstats 0.8.0; it is checked
against GrowthBook's own expected values and the raw data in `test_ratio`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from evaluation.stats import (
    CupedInput,
    GaussianPrior,
    VariantStatistics,
    bayesian_test,
    binomial_statistics,
    continuous_statistics,
    cuped_adjust,
    frequentist_test,
    quantile_clustered_statistics,
    quantile_statistics,
    ratio_statistics,
    sequential_test,
)
from tests.evaluation.stats._generated import (
    quantile_event_case,
    quantile_unit_case,
    ratio_arms,
)
from tests.evaluation.stats._helpers import load_gbstats

gbstats = load_gbstats()
pytestmark = pytest.mark.skipif(gbstats is None, reason="gbstats 0.8.0 is not importable")

if gbstats is not None:
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
    from gbstats.bayesian.tests import GaussianPrior as GbPrior
    from gbstats.frequentist.tests import (
        FrequentistConfig,
        SequentialConfig,
        SequentialTwoSidedTTest,
        TwoSidedTTest,
    )
    from gbstats.models.statistics import (
        ProportionStatistic,
        QuantileClusteredStatistic,
        QuantileStatistic,
        RatioStatistic,
        RegressionAdjustedStatistic,
        SampleMeanStatistic,
    )

REL = 1e-6
#: Only for values that are 0 up to rounding (a bound that happens to sit at 0).
ABS = 1e-12
SEEDS = range(40)
Pair = tuple[VariantStatistics, VariantStatistics]


def close(ours: float | None, theirs: float) -> bool:
    return ours is not None and ours == pytest.approx(float(theirs), rel=REL, abs=ABS)


# Builders: one generated case → (our pair, gbstats' pair).


def ratio_pair(seed: int) -> tuple[Pair, tuple[Any, Any]]:
    ours, theirs = [], []
    for arm in ratio_arms(seed):
        sums = arm.sums()
        ours.append(ratio_statistics(**sums))
        n = sums["users"]
        numerator = (
            ProportionStatistic(n=n, sum=sums["numerator_sum"])
            if arm.m_binomial
            else SampleMeanStatistic(
                n=n, sum=sums["numerator_sum"], sum_squares=sums["numerator_sum_squares"]
            )
        )
        denominator = SampleMeanStatistic(
            n=n, sum=sums["denominator_sum"], sum_squares=sums["denominator_sum_squares"]
        )
        theirs.append(
            RatioStatistic(
                n=n,
                m_statistic=numerator,
                d_statistic=denominator,
                m_d_sum_of_products=sums["sum_products"],
            )
        )
    return (ours[0], ours[1]), (theirs[0], theirs[1])


QUANTILE_FIELDS = ("n", "n_star", "nu", "quantile", "lower", "upper")


def quantile_pair(seed: int) -> tuple[Pair, tuple[Any, Any]]:
    ours, theirs = [], []
    for case in quantile_unit_case(seed):
        ours.append(quantile_statistics(**{k: case[k] for k in QUANTILE_FIELDS}))
        theirs.append(
            QuantileStatistic(
                n=case["n"],
                n_star=case["n_star"],
                nu=case["nu"],
                quantile_hat=case["quantile"],
                quantile_lower=case["lower"],
                quantile_upper=case["upper"],
            )
        )
    return (ours[0], ours[1]), (theirs[0], theirs[1])


def clustered_quantile_pair(seed: int) -> tuple[Pair, tuple[Any, Any]]:
    ours, theirs = [], []
    for case in quantile_event_case(seed):
        ours.append(quantile_clustered_statistics(**case))
        theirs.append(
            QuantileClusteredStatistic(
                n=case["n"],
                n_star=case["n_star"],
                nu=case["nu"],
                quantile_hat=case["quantile"],
                quantile_lower=case["lower"],
                quantile_upper=case["upper"],
                main_sum=case["numerator_sum"],
                main_sum_squares=case["numerator_sum_squares"],
                denominator_sum=case["denominator_sum"],
                denominator_sum_squares=case["denominator_sum_squares"],
                main_denominator_sum_product=case["sum_products"],
                n_clusters=case["users"],
            )
        )
    return (ours[0], ours[1]), (theirs[0], theirs[1])


def mean_pair(seed: int) -> tuple[Pair, tuple[Any, Any]]:
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shift in (0.0, rng.uniform(-0.1, 0.1)):
        y = rng.gamma(2.0, 10.0 * (1 + shift), int(rng.integers(200, 8_000)))
        total, squares = float(y.sum()), float((y**2).sum())
        ours.append(continuous_statistics(users=y.size, sum=total, sum_squares=squares))
        theirs.append(SampleMeanStatistic(n=y.size, sum=total, sum_squares=squares))
    return (ours[0], ours[1]), (theirs[0], theirs[1])


def proportion_pair(seed: int) -> tuple[Pair, tuple[Any, Any]]:
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.02, 0.6)
    ours, theirs = [], []
    for shift in (0.0, rng.uniform(-0.15, 0.15)):
        n = int(rng.integers(300, 50_000))
        conversions = int(rng.binomial(n, min(rate * (1 + shift), 0.95)))
        ours.append(binomial_statistics(users=n, conversions=conversions))
        theirs.append(ProportionStatistic(n=n, sum=conversions))
    return (ours[0], ours[1]), (theirs[0], theirs[1])


def cuped_mean_pair(seed: int) -> tuple[Pair, tuple[Any, Any]]:
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shift in (0.0, rng.uniform(-0.1, 0.2)):
        n = int(rng.integers(300, 5_000))
        x = rng.gamma(3.0, 2.0, n)
        y = 0.8 * x + rng.normal(1.0 + shift, 1.5, n)
        sums = dict(
            n=n,
            sum=float(y.sum()),
            sum_squares=float((y**2).sum()),
            covariate_sum=float(x.sum()),
            covariate_sum_squares=float((x**2).sum()),
            covariate_sum_products=float((x * y).sum()),
        )
        ours.append(CupedInput(**sums))
        theirs.append(
            RegressionAdjustedStatistic(
                n=n,
                post_statistic=SampleMeanStatistic(
                    n=n, sum=sums["sum"], sum_squares=sums["sum_squares"]
                ),
                pre_statistic=SampleMeanStatistic(
                    n=n, sum=sums["covariate_sum"], sum_squares=sums["covariate_sum_squares"]
                ),
                post_pre_sum_of_products=sums["covariate_sum_products"],
                theta=0,
            )
        )
    adjusted = cuped_adjust(control=ours[0], treatment=ours[1])
    return (adjusted.control, adjusted.treatment), (theirs[0], theirs[1])


BUILDERS = {
    "ratio": ratio_pair,
    "quantile": quantile_pair,
    "clustered_quantile": clustered_quantile_pair,
}
SEQUENTIAL_BUILDERS = {
    **BUILDERS,
    "mean": mean_pair,
    "proportion": proportion_pair,
    "cuped_mean": cuped_mean_pair,
}


def alpha_for(seed: int) -> float:
    return (0.05, 0.1, 0.01)[seed % 3]


# Comparisons.


def assert_effect_matches(ours: Any, theirs: Any) -> None:
    assert theirs.error_message is None
    assert close(ours.estimate, theirs.expected)
    assert close(ours.ci_low, theirs.ci[0]) and close(ours.ci_high, theirs.ci[1])
    assert close(ours.p_value, theirs.p_value)
    assert close(ours.std_error, theirs.uplift.stddev)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@pytest.mark.parametrize("seed", SEEDS)
def test_the_frequentist_test_matches_gbstats(kind: str, seed: int) -> None:
    (c, t), (gc, gt) = BUILDERS[kind](seed)
    alpha = alpha_for(seed)
    ours = frequentist_test(control=c, treatment=t, alpha=alpha)
    relative = TwoSidedTTest(gc, gt, FrequentistConfig(alpha=alpha)).compute_result()
    absolute = TwoSidedTTest(
        gc, gt, FrequentistConfig(alpha=alpha, difference_type="absolute")
    ).compute_result()
    assert ours.notes == ()
    assert_effect_matches(ours.relative, relative)
    assert_effect_matches(ours.absolute, absolute)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@pytest.mark.parametrize("seed", SEEDS)
def test_the_bayesian_test_matches_gbstats(kind: str, seed: int) -> None:
    (c, t), (gc, gt) = BUILDERS[kind](seed)
    proper = seed % 2 == 1
    direction = "decrease" if seed % 5 == 0 else "increase"
    ours = bayesian_test(
        control=c,
        treatment=t,
        alpha=alpha_for(seed),
        prior=GaussianPrior(mean=0.02, variance=0.01) if proper else None,
        direction=direction,
    )
    config = EffectBayesianConfig(
        alpha=alpha_for(seed),
        inverse=direction == "decrease",
        prior_effect=GbPrior(mean=0.02, variance=0.01, proper=proper),
    )
    theirs = EffectBayesianABTest(gc, gt, config).compute_result()
    assert theirs.error_message is None and ours.notes == ()
    assert close(ours.posterior_mean, theirs.expected)
    assert close(ours.posterior_std, theirs.uplift.stddev)
    assert close(ours.chance_to_win, theirs.chance_to_win)
    assert close(ours.cred_low, theirs.ci[0]) and close(ours.cred_high, theirs.ci[1])
    assert close(ours.expected_loss_control, theirs.risk[0])
    assert close(ours.expected_loss, theirs.risk[1])


@pytest.mark.parametrize("kind", sorted(SEQUENTIAL_BUILDERS))
@pytest.mark.parametrize("seed", SEEDS)
def test_the_sequential_test_matches_gbstats(kind: str, seed: int) -> None:
    (c, t), (gc, gt) = SEQUENTIAL_BUILDERS[kind](seed)
    alpha = alpha_for(seed)
    tuning = (5_000.0, 600.0, 20_000.0, 1.0)[seed % 4]
    ours = sequential_test(control=c, treatment=t, alpha=alpha, sequential_tuning_parameter=tuning)
    for difference, effect in (("relative", ours.relative), ("absolute", ours.absolute)):
        config = SequentialConfig(
            alpha=alpha, sequential_tuning_parameter=tuning, difference_type=difference
        )
        assert_effect_matches(effect, SequentialTwoSidedTTest(gc, gt, config).compute_result())


def test_the_sequential_test_uses_growthbooks_default_tuning_parameter() -> None:
    (c, t), (gc, gt) = mean_pair(1)
    ours = sequential_test(control=c, treatment=t)
    assert_effect_matches(ours.relative, SequentialTwoSidedTTest(gc, gt).compute_result())


# Pairs that must not be tested, declined by both engines.


def gbstats_declines(gc: Any, gt: Any) -> bool:
    result = TwoSidedTTest(gc, gt).compute_result()
    return result.error_message == "ZERO_NEGATIVE_VARIANCE"


@pytest.mark.parametrize(
    "control,treatment",
    [((400, 400), (400, 396)), ((1_000, 0), (1_000, 9)), ((50, 12), (50, 50)), ((80, 3), (90, 0))],
)
def test_a_proportion_at_0_or_100_percent_is_declined_like_gbstats(
    control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    c = binomial_statistics(users=control[0], conversions=control[1])
    t = binomial_statistics(users=treatment[0], conversions=treatment[1])
    gc = ProportionStatistic(n=control[0], sum=control[1])
    gt = ProportionStatistic(n=treatment[0], sum=treatment[1])
    ours = frequentist_test(control=c, treatment=t)
    assert ours.relative.p_value is None and ours.absolute.p_value is None
    assert "zero_variance_arm" in {n.code for n in ours.notes}
    assert TwoSidedTTest(gc, gt).compute_result().error_message in {
        "ZERO_NEGATIVE_VARIANCE",
        "ZERO_NEGATIVE_BASELINE_VARIATION",
    }
    assert bayesian_test(control=c, treatment=t).chance_to_win is None
    assert sequential_test(control=c, treatment=t).absolute.p_value is None


def test_a_constant_continuous_arm_is_declined_like_gbstats() -> None:
    c = continuous_statistics(users=200, sum=1_000.0, sum_squares=5_000.0)
    t = continuous_statistics(users=210, sum=1_100.0, sum_squares=6_200.0)
    gc = SampleMeanStatistic(n=200, sum=1_000.0, sum_squares=5_000.0)
    gt = SampleMeanStatistic(n=210, sum=1_100.0, sum_squares=6_200.0)
    assert gbstats_declines(gc, gt)
    assert [n.code for n in frequentist_test(control=c, treatment=t).notes] == ["zero_variance_arm"]


@pytest.mark.parametrize(
    "n,nu",
    [(15, 0.99), (380, 0.99), (3, 0.5), (30, 0.1), (60, 0.95), (4, 0.01)],
)
def test_quantiles_from_too_few_values_are_declined_like_gbstats(n: int, nu: float) -> None:
    inputs = {"n": n, "n_star": n, "nu": nu, "quantile": 5.0, "lower": 4.0, "upper": 6.5}
    healthy = {"n": 5_000, "n_star": 5_000, "nu": nu, "quantile": 5.0, "lower": 4.9, "upper": 5.2}
    ours = frequentist_test(
        control=quantile_statistics(**inputs), treatment=quantile_statistics(**healthy)
    )

    def theirs(case: dict) -> Any:
        return QuantileStatistic(
            n=case["n"],
            n_star=case["n_star"],
            nu=case["nu"],
            quantile_hat=case["quantile"],
            quantile_lower=case["lower"],
            quantile_upper=case["upper"],
        )

    assert gbstats_declines(theirs(inputs), theirs(healthy))
    assert ours.relative.estimate is None
    assert [n.code for n in ours.notes] == ["quantile_too_few_values"]


def test_a_quantile_with_collapsed_bounds_is_declined_where_gbstats_declines_it() -> None:
    flat = {"n": 800, "n_star": 500, "nu": 0.5, "quantile": 3.0, "lower": 3.0, "upper": 3.0}
    healthy = {"n": 900, "n_star": 500, "nu": 0.5, "quantile": 3.2, "lower": 3.1, "upper": 3.3}
    gb_flat = QuantileStatistic(
        n=800, n_star=500, nu=0.5, quantile_hat=3.0, quantile_lower=3.0, quantile_upper=3.0
    )
    gb_healthy = QuantileStatistic(
        n=900, n_star=500, nu=0.5, quantile_hat=3.2, quantile_lower=3.1, quantile_upper=3.3
    )
    ours = frequentist_test(
        control=quantile_statistics(**flat), treatment=quantile_statistics(**healthy)
    )
    assert gbstats_declines(gb_flat, gb_healthy)
    assert [n.code for n in ours.notes] == ["quantile_zero_variance"]


def test_collapsed_bounds_are_declined_even_from_1000_values_unlike_gbstats_0_8() -> None:
    # gbstats 0.8.0 tests this pair with its 1e-5 variance floor; GrowthBook later made it
    # decline at any n (and so do we): the floor is not an estimate of anything.
    flat = {"n": 5_000, "n_star": 5_000, "nu": 0.5, "quantile": 3.0, "lower": 3.0, "upper": 3.0}
    healthy = {"n": 5_000, "n_star": 5_000, "nu": 0.5, "quantile": 3.2, "lower": 3.1, "upper": 3.3}
    gb_flat = QuantileStatistic(
        n=5_000, n_star=5_000, nu=0.5, quantile_hat=3.0, quantile_lower=3.0, quantile_upper=3.0
    )
    gb_healthy = QuantileStatistic(
        n=5_000, n_star=5_000, nu=0.5, quantile_hat=3.2, quantile_lower=3.1, quantile_upper=3.3
    )
    assert not gbstats_declines(gb_flat, gb_healthy)
    ours = frequentist_test(
        control=quantile_statistics(**flat), treatment=quantile_statistics(**healthy)
    )
    assert ours.relative.p_value is None
    assert [n.code for n in ours.notes] == ["quantile_zero_variance"]


@pytest.mark.parametrize("seed", range(10))
def test_quantile_variances_equal_gbstats_statistics(seed: int) -> None:
    (c, t), (gc, gt) = quantile_pair(seed)
    (cc, ct), (gcc, gct) = clustered_quantile_pair(seed)
    for ours, theirs in ((c, gc), (t, gt), (cc, gcc), (ct, gct)):
        assert close(ours.variance, theirs.variance)
        assert ours.mean == theirs.mean and ours.n == theirs.n


@pytest.mark.parametrize("seed", range(10))
def test_ratio_means_and_variances_equal_gbstats_ratio_statistic(seed: int) -> None:
    (c, t), (gc, gt) = ratio_pair(seed)
    for ours, theirs in ((c, gc), (t, gt)):
        assert close(ours.mean, theirs.mean) and close(ours.variance, theirs.variance)
