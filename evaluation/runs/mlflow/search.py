"""MLflow's search grammar, turned into database queries (never into Python-side filtering).

Runs (`runs/search`): comparisons joined by AND, on

    metrics.<key>     = != < <= > >=           a number
    params.<key>      = != LIKE ILIKE          a quoted string; IS NULL, IS NOT NULL
    tags.<key>        (as params)              tags.`mlflow.runName` is the run's name
    attributes.run_id / run_name / status / user_id    = != LIKE ILIKE IN NOT IN
    attributes.start_time / end_time / created           = != < <= > >=  milliseconds
    datasets.name / digest / context                      = != LIKE ILIKE IN NOT IN

ordered by any number of `metrics.`/`params.`/`tags.`/`attributes.` keys, ASC or DESC,
then by start time (latest first) and run id, as MLflow orders them, so that pages are
stable. Experiments (`experiments/search`): `name`, `creation_time`, `last_update_time`,
`experiment_id` and `tags.<key>`, ordered by those attributes.

Semantics follow MLflow's SQL store: LIKE is case-sensitive and ILIKE is not, on SQLite and
PostgreSQL alike (`%` any text, `_` one character, `\\` escapes the next one); a NaN metric
satisfies only `!=` and sorts after every number, before runs without the metric; strings
sort by their code points on both databases. Identifiers and quoting as in MLflow:
`metrics.f1`, `tags."my tag"`, `` params.`a.b` ``; values in single or double quotes."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Upper
from django.db.models.lookups import IsNull

from evaluation.models import Experiment, Run, RunInput
from evaluation.runs.mlflow.protocol import from_ms
from evaluation.runs.models import MAX_FLOAT
from evaluation.runs.selectors import JsonText, metric_expression, metric_logged

RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
METRIC, PARAM, TAG, ATTRIBUTE, DATASET = "metric", "param", "tag", "attribute", "dataset"
ENTITIES = {
    "metric": METRIC, "metrics": METRIC,
    "param": PARAM, "params": PARAM, "parameter": PARAM, "parameters": PARAM,
    "tag": TAG, "tags": TAG,
    "attribute": ATTRIBUTE, "attributes": ATTRIBUTE, "attr": ATTRIBUTE, "run": ATTRIBUTE,
    "dataset": DATASET, "datasets": DATASET,
}  # fmt: skip
ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name",
           "Run name": "run_name", "Run Name": "run_name", "run_uuid": "run_id"}  # fmt: skip
NUMERIC = {"=", "!=", "<", "<=", ">", ">="}
STRINGS = {"=", "!=", "LIKE", "ILIKE"}
LISTS = {"IN", "NOT IN"}
NULLS = {"IS NULL", "IS NOT NULL"}
RUN_ATTRIBUTES = {  # attribute → (comparators, is time)
    "run_id": (STRINGS | LISTS, False),
    "run_name": (STRINGS | LISTS, False),
    "status": (STRINGS | LISTS, False),
    "user_id": (STRINGS | LISTS, False),
    "start_time": (NUMERIC, True),
    "end_time": (NUMERIC, True),
}
DATASET_FIELDS = {"name": "dataset__name", "digest": "dataset__digest", "context": "context"}
LOOKUP = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
MAX_CLAUSES = 50  # more is not a search a person writes; refused rather than slow

TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>`[^`]*`(?:\.(?:`[^`]*`|"[^"]*"|[\w.:/-]+))?
              |[A-Za-z_]\w*(?:\.(?:`[^`]*`|"(?:[^"]|"")*"|[\w.:/-]+))?)
    )""",
    re.VERBOSE,
)


class SearchSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Clause:
    entity: str
    key: str
    op: str
    value: object  # str, float, int, list[str] or None


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


