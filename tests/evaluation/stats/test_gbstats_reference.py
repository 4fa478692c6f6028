"""Cross-check against GrowthBook's own engine (gbstats 0.8.0), when it is installed.

gbstats cannot be a regular dependency (it pins numpy<2, pandas<2), so these tests skip
unless it can be imported; see `_helpers.load_gbstats` for the --no-deps install. They
compare the same inputs through both engines to 1e-6.
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
    srm_test,
)
from tests.evaluation.stats._helpers import load_gbstats

gbstats = load_gbstats()
pytestmark = pytest.mark.skipif(gbstats is None, reason="gbstats 0.8.0 is not importable")

if gbstats is not None:
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
    from gbstats.bayesian.tests import GaussianPrior as GbPrior
    from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
    from gbstats.models.statistics import (
        ProportionStatistic,
        RegressionAdjustedStatistic,
        SampleMeanStatistic,
    )
    from gbstats.utils import check_srm

TOL = 1e-6
Case = tuple[tuple[Any, ...], tuple[Any, ...]]
Pair = tuple[VariantStatistics, VariantStatistics]

BINOMIAL_CASES = [
    ((1_000, 100), (1_000, 130)),
    ((52_000, 1_510), (51_700, 1_640)),
    ((300, 45), (320, 41)),
]
CONTINUOUS_CASES = [
    ((500, 2_400.0, 19_000.0), (510, 2_700.0, 23_500.0)),
    ((8_000, 96_000.0, 3.1e6), (7_900, 93_000.0, 2.9e6)),
]


def ours_and_theirs_binomial(case: Case) -> tuple[Pair, tuple[Any, Any]]:
    (nc, cc), (nt, ct) = case
    ours = (
        binomial_statistics(users=nc, conversions=cc),
        binomial_statistics(users=nt, conversions=ct),
    )
    theirs = ProportionStatistic(n=nc, sum=cc), ProportionStatistic(n=nt, sum=ct)
    return ours, theirs


def ours_and_theirs_continuous(case: Case) -> tuple[Pair, tuple[Any, Any]]:
    (nc, sc, qc), (nt, st_, qt) = case
    ours = (
        continuous_statistics(users=nc, sum=sc, sum_squares=qc),
        continuous_statistics(users=nt, sum=st_, sum_squares=qt),
    )
    theirs = (
        SampleMeanStatistic(n=nc, sum=sc, sum_squares=qc),
        SampleMeanStatistic(n=nt, sum=st_, sum_squares=qt),
    )
    return ours, theirs


def all_pairs() -> list[tuple[str, Case]]:
    return [("binomial", c) for c in BINOMIAL_CASES] + [("continuous", c) for c in CONTINUOUS_CASES]


def build(kind: str, case: Case) -> tuple[Pair, tuple[Any, Any]]:
    return (
        ours_and_theirs_binomial(case) if kind == "binomial" else ours_and_theirs_continuous(case)
    )


@pytest.mark.parametrize("kind,case", all_pairs())
def test_relative_lift_test_matches_gbstats_two_sided_ttest(kind: str, case: Case) -> None:
    (c, t), (gc, gt) = build(kind, case)
    ours = frequentist_test(control=c, treatment=t).relative
    theirs = TwoSidedTTest(gc, gt, FrequentistConfig(alpha=0.05)).compute_result()
    assert ours.estimate == pytest.approx(theirs.expected, abs=TOL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(theirs.ci), abs=TOL)
    assert ours.p_value == pytest.approx(theirs.p_value, abs=TOL)
    assert ours.std_error == pytest.approx(theirs.uplift.stddev, abs=TOL)


@pytest.mark.parametrize("kind,case", all_pairs())
def test_absolute_difference_matches_gbstats_absolute_ttest(kind: str, case: Case) -> None:
    (c, t), (gc, gt) = build(kind, case)
    ours = frequentist_test(control=c, treatment=t, alpha=0.1).absolute
    config = FrequentistConfig(alpha=0.1, difference_type="absolute")
    theirs = TwoSidedTTest(gc, gt, config).compute_result()
    assert ours.estimate == pytest.approx(theirs.expected, abs=TOL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(theirs.ci), abs=TOL)
    assert ours.p_value == pytest.approx(theirs.p_value, abs=TOL)


@pytest.mark.parametrize("kind,case", all_pairs())
@pytest.mark.parametrize("direction", ["increase", "decrease"])
def test_flat_prior_bayesian_result_matches_gbstats(kind: str, case: Case, direction: str) -> None:
    (c, t), (gc, gt) = build(kind, case)
    ours = bayesian_test(control=c, treatment=t, direction=direction)
    config = EffectBayesianConfig(inverse=direction == "decrease")
    theirs = EffectBayesianABTest(gc, gt, config).compute_result()
    assert ours.chance_to_win == pytest.approx(theirs.chance_to_win, abs=TOL)
    assert (ours.expected_loss_control, ours.expected_loss) == pytest.approx(
        tuple(theirs.risk), abs=TOL
    )
    assert (ours.cred_low, ours.cred_high) == pytest.approx(tuple(theirs.ci), abs=TOL)
    assert ours.posterior_mean == pytest.approx(theirs.expected, abs=TOL)


@pytest.mark.parametrize("kind,case", all_pairs())
def test_proper_prior_bayesian_result_matches_gbstats(kind: str, case: Case) -> None:
    (c, t), (gc, gt) = build(kind, case)
    ours = bayesian_test(control=c, treatment=t, prior=GaussianPrior(mean=0.01, variance=0.02))
    config = EffectBayesianConfig(prior_effect=GbPrior(mean=0.01, variance=0.02, proper=True))
    theirs = EffectBayesianABTest(gc, gt, config).compute_result()
    assert ours.posterior_mean == pytest.approx(theirs.expected, abs=TOL)
    assert ours.posterior_std == pytest.approx(theirs.uplift.stddev, abs=TOL)
    assert ours.chance_to_win == pytest.approx(theirs.chance_to_win, abs=TOL)
    assert (ours.expected_loss_control, ours.expected_loss) == pytest.approx(
        tuple(theirs.risk), abs=TOL
    )


def regression_inputs(binomial: bool) -> list[tuple[CupedInput, Any]]:
    rng = np.random.default_rng(12)
    out = []
    for n, shift in ((900, 0.0), (950, 0.15)):
        x = rng.gamma(2.0, 1.5, n)
        if binomial:
            y = (rng.uniform(size=n) < 0.1 + 0.05 * x / 3 + shift / 5).astype(float)
        else:
            y = 0.7 * x + rng.normal(shift, 1.0, n)
        ours = CupedInput(
            n=n, sum=y.sum(), sum_squares=(y**2).sum(), covariate_sum=x.sum(),
            covariate_sum_squares=(x**2).sum(), covariate_sum_products=(x * y).sum(),
            binomial=binomial,
        )  # fmt: skip
        post = (
            ProportionStatistic(n=n, sum=y.sum())
            if binomial
            else SampleMeanStatistic(n=n, sum=y.sum(), sum_squares=(y**2).sum())
        )
        theirs = RegressionAdjustedStatistic(
            n=n,
            post_statistic=post,
            pre_statistic=SampleMeanStatistic(n=n, sum=x.sum(), sum_squares=(x**2).sum()),
            post_pre_sum_of_products=(x * y).sum(),
            theta=0,
        )
        out.append((ours, theirs))
    return out


@pytest.mark.parametrize("binomial", [False, True])
def test_cuped_results_match_gbstats_regression_adjusted_statistic(binomial: bool) -> None:
    (oc, gc), (ot, gt) = regression_inputs(binomial)
    adjusted = cuped_adjust(control=oc, treatment=ot)
    ours = frequentist_test(control=adjusted.control, treatment=adjusted.treatment).relative
    theirs = TwoSidedTTest(gc, gt).compute_result()
    assert adjusted.theta == pytest.approx(gt.theta, abs=1e-9)
    assert ours.estimate == pytest.approx(theirs.expected, abs=TOL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(theirs.ci), abs=TOL)
    assert ours.p_value == pytest.approx(theirs.p_value, abs=TOL)


@pytest.mark.parametrize(
    "users,weights", [([1000, 1100], [0.5, 0.5]), ([500, 260, 240], [0.5, 0.25, 0.25])]
)
def test_srm_p_value_matches_gbstats_check_srm(users: list[int], weights: list[float]) -> None:
    assert srm_test(users=users, allocations=weights).p_value == pytest.approx(
        check_srm(users, weights), abs=1e-9
    )
