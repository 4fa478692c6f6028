"""Rule baselines (seed §1.4.4: "write the rules as if you were the model") as data.

The one format, shared with the evaluation engine, which applies exactly this::

    {"rules": [{"when": [{"feature": "age", "op": ">=", "value": 30}], "then": 1}],
     "default": 0}

Rules are tried in order; the first whose conditions all hold gives `then`, else
`default`. For ranking, a rule may `recommend` items instead of giving a `then` score
(“if liked bibimbap, recommend bulgogi, japchae”)::

    {"rules": [{"when": [{"feature": "liked", "op": "==", "value": "bibimbap"}],
                "recommend": ["bulgogi", "japchae"]}], "default": 0}
 `validate_rules` is strict (unknown keys, wrong types, empty lists, null and
non-finite numbers are errors) so that what is saved is exactly what the engine can run.
Applying rules is the engine's job (`evaluation.metrics.rules`, vectorised over a file);
this module only guards the format at save time and describes it for reading.
"""

import math
from typing import Any

OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")
ORDER_OPS = (">", ">=", "<", "<=")
LIST_OPS = ("in", "not_in")


def _is_number(value: Any) -> bool:
    # NaN and infinities can't be compared with meaning, so the engine refuses them.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def validate_rules(spec: Any) -> list[str]:
    """Every problem of `spec`, as messages naming where it is; empty when valid."""
    if not isinstance(spec, dict):
        return ["The rules must be a JSON object with “rules” and “default”."]
    errors: list[str] = []
    extra = sorted(set(spec) - {"rules", "default"})
    if extra:
        errors.append(f"Unknown key(s): {', '.join(extra)}.")
    if "default" not in spec:
        errors.append("“default” is required (the answer when no rule matches).")
    elif not _is_scalar(spec["default"]):
        errors.append("“default” must be a finite number, string or boolean.")
    rules = spec.get("rules")
    if not isinstance(rules, list) or not rules:
        errors.append("“rules” must be a non-empty list.")
        return errors
    for i, rule in enumerate(rules, start=1):
        where = f"Rule {i}"
        if not isinstance(rule, dict):
            errors.append(f"{where} must be an object with “when” and “then”.")
            continue
        extra = sorted(set(rule) - {"when", "then", "recommend"})
        if extra:
            errors.append(f"{where}: unknown key(s) {', '.join(extra)}.")
        if "then" in rule and "recommend" in rule:
            errors.append(f"{where}: give either “then” or “recommend”, not both.")
        elif "recommend" in rule:
            items = rule["recommend"]
            if not isinstance(items, list) or not items or not all(_is_scalar(i) for i in items):
                errors.append(f"{where}: “recommend” must be a non-empty list of items.")
        elif "then" not in rule:
            errors.append(f"{where}: “then” is required (or “recommend”, for ranking).")
        elif not _is_scalar(rule["then"]):
            errors.append(f"{where}: “then” must be a finite number, string or boolean.")
        when = rule.get("when")
        if not isinstance(when, list) or not when:
            errors.append(f"{where}: “when” must be a non-empty list of conditions.")
            continue
        for j, cond in enumerate(when, start=1):
            errors += _condition_errors(cond, f"{where}, condition {j}")
    return errors


def _condition_errors(cond: Any, where: str) -> list[str]:
    if not isinstance(cond, dict):
        return [f"{where} must be an object with “feature”, “op” and “value”."]
    errors = []
    extra = sorted(set(cond) - {"feature", "op", "value"})
    if extra:
        errors.append(f"{where}: unknown key(s) {', '.join(extra)}.")
    feature = cond.get("feature")
    if not isinstance(feature, str) or not feature.strip():
        errors.append(f"{where}: “feature” must be a non-empty string.")
    op = cond.get("op")
    if op not in OPS:
        errors.append(f"{where}: “op” must be one of {' '.join(OPS)}.")
    if "value" not in cond:
        errors.append(f"{where}: “value” is required.")
        return errors
    value = cond["value"]
    if op in LIST_OPS:
        if not isinstance(value, list) or not value or not all(_is_scalar(v) for v in value):
            errors.append(f"{where}: “{op}” needs a non-empty list of values.")
    elif op in ORDER_OPS:
        if not _is_number(value):
            errors.append(f"{where}: “{op}” needs a number.")
    elif not _is_scalar(value):
        errors.append(f"{where}: “value” must be a finite number, string or boolean.")
    return errors


def describe_rules(spec: dict) -> list[str]:
    """Readable lines: “if age >= 30 and city in [Seoul, Busan] then 1”, “otherwise 0”."""
    lines = []
    for rule in spec.get("rules", []):
        conds = " and ".join(
            f"{c['feature']} {c['op'].replace('_', ' ')} {c['value']}" for c in rule["when"]
        )
        if "recommend" in rule:
            outcome = "recommend " + ", ".join(str(i) for i in rule["recommend"])
        else:
            outcome = str(rule["then"])
        lines.append(f"if {conds} then {outcome}")
    lines.append(f"otherwise {spec.get('default')}")
    return lines
