"""The rule-baseline format shared with the evaluation engine."""

import pytest

from mlprojects.rules import apply_rules, describe_rules, validate_rules

VALID = {
    "rules": [
        {"when": [{"feature": "age", "op": ">=", "value": 30}], "then": 1},
        {"when": [{"feature": "city", "op": "in", "value": ["Seoul", "Busan"]}], "then": 2},
    ],
    "default": 0,
}


def test_a_valid_rule_set_has_no_errors():
    assert validate_rules(VALID) == []


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ([], "JSON object"),
        ({"rules": VALID["rules"]}, "“default” is required"),
        ({**VALID, "extra": 1}, "Unknown key(s): extra"),
        ({"rules": [], "default": 0}, "non-empty list"),
        ({"rules": [{"when": [], "then": 1}], "default": 0}, "non-empty list of conditions"),
        (
            {
                "rules": [{"when": [{"feature": "a", "op": "~", "value": 1}], "then": 1}],
                "default": 0,
            },
            "“op” must be one of",
        ),
        (
            {
                "rules": [{"when": [{"feature": "a", "op": ">", "value": "x"}], "then": 1}],
                "default": 0,
            },
            "needs a number",
        ),
        (
            {
                "rules": [{"when": [{"feature": "a", "op": ">", "value": True}], "then": 1}],
                "default": 0,
            },
            "needs a number",
        ),
        (
            {
                "rules": [{"when": [{"feature": "a", "op": "in", "value": 3}], "then": 1}],
                "default": 0,
            },
            "non-empty list of values",
        ),
        (
            {
                "rules": [{"when": [{"feature": "", "op": "==", "value": 3}], "then": 1}],
                "default": 0,
            },
            "non-empty string",
        ),
        (
            {"rules": [{"when": [{"feature": "a", "op": "=="}], "then": 1}], "default": 0},
            "“value” is required",
        ),
        (
            {"rules": [{"when": [{"feature": "a", "op": "==", "value": 1}]}], "default": 0},
            "“then” is required",
        ),
        (
            {
                "rules": [{"when": [{"feature": "a", "op": "==", "value": 1}], "then": [1]}],
                "default": 0,
            },
            "“then” must be",
        ),
        ({"rules": ["x"], "default": 0}, "must be an object"),
    ],
)
def test_invalid_rule_sets_are_refused_with_a_message_naming_the_place(spec, fragment):
    errors = validate_rules(spec)
    assert errors
    assert any(fragment in e for e in errors), errors


def test_rules_apply_in_order_with_a_default():
    assert apply_rules(VALID, {"age": 31, "city": "Seoul"}) == 1
    assert apply_rules(VALID, {"age": 20, "city": "Busan"}) == 2
    assert apply_rules(VALID, {"age": 20, "city": "Jeju"}) == 0


def test_a_condition_on_a_missing_or_non_numeric_feature_does_not_hold():
    assert apply_rules(VALID, {"city": "Jeju"}) == 0
    assert apply_rules(VALID, {"age": "old"}) == 0


def test_rules_read_as_sentences():
    assert describe_rules(VALID) == [
        "if age >= 30 then 1",
        "if city in ['Seoul', 'Busan'] then 2",
        "otherwise 0",
    ]
