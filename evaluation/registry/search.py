"""MLflow's search grammar for registered models and model versions, as database queries.

Registered models: `name` (= != LIKE ILIKE) and `tags.<key>` (`!=` also matches a model
without the tag, as in MLflow); ordered by `name`,
`creation_timestamp` or `last_updated_timestamp` (default: name ascending). Model versions:
`name`, `run_id` (also IN / NOT IN), `source_path`, `version_number` (numeric comparisons)
and `tags.<key>`; ordered by those attributes (default: name ascending, newest version
first)."""

from django.db.models import F, Q, QuerySet
from django.db.models.lookups import IsNull

from evaluation.runs.mlflow.search import (
    ATTRIBUTE,
    LISTS,
    NULLS,
    NUMERIC,
    STRINGS,
    TAG,
    SearchSyntaxError,
    _check,
    _compare,
    _order_clause,
    parse_filter,
)
from evaluation.runs.selectors import JsonText

MODEL_ORDER = {"name": "name", "creation_timestamp": "created_at",
               "last_updated_timestamp": "updated_at", "timestamp": "updated_at"}  # fmt: skip
VERSION_ORDER = {"name": "registered_model__name", "version_number": "version",
                 "creation_timestamp": "created_at", "last_updated_timestamp": "updated_at",
                 "run_id": "run_id"}  # fmt: skip
VERSION_STRINGS = {"name": "registered_model__name", "source_path": "source"}


def _tag(items: QuerySet, clause, alias: str) -> QuerySet:
    _check(clause, STRINGS | NULLS, f"tags.{clause.key}")
    if clause.op in NULLS:
        return items.filter(IsNull(JsonText("tags", clause.key), clause.op == "IS NULL"))
    items = items.alias(**{alias: JsonText("tags", clause.key)})
    if clause.op == "!=":
        # As MLflow's registry: a model without the tag is not equal to any value (the
        # client excludes prompts with `tags.`mlflow.prompt.is_prompt` != 'true'`).
        return items.filter(Q(**{f"{alias}__isnull": True}) | ~Q(**{alias: clause.value}))
    return items.filter(_compare(alias, clause.op, clause.value))


def filter_registered_models(models: QuerySet, text: str) -> QuerySet:
    for i, clause in enumerate(parse_filter(text)):
        if clause.entity == TAG:
            models = _tag(models, clause, f"f{i}")
        elif clause.entity == ATTRIBUTE and clause.key == "name":
            _check(clause, STRINGS, "name")
            models = models.filter(_compare("name", clause.op, clause.value))
        else:
            raise SearchSyntaxError(
                f"Invalid filter on registered models: '{clause.key}'. Filter by name or "
                "tags.<key>."
            )
    return models


def filter_model_versions(versions: QuerySet, text: str) -> QuerySet:
    for i, clause in enumerate(parse_filter(text)):
        key = clause.key
        if clause.entity == TAG:
            versions = _tag(versions, clause, f"f{i}")
        elif clause.entity == ATTRIBUTE and key in VERSION_STRINGS:
            _check(clause, STRINGS, key)
            versions = versions.filter(_compare(VERSION_STRINGS[key], clause.op, clause.value))
        elif clause.entity == ATTRIBUTE and key == "run_id":
            _check(clause, {"=", "!="} | LISTS, "run_id")
            values = clause.value if isinstance(clause.value, list) else [clause.value]
            ids = [int(v) for v in values if v.isascii() and v.isdigit() and int(v) < 2**63]
            op = {"=": "IN", "!=": "NOT IN"}.get(clause.op, clause.op)
            versions = versions.filter(_compare("run_id", op, ids))
        elif clause.entity == ATTRIBUTE and key == "version_number":
            _check(clause, NUMERIC, "version_number")
            versions = versions.filter(_compare("version", clause.op, clause.value))
        else:
            raise SearchSyntaxError(
                f"Invalid filter on model versions: '{key}'. Filter by name, run_id, "
                "source_path, version_number or tags.<key>."
            )
    return versions


def _order(items: QuerySet, order_by: list[str], columns: dict, default: list) -> QuerySet:
    ordering, seen = [], set()
    for raw in order_by:
        entity, key, ascending = _order_clause(raw)
        if entity != ATTRIBUTE or key not in columns:
            raise SearchSyntaxError(f"Invalid order_by key '{raw}': order by {', '.join(columns)}.")
        if key in seen:
            raise SearchSyntaxError(f"`order_by` contains duplicate fields: {order_by}")
        seen.add(key)
        column = F(columns[key])
        ordering.append(column.asc() if ascending else column.desc())
    return items.order_by(*ordering, *default)


def order_registered_models(models: QuerySet, order_by: list[str]) -> QuerySet:
    return _order(models, order_by, MODEL_ORDER, ["name"])


def order_model_versions(versions: QuerySet, order_by: list[str]) -> QuerySet:
    return _order(versions, order_by, VERSION_ORDER, ["registered_model__name", "-version"])
