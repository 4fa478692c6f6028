"""Writes of experiment runs, shared by the REST API, the MLflow-compatible endpoint and the
runs pages. Every input is validated before anything is written, so a bad batch changes
nothing; a batch is written with one bulk insert in one transaction."""

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit
from evaluation.models import Run, RunMetric, RunRole, RunStatus
from mlprojects.models import Objective, Project

# `run_update`'s default for `objective`: leave the link as it is (None unlinks).
UNCHANGED = object()

# MLflow's own limits, so that whatever its client sends fits ours.
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int = 0
    timestamp: int | None = None  # milliseconds since the epoch; None means now


def now_ms() -> int:
    return int(time.time() * 1000)


def _check_key(key: str, what: str, errors: list[str]) -> None:
    if not isinstance(key, str) or not key.strip():
        errors.append(f"A {what} needs a non-empty key.")
    elif len(key) > MAX_KEY_LENGTH:
        errors.append(f"The {what} key {key[:40]!r}… is longer than {MAX_KEY_LENGTH} characters.")


def _check_values(
    values: Mapping[str, str], what: str, max_length: int, max_count: int
) -> list[str]:
    errors: list[str] = []
    if len(values) > max_count:
        errors.append(f"At most {max_count} {what}s per request.")
    for key, value in values.items():
        _check_key(key, what, errors)
        if not isinstance(value, str):
            errors.append(f"The {what} {key!r} must be a string.")
        elif len(value) > max_length:
            errors.append(f"The {what} {key!r} is longer than {max_length} characters.")
    return errors


def _check_metrics(metrics: list[MetricPoint]) -> list[str]:
    errors: list[str] = []
    if len(metrics) > MAX_BATCH_METRICS:
        errors.append(f"At most {MAX_BATCH_METRICS} metrics per request.")
        return errors
    for m in metrics:
        _check_key(m.key, "metric", errors)
        if isinstance(m.value, bool) or not isinstance(m.value, int | float):
            errors.append(f"The metric {m.key!r} must be a number.")
        elif not math.isfinite(m.value):
            errors.append(f"The metric {m.key!r} must be a finite number (not NaN or ±inf).")
        for name, number in (("step", m.step), ("timestamp", m.timestamp)):
            if number is None and name == "timestamp":
                continue
            if isinstance(number, bool) or not isinstance(number, int) or abs(number) >= 2**63:
                errors.append(f"The {name} of metric {m.key!r} must be a 64-bit integer.")
    return errors


def clean_objective(*, project: Project, objective: Objective | int | None) -> Objective | None:
    """The objective (or its id) if it is one of `project`'s (any of its cycles), else a
    ValidationError on `objective` — also for another project's or organization's."""
    if objective is None:
        return None
    pk = objective.pk if isinstance(objective, Objective) else objective
    found = Objective.objects.filter(pk=pk, cycle__project=project).first()
    if found is None:
        raise ValidationError({"objective": "Choose an objective of this run's project."})
    return found


def _newer(point: MetricPoint, timestamp: int, current: dict | None) -> bool:
    # MLflow's notion of "latest": the highest step, then the latest timestamp.
    return current is None or (point.step, timestamp) >= (current["step"], current["timestamp"])


@transaction.atomic
def run_create(
    *,
    project: Project,
    user: User | None,
    name: str = "",
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    started_at=None,
    objective: Objective | int | None = None,
) -> Run:
    params, tags = dict(params or {}), dict(tags or {})
    errors = _check_values(params, "param", MAX_PARAM_VALUE_LENGTH, MAX_BATCH_PARAMS)
    errors += _check_values(tags, "tag", MAX_TAG_VALUE_LENGTH, MAX_BATCH_TAGS)
    if errors:
        raise ValidationError({"non_field_errors": errors})
    objective = clean_objective(project=project, objective=objective)
    started_at = started_at or timezone.now()
    name = name.strip() or f"run-{started_at:%Y%m%d-%H%M%S}"
    return Run.objects.create(
        project=project,
        name=name[:250],
        created_by=user,
        started_at=started_at,
        params=params,
        tags=tags,
        objective=objective,
    )


