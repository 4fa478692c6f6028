"""Guardrail breach rule: significant movement in the bad direction."""

from __future__ import annotations

import pytest

from evaluation.stats import StatsInputError, analyze, guardrail_breach
from tests.evaluation.stats._helpers import binomial_experiment


def test_a_significant_drop_breaches_an_increase_is_good_guardrail() -> None:
    assert guardrail_breach(direction="increase", lift=-0.04, p_value=0.01, alpha=0.05) is True


def test_a_significant_rise_breaches_a_decrease_is_good_guardrail() -> None:
    assert guardrail_breach(direction="decrease", lift=0.04, p_value=0.01, alpha=0.05) is True


def test_a_significant_move_in_the_good_direction_is_not_a_breach() -> None:
    assert guardrail_breach(direction="increase", lift=0.04, p_value=0.001) is False


def test_a_non_significant_move_in_the_bad_direction_is_not_a_breach() -> None:
    assert guardrail_breach(direction="increase", lift=-0.04, p_value=0.2) is False


def test_an_undefined_test_gives_an_unknown_breach() -> None:
    assert guardrail_breach(direction="increase", lift=None, p_value=None) is None


def test_an_unknown_direction_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'direction'"):
        guardrail_breach(direction="sideways", lift=0.1, p_value=0.1)  # type: ignore[arg-type]


def test_analyze_flags_a_breach_when_the_interval_is_entirely_on_the_bad_side() -> None:
    kwargs = binomial_experiment(
        control=(10_000, 500), treatment=(10_000, 650), role="guardrail", direction="decrease"
    )
    entry = analyze(**kwargs)["metrics"]["conv"]["treatment"]
    assert entry["ci_low"] > 0
    assert entry["guardrail_breach"] is True


def test_analyze_ignores_the_multiple_comparison_correction_for_guardrails() -> None:
    # Raw p ≈ 0.03, so Holm over 3 comparisons would make it non-significant; the guardrail
    # still breaches because harm detection uses the unadjusted p-value.
    kwargs = binomial_experiment(
        control=(10_000, 1_000), treatment=(10_000, 910), role="guardrail", direction="increase"
    )
    kwargs["variants"] = [
        {"key": "control", "allocation": 0.25},
        {"key": "treatment", "allocation": 0.25},
        {"key": "b", "allocation": 0.25},
        {"key": "c", "allocation": 0.25},
    ]
    kwargs["results"]["conv"]["b"] = {"users": 10_000, "conversions": 1_000}
    kwargs["results"]["conv"]["c"] = {"users": 10_000, "conversions": 1_010}
    entry = analyze(**kwargs, correction="holm")["metrics"]["conv"]["treatment"]
    assert entry["p_value"] < 0.05 < entry["adjusted_p_value"]
    assert entry["significant"] is False
    assert entry["guardrail_breach"] is True


def test_non_guardrail_metrics_have_no_breach_value() -> None:
    entry = analyze(**binomial_experiment(role="primary"))["metrics"]["conv"]["treatment"]
    assert entry["guardrail_breach"] is None
