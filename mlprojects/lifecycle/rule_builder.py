"""The rule builder: a rules baseline edited as a form (conditions on a feature, an
operator and a value; then a prediction, or items to recommend; a default) instead of JSON.

The stored structure is unchanged (`mlprojects.lifecycle.rules`); this module converts it to
rows of text inputs and back, with an error per input. Values are typed as text: a number
reads as a number, ``true``/``false`` as a boolean, anything else as text; lists (``in``,
``not in``, recommended items) are comma-separated, and a value in double quotes stays text
(``"7"``, ``"a, b"``). Plain Python, no Django: the form calls it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlprojects.lifecycle.rules import LIST_OPS, OPS, ORDER_OPS, validate_rules

OP_LABELS = {
    "==": "is",
    "!=": "is not",
    ">": ">",
    ">=": "≥",
    "<": "<",
    "<=": "≤",
    "in": "is one of",
    "not_in": "is none of",
}
THEN, RECOMMEND = "then", "recommend"


@dataclass
class ConditionRow:
    feature: str = ""
    op: str = "=="
    value: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def blank(self) -> bool:
        return not self.feature.strip() and not self.value.strip()


@dataclass
class RuleRow:
    conditions: list[ConditionRow] = field(default_factory=lambda: [ConditionRow()])
    outcome: str = THEN
    then: str = ""
    recommend: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def blank(self) -> bool:
        return all(c.blank() for c in self.conditions) and not (
            self.then.strip() or self.recommend.strip()
        )


@dataclass
class Builder:
    rules: list[RuleRow] = field(default_factory=lambda: [RuleRow()])
    default: str = ""
    default_error: str = ""
    errors: list[str] = field(default_factory=list)  # problems of the whole rule set

    def padded(self) -> Builder:
        """At least one rule with one condition, so that an empty form has inputs."""
        if not self.rules:
            self.rules.append(RuleRow())
        for rule in self.rules:
            if not rule.conditions:
                rule.conditions.append(ConditionRow())
        return self


# -- values as text and back ------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def text_to_scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _NUMBER.match(text):
        number = float(text)
        if math.isfinite(number):
            whole = number.is_integer() and not re.search(r"[.eE]", text)
            return int(number) if whole else number
    return text


def scalar_to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    # Quote a text that would read back as something else (a number, a boolean, a list).
    if text_to_scalar(text) != text or "," in text or text != text.strip():
        return '"' + text + '"'
    return text


def text_to_list(text: str) -> list[Any]:
    """Comma-separated values; one in double quotes is text, commas included."""
    values = []
    for match in re.finditer(r'\s*"([^"]*)"\s*|([^,]+)', text):
        if match[1] is not None:
            values.append(match[1])
        elif match[2].strip():
            values.append(text_to_scalar(match[2]))
    return values


def list_to_text(values: list[Any]) -> str:
    return ", ".join(scalar_to_text(v) for v in values)


# -- the stored rules as rows, and rows as the stored rules ------------------------------------


def builder_from_spec(spec: Any) -> Builder:
    """The rows of a stored rule set (anything unreadable gives an empty builder)."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get("rules"), list):
        return Builder().padded()
    rows = []
    for rule in spec["rules"]:
        if not isinstance(rule, Mapping):
            continue
        conditions = [
            ConditionRow(
                feature=str(c.get("feature", "")),
                op=c.get("op") if c.get("op") in OPS else "==",
                value=list_to_text(c["value"])
                if isinstance(c.get("value"), list)
                else scalar_to_text(c.get("value", "")),
            )
            for c in rule.get("when") or []
            if isinstance(c, Mapping)
        ]
        if isinstance(rule.get("recommend"), list):
            rows.append(RuleRow(conditions, RECOMMEND, recommend=list_to_text(rule["recommend"])))
        else:
            rows.append(RuleRow(conditions, THEN, then=scalar_to_text(rule.get("then", ""))))
    default = spec.get("default")
    return Builder(rows, "" if default is None else scalar_to_text(default)).padded()


_COND = re.compile(r"^rule-(\d+)-cond-(\d+)-(feature|op|value)$")
_RULE = re.compile(r"^rule-(\d+)-(outcome|then|recommend)$")


