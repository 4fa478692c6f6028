"""`analyze`: the result shape contract and how the pieces are wired together."""

from __future__ import annotations

import json

import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evaluation.stats import (
    RESULT_KEYS,
    GaussianPrior,
    analyze,
    bayesian_test,
    binomial_statistics,
    frequentist_test,
)
from tests.evaluation.stats._helpers import TWO_ARMS, binomial_experiment

THREE_ARMS = [
    {"key": "A", "allocation": 0.4},
    {"key": "B", "allocation": 0.3},
    {"key": "C", "allocation": 0.3},
]


def three_arm_experiment() -> dict:
    return {
        "variants": THREE_ARMS,
        "control": "A",
        "metrics": [
            {"key": "signup", "type": "binomial", "role": "primary"},
            {"key": "revenue", "type": "continuous", "role": "secondary"},
            {"key": "errors", "type": "binomial", "role": "guardrail", "direction": "decrease"},
        ],
        "results": {
            "signup": {
                "A": {"users": 4_000, "conversions": 400},
                "B": {"users": 3_000, "conversions": 345},
                "C": {"users": 3_000, "conversions": 310},
            },
            "revenue": {
                "A": {"users": 4_000, "sum": 40_000.0, "sum_squares": 900_000.0},
                "B": {"users": 3_000, "sum": 31_500.0, "sum_squares": 700_000.0},
                "C": {"users": 3_000, "sum": 29_000.0, "sum_squares": 650_000.0},
            },
            "errors": {
                "A": {"users": 4_000, "conversions": 80},
                "B": {"users": 3_000, "conversions": 95},
                "C": {"users": 3_000, "conversions": 61},
            },
        },
    }


def test_the_result_has_exactly_the_documented_top_level_keys() -> None:
    result = analyze(**three_arm_experiment())
    assert list(result) == ["srm_p_value", "srm_warning", "metrics", "warnings", "mode"]


def test_every_treatment_entry_has_exactly_the_contract_keys() -> None:
    result = analyze(**three_arm_experiment())
    for per_treatment in result["metrics"].values():
        for entry in per_treatment.values():
            assert tuple(entry) == RESULT_KEYS


def test_every_treatment_is_compared_with_the_control_and_the_control_is_not() -> None:
    result = analyze(**three_arm_experiment())
    assert {m: list(v) for m, v in result["metrics"].items()} == {
        "signup": ["B", "C"],
        "revenue": ["B", "C"],
        "errors": ["B", "C"],
    }


def test_the_result_is_strict_json_even_when_statistics_are_undefined() -> None:
    # Every user has the value 0 in both arms: nothing at all can be estimated or tested.
    flat = {"users": 1_000, "sum": 0.0, "sum_squares": 0.0}
    result = analyze(
        variants=TWO_ARMS,
        control="control",
        metrics=[{"key": "spend", "type": "continuous"}],
        results={"spend": {"control": flat, "treatment": flat}},
    )
    json.dumps(result, allow_nan=False)
    entry = result["metrics"]["spend"]["treatment"]
    assert entry["lift"] is None and entry["p_value"] is None and entry["significant"] is None


def test_a_conversion_rate_of_100_percent_is_tested_with_fishers_exact_test() -> None:
    result = analyze(**binomial_experiment(control=(400, 400), treatment=(400, 396)))
    entry = result["metrics"]["conv"]["treatment"]
    expected = stats.fisher_exact([[396, 4], [400, 0]]).pvalue
    assert entry["p_value"] == pytest.approx(expected, rel=1e-12)
    assert entry["p_value"] == pytest.approx(0.124, abs=5e-4)
    assert entry["significant"] is False
    assert entry["ci_low"] is None and entry["ci_high"] is None
    assert entry["chance_to_win"] is None
    codes = [w["code"] for w in result["warnings"]]
    assert codes == ["zero_variance_arm", "fisher_exact"]


def test_two_conversion_rates_of_0_and_100_percent_are_tested_with_fishers_exact_test() -> None:
    result = analyze(**binomial_experiment(control=(20, 0), treatment=(20, 20)))
    entry = result["metrics"]["conv"]["treatment"]
    assert entry["p_value"] == pytest.approx(stats.fisher_exact([[20, 0], [0, 20]]).pvalue)
    assert entry["significant"] is True


def test_undefined_statistics_come_with_a_warning_naming_metric_and_variant() -> None:
    result = analyze(**binomial_experiment(control=(1_000, 0), treatment=(1_000, 5)))
    assert {"code": "baseline_zero", "metric": "conv", "variant": "treatment"}.items() <= (
        result["warnings"][0].items()
    )
    assert result["metrics"]["conv"]["treatment"]["abs_diff"] == pytest.approx(0.005)


