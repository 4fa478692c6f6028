"""Reads of runs: the scoped lookups, the filtered and ordered listing with its cursor, metric
histories, and the best run per metric."""

import base64
import binascii
import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, FloatField, Func, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.db.models.lookups import IsNull
from django.shortcuts import get_object_or_404
from django.utils.text import slugify

from accounts.models import Organization
from evaluation.models import Experiment, Run, RunInput, RunMetric
from evaluation.runs import artifacts
from evaluation.runs.models import RunRole, from_json_number
from mlprojects.models import (
    Direction,
    Metric,
    MetricKind,
    Objective,
    PerformanceRequirements,
    Project,
)
from mlprojects.templatetags.numbers import number

# Metrics whose name says lower is better; every other metric is "higher is better" —
# unless a metric of the project's lifecycle matches the key and says which way is better.
LOWER_IS_BETTER = ("loss", "error", "rmse", "mse", "mae", "mape", "latency", "perplexity")


class InvalidQuery(ValueError):
    """A listing parameter that cannot be understood (answered with a 400)."""


def run_get(*, org: Organization, pk: int, project: Project | None = None) -> Run:
    """Run `pk` of `org` (and of `project` when given), or 404 — also for another
    organization's run."""
    runs = Run.objects.for_org(org).select_related("project", "created_by", "objective")
    if project is not None:
        runs = runs.filter(project=project)
    return get_object_or_404(runs, pk=pk)


class JsonText(Func):
    """The text at `keys` inside the JSON column `column` (NULL when absent or JSON null),
    on SQLite and PostgreSQL. Unlike Django's key transforms, a key that looks like a
    number ("1") is still an object key, not an array index."""

    output_field = TextField()

    def __init__(self, column: str, *keys: str):
        super().__init__(F(column))
        self.keys = keys

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = "$" + "".join("." + json.dumps(key) for key in self.keys)
        return f"JSON_EXTRACT({sql}, %s)", (*params, path)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        for _ in self.keys[:-1]:
            sql = f"({sql} -> %s)"
        return f"({sql} ->> %s)", (*params, *self.keys)


def metric_expression(key: str):
    """The latest value of metric `key` of a run, as a float column (NULL when the run
    never logged it, or when it is NaN; ±inf are ±MAX_FLOAT)."""
    return Cast(JsonText("latest_metrics", key, "value"), FloatField())


def metric_logged(key: str) -> IsNull:
    """Runs that logged metric `key` (its value may be NaN): every entry has a step."""
    return IsNull(JsonText("latest_metrics", key, "step"), False)


