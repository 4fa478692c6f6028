"""The subset of MLflow's search syntax that `runs/search` understands, turned into
queryset filters over the runs' denormalised columns:

    metrics.f1 > 0.8 and params.lr = '0.01' and tags.team != 'b' and attributes.status = 'FINISHED'

Comparisons are joined by AND; metrics take =, !=, <, <=, >, >=; params, tags and the
attributes `status`, `run_name` and `run_id` take = and !=. Anything else is refused
with a clear message rather than silently ignored."""

import re

from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from evaluation.models import Run
from evaluation.runs.selectors import RunOrder, metric_expression

ENTITY = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
CLAUSE = re.compile(
    r"""\s*(?P<entity>\w+)\.(?:`(?P<bq>[^`]+)`|"(?P<dq>[^"]+)"|(?P<plain>[\w./-]+))\s*
        (?P<op>>=|<=|!=|=|>|<)\s*
        (?P<value>'(?:[^']*)'|"(?:[^"]*)"|[-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*$""",
    re.VERBOSE,
)
AND = re.compile(r"\s+and\s+", re.IGNORECASE)
LOOKUP = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
STATUSES = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "finished",
            "FAILED": "failed", "KILLED": "killed"}  # fmt: skip


class SearchSyntaxError(ValueError):
    pass


def _split(filter_string: str) -> list[str]:
    # Split on AND outside quotes: quoted values may contain " and ".
    parts, current, quote = [], "", None
    tokens = re.split(r"""('|"|`)""", filter_string)
    for token in tokens:
        if token in ("'", '"', "`"):
            quote = None if quote == token else quote or token
            current += token
        elif quote:
            current += token
        else:
            pieces = AND.split(token)
            current += pieces[0]
            for piece in pieces[1:]:
                parts.append(current)
                current = piece
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def _compare(alias: str, op: str, value) -> Q:
    if op == "!=":
        return ~Q(**{alias: value}) & Q(**{f"{alias}__isnull": False})
    return Q(**{f"{alias}__{LOOKUP[op]}": value})


def apply_filter(runs: QuerySet[Run], filter_string: str) -> QuerySet[Run]:
    for i, clause in enumerate(_split(filter_string or "")):
        match = CLAUSE.match(clause)
        if not match or match["entity"].lower() not in ENTITY:
            raise SearchSyntaxError(f"Unsupported search clause: {clause!r}.")
        entity = ENTITY[match["entity"].lower()]
        key = match["bq"] or match["dq"] or match["plain"]
        op, raw = match["op"], match["value"]
        quoted = raw[0] in "'\""
        value = raw[1:-1] if quoted else raw
        alias = f"search_{i}"
        if entity == "metrics":
            if quoted:
                raise SearchSyntaxError(f"metrics.{key} must be compared with a number.")
            runs = runs.alias(**{alias: metric_expression(key)}).filter(
                _compare(alias, op, float(value))
            )
            continue
        if op not in ("=", "!="):
            raise SearchSyntaxError(f"{entity}.{key} supports only = and !=.")
        if not quoted:
            raise SearchSyntaxError(f"{entity}.{key} must be compared with a quoted string.")
        if entity in ("params", "tags"):
            expression = Cast(KeyTextTransform(key, entity), TextField())
            runs = runs.alias(**{alias: expression}).filter(_compare(alias, op, value))
        elif key == "status":
            status = STATUSES.get(value.upper())
            if status is None:
                raise SearchSyntaxError(f"Unknown run status {value!r}.")
            runs = runs.filter(_compare("status", op, status))
        elif key in ("run_name", "runName"):
            runs = runs.filter(_compare("name", op, value))
        elif key in ("run_id", "run_uuid"):
            if not value.isdigit():
                return runs.none() if op == "=" else runs
            runs = runs.filter(_compare("pk", op, int(value)))
        else:
            raise SearchSyntaxError(f"Searching by attributes.{key} is not supported.")
    return runs


def parse_order_by(order_by: list[str]) -> RunOrder:
    """The first `order_by` clause (MLflow allows several; later ones are not supported)."""
    if not order_by:
        return RunOrder.parse("-started_at")
    if len(order_by) > 1:
        raise SearchSyntaxError("Ordering by more than one key is not supported.")
    match = re.fullmatch(
        r"\s*(\w+)\.(?:`([^`]+)`|\"([^\"]+)\"|([\w./-]+))(?:\s+(ASC|DESC))?\s*",
        order_by[0],
        re.IGNORECASE,
    )
    if not match or ENTITY.get(match[1].lower()) not in ("metrics", "attributes"):
        raise SearchSyntaxError(f"Unsupported order_by: {order_by[0]!r}.")
    key = match[2] or match[3] or match[4]
    descending = (match[5] or "ASC").upper() == "DESC"
    prefix = "-" if descending else ""
    if ENTITY[match[1].lower()] == "metrics":
        return RunOrder.parse(f"{prefix}metric.{key}")
    field = {"start_time": "started_at", "run_name": "name", "created": "started_at"}.get(key)
    if field is None:
        raise SearchSyntaxError(f"Ordering by attributes.{key} is not supported.")
    return RunOrder.parse(f"{prefix}{field}")
