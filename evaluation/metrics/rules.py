"""Rule baselines: a project's hand-written rules, stored as JSON, applied to feature columns.

Format (what a project stores)::

    {
      "rules": [
        {"when": [{"feature": "age", "op": ">=", "value": 30},
                  {"feature": "city", "op": "==", "value": "Seoul"}],
         "then": 1},
        {"when": [{"feature": "segment", "op": "in", "value": ["vip", "gold"]}], "then": 1}
      ],
      "default": 0
    }

* ``when`` is a list of conditions that must *all* hold (AND); an empty list always holds.
  Use several rules for OR.
* ``op`` is one of ``== != > >= < <= in not_in``. ``> >= < <=`` need a number and a numeric
  column; ``in`` / ``not_in`` need a non-empty list.
* The *first* matching rule wins; rows matching none get ``default`` (required).
* ``then`` / ``default`` is the prediction: for binary a score or label in [0, 1]; for
  regression a number; for ranking a score; for multiclass a class label.
* Missing feature values (empty cells) make every condition on that feature false,
  including ``!=`` and ``not_in``: "unknown" is never evidence.
* Ranking only: instead of ``then``, a rule may ``recommend`` a list of items ("if liked X,
  recommend Y"). On a row of a group (user, query) whose conditions hold and whose item is
  in the list, the rule gives a score above every ``then`` and ``default``; earlier rules
  and earlier items of a list rank higher. Rows it does not recommend go on to the next
  rules. This needs the file's item column.
* A ranking rule set that gives every item of each group the same score cannot rank: the
  engine reports that instead of scoring it (which would equal the random baseline).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import EvaluationInputError

OPERATORS: tuple[str, ...] = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")
_ORDERING = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: Any


@dataclass(frozen=True)
class Rule:
    when: tuple[Condition, ...]
    then: Any
    recommend: tuple[Any, ...] | None = None  # ranking: the items this rule recommends


@dataclass(frozen=True)
class RuleSet:
    """A validated rule set; build it with `parse_rules`."""

    rules: tuple[Rule, ...]
    default: Any

    @property
    def recommends(self) -> bool:
        """Whether some rule recommends items (a ranking rule set that can rank by itself)."""
        return any(r.recommend is not None for r in self.rules)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what `parse_rules` accepts)."""
        return {
            "rules": [
                {
                    "when": [{"feature": c.feature, "op": c.op, "value": c.value} for c in r.when],
                    **(
                        {"recommend": list(r.recommend)}
                        if r.recommend is not None
                        else {"then": r.then}
                    ),
                }
                for r in self.rules
            ],
            "default": self.default,
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _is_numeric_column(column: np.ndarray) -> bool:
    return np.asarray(column).dtype.kind in "iufb"


def _check_outcome(value: Any, *, where: str, task: str | None) -> None:
    if task in ("binary",):
        if not _is_number(value) or not 0 <= value <= 1:
            raise EvaluationInputError(
                f"{where}: for a binary task the prediction must be a number in [0, 1] "
                f"(a label 0/1 or a probability), got {value!r}."
            )
    elif task in ("regression", "ranking"):
        if not _is_number(value):
            raise EvaluationInputError(
                f"{where}: for a {task} task the prediction must be a number, got {value!r}."
            )
    elif task == "multiclass":
        if not (isinstance(value, str) or _is_number(value)):
            raise EvaluationInputError(
                f"{where}: for a multiclass task the prediction must be a class label "
                f"(text or number), got {value!r}."
            )
    elif not _is_scalar(value):
        raise EvaluationInputError(
            f"{where}: the prediction must be a number or a label, got {value!r}."
        )


def _unknown_keys(obj: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise EvaluationInputError(
            f"{where}: unknown key(s) {', '.join(repr(e) for e in extra)}; "
            f"allowed keys are {', '.join(allowed)}."
        )


def _check_feature(
    name: Any, *, where: str, features: Mapping[str, np.ndarray] | Sequence[str] | None
) -> None:
    if not isinstance(name, str) or not name:
        raise EvaluationInputError(f"{where}.feature: must be a column name (text).")
    if features is None or name in features:
        return
    available = sorted(features)
    close = difflib.get_close_matches(name, available, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise EvaluationInputError(
        f"{where}.feature: there is no column {name!r}.{hint} "
        f"Available columns: {', '.join(available) if available else '(none)'}."
    )


def _parse_condition(
    raw: Any,
    *,
    where: str,
    features: Mapping[str, np.ndarray] | Sequence[str] | None,
) -> Condition:
    if not isinstance(raw, Mapping):
        raise EvaluationInputError(
            f"{where}: each condition must be an object like "
            '{"feature": "age", "op": ">=", "value": 30}.'
        )
    _unknown_keys(raw, ("feature", "op", "value"), where)
    for key in ("feature", "op", "value"):
        if key not in raw:
            raise EvaluationInputError(f"{where}: missing {key!r}.")
    feature, op, value = raw["feature"], raw["op"], raw["value"]
    _check_feature(feature, where=where, features=features)
    if op not in OPERATORS:
        raise EvaluationInputError(
            f"{where}.op: unknown operator {op!r}; use one of {' '.join(OPERATORS)}."
        )
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(_is_scalar(v) for v in value):
            raise EvaluationInputError(
                f"{where}.value: {op!r} needs a non-empty list of numbers or texts, got {value!r}."
            )
        value = tuple(value)
    elif op in _ORDERING:
        if not _is_number(value):
            raise EvaluationInputError(f"{where}.value: {op!r} compares numbers, got {value!r}.")
    elif not _is_scalar(value):
        raise EvaluationInputError(
            f"{where}.value: {op!r} needs a number or a text, got {value!r}."
        )
    if isinstance(features, Mapping):
        numeric = _is_numeric_column(features[feature])
        values = value if isinstance(value, tuple) else (value,)
        if op in _ORDERING and not numeric:
            raise EvaluationInputError(
                f"{where}: column {feature!r} holds text, so {op!r} cannot be used; "
                "use ==, !=, in or not_in."
            )
        if numeric and any(isinstance(v, str) for v in values):
            raise EvaluationInputError(
                f"{where}.value: column {feature!r} is numeric but the value "
                f"{value!r} contains text."
            )
    return Condition(feature=feature, op=op, value=value)


def parse_rules(
    spec: Mapping[str, Any] | str,
    *,
    features: Mapping[str, np.ndarray] | Sequence[str] | None = None,
    task: str | None = None,
) -> RuleSet:
    """Validate a rule set (a dict, or its JSON text) and return a `RuleSet`.

    `features` (column names, or a name → array mapping for type checks) makes unknown
    feature names an error; `task` checks the type of every ``then`` / ``default``.
    Raises `EvaluationInputError` with the path of the offending entry, e.g.
    ``rules[0].when[1].op: unknown operator '=>'; use one of == != > >= < <= in not_in``.
    """
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise EvaluationInputError(f"The rules are not valid JSON: {exc.msg}.") from None
    if not isinstance(spec, Mapping):
        raise EvaluationInputError('Rules must be an object like {"rules": [...], "default": 0}.')
    _unknown_keys(spec, ("rules", "default"), "rules object")
    if "default" not in spec:
        raise EvaluationInputError(
            'The rules need a "default" prediction for rows that match no rule.'
        )
    raw_rules = spec.get("rules")
    if not isinstance(raw_rules, list):
        raise EvaluationInputError('"rules" must be a list of {"when": [...], "then": ...}.')
    _check_outcome(spec["default"], where="default", task=task)
    rules = []
    for i, raw in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(raw, Mapping):
            raise EvaluationInputError(
                f'{where}: must be an object {{"when": [...], "then": ...}}.'
            )
        _unknown_keys(raw, ("when", "then", "recommend"), where)
        recommend = None
        if "recommend" in raw:
            if "then" in raw:
                raise EvaluationInputError(f"{where}: give either 'then' or 'recommend'.")
            if task not in (None, "ranking"):
                raise EvaluationInputError(
                    f"{where}.recommend: only ranking rules recommend items; a {task} rule "
                    "gives its prediction in 'then'."
                )
            items = raw["recommend"]
            if not isinstance(items, list) or not items or not all(_is_scalar(i) for i in items):
                raise EvaluationInputError(
                    f"{where}.recommend: must be a non-empty list of items, got {items!r}."
                )
            recommend = tuple(items)
        elif "then" not in raw:
            raise EvaluationInputError(f"{where}: missing 'then' (the prediction).")
        when = raw.get("when", [])
        if not isinstance(when, list):
            raise EvaluationInputError(f"{where}.when: must be a list of conditions.")
        conditions = tuple(
            _parse_condition(c, where=f"{where}.when[{j}]", features=features)
            for j, c in enumerate(when)
        )
        if recommend is None:
            _check_outcome(raw["then"], where=f"{where}.then", task=task)
        rules.append(Rule(when=conditions, then=raw.get("then"), recommend=recommend))
    return RuleSet(rules=tuple(rules), default=spec["default"])


def _condition_mask(condition: Condition, column: np.ndarray) -> np.ndarray:
    col = np.asarray(column)
    if _is_numeric_column(col):
        values = col.astype(np.float64, copy=False)
        present = ~np.isnan(values)
        op, value = condition.op, condition.value
        if op in ("in", "not_in"):
            hit = np.isin(values, np.asarray(value, dtype=np.float64))
            hit = hit if op == "in" else ~hit
        else:
            compare = {
                "==": np.equal,
                "!=": np.not_equal,
                ">": np.greater,
                ">=": np.greater_equal,
                "<": np.less,
                "<=": np.less_equal,
            }[op]
            hit = compare(values, float(value))
        return hit & present
    series = pd.Series(col, dtype=object, copy=False)
    present = series.notna().to_numpy()
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    # Compare as text, so a rule value 7 matches a text column holding "7".
    hit = series.isin([str(v) for v in values] + list(values)).to_numpy()
    if condition.op in ("!=", "not_in"):
        hit = ~hit
    return hit & present


def recommendation_scores(rules: RuleSet) -> dict[tuple[int, int], float]:
    """The score of each (rule, position in its list) of the recommending rules: above
    every ``then`` and ``default``, earlier rules and earlier items first."""
    plain = [r.then for r in rules.rules if r.recommend is None] + [rules.default]
    top = max(float(v) for v in plain if _is_number(v)) if any(map(_is_number, plain)) else 0
    slots = [
        (i, p) for i, r in enumerate(rules.rules) if r.recommend for p in range(len(r.recommend))
    ]
    return {slot: top + len(slots) - n for n, slot in enumerate(slots)}


def apply_rules(
    rules: RuleSet,
    *,
    columns: Mapping[str, np.ndarray],
    n_rows: int,
    item: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Predictions for every row (first matching rule wins) and how many rows each rule took.

    Returns ``(predictions, {"rows_per_rule": [int, ...], "rows_default": int})``.
    Predictions are float64 when every outcome is a number, else an object array of labels.
    Rules that `recommend` items match the rows whose `item` is in their list (ranking).
    """
    if rules.recommends and item is None:
        raise EvaluationInputError(
            "The rules recommend items, which needs the file's item column: map it."
        )
    scores = recommendation_scores(rules)
    outcomes = [r.then for r in rules.rules if r.recommend is None] + [rules.default]
    numeric = all(_is_number(v) for v in outcomes)
    if numeric:
        pred: np.ndarray = np.full(n_rows, float(rules.default))
    else:
        pred = np.full(n_rows, rules.default, dtype=object)
    unassigned = np.ones(n_rows, dtype=bool)
    taken = []
    for index, rule in enumerate(rules.rules):
        match = unassigned.copy()
        for condition in rule.when:
            if condition.feature not in columns:
                raise EvaluationInputError(
                    f"Rule feature {condition.feature!r} is not a column of the file."
                )
            match &= _condition_mask(condition, columns[condition.feature])
        if rule.recommend is None:
            pred[match] = rule.then
            unassigned &= ~match
            taken.append(int(np.count_nonzero(match)))
            continue
        took = 0
        for position, wanted in enumerate(rule.recommend):
            hit = match & _condition_mask(Condition("item", "==", wanted), item)
            pred[hit] = scores[(index, position)]
            match &= ~hit
            unassigned &= ~hit
            took += int(np.count_nonzero(hit))
        taken.append(took)
    return pred, {"rows_per_rule": taken, "rows_default": int(np.count_nonzero(unassigned))}


def recommended_items(rules: RuleSet, row: Mapping[str, Any]) -> list[Any]:
    """The items the rules recommend for one input (a prototype's form), best first: the
    lists of the matching recommending rules in order, up to the first matching rule that
    gives a plain score instead (in an evaluation it takes every remaining item of the
    group). Conditions hold as in `apply_rules`; a missing value makes them false."""
    columns = {}
    for rule in rules.rules:
        for c in rule.when:
            value = row.get(c.feature)
            numeric = _is_number(value) or isinstance(value, bool)
            columns[c.feature] = (
                np.array([np.nan if value is None else float(value)])
                if numeric or value is None and isinstance(c.value, int | float)
                else np.array([value], dtype=object)
            )
    items: list[Any] = []
    for rule in rules.rules:
        if not all(_condition_mask(c, columns[c.feature])[0] for c in rule.when):
            continue
        if rule.recommend is None:
            break
        items += [i for i in rule.recommend if i not in items]
    return items