def comparable(value: float | None) -> float | None:
    """A latest-metric value (as stored in `latest_metrics`) that can be ranked: finite
    numbers only, so that a NaN or an infinite loss is never "the best run"."""
    if value is None:
        return None
    value = from_json_number(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class RunOrder:
    """`started_at`, `name` or `metric.<key>`, each optionally prefixed with `-`."""

    field: str
    descending: bool
    metric: str | None = None

    @classmethod
    def parse(cls, raw: str) -> "RunOrder":
        raw = (raw or "-started_at").strip()
        descending = raw.startswith("-")
        name = raw.lstrip("-")
        if name.startswith("metric."):
            key = name.removeprefix("metric.")
            if not key:
                raise InvalidQuery("order_by=metric.<key> needs a metric key.")
            return cls("sort_value", descending, metric=key)
        if name not in ("started_at", "name", "created_at"):
            raise InvalidQuery("order_by must be started_at, name or metric.<key> (- for desc).")
        return cls(name, descending)

    def __str__(self) -> str:
        name = f"metric.{self.metric}" if self.metric else self.field
        return f"-{name}" if self.descending else name


def run_list(
    *,
    project: Project,
    status: str = "",
    tags: list[tuple[str, str]] = (),
    metric: str = "",
    metric_min: float | None = None,
    metric_max: float | None = None,
    order: RunOrder | None = None,
    deleted: bool = False,
) -> QuerySet[Run]:
    """The project's runs (the deleted ones instead when `deleted`), filtered and ordered,
    in one query (the latest metric values live on the run row). Runs without the ordering
    metric come last."""
    order = order or RunOrder.parse("")
    runs = Run.objects.filter(project=project, deleted_at__isnull=not deleted)
    runs = runs.select_related("created_by", "objective")
    if status:
        runs = runs.filter(status=status)
    for i, (key, value) in enumerate(tags):
        # Cast to text: compared as a plain string on SQLite and PostgreSQL alike.
        tag_value = JsonText("tags", key)
        runs = runs.alias(**{f"tag_{i}": tag_value}).filter(**{f"tag_{i}": value})
    if metric:
        runs = runs.alias(filter_value=metric_expression(metric)).filter(filter_value__isnull=False)
        if metric_min is not None:
            runs = runs.filter(filter_value__gte=metric_min)
        if metric_max is not None:
            runs = runs.filter(filter_value__lte=metric_max)
    return order_runs(runs, order)


def order_runs(runs: QuerySet[Run], order: RunOrder) -> QuerySet[Run]:
    """Order by `order`, runs without a value last, the id breaking ties."""
    if order.metric:
        runs = runs.annotate(sort_value=metric_expression(order.metric))
    column = F(order.field)
    if order.descending:
        return runs.order_by(column.desc(nulls_last=True), "-pk")
    return runs.order_by(column.asc(nulls_last=True), "pk")


def _encode_cursor(value, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
        if not isinstance(pk, int):
            raise TypeError
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise InvalidQuery("Invalid cursor.") from exc
    return value, pk


def run_page(
    runs: QuerySet[Run], *, order: RunOrder, cursor: str = "", size: int = 50
) -> tuple[list[Run], str | None]:
    """Keyset pagination over (sort value, id): stable while runs are being added, and as
    cheap on the thousandth page as on the first. Returns the page and the next cursor."""
    if cursor:
        value, pk = _decode_cursor(cursor)
        field = order.field
        after_pk = Q(pk__lt=pk) if order.descending else Q(pk__gt=pk)
        if value is None:  # already among the runs without a value, which come last
            runs = runs.filter(Q(**{f"{field}__isnull": True}) & after_pk)
        else:
            beyond = Q(**{f"{field}__lt" if order.descending else f"{field}__gt": value})
            runs = runs.filter(
                beyond | (Q(**{field: value}) & after_pk) | Q(**{f"{field}__isnull": True})
            )
    page = list(runs[: size + 1])
    if len(page) <= size:
        return page, None
    page = page[:size]
    last = page[-1]
    return page, _encode_cursor(getattr(last, order.field), last.pk)


def project_with_experiment(*, org: Organization, slug: str) -> tuple[Project, Experiment | None]:
    """The project `slug` of `org` (or 404, as `project_get`) and its MLflow experiment, if
    one was made, in one query."""
    projects = Project.objects.select_related("owner", "mlflow_experiment")
    project = get_object_or_404(projects, organization=org, slug=slug)
    return project, getattr(project, "mlflow_experiment", None)


def run_datasets(*, run: Run) -> list[RunInput]:
    """The datasets the run used (MLflow's `log_input`), in the order they were logged."""
    return list(RunInput.objects.filter(run=run).select_related("dataset").order_by("pk"))


def metric_history(*, run: Run, key: str) -> QuerySet[RunMetric]:
    return RunMetric.objects.filter(run=run, key=key).order_by("step", "timestamp", "pk")


def metric_histories(*, runs: list[Run], keys: list[str]) -> dict[int, dict[str, list]]:
    """{run id: {metric key: [(step, value), …]}} for charts, in one query (a NaN value is
    None)."""
    out: dict[int, dict[str, list]] = {run.pk: {} for run in runs}
    rows = (
        RunMetric.objects.filter(run__in=runs, key__in=keys)
        .order_by("run_id", "key", "step", "timestamp", "pk")
        .values_list("run_id", "key", "step", "value")
    )
    for run_id, key, step, value in rows:
        out[run_id].setdefault(key, []).append((step, value))
    return out


def lower_is_better(key: str) -> bool:
    name = key.lower()
    return any(word in name for word in LOWER_IS_BETTER)


def _slug(text: str) -> str:
    return slugify(text).replace("_", "-")


def key_match(metric_name: str, key: str) -> int:
    """How well a run's metric key names a lifecycle metric: 3 the same name ignoring
    case, 2 the same slug ("Precision@10" ~ "precision@10" ~ "precision10"), 1 the key's
    slug is the leading words of the name's ("ndcg@5" ~ "NDCG@5 of recommended dishes",
    "recall" ~ "Recall at 1% review rate"), 0 no match."""
    if metric_name.strip().lower() == key.strip().lower():
        return 3
    name, short = _slug(metric_name), _slug(key)
    if not short:
        return 0
    if name == short:
        return 2
    return 1 if name.startswith(short + "-") else 0


def current_metrics(*, project: Project) -> list[Metric]:
    """The metrics of the project's current cycle, in the workspace's order."""
    return list(
        Metric.objects.filter(cycle__project=project, cycle__number=project.cycle).select_related(
            "objective"
        )
    )


def objective_choices(*, project: Project) -> list[Objective]:
    """The objectives a run, a test or an evaluation can be linked to: the current cycle's."""
    return list(Objective.objects.filter(cycle__project=project, cycle__number=project.cycle))


def _matching_keys(metric: Metric, keys) -> list[str]:
    """The run keys that name `metric` best (several when they differ only in case)."""
    scored = [(key_match(metric.name, key), key) for key in keys]
    top = max((score for score, _ in scored), default=0)
    return sorted(key for score, key in scored if score and score == top)


def metric_directions(*, metrics: list[Metric], keys) -> dict[str, bool]:
    """{run metric key: lower is better} for the keys a lifecycle metric names (its
    `direction` decides); other keys are left to the name heuristic."""
    out: dict[str, bool] = {}
    best_score: dict[str, int] = {}
    for metric in metrics:
        for key in keys:
            score = key_match(metric.name, key)
            if score > best_score.get(key, 0):
                best_score[key] = score
                out[key] = metric.direction == Direction.LOWER
    return out


def _counts_for(metric: Metric, run_objective: int | None, run_cycle: int | None) -> bool:
    # A run linked to one objective does not count for the metric of another objective of
    # the same cycle; unlinked runs (and links to an earlier cycle's objective) count.
    return not (
        run_objective
        and metric.objective_id
        and run_cycle == metric.cycle_id
        and run_objective != metric.objective_id
    )


_RUN_ROW = ("pk", "name", "objective_id", "objective__cycle_id", "latest_metrics")


def _best_per_metric(metrics: list[Metric], rows: list[tuple]) -> dict[int, dict]:
    """`best_run_values_for_project` over rows of `_RUN_ROW`."""
    keys = {key for *_, latest in rows for key in latest}
    out: dict[int, dict] = {}
    for metric in metrics:
        matching = _matching_keys(metric, keys)
        lower = metric.direction == Direction.LOWER
        best = None
        for pk, name, objective_id, objective_cycle, latest in rows:
            if not _counts_for(metric, objective_id, objective_cycle):
                continue
            for key in matching:
                point = latest.get(key)
                value = None if point is None else comparable(point["value"])
                if value is None:
                    continue
                if best is None or (value < best["value"] if lower else value > best["value"]):
                    best = {"value": value, "run_id": pk, "run_name": name, "key": key}
        if best is not None:
            out[metric.pk] = best
    return out


def best_run_values_for_project(
    project: Project, *, metrics: list[Metric] | None = None
) -> dict[int, dict]:
    """{metric id: {"value", "run_id", "run_name", "key"}} for each metric of the project's
    current cycle that some run logged: the best latest value over the project's runs, in
    the metric's own direction. A run key names a metric by its name (ignoring case), its
    slug, or the leading words of its name (see `key_match`); the best-matching keys
    count. Two queries (one when the current cycle's `metrics` are given)."""
    if metrics is None:
        metrics = current_metrics(project=project)
    rows = list(Run.objects.filter(project=project).active().values_list(*_RUN_ROW))
    return _best_per_metric(metrics, rows)


def metrics_vs_target(*, metrics: list[Metric], best: dict[int, dict]) -> list[dict]:
    """Rows of the runs page's "Metrics vs target" table: each model metric of the current
    cycle (and any other metric a run logged) with its target and the best run's value."""
    rows = []
    for metric in metrics:
        found = best.get(metric.pk)
        if metric.kind != MetricKind.MODEL and found is None:
            continue
        reached = None
        if found is not None and metric.target is not None:
            lower = metric.direction == Direction.LOWER
            value = found["value"]
            reached = value <= metric.target if lower else value >= metric.target
        rows.append({"metric": metric, "best": found, "reached": reached})
    return rows


def project_run_summary(*, project: Project, metrics: list[Metric] | None = None) -> dict:
    """Metric and param keys used by the project's runs, the best run per metric key, and
    the best run per metric of the project's current cycle (`targets`, as
    `best_run_values_for_project`), from one query over the runs' denormalised columns
    (plus one for the current cycle's metrics unless `metrics` are given)."""
    if metrics is None:
        metrics = current_metrics(project=project)
    metric_keys: set[str] = set()
    param_keys: set[str] = set()
    tag_keys: set[str] = set()
    best: dict[str, tuple[float, int, str]] = {}
    rows = list(
        Run.objects.filter(project=project).values_list("deleted_at", "params", "tags", *_RUN_ROW)
    )
    deleted = sum(1 for row in rows if row[0] is not None)
    rows = [row[1:] for row in rows if row[0] is None]
    keys = {key for *_, latest in rows for key in latest}
    directions = metric_directions(metrics=metrics, keys=keys)

    def lower(key: str) -> bool:
        return directions[key] if key in directions else lower_is_better(key)

    for params, tags, pk, name, _, _, latest in rows:
        param_keys.update(params)
        tag_keys.update(k for k in tags if not k.startswith("mlflow."))
        for key, point in latest.items():
            metric_keys.add(key)
            value = comparable(point["value"])
            if value is None:
                continue
            current = best.get(key)
            better = current is None or (value < current[0] if lower(key) else value > current[0])
            if better:
                best[key] = (value, pk, name)
    return {
        "metric_keys": sorted(metric_keys),
        "param_keys": sorted(param_keys),
        "tag_keys": sorted(tag_keys),
        "best": [
            {
                "key": key,
                "value": best[key][0],
                "run_id": best[key][1],
                "run_name": best[key][2],
                "lower_is_better": lower(key),
                "from_metric": key in directions,
            }
            for key in sorted(best)
        ],
        "lower_is_better": {key: lower(key) for key in metric_keys},
        "targets": _best_per_metric(metrics, [row[2:] for row in rows]),
        "deleted_runs": deleted,
    }


# -- artifacts and logged models of a run (the run page) ------------------------------------
ARTIFACT_TREE_LIMIT = 500  # entries listed on the run page; the client lists them all
PREVIEW_BYTES = 64 * 1024  # text, JSON and CSV files up to this size are shown inline
MAX_PREVIEWS = 12  # files read for previews per page view (each is one storage read)
PREVIEW_ROWS = 50


def _artifact_kind(name: str) -> str:
    content_type = artifacts.download_type(name)
    if content_type in artifacts.IMAGE_TYPES:
        return "image"
    return {"text/plain": "text", "text/csv": "csv", "application/json": "json"}.get(
        content_type, "file"
    )


def _preview(segments: list[str], kind: str) -> dict:
    with artifacts.artifact_open(segments=segments) as f:
        text = f.read(PREVIEW_BYTES).decode("utf-8", errors="replace")
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))[: PREVIEW_ROWS + 1]
        return {"columns": rows[0] if rows else [], "rows": rows[1:]}
    if kind == "json":
        try:
            data = json.loads(text)
        except ValueError:
            return {"text": text}
        # mlflow.log_table writes {"columns": [...], "data": [[...], ...]}.
        if isinstance(data, dict) and isinstance(data.get("columns"), list):
            rows = data.get("data")
            if isinstance(rows, list) and all(isinstance(r, list) for r in rows):
                return {"columns": data["columns"], "rows": rows[:PREVIEW_ROWS]}
        return {"text": json.dumps(data, indent=2, ensure_ascii=False)}
    return {"text": text}


