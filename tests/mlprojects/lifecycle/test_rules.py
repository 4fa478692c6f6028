"""The rule-baseline format shared with the evaluation engine."""

import numpy as np
import pytest

from mlprojects.lifecycle.rules import describe_rules, validate_rules

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


@pytest.mark.parametrize(
    "spec",
    [
        {
            "rules": [{"when": [{"feature": "age", "op": ">=", "value": 30}], "then": None}],
            "default": 0,
        },
        {
            "rules": [{"when": [{"feature": "age", "op": ">=", "value": 30}], "then": 1}],
            "default": None,
        },
        {
            "rules": [{"when": [{"feature": "age", "op": ">=", "value": float("nan")}], "then": 1}],
            "default": 0,
        },
        {
            "rules": [
                {"when": [{"feature": "city", "op": "in", "value": ["Seoul", None]}], "then": 1}
            ],
            "default": 0,
        },
    ],
)
def test_null_and_non_finite_values_are_refused_because_the_engine_cannot_run_them(spec):
    assert validate_rules(spec)


def test_a_rule_set_the_workspace_accepts_is_accepted_by_the_evaluation_engine():
    from evaluation.metrics import parse_rules

    assert validate_rules(VALID) == []
    features = {"age": np.array([31.0, 20.0]), "city": np.array(["Seoul", "Busan"])}
    parse_rules(VALID, features=features, task="multiclass")


def test_rules_read_as_sentences():
    assert describe_rules(VALID) == [
        "if age >= 30 then 1",
        "if city in ['Seoul', 'Busan'] then 2",
        "otherwise 0",
    ]