def _identifier(word: str) -> tuple[str, str]:
    """(entity, key) of `metrics.f1`, ``tags.`a b` ``, `name` (an attribute)…"""
    if word.startswith("`") and word.endswith("`") and word.count("`") == 2:
        return ATTRIBUTE, ALIASES.get(word[1:-1], word[1:-1])
    head, dot, key = word.partition(".")
    head = head.strip("`")
    if not dot:
        return ATTRIBUTE, ALIASES.get(head, head)
    if head not in ENTITIES:
        raise SearchSyntaxError(
            f"Invalid entity type '{head}'. Valid values are "
            "metrics, params, tags, attributes and datasets."
        )
    if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
        key = _unquote(key) if key[0] == '"' else key[1:-1]
    if not key:
        raise SearchSyntaxError(f"Invalid identifier '{word}': the key is missing.")
    entity = ENTITIES[head]
    return entity, ALIASES.get(key, key) if entity == ATTRIBUTE else key


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise SearchSyntaxError(f"Could not parse the filter near {text[position:][:30]!r}.")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise SearchSyntaxError("The filter ends too early.")
        self.i += 1
        return token

    def keyword(self, *words: str) -> bool:
        """Consume the keywords `words` if they come next (any case)."""
        ahead = [self.peek(k) for k in range(len(words))]
        pairs = zip(ahead, words, strict=True)
        if all(t and t[0] == "word" and t[1].upper() == w for t, w in pairs):
            self.i += len(words)
            return True
        return False


def _operator(reader: _Reader) -> str:
    for words in (("IS", "NOT", "NULL"), ("IS", "NULL"), ("NOT", "IN"), ("IN",), ("LIKE",),
                  ("ILIKE",)):  # fmt: skip
        if reader.keyword(*words):
            return " ".join(words)
    kind, text = reader.take()
    if kind != "op":
        raise SearchSyntaxError(f"Expected a comparison operator, found {text!r}.")
    return "!=" if text == "<>" else text


def _value(reader: _Reader, op: str):
    if op in NULLS:
        return None
    kind, text = reader.take()
    if op in LISTS:
        if text != "(":
            raise SearchSyntaxError(f"{op} needs a list of quoted strings, e.g. ('a', 'b').")
        values = []
        while True:
            kind, text = reader.take()
            if kind != "string":
                raise SearchSyntaxError(f"{op} needs a list of quoted strings, e.g. ('a', 'b').")
            values.append(_unquote(text))
            kind, text = reader.take()
            if text == ")":
                return values
            if text != ",":
                raise SearchSyntaxError(f"Expected ',' or ')' in the list, found {text!r}.")
    if kind == "string":
        return _unquote(text)
    if kind == "number":
        return float(text) if re.search(r"[.eE]", text) else int(text)
    raise SearchSyntaxError(f"Expected a value, found {text!r}.")


def parse_filter(text: str) -> list[Clause]:
    """The clauses of an MLflow filter string (AND only, as in MLflow)."""
    reader, clauses = _Reader(text or ""), []
    while reader.peek() is not None:
        if clauses:
            if reader.keyword("OR"):
                raise SearchSyntaxError("OR is not supported in MLflow filters; use AND.")
            if not reader.keyword("AND"):
                raise SearchSyntaxError(f"Expected AND, found {reader.peek()[1]!r}.")
        kind, word = reader.take()
        if kind != "word":
            raise SearchSyntaxError(f"Expected an identifier such as metrics.f1, found {word!r}.")
        entity, key = _identifier(word)
        op = _operator(reader)
        clauses.append(Clause(entity, key, op, _value(reader, op)))
        if len(clauses) > MAX_CLAUSES:
            raise SearchSyntaxError(f"At most {MAX_CLAUSES} comparisons per filter.")
    return clauses


def like_regex(pattern: str, case_sensitive: bool) -> str:
    """A LIKE pattern as a regular expression that Python's `re` (SQLite) and PostgreSQL
    read alike: `%` any text, `_` one character, a backslash escapes the next character;
    every other character literal (alphanumerics as themselves, the rest backslashed,
    which both dialects read as that character)."""
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(char if char.isalnum() else "\\" + char)
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(char if char.isalnum() else "\\" + char)
    return ("(?s)" if case_sensitive else "(?si)") + r"\A" + "".join(out) + r"\Z"