def test_entries_carry_the_frequentist_and_bayesian_results_of_the_pair() -> None:
    result = analyze(**binomial_experiment(), alpha=0.1, prior={"mean": 0.0, "variance": 0.04})
    entry = result["metrics"]["conv"]["treatment"]
    control = binomial_statistics(users=10_000, conversions=1_000)
    treatment = binomial_statistics(users=10_000, conversions=1_100)
    freq = frequentist_test(control=control, treatment=treatment, alpha=0.1)
    bayes = bayesian_test(
        control=control, treatment=treatment, alpha=0.1, prior=GaussianPrior(0.0, 0.04)
    )
    assert (entry["lift"], entry["ci_low"], entry["ci_high"], entry["p_value"]) == (
        freq.relative.estimate,
        freq.relative.ci_low,
        freq.relative.ci_high,
        freq.relative.p_value,
    )
    assert (entry["abs_diff"], entry["abs_ci_low"], entry["abs_ci_high"]) == (
        freq.absolute.estimate,
        freq.absolute.ci_low,
        freq.absolute.ci_high,
    )
    assert (entry["chance_to_win"], entry["expected_loss"], entry["expected_loss_control"]) == (
        bayes.chance_to_win,
        bayes.expected_loss,
        bayes.expected_loss_control,
    )
    assert (entry["cred_low"], entry["cred_high"]) == (bayes.cred_low, bayes.cred_high)


def test_entries_report_observed_means_and_user_counts() -> None:
    entry = analyze(**binomial_experiment())["metrics"]["conv"]["treatment"]
    assert (entry["control_mean"], entry["treatment_mean"]) == (0.1, 0.11)
    assert (entry["users_control"], entry["users_treatment"]) == (10_000, 10_000)


def test_without_correction_the_adjusted_p_value_equals_the_p_value() -> None:
    result = analyze(**three_arm_experiment())
    for per_treatment in result["metrics"].values():
        for entry in per_treatment.values():
            assert entry["adjusted_p_value"] == entry["p_value"]


@pytest.mark.parametrize("ours,theirs", [("holm", "holm"), ("bh", "fdr_bh")])
def test_correction_spans_all_metrics_and_treatments(ours: str, theirs: str) -> None:
    result = analyze(**three_arm_experiment(), correction=ours)
    entries = [e for per in result["metrics"].values() for e in per.values()]
    expected = multipletests([e["p_value"] for e in entries], method=theirs)[1]
    assert [e["adjusted_p_value"] for e in entries] == pytest.approx(expected, abs=1e-12)


def test_significance_is_the_adjusted_p_value_below_alpha() -> None:
    result = analyze(**three_arm_experiment(), correction="holm")
    for per_treatment in result["metrics"].values():
        for entry in per_treatment.values():
            assert entry["significant"] is (entry["adjusted_p_value"] < 0.05)


def test_a_lower_alpha_widens_the_intervals() -> None:
    wide = analyze(**binomial_experiment(), alpha=0.01)["metrics"]["conv"]["treatment"]
    narrow = analyze(**binomial_experiment(), alpha=0.2)["metrics"]["conv"]["treatment"]
    assert wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]


def test_chance_to_win_follows_the_metric_direction() -> None:
    up = analyze(**binomial_experiment(direction="increase"))["metrics"]["conv"]["treatment"]
    down = analyze(**binomial_experiment(direction="decrease"))["metrics"]["conv"]["treatment"]
    assert up["chance_to_win"] + down["chance_to_win"] == pytest.approx(1.0, abs=1e-12)


def test_a_decrease_is_good_guardrail_that_rose_significantly_is_breached() -> None:
    entry = analyze(**three_arm_experiment())["metrics"]["errors"]["B"]
    assert entry["lift"] > 0 and entry["p_value"] < 0.05
    assert entry["guardrail_breach"] is True


def test_srm_uses_the_users_of_the_first_primary_metric() -> None:
    kwargs = three_arm_experiment()
    kwargs["metrics"] = [kwargs["metrics"][1], kwargs["metrics"][0], kwargs["metrics"][2]]
    kwargs["results"]["revenue"]["B"]["users"] = 2_000  # a filtered secondary metric
    result = analyze(**kwargs)
    assert result["srm_warning"] is False


def test_a_negative_control_mean_adds_a_warning() -> None:
    result = analyze(
        variants=THREE_ARMS[:1] + [{"key": "B", "allocation": 0.6}],
        control="A",
        metrics=[{"key": "profit", "type": "continuous"}],
        results={
            "profit": {
                "A": {"users": 100, "sum": -500.0, "sum_squares": 10_000.0},
                "B": {"users": 150, "sum": -600.0, "sum_squares": 12_000.0},
            }
        },
    )
    assert [w["code"] for w in result["warnings"]] == ["negative_baseline"]
    assert result["metrics"]["profit"]["B"]["lift"] > 0


def test_the_correction_option_accepts_the_text_none() -> None:
    result = analyze(**binomial_experiment(), correction="none")
    entry = result["metrics"]["conv"]["treatment"]
    assert entry["adjusted_p_value"] == entry["p_value"]
