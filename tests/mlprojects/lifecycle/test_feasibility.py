"""The verdict rules of mlprojects.feasibility, one test per branch, in rule order."""

import pytest

from mlprojects.lifecycle.feasibility import CRITERION_NAMES, RED_FLAGS, evaluate

ALL_YES = {k: "yes" for k in ("pattern", "objective", "complexity", "data", "repetition")}
NO_FLAGS = {
    k: False
    for k in (
        "unethical",
        "simple_solution",
        "poor_data",
        "catastrophic_error",
        "explainability_required",
        "not_cost_effective",
    )
}


def test_all_yes_and_no_red_flag_fits_ml():
    result = evaluate(ALL_YES, NO_FLAGS)
    assert result.verdict == "ml_fits"
    assert "pattern yes" in result.reasons[0]


def test_a_partly_answer_still_fits_but_is_named():
    result = evaluate({**ALL_YES, "complexity": "partly"}, NO_FLAGS)
    assert result.verdict == "ml_fits"
    assert any(r.startswith("Complexity is only partly there") for r in result.reasons)


@pytest.mark.parametrize("flag", list(NO_FLAGS))
def test_any_red_flag_advises_against_ml(flag):
    result = evaluate(ALL_YES, {**NO_FLAGS, flag: True})
    assert result.verdict == "ml_not_advised"
    assert result.reasons[0] == f"Red flag: {RED_FLAGS[flag].lower()}."


def test_red_flags_win_over_every_other_rule():
    criteria = {**ALL_YES, "data": "no", "pattern": "unknown"}
    result = evaluate(criteria, {**NO_FLAGS, "unethical": True, "poor_data": True})
    assert result.verdict == "ml_not_advised"
    assert result.reasons[:2] == [
        "Red flag: the use is unethical.",
        "Red flag: good data is hard to get.",
    ]


@pytest.mark.parametrize("criterion", ["pattern", "objective", "complexity"])
def test_no_pattern_objective_or_complexity_advises_against_ml(criterion):
    result = evaluate({**ALL_YES, criterion: "no"}, NO_FLAGS)
    assert result.verdict == "ml_not_advised"
    assert result.reasons[0].startswith(f"{CRITERION_NAMES[criterion]} answered no")


def test_core_no_wins_over_missing_data():
    result = evaluate({**ALL_YES, "pattern": "no", "data": "no"}, NO_FLAGS)
    assert result.verdict == "ml_not_advised"


def test_no_data_means_rules_first_with_a_collection_plan():
    result = evaluate({**ALL_YES, "data": "no"}, NO_FLAGS)
    assert result.verdict == "rules_first"
    assert result.reasons[0].startswith("Data answered no")
    assert "collect" in result.reasons[1]


def test_no_data_wins_over_unknown_answers():
    result = evaluate({**ALL_YES, "data": "no", "repetition": "unknown"}, NO_FLAGS)
    assert result.verdict == "rules_first"


def test_unknown_criteria_are_open_questions_naming_each():
    result = evaluate({**ALL_YES, "pattern": "unknown", "repetition": "unknown"}, NO_FLAGS)
    assert result.verdict == "open_questions"
    assert result.reasons[0].startswith("Pattern is unknown")
    assert result.reasons[1].startswith("Repetition is unknown")


def test_missing_answers_count_as_unknown():
    result = evaluate({}, {})
    assert result.verdict == "open_questions"
    assert len(result.reasons) == 6


def test_repetition_no_alone_does_not_change_the_verdict():
    assert evaluate({**ALL_YES, "repetition": "no"}, NO_FLAGS).verdict == "ml_fits"


def test_an_invalid_answer_is_refused():
    with pytest.raises(ValueError, match="pattern"):
        evaluate({**ALL_YES, "pattern": "maybe"}, NO_FLAGS)