def _compare(name: str, op: str, value) -> Q:
    """`name` (a field or alias) compared as MLflow's SQL store would: a row without a
    value (NULL) satisfies no comparison, not even !=."""
    if op == "!=":
        return ~Q(**{name: value}) & Q(**{f"{name}__isnull": False})
    if op in ("LIKE", "ILIKE"):
        return Q(**{f"{name}__regex": like_regex(value, case_sensitive=op == "LIKE")})
    if op == "IN":
        return Q(**{f"{name}__in": value})
    if op == "NOT IN":
        return ~Q(**{f"{name}__in": value}) & Q(**{f"{name}__isnull": False})
    return Q(**{f"{name}__{LOOKUP[op]}": value})


def _check(clause: Clause, allowed: set[str], what: str) -> None:
    if clause.op not in allowed:
        raise SearchSyntaxError(
            f"Invalid comparator '{clause.op}' for {what}; use one of {', '.join(sorted(allowed))}."
        )
    if clause.op in NULLS:
        return
    wants_number = allowed <= NUMERIC
    if wants_number and isinstance(clause.value, str | list):
        raise SearchSyntaxError(f"Expected a number for {what}, found {clause.value!r}.")
    if not wants_number and clause.op not in LISTS and not isinstance(clause.value, str):
        raise SearchSyntaxError(f"Expected a quoted string for {what}, found {clause.value!r}.")


def _time(field: str, op: str, ms) -> Q:
    """`field` (a datetime) against `ms`, exactly as MLflow compares its millisecond
    columns: a moment's milliseconds are rounded down, so `= 5` is [5 ms, 6 ms)."""
    floor = int(ms // 1)
    ceil = floor if floor == ms else floor + 1

    def at(value: int) -> datetime:
        return from_ms(value, field)

    if op == "=":
        if floor != ms:
            return Q(pk__in=[])
        return Q(**{f"{field}__gte": at(floor), f"{field}__lt": at(floor + 1)})
    if op == "!=":
        return ~_time(field, "=", ms) & Q(**{f"{field}__isnull": False})
    return {
        ">": Q(**{f"{field}__gte": at(floor + 1)}),
        ">=": Q(**{f"{field}__gte": at(ceil)}),
        "<": Q(**{f"{field}__lt": at(ceil)}),
        "<=": Q(**{f"{field}__lt": at(floor + 1)}),
    }[op]


class Binary(Func):
    """Text that compares and sorts by code points: PostgreSQL's "C" collation (SQLite's
    default already does), so that both databases order names as MLflow's tests expect."""

    output_field = TextField()
    template = "%(expressions)s"

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template='(%(expressions)s) COLLATE "C"')


def _run_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) < 2**63 else None


def _clamp(number: float) -> float:
    # ±inf are stored as ±MAX_FLOAT (see Run.latest_metrics); compare in the same terms.
    return max(-MAX_FLOAT, min(MAX_FLOAT, float(number)))