@transaction.atomic
def run_log_batch(
    *,
    run: Run,
    metrics: Iterable[MetricPoint] = (),
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Run:
    """Append metric values, add params (immutable once logged, as in MLflow) and set tags.
    A constant number of queries whatever the batch size: lock the run, one bulk insert,
    one update of the run's params/tags/latest metrics."""
    metrics = list(metrics)
    params, tags = dict(params or {}), dict(tags or {})
    errors = {
        "metrics": _check_metrics(metrics),
        "params": _check_values(params, "param", MAX_PARAM_VALUE_LENGTH, MAX_BATCH_PARAMS),
        "tags": _check_values(tags, "tag", MAX_TAG_VALUE_LENGTH, MAX_BATCH_TAGS),
    }
    if any(errors.values()):
        raise ValidationError({k: v for k, v in errors.items() if v})
    # The row lock serialises concurrent batches of one run, so that no update of
    # latest_metrics is lost (SQLite serialises all writers anyway).
    locked = Run.objects.select_for_update().get(pk=run.pk)
    changed = [
        f"Param {k!r} was already logged as {locked.params[k]!r}; params cannot change."
        for k, v in params.items()
        if k in locked.params and locked.params[k] != v
    ]
    if changed:
        raise ValidationError({"params": changed})
    default_ts = now_ms()
    rows = []
    latest = dict(locked.latest_metrics)
    for point in metrics:
        timestamp = default_ts if point.timestamp is None else point.timestamp
        value = float(point.value)
        rows.append(
            RunMetric(
                run_id=locked.pk, key=point.key, value=value, step=point.step, timestamp=timestamp
            )
        )
        if _newer(point, timestamp, latest.get(point.key)):
            latest[point.key] = {"value": value, "step": point.step, "timestamp": timestamp}
    if rows:
        RunMetric.objects.bulk_create(rows)
    update_fields = []
    if rows:
        locked.latest_metrics = latest
        update_fields.append("latest_metrics")
    if params:
        locked.params = {**locked.params, **params}
        update_fields.append("params")
    if tags:
        locked.tags = {**locked.tags, **tags}
        update_fields.append("tags")
    if update_fields:
        locked.save(update_fields=[*update_fields, "updated_at"])
    return locked


@transaction.atomic
def run_update(
    *,
    run: Run,
    status: str | None = None,
    name: str | None = None,
    ended_at=None,
    objective=UNCHANGED,
) -> Run:
    """Rename a run, change its status or link it to an objective of its project (None
    unlinks); a final status records when the run ended."""
    if status is not None and status not in RunStatus.values:
        raise ValidationError({"status": f"Choose one of {', '.join(RunStatus.values)}."})
    fields = ["updated_at"]
    if objective is not UNCHANGED:
        run.objective = clean_objective(project=run.project, objective=objective)
        fields.append("objective")
    if name is not None and name.strip():
        run.name = name.strip()[:250]
        fields.append("name")
    if status is not None:
        run.status = status
        run.ended_at = None if status == RunStatus.RUNNING else ended_at or timezone.now()
        fields += ["status", "ended_at"]
    run.save(update_fields=fields)
    return run


@transaction.atomic
def run_delete_tag(*, run: Run, key: str) -> Run:
    locked = Run.objects.select_for_update().get(pk=run.pk)
    if key in locked.tags:
        del locked.tags[key]
        locked.save(update_fields=["tags", "updated_at"])
    return locked


@transaction.atomic
def run_set_objective(*, run: Run, objective: Objective | int | None, actor: User) -> Run:
    """Link a run to an objective of its project (None unlinks), from the runs pages."""
    old = run.objective_id
    run = run_update(run=run, objective=objective)
    audit(
        org=run.project.organization,
        actor=actor,
        action="run.objective_changed",
        target=run.name,
        data={"from": old, "to": run.objective_id, "run": run.pk},
    )
    return run


@transaction.atomic
def run_set_role(*, run: Run, role: str, actor: User) -> Run:
    """Mark a run as the project's baseline or a candidate (or neither)."""
    if role not in RunRole.values:
        raise ValidationError({"role": "Choose baseline, candidate or none."})
    old = run.role
    run.role = role
    run.save(update_fields=["role", "updated_at"])
    audit(
        org=run.project.organization,
        actor=actor,
        action="run.role_changed",
        target=run.name,
        data={"from": old, "to": role, "run": run.pk},
    )
    return run