def builder_from_data(data: Mapping[str, Any]) -> Builder:
    """The rows as submitted (``rule-<i>-cond-<j>-feature`` …), in index order."""
    rules: dict[int, dict[str, Any]] = {}
    for key in data:
        if match := _COND.match(key):
            i, j, name = int(match[1]), int(match[2]), match[3]
            rules.setdefault(i, {}).setdefault("conds", {}).setdefault(j, {})[name] = data[key]
        elif match := _RULE.match(key):
            rules.setdefault(int(match[1]), {})[match[2]] = data[key]
    rows = []
    for i in sorted(rules):
        raw = rules[i]
        conditions = [
            ConditionRow(
                feature=str(c.get("feature", "")).strip(),
                op=c.get("op") if c.get("op") in OPS else "==",
                value=str(c.get("value", "")),
            )
            for _, c in sorted(raw.get("conds", {}).items())
        ]
        outcome = RECOMMEND if raw.get("outcome") == RECOMMEND else THEN
        rows.append(
            RuleRow(
                conditions,
                outcome,
                then=str(raw.get("then", "")),
                recommend=str(raw.get("recommend", "")),
            )
        )
    return Builder(rows, str(data.get("rules_default", "")))


def builder_to_spec(builder: Builder) -> dict[str, Any] | None:
    """The rule set the rows describe, or None when they are all blank. Problems are
    written onto the rows (`errors`, `default_error`, and the builder's `errors`); check
    `has_errors` afterwards."""
    rules = []
    for rule in builder.rules:
        if rule.blank():
            continue
        when = []
        for cond in rule.conditions:
            if cond.blank():
                continue
            item = _condition(cond)
            if item is not None:
                when.append(item)
        if not when and not any(c.errors for c in rule.conditions):
            rule.errors["conditions"] = "Add a condition: when does this rule apply?"
        if rule.outcome == RECOMMEND:
            items = text_to_list(rule.recommend)
            if not items:
                rule.errors["recommend"] = "List the items to recommend, separated by commas."
            rules.append({"when": when, "recommend": items})
        else:
            if not rule.then.strip():
                rule.errors["then"] = "Say what the rule predicts."
            rules.append({"when": when, "then": text_to_scalar(rule.then)})
    if not rules and not builder.default.strip():
        return None
    if not rules:
        builder.errors.append("Add a rule: a rules baseline needs at least one.")
    if not builder.default.strip():
        builder.default_error = "Give the answer when no rule applies (for ranking, 0)."
    spec = {"rules": rules, "default": text_to_scalar(builder.default)}
    if not has_errors(builder):
        builder.errors += validate_rules(spec)
    return spec


def _condition(cond: ConditionRow) -> dict[str, Any] | None:
    if not cond.feature:
        cond.errors["feature"] = "Name the feature."
    if not cond.value.strip():
        cond.errors["value"] = "Give a value."
    if cond.errors:
        return None
    if cond.op in LIST_OPS:
        value: Any = text_to_list(cond.value)
    else:
        value = text_to_scalar(cond.value)
        if cond.op in ORDER_OPS and (isinstance(value, bool) or not isinstance(value, int | float)):
            cond.errors["value"] = f"“{OP_LABELS[cond.op]}” compares numbers: give a number."
            return None
    return {"feature": cond.feature, "op": cond.op, "value": value}


def has_errors(builder: Builder) -> bool:
    return bool(
        builder.errors
        or builder.default_error
        or any(r.errors or any(c.errors for c in r.conditions) for r in builder.rules)
    )


def apply_action(builder: Builder, action: str) -> None:
    """A button of the builder pressed without JavaScript (or through htmx): add or remove
    a rule or a condition. Unknown actions change nothing."""
    if action == "add-rule":
        builder.rules.append(RuleRow())
    elif match := re.fullmatch(r"add-condition-(\d+)", action):
        if int(match[1]) < len(builder.rules):
            builder.rules[int(match[1])].conditions.append(ConditionRow())
    elif match := re.fullmatch(r"remove-rule-(\d+)", action):
        if int(match[1]) < len(builder.rules):
            del builder.rules[int(match[1])]
    elif match := re.fullmatch(r"remove-condition-(\d+)-(\d+)", action):
        i, j = int(match[1]), int(match[2])
        if i < len(builder.rules) and j < len(builder.rules[i].conditions):
            del builder.rules[i].conditions[j]
    builder.padded()