def filter_runs(runs: QuerySet[Run], text: str) -> QuerySet[Run]:
    for i, clause in enumerate(parse_filter(text)):
        alias, entity, key, op, value = f"f{i}", clause.entity, clause.key, clause.op, clause.value
        if entity == METRIC:
            _check(clause, NUMERIC, f"metrics.{key}")
            runs = runs.alias(**{alias: metric_expression(key)})
            if op == "!=":  # a NaN (stored as null) differs from every number
                nan = metric_logged(key) & Q(**{f"{alias}__isnull": True})
                runs = runs.filter(_compare(alias, op, _clamp(value)) | nan)
            else:
                runs = runs.filter(_compare(alias, op, _clamp(value)))
        elif entity in (PARAM, TAG):
            what = f"{entity}s.{key}"
            _check(clause, STRINGS | NULLS, what)
            if entity == TAG and key == RUN_NAME_TAG:
                runs = runs.filter(Q(pk__isnull=op == "IS NULL") if op in NULLS else
                                   _compare("name", op, value))  # fmt: skip
                continue
            # Values are never JSON null, so "has the key" is "has a value".
            value_of = JsonText("params" if entity == PARAM else "tags", key)
            if op in NULLS:
                runs = runs.filter(IsNull(value_of, op == "IS NULL"))
                continue
            runs = runs.alias(**{alias: value_of}).filter(_compare(alias, op, value))
        elif entity == ATTRIBUTE:
            if key not in RUN_ATTRIBUTES:
                raise SearchSyntaxError(
                    f"Invalid attribute key '{key}' specified. Valid keys are "
                    f"{', '.join(sorted(RUN_ATTRIBUTES))} (and the aliases created, run name)."
                )
            allowed, is_time = RUN_ATTRIBUTES[key]
            _check(clause, allowed, f"attributes.{key}")
            if is_time:
                field = "started_at" if key == "start_time" else "ended_at"
                runs = runs.filter(_time(field, op, value))
            elif key == "run_id":
                if op in LISTS:
                    ids = [n for n in map(_run_id, value) if n is not None]
                    runs = runs.filter(_compare("pk", op, ids) if ids or op == "IN" else Q())
                elif op in ("=", "!="):
                    number = _run_id(value)
                    if number is None:
                        runs = runs.none() if op == "=" else runs
                    else:
                        runs = runs.filter(_compare("pk", op, number))
                else:  # LIKE on the id's text
                    runs = runs.alias(**{alias: Cast("pk", TextField())})
                    runs = runs.filter(_compare(alias, op, value))
            elif key == "status":  # stored in lower case; MLflow's are upper case
                runs = runs.alias(**{alias: Upper("status")}).filter(_compare(alias, op, value))
            elif key == "user_id":
                runs = runs.alias(**{alias: JsonText("tags", USER_TAG)})
                runs = runs.filter(_compare(alias, op, value))
            else:
                runs = runs.filter(_compare("name", op, value))
        else:  # datasets the run used
            if key not in DATASET_FIELDS:
                raise SearchSyntaxError(
                    f"Invalid dataset key '{key}' specified. Valid keys are name, digest, context."
                )
            _check(clause, STRINGS | LISTS, f"datasets.{key}")
            inputs = RunInput.objects.filter(run=OuterRef("pk"))
            inputs = inputs.filter(_compare(DATASET_FIELDS[key], op, value))
            runs = runs.filter(Exists(inputs))
    return runs


# -- ordering -------------------------------------------------------------------------------
ORDER = re.compile(r"\s*(?P<id>.+?)(?:\s+(?P<dir>ASC|DESC))?\s*", re.IGNORECASE | re.DOTALL)
RUN_ORDER_ATTRIBUTES = {"start_time": "started_at", "end_time": "ended_at", "run_name": "name",
                        "status": "status", "run_id": "pk"}  # fmt: skip


def _order_clause(raw: str) -> tuple[str, str, bool]:
    match = ORDER.fullmatch(raw or "")
    if not match:
        raise SearchSyntaxError(f"Invalid order_by clause '{raw}'.")
    tokens = _tokens(match["id"])
    if len(tokens) != 1 or tokens[0][0] != "word":
        raise SearchSyntaxError(f"Invalid order_by clause '{raw}'. Could not be parsed.")
    entity, key = _identifier(tokens[0][1])
    return entity, key, (match["dir"] or "ASC").upper() == "ASC"


def _nulls_last(expression, ascending: bool):
    return expression.asc(nulls_last=True) if ascending else expression.desc(nulls_last=True)