def run_artifacts(*, run: Run) -> list[dict]:
    """The run's artifact files and directories, depth first (at most ARTIFACT_TREE_LIMIT),
    each with its kind (image, text, json, csv, file) and, for the first small text-like
    files, a preview: text, or a table for CSV and `log_table` JSON."""
    prefix = artifacts.run_prefix(
        org_id=run.project.organization_id, project_id=run.project_id, run_id=run.pk
    )
    items, previews = [], 0
    for path, entry in artifacts.artifact_walk(segments=prefix, limit=ARTIFACT_TREE_LIMIT):
        item = {"path": path, "is_dir": entry.is_dir, "size": entry.size, "depth": path.count("/")}
        if not entry.is_dir:
            item["kind"] = kind = _artifact_kind(entry.name)
            small = entry.size is not None and entry.size <= PREVIEW_BYTES
            if kind in ("text", "json", "csv") and small and previews < MAX_PREVIEWS:
                item["preview"] = _preview([*prefix, *path.split("/")], kind)
                previews += 1
        items.append(item)
    return items


def run_logged_models(*, run: Run) -> list[dict]:
    """The logged models the run produced, with the latest value of each of their metrics."""
    found = []
    for model in run.logged_models.filter(deleted_at__isnull=True).order_by("created_at"):
        latest: dict[str, dict] = {}
        for metric in model.metrics:
            current = latest.get(metric["key"])
            if current is None or (metric["step"], metric["timestamp"]) >= (
                current["step"],
                current["timestamp"],
            ):
                latest[metric["key"]] = metric
        metrics = [
            {"key": key, "value": from_json_number(m["value"]), "step": m["step"]}
            for key, m in sorted(latest.items())
        ]
        found.append({"model": model, "metrics": metrics})
    return found


