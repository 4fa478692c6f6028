"""Sample ratio mismatch: chi-square goodness of fit against the planned allocation."""

from __future__ import annotations

import pytest
from scipy import stats

from evaluation.stats import SRM_THRESHOLD, StatsInputError, analyze, srm_test
from tests.evaluation.stats._helpers import binomial_experiment


def test_p_value_matches_scipy_chisquare_for_an_even_split() -> None:
    result = srm_test(users=[10_000, 10_300], allocations=[0.5, 0.5])
    reference = stats.chisquare([10_000, 10_300], [10_150, 10_150])
    assert result.statistic == pytest.approx(reference.statistic, abs=1e-9)
    assert result.p_value == pytest.approx(reference.pvalue, abs=1e-9)


def test_p_value_matches_scipy_chisquare_for_an_uneven_three_way_split() -> None:
    users, allocations = [5_020, 2_470, 2_600], [0.5, 0.25, 0.25]
    total = sum(users)
    reference = stats.chisquare(users, [a * total for a in allocations])
    result = srm_test(users=users, allocations=allocations)
    assert result.p_value == pytest.approx(reference.pvalue, abs=1e-9)
    assert result.dof == 2


def test_a_p_value_below_one_in_a_thousand_raises_the_warning() -> None:
    assert srm_test(users=[10_000, 10_600], allocations=[0.5, 0.5]).warning is True


def test_a_p_value_above_one_in_a_thousand_does_not_warn() -> None:
    result = srm_test(users=[10_000, 10_200], allocations=[0.5, 0.5])
    assert result.p_value > SRM_THRESHOLD and result.warning is False


def test_allocations_are_treated_as_relative_weights() -> None:
    by_share = srm_test(users=[700, 320], allocations=[0.7, 0.3])
    by_weight = srm_test(users=[700, 320], allocations=[7, 3])
    assert by_share.p_value == pytest.approx(by_weight.p_value, abs=1e-12)


def test_no_users_at_all_leaves_the_p_value_undefined_without_warning() -> None:
    result = srm_test(users=[0, 0], allocations=[0.5, 0.5])
    assert result.p_value is None and result.warning is False


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"one user count and one allocation"):
        srm_test(users=[1, 2, 3], allocations=[0.5, 0.5])


def test_non_positive_allocations_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"Allocations .* positive"):
        srm_test(users=[1, 2], allocations=[1.0, 0.0])


def test_analyze_reports_srm_and_adds_a_warning() -> None:
    result = analyze(**binomial_experiment(control=(10_000, 1_000), treatment=(11_000, 1_100)))
    assert result["srm_warning"] is True
    assert result["srm_p_value"] == pytest.approx(
        stats.chisquare([10_000, 11_000]).pvalue, abs=1e-12
    )
    assert [w["code"] for w in result["warnings"]] == ["srm"]


def test_analyze_uses_explicit_exposure_counts_when_given() -> None:
    result = analyze(**binomial_experiment(), users={"control": 5_000, "treatment": 5_100})
    assert result["srm_p_value"] == pytest.approx(stats.chisquare([5_000, 5_100]).pvalue)