def order_runs(runs: QuerySet[Run], order_by: list[str]) -> QuerySet[Run]:
    """MLflow's order: the `order_by` keys (values first, then NaN, then missing), then the
    latest start first, then the run id."""
    ordering, seen = [], set()
    for i, raw in enumerate(order_by or []):
        entity, key, ascending = _order_clause(raw)
        if (entity, key) in seen:
            raise SearchSyntaxError(f"`order_by` contains duplicate fields: {order_by}")
        seen.add((entity, key))
        alias = f"o{i}"
        if entity == METRIC:
            runs = runs.alias(
                **{
                    alias: metric_expression(key),
                    f"{alias}_rank": Case(
                        When(~Q(metric_logged(key)), then=Value(2)),
                        When(**{f"{alias}__isnull": True}, then=Value(1)),  # NaN
                        default=Value(0),
                        output_field=IntegerField(),
                    ),
                }
            )
            ordering += [F(f"{alias}_rank").asc(), _nulls_last(F(alias), ascending)]
        elif entity in (PARAM, TAG):
            if entity == TAG and key == RUN_NAME_TAG:
                ordering.append(_nulls_last(Binary("name"), ascending))
                continue
            column = "params" if entity == PARAM else "tags"
            runs = runs.alias(**{alias: Binary(JsonText(column, key))})
            ordering.append(_nulls_last(F(alias), ascending))
        elif entity == ATTRIBUTE and key in RUN_ORDER_ATTRIBUTES:
            field = RUN_ORDER_ATTRIBUTES[key]
            column = Binary(field) if field in ("name", "status") else F(field)
            ordering.append(_nulls_last(column, ascending))
        else:
            raise SearchSyntaxError(
                f"Invalid order_by key '{raw}': order by metrics.<key>, params.<key>, "
                f"tags.<key> or attributes.{'/'.join(RUN_ORDER_ATTRIBUTES)}."
            )
    if (ATTRIBUTE, "start_time") not in seen:
        ordering.append(F("started_at").desc())
    return runs.order_by(*ordering, "pk")


# -- experiments ----------------------------------------------------------------------------
EXPERIMENT_TIMES = {"creation_time": "created_at", "last_update_time": "updated_at"}


def _experiment_number(value) -> int | None:
    """Project id of an experiment id ("0" is the Default experiment: handled by the
    caller), or None for an id that names nothing."""
    return _run_id(value) if isinstance(value, str) else None


def filter_experiments(experiments: QuerySet[Experiment], text: str) -> QuerySet[Experiment]:
    for i, clause in enumerate(parse_filter(text)):
        alias, entity, key, op, value = f"f{i}", clause.entity, clause.key, clause.op, clause.value
        if entity == TAG:
            _check(clause, STRINGS | NULLS, f"tags.{key}")
            if op in NULLS:
                experiments = experiments.filter(IsNull(JsonText("tags", key), op == "IS NULL"))
            else:
                experiments = experiments.alias(**{alias: JsonText("tags", key)})
                experiments = experiments.filter(_compare(alias, op, value))
        elif entity == ATTRIBUTE and key == "name":
            _check(clause, STRINGS, "name")
            experiments = experiments.filter(_compare("name", op, value))
        elif entity == ATTRIBUTE and key in EXPERIMENT_TIMES:
            _check(clause, NUMERIC, key)
            experiments = experiments.filter(_time(EXPERIMENT_TIMES[key], op, value))
        elif entity == ATTRIBUTE and key == "experiment_id":
            _check(clause, {"=", "!="} | LISTS, "experiment_id")
            values = value if isinstance(value, list) else [value]
            default = "0" in values
            ids = [n for n in map(_experiment_number, values) if n]
            match = Q(project_id__in=ids) | (Q(is_default=True) if default else Q(pk__in=[]))
            experiments = experiments.filter(match if op in ("=", "IN") else ~match)
        else:
            raise SearchSyntaxError(
                f"Invalid filter on experiments: '{entity}s.{key}'. Filter by name, "
                "creation_time, last_update_time, experiment_id or tags.<key>."
            )
    return experiments


EXPERIMENT_ORDER = {"name": "name", "creation_time": "created_at",
                    "last_update_time": "updated_at", "experiment_id": "sort_id"}  # fmt: skip


def order_experiments(experiments: QuerySet[Experiment], order_by: list[str]):
    """MLflow's order for experiments: by default the newest first, then by id; the
    Default experiment's id counts as 0."""
    experiments = experiments.alias(
        sort_id=Case(
            When(is_default=True, then=Value(0)),
            default=F("project_id"),
            output_field=BigIntegerField(),
        )
    )
    ordering, seen = [], set()
    for raw in order_by or ["creation_time DESC", "experiment_id ASC"]:
        entity, key, ascending = _order_clause(raw)
        if entity != ATTRIBUTE or key not in EXPERIMENT_ORDER:
            raise SearchSyntaxError(
                f"Invalid order_by key '{raw}': order by {', '.join(EXPERIMENT_ORDER)}."
            )
        if key in seen:
            raise SearchSyntaxError(f"`order_by` contains duplicate fields: {order_by}")
        seen.add(key)
        column = Binary("name") if key == "name" else F(EXPERIMENT_ORDER[key])
        ordering.append(column.asc() if ascending else column.desc())
    if "experiment_id" not in seen:
        ordering.append(F("sort_id").asc())
    return experiments.order_by(*ordering)