# -- speed vs accuracy of the candidate models (seed §1.4.3, "Performance Trade-off") ---------
# Run metric keys that measure how long a prediction takes (lower is better).
LATENCY_WORDS = ("latency", "inference_time", "inference_ms", "predict_time", "prediction_time")
# Quality keys tried when no metric of the project's lifecycle names a logged key.
COMMON_QUALITY = ("accuracy", "f1", "roc_auc", "auc", "ndcg@5", "ndcg", "precision", "r2")


def is_latency_key(key: str) -> bool:
    name = key.lower()
    return any(word in name for word in LATENCY_WORDS)


def _default_quality_key(metrics: list[Metric], keys: list[str]) -> str:
    """The key of the first model metric of the current cycle that runs logged, else a
    common quality metric, else the first key."""
    for metric in metrics:
        if metric.kind == MetricKind.MODEL:
            matching = _matching_keys(metric, keys)
            if matching:
                return matching[0]
    lowered = {key.lower(): key for key in keys}
    for name in COMMON_QUALITY:
        if name in lowered:
            return lowered[name]
    return keys[0] if keys else ""


def speed_vs_accuracy(*, project: Project, quality_key: str = "", latency_key: str = "") -> dict:
    """The project's runs side by side on one quality metric and one latency metric, to
    choose between, say, "accuracy 0.95, fast" and "0.93, slower". Keys default to the run
    key of the current cycle's first model metric and the first latency-like key logged
    (`LATENCY_WORDS`). A run is `pareto` when no other run is at least as good on both
    and better on one; without a latency metric nothing is marked. Two queries."""
    metrics = current_metrics(project=project)
    runs = list(
        Run.objects.filter(project=project)
        .active()
        .order_by("started_at", "id")
        .values_list("pk", "name", "role", "latest_metrics")
    )
    logged = sorted({key for *_, latest in runs for key in latest})
    latency_keys = [key for key in logged if is_latency_key(key)]
    quality_keys = [key for key in logged if key not in latency_keys]
    quality_key = quality_key or _default_quality_key(metrics, quality_keys)
    latency_key = latency_key or (latency_keys[0] if latency_keys else "")
    directions = metric_directions(metrics=metrics, keys=[quality_key])
    lower = directions.get(quality_key, lower_is_better(quality_key))

    def value(latest: dict, key: str) -> float | None:
        point = latest.get(key) if key else None
        return None if point is None else comparable(point["value"])

    rows = [
        {
            "run_id": pk,
            "run_name": name,
            "role": role,
            "quality": value(latest, quality_key),
            "latency": value(latest, latency_key),
        }
        for pk, name, role, latest in runs
        if value(latest, quality_key) is not None
    ]
    timed = [r for r in rows if r["latency"] is not None]

    def score(row: dict) -> float:
        return -row["quality"] if lower else row["quality"]

    for row in rows:
        if row["latency"] is None:
            row["pareto"] = None
            continue
        row["pareto"] = not any(
            score(other) >= score(row)
            and other["latency"] <= row["latency"]
            and (score(other) > score(row) or other["latency"] < row["latency"])
            for other in timed
        )
    rows.sort(key=lambda r: (-score(r), r["latency"] if r["latency"] is not None else math.inf))
    return {
        "quality_key": quality_key,
        "quality_lower_is_better": lower,
        "latency_key": latency_key,
        "quality_keys": quality_keys,
        "latency_keys": latency_keys,
        "rows": rows,
    }


