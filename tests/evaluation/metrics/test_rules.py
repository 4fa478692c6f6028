"""Rule baselines: the JSON format's validation and how rules are applied."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.metrics import EvaluationInputError, apply_rules, parse_rules

FEATURES = {
    "age": np.array([25.0, 35.0, 45.0, np.nan]),
    "city": np.array(["Seoul", "Busan", "Seoul", None], dtype=object),
}
SPEC = {
    "rules": [
        {
            "when": [
                {"feature": "age", "op": ">=", "value": 30},
                {"feature": "city", "op": "==", "value": "Seoul"},
            ],
            "then": 1,
        }
    ],
    "default": 0,
}


def _rules(rules: list, default=0, **kwargs):
    return parse_rules({"rules": rules, "default": default}, features=FEATURES, **kwargs)


def _predict(rules: list, default=0) -> list:
    pred, _ = apply_rules(_rules(rules, default), columns=FEATURES, n_rows=4)
    return pred.tolist()


def test_the_documented_example_parses_and_round_trips():
    assert parse_rules(SPEC, features=FEATURES, task="binary").to_dict() == SPEC


def test_rules_may_be_given_as_json_text():
    assert parse_rules(json.dumps(SPEC)).to_dict() == SPEC


def test_all_conditions_of_a_rule_must_hold():
    assert _predict(SPEC["rules"]) == [0.0, 0.0, 1.0, 0.0]


def test_first_matching_rule_wins():
    rules = [
        {"when": [{"feature": "city", "op": "==", "value": "Seoul"}], "then": 2},
        {"when": [{"feature": "age", "op": ">", "value": 20}], "then": 3},
    ]
    assert _predict(rules) == [2.0, 3.0, 2.0, 0.0]


def test_rule_without_conditions_always_matches():
    assert _predict([{"when": [], "then": 5}], default=1) == [5.0] * 4


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", 35, [0, 1, 0, 0]),
        ("!=", 35, [1, 0, 1, 0]),
        (">", 35, [0, 0, 1, 0]),
        (">=", 35, [0, 1, 1, 0]),
        ("<", 35, [1, 0, 0, 0]),
        ("<=", 35, [1, 1, 0, 0]),
        ("in", [25, 45], [1, 0, 1, 0]),
        ("not_in", [25, 45], [0, 1, 0, 0]),
    ],
)
def test_each_operator_on_a_numeric_column(op, value, expected):
    rules = [{"when": [{"feature": "age", "op": op, "value": value}], "then": 1}]
    assert _predict(rules) == [float(e) for e in expected]


def test_missing_values_never_match_even_not_equal():
    rules = [{"when": [{"feature": "city", "op": "not_in", "value": ["Busan"]}], "then": 1}]
    assert _predict(rules) == [1.0, 0.0, 1.0, 0.0]


def test_text_labels_are_predicted_for_multiclass():
    rules = [{"when": [{"feature": "city", "op": "in", "value": ["Busan"]}], "then": "south"}]
    assert _predict(rules, default="north") == ["north", "south", "north", "north"]


def test_rows_taken_by_each_rule_are_counted():
    _, usage = apply_rules(_rules(SPEC["rules"]), columns=FEATURES, n_rows=4)
    assert usage == {"rows_per_rule": [1], "rows_default": 3}


def test_unknown_operator_is_rejected_with_the_allowed_ones():
    rules = [{"when": [{"feature": "age", "op": "=>", "value": 3}], "then": 1}]
    with pytest.raises(EvaluationInputError, match=r"rules\[0\]\.when\[0\]\.op: unknown operator"):
        _rules(rules)


def test_unknown_feature_is_rejected_with_a_suggestion():
    rules = [{"when": [{"feature": "agee", "op": ">", "value": 3}], "then": 1}]
    with pytest.raises(EvaluationInputError, match="no column 'agee'.*Did you mean 'age'"):
        _rules(rules)


def test_missing_default_is_rejected():
    with pytest.raises(EvaluationInputError, match="default"):
        parse_rules({"rules": []})


def test_ordering_operator_on_a_text_column_is_rejected():
    rules = [{"when": [{"feature": "city", "op": ">", "value": 3}], "then": 1}]
    with pytest.raises(EvaluationInputError, match="holds text"):
        _rules(rules)


def test_text_value_on_a_numeric_column_is_rejected():
    rules = [{"when": [{"feature": "age", "op": "==", "value": "old"}], "then": 1}]
    with pytest.raises(EvaluationInputError, match="numeric"):
        _rules(rules)


def test_in_needs_a_non_empty_list():
    rules = [{"when": [{"feature": "city", "op": "in", "value": "Seoul"}], "then": 1}]
    with pytest.raises(EvaluationInputError, match="non-empty list"):
        _rules(rules)


def test_misspelt_key_is_rejected():
    with pytest.raises(EvaluationInputError, match="unknown key.*'whne'"):
        _rules([{"whne": [], "then": 1}])


def test_binary_prediction_outside_zero_one_is_rejected():
    with pytest.raises(EvaluationInputError, match=r"\[0, 1\]"):
        _rules([{"when": [], "then": 2}], task="binary")


def test_invalid_json_text_is_rejected():
    with pytest.raises(EvaluationInputError, match="not valid JSON"):
        parse_rules('{"rules": [}')


# -- ranking rules that recommend items -------------------------------------------------------

from evaluation.metrics import evaluate  # noqa: E402
from evaluation.metrics.rules import recommended_items  # noqa: E402

RECOMMEND = {
    "rules": [
        {"when": [{"feature": "liked", "op": "==", "value": "bibimbap"}],
         "recommend": ["bulgogi", "japchae"]},
        {"when": [{"feature": "liked", "op": "==", "value": "japchae"}], "recommend": ["kimchi"]},
    ],
    "default": 0,
}  # fmt: skip


def _dishes() -> dict[str, np.ndarray]:
    """Two guests and three dishes each; guest A liked bibimbap and ordered bulgogi, guest
    B liked japchae and ordered kimchi."""
    return {
        "group": np.array(["A", "A", "A", "B", "B", "B"], dtype=object),
        "item": np.array(
            ["japchae", "kimchi", "bulgogi", "bulgogi", "japchae", "kimchi"], dtype=object
        ),  # fmt: skip
        "y_true": np.array([0, 0, 1, 0, 0, 1], dtype=np.float64),
        "y_score": np.array([0.2, 0.9, 0.1, 0.8, 0.3, 0.1]),
        "liked": np.array(["bibimbap"] * 3 + ["japchae"] * 3, dtype=object),
    }


def test_a_recommending_rule_scores_its_items_above_the_rest_in_list_order():
    cols = _dishes()
    pred, usage = apply_rules(
        parse_rules(RECOMMEND, task="ranking"), columns=cols, n_rows=6, item=cols["item"]
    )
    # A: bulgogi first, japchae second, kimchi not recommended; B: kimchi only.
    assert pred[2] > pred[0] > pred[1] == 0
    assert pred[5] > 0 and pred[3] == pred[4] == 0
    assert usage == {"rows_per_rule": [2, 1], "rows_default": 3}


def test_recommending_rules_are_scored_by_the_ranking_metrics():
    result = evaluate(task="ranking", columns=_dishes(), options={"k": 1, "rules": RECOMMEND})
    rule = result["baselines"]["rule:custom"]
    assert rule["hit_rate"] == 1.0 and rule["ndcg_at_k"] == 1.0
    assert result["metrics"]["hit_rate"] == 0.0  # the model put the wrong dish first
    assert rule["lift"]["ndcg_at_k"]["better"] is False


def test_a_ranking_rule_that_gives_a_group_one_score_says_it_cannot_rank():
    per_guest = {"rules": [{"when": [{"feature": "liked", "op": "==", "value": "japchae"}],
                            "then": 1}], "default": 0}  # fmt: skip
    result = evaluate(task="ranking", columns=_dishes(), options={"rules": per_guest})
    rule = result["baselines"]["rule:custom"]
    assert rule["ndcg_at_k"] is None and "cannot rank" in rule["cannot_rank"]
    assert "cannot rank" in result["info"]["rule_baselines"]["custom"]["cannot_rank"]
    assert any(w["code"] == "rule_cannot_rank" for w in result["warnings"])


def test_a_ranking_rule_on_the_items_own_column_still_ranks():
    cols = {**_dishes(), "spicy": np.array([0, 1, 0, 0, 0, 1], dtype=np.float64)}
    spicy = {"rules": [{"when": [{"feature": "spicy", "op": "==", "value": 1}], "then": 1}],
             "default": 0}  # fmt: skip
    result = evaluate(task="ranking", columns=cols, options={"rules": spicy})
    assert result["baselines"]["rule:custom"]["ndcg_at_k"] is not None


def test_recommending_needs_the_item_column():
    cols = _dishes()
    with pytest.raises(EvaluationInputError, match="item column"):
        apply_rules(parse_rules(RECOMMEND), columns=cols, n_rows=6)


def test_only_ranking_rules_recommend():
    with pytest.raises(EvaluationInputError, match="only ranking rules recommend"):
        parse_rules(RECOMMEND, task="binary")


def test_a_rule_cannot_both_recommend_and_give_a_score():
    spec = {"rules": [{"when": [], "then": 1, "recommend": ["x"]}], "default": 0}
    with pytest.raises(EvaluationInputError, match="either 'then' or 'recommend'"):
        parse_rules(spec)


def test_the_recommendations_for_one_input_follow_the_rule_order():
    rules = parse_rules(RECOMMEND)
    assert recommended_items(rules, {"liked": "bibimbap"}) == ["bulgogi", "japchae"]
    assert recommended_items(rules, {"liked": "tofu"}) == []
    assert recommended_items(rules, {"liked": None}) == []


def test_recommending_rules_round_trip_through_json():
    assert parse_rules(RECOMMEND).to_dict() == RECOMMEND