# -- logged models --------------------------------------------------------------------------
LOGGED_MODEL_STRINGS = {  # attribute → field
    "name": "name",
    "model_id": "id",
    "model_type": "model_type",
    "status": "status_name",
    "source_run_id": "source_run_text",
}
LOGGED_MODEL_TIMES = {
    "creation_timestamp": "created_at",
    "creation_time": "created_at",
    "last_updated_timestamp": "updated_at",
}
LOGGED_MODEL_STATUS_NAMES = {
    "pending": "LOGGED_MODEL_PENDING",
    "ready": "LOGGED_MODEL_READY",
    "upload_failed": "LOGGED_MODEL_UPLOAD_FAILED",
}


def _logged_model_fields(models: QuerySet) -> QuerySet:
    return models.alias(
        status_name=Case(
            *(When(status=k, then=Value(v)) for k, v in LOGGED_MODEL_STATUS_NAMES.items()),
            output_field=TextField(),
        ),
        source_run_text=Cast("source_run_id", TextField()),
    )


def filter_logged_models(models: QuerySet, text: str) -> QuerySet:
    """MLflow's logged-model filter: `name`, `model_id`, `model_type`, `status`,
    `source_run_id` (strings), `creation_timestamp`/`last_updated_timestamp` (milliseconds),
    `params.<key>` and `tags.<key>`, joined by AND. Filtering by metric values is not
    offered (a model keeps every value it was logged with; see the README)."""
    models = _logged_model_fields(models)
    for i, clause in enumerate(parse_filter(text)):
        alias, entity, key, op, value = f"f{i}", clause.entity, clause.key, clause.op, clause.value
        if entity in (TAG, PARAM):
            column = "tags" if entity == TAG else "params"
            _check(clause, STRINGS | LISTS | NULLS, f"{column}.{key}")
            if op in NULLS:
                models = models.filter(IsNull(JsonText(column, key), op == "IS NULL"))
            else:
                models = models.alias(**{alias: JsonText(column, key)})
                models = models.filter(_compare(alias, op, value))
        elif entity == ATTRIBUTE and key in LOGGED_MODEL_STRINGS:
            _check(clause, STRINGS | LISTS, key)
            models = models.filter(_compare(LOGGED_MODEL_STRINGS[key], op, value))
        elif entity == ATTRIBUTE and key in LOGGED_MODEL_TIMES:
            _check(clause, NUMERIC, key)
            models = models.filter(_time(LOGGED_MODEL_TIMES[key], op, value))
        else:
            raise SearchSyntaxError(
                f"Invalid filter on logged models: '{entity}s.{key}'. Filter by name, "
                "model_id, model_type, status, source_run_id, creation_timestamp, "
                "last_updated_timestamp, params.<key> or tags.<key>."
            )
    return models


LOGGED_MODEL_ORDER = {
    "name": "name",
    "model_id": "id",
    "creation_timestamp": "created_at",
    "creation_time": "created_at",
    "last_updated_timestamp": "updated_at",
}


def order_logged_models(models: QuerySet, order_by: list[dict]) -> QuerySet:
    """By default the newest first; then by model id, so that pages are stable."""
    ordering = []
    for clause in order_by or [{"field_name": "creation_timestamp", "ascending": False}]:
        field = clause["field_name"]
        if field not in LOGGED_MODEL_ORDER:
            raise SearchSyntaxError(
                f"Invalid order_by field '{field}': order by {', '.join(LOGGED_MODEL_ORDER)}."
            )
        column = Binary("name") if field == "name" else F(LOGGED_MODEL_ORDER[field])
        ordering.append(column.asc() if clause["ascending"] is not False else column.desc())
    return models.order_by(*ordering, "id")