def speed_vs_accuracy_evidence(*, project: Project) -> list[dict]:
    """The comparison as evidence of a proposal: one entry per run, best first."""
    data = speed_vs_accuracy(project=project)
    entries = []
    for row in data["rows"]:
        fields = [{"label": data["quality_key"], "value": number(row["quality"])}]
        if data["latency_key"]:
            latency = row["latency"]
            fields.append(
                {
                    "label": data["latency_key"],
                    "value": number(latency) if latency is not None else "not logged",
                }
            )
        if row["pareto"] is not None:
            fields.append(
                {
                    "label": "Trade-off",
                    "value": "On the front: no other run is both faster and better"
                    if row["pareto"]
                    else "Dominated: another run is faster and at least as good",
                }
            )
        if row["role"]:
            fields.append({"label": "Role", "value": RunRole(row["role"]).label})
        entries.append({"title": row["run_name"], "fields": fields})
    return entries


def speed_vs_accuracy_panel(*, project: Project) -> dict:
    """What the project page's step 7 shows: the comparison beside the trade-off step 5
    asks for."""
    requirement = (
        PerformanceRequirements.objects.filter(cycle__project=project, cycle__number=project.cycle)
        .values_list("speed_vs_accuracy", flat=True)
        .first()
    )
    return {"speed_accuracy": speed_vs_accuracy(project=project), "requirement": requirement}
