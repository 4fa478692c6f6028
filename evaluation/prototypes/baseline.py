"""The project's rule baseline answering the same inputs as the model, in process, with the
evaluation engine's own rule interpreter (so the answer is the one an evaluation scores)."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation.metrics.errors import EvaluationInputError
from evaluation.metrics.rules import RuleSet, apply_rules, parse_rules, recommended_items

CANNOT_RANK = (
    "These rules give a score, not items, so they cannot rank: every dish of a guest would "
    "get the same score. Make a rule recommend items (“if liked X, recommend Y”)."
)


def _check_fields(ruleset: RuleSet, rows: list[dict[str, Any]]) -> None:
    for rule in ruleset.rules:
        for condition in rule.when:
            if rows and condition.feature not in rows[0]:
                raise EvaluationInputError(
                    f"The rules use {condition.feature!r}, which is not an input field."
                )


def rule_recommendations(rules: dict[str, Any], rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The items the rules recommend for each row, best first (a ranking prototype), with
    the engine's rule order. Rules that recommend nothing raise `EvaluationInputError`
    saying that they cannot rank."""
    if not parse_rules(rules).recommends:
        raise EvaluationInputError(CANNOT_RANK)
    ruleset = parse_rules(rules, task="ranking")
    _check_fields(ruleset, rows)
    return [recommended_items(ruleset, row) for row in rows]


def rule_answers(rules: dict[str, Any], rows: list[dict[str, Any]]) -> list[Any]:
    """The rules' prediction for each row. A feature the rules use but the rows lack
    raises `EvaluationInputError` naming it."""
    ruleset = parse_rules(rules)
    if ruleset.recommends:
        raise EvaluationInputError(
            "These rules recommend items; only a ranking prototype shows recommendations."
        )
    _check_fields(ruleset, rows)
    columns: dict[str, np.ndarray] = {}
    for rule in ruleset.rules:
        for condition in rule.when:
            name = condition.feature
            if name in columns:
                continue
            values = [row.get(name) for row in rows]
            present = [v for v in values if v is not None]
            if present and all(isinstance(v, int | float) for v in present):
                # Numbers (and booleans) as floats; a missing value is NaN, which no
                # condition matches, as in an evaluation.
                columns[name] = np.array(
                    [np.nan if v is None else float(v) for v in values], dtype=np.float64
                )
            else:
                columns[name] = np.array(values, dtype=object)
    predictions, _ = apply_rules(ruleset, columns=columns, n_rows=len(rows))
    return [p.item() if isinstance(p, np.generic) else p for p in predictions]
