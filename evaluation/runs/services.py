"""Writes of experiment runs, shared by the REST API, the MLflow-compatible endpoint and the
runs pages. Every input is validated before anything is written, so a bad batch changes
nothing; a batch is written with one bulk insert in one transaction.

Also the MLflow side of projects: experiments (a project's MLflow name, tags and soft
delete), the organization's Default experiment, and the datasets runs used."""

import math
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit
from evaluation.models import (
    Dataset,
    Experiment,
    LoggedModel,
    Run,
    RunInput,
    RunMetric,
    RunOutput,
    RunRole,
    RunStatus,
)
from evaluation.runs.models import to_json_number
from mlprojects.lifecycle.services import project_create
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
MAX_RUN_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20000
MAX_DATASETS_PER_REQUEST = 1000
# Dataset fields: name, digest, source type, source, schema, profile; input tag key, value.
DATASET_LIMITS = {
    "name": 500,
    "digest": 36,
    "source_type": 36,
    "source": 65535,
    "schema": 1048575,
    "profile": 16777215,
}
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500
DATASET_CONTEXT_TAG = "mlflow.data.context"

DEFAULT_EXPERIMENT_NAME = "Default"  # MLflow's name for experiment "0"
DEFAULT_PROJECT_NAME = "Unsorted runs"
ALREADY_EXISTS = "already_exists"  # ValidationError code of a name that is taken
NOT_ACTIVE = "not_active"  # ValidationError code of a write to a deleted run or experiment
DOES_NOT_EXIST = "does_not_exist"  # ValidationError code of a tag that is not there


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int = 0
    timestamp: int | None = None  # milliseconds since the epoch; None means now


@dataclass(frozen=True)
class DatasetInput:
    """One dataset a run used, as MLflow's `log_inputs` describes it."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str = ""
    profile: str = ""
    tags: tuple[tuple[str, str], ...] = field(default=())


def now_ms() -> int:
    return int(time.time() * 1000)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL character, which PostgreSQL refuses, or
    a lone surrogate, which is not UTF-8), else None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode"
    return None


def _check_text(value: str, what: str, errors: list[str]) -> None:
    problem = text_problem(value)
    if problem:
        errors.append(f"The {what} {problem}.")


def _check_key(key: str, what: str, errors: list[str]) -> None:
    if not isinstance(key, str) or not key.strip():
        errors.append(f"A {what} needs a non-empty key.")
    elif len(key) > MAX_KEY_LENGTH:
        errors.append(f"The {what} key {key[:40]!r}… is longer than {MAX_KEY_LENGTH} characters.")
    else:
        _check_text(key, f"{what} key {key[:40]!r}", errors)


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
        else:
            _check_text(value, f"{what} {key[:40]!r}", errors)
    return errors


def _check_metrics(metrics: list[MetricPoint]) -> list[str]:
    """Keys, numbers and 64-bit steps and timestamps. NaN and ±inf are values like any
    other here (as in MLflow); the REST API refuses them before they get here."""
    errors: list[str] = []
    if len(metrics) > MAX_BATCH_METRICS:
        errors.append(f"At most {MAX_BATCH_METRICS} metrics per request.")
        return errors
    for m in metrics:
        _check_key(m.key, "metric", errors)
        if isinstance(m.value, bool) or not isinstance(m.value, int | float):
            errors.append(f"The metric {m.key!r} must be a number.")
        for name, number in (("step", m.step), ("timestamp", m.timestamp)):
            if number is None and name == "timestamp":
                continue
            if isinstance(number, bool) or not isinstance(number, int) or abs(number) >= 2**63:
                errors.append(f"The {name} of metric {m.key!r} must be a 64-bit integer.")
    return errors


def check_active(run: Run) -> None:
    """MLflow refuses every write to a deleted run."""
    if run.deleted_at is not None:
        raise ValidationError(
            f"The run {run.pk} must be in the 'active' state. Current state is deleted.",
            code=NOT_ACTIVE,
        )


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


def _newer(point: MetricPoint, timestamp: int, value: float | None, current: dict | None) -> bool:
    """MLflow's notion of "latest": the highest step, then the latest timestamp, then the
    largest value (NaN counting as 0, as MLflow stores it). A timestamp the server assigned
    (the REST API's default) ties only by the millisecond's resolution, so there the value
    logged later wins."""
    if current is None:
        return True
    new, old = (point.step, timestamp), (current["step"], current["timestamp"])
    if new != old or point.timestamp is None:
        return new >= old
    return (0.0 if value is None else value) >= (current["value"] or 0.0)


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
    _check_text(name, "run name", errors)
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


def _insert_metric_rows(rows: list[tuple]) -> None:
    """Insert (run_id, key, value, step, timestamp) rows in one statement. Metric values are
    the high-volume write path (log-batch takes up to 1,000 a request): no model instances
    are built for them; PostgreSQL receives them by COPY, other databases by one
    executemany."""
    table = connection.ops.quote_name(RunMetric._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(RunMetric._meta.get_field(name).column)
        for name in ("run", "key", "value", "step", "timestamp")
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # Table and column names come from the model, quoted; the values are parameters.
            insert = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
            cursor.executemany(insert, rows)


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
    check_active(locked)
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
        rows.append((locked.pk, point.key, None if math.isnan(value) else value, point.step,
                     timestamp))  # fmt: skip
        as_json = to_json_number(value)
        if _newer(point, timestamp, as_json, latest.get(point.key)):
            latest[point.key] = {"value": as_json, "step": point.step, "timestamp": timestamp}
    if rows:
        _insert_metric_rows(rows)
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
    if name is not None and text_problem(name):
        raise ValidationError({"name": f"The run name {text_problem(name)}."})
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
    check_active(locked)
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


@transaction.atomic
def run_set_deleted(*, run: Run, deleted: bool, actor: User | None) -> Run:
    """Soft-delete a run (MLflow's `runs/delete`: hidden from listings, still readable by
    id) or restore it (`runs/restore`). Idempotent."""
    if (run.deleted_at is not None) != deleted:
        run.deleted_at = timezone.now() if deleted else None
        run.save(update_fields=["deleted_at", "updated_at"])
        audit(
            org=run.project.organization,
            actor=actor,
            action="run.deleted" if deleted else "run.restored",
            target=run.name,
            data={"run": run.pk},
        )
    return run


def _check_dataset_inputs(inputs: list[DatasetInput]) -> list[str]:
    errors: list[str] = []
    if len(inputs) > MAX_DATASETS_PER_REQUEST:
        return [f"At most {MAX_DATASETS_PER_REQUEST} datasets per request."]
    for item in inputs:
        for name, limit in DATASET_LIMITS.items():
            value = getattr(item, name)
            if len(value) > limit:
                errors.append(f"The dataset {name} is longer than {limit} characters.")
            _check_text(value, f"dataset {name}", errors)
        for key, value in item.tags:
            if len(key) > MAX_INPUT_TAG_KEY_LENGTH or len(value) > MAX_INPUT_TAG_VALUE_LENGTH:
                errors.append(
                    f"Input tags have keys of at most {MAX_INPUT_TAG_KEY_LENGTH} and values of "
                    f"at most {MAX_INPUT_TAG_VALUE_LENGTH} characters."
                )
            _check_text(key + value, "input tag", errors)
    return errors


@transaction.atomic
def run_log_inputs(*, run: Run, inputs: Iterable[DatasetInput]) -> Run:
    """Record the datasets a run used (MLflow's `log_inputs`). A dataset is stored once per
    project and (name, digest); logging the same dataset to a run again changes nothing
    (MLflow keeps the first input and its tags). Constant number of queries."""
    inputs = list(inputs)
    errors = _check_dataset_inputs(inputs)
    if errors:
        raise ValidationError({"datasets": errors})
    locked = Run.objects.select_for_update().get(pk=run.pk)
    check_active(locked)
    unique: dict[tuple[str, str], DatasetInput] = {}
    for item in inputs:
        unique.setdefault((item.name, item.digest), item)
    if not unique:
        return locked
    Dataset.objects.bulk_create(
        [
            Dataset(
                project_id=locked.project_id,
                name=i.name,
                digest=i.digest,
                source_type=i.source_type,
                source=i.source,
                schema=i.schema,
                profile=i.profile,
            )
            for i in unique.values()
        ],
        ignore_conflicts=True,  # datasets the project already has keep their first record
    )
    datasets = Dataset.objects.filter(
        project_id=locked.project_id,
        name__in={name for name, _ in unique},
        digest__in={digest for _, digest in unique},
    )
    by_key = {(d.name, d.digest): d for d in datasets}
    RunInput.objects.bulk_create(
        [
            RunInput(
                run=locked,
                dataset=by_key[key],
                tags=[{"key": k, "value": v} for k, v in item.tags],
                context=dict(item.tags).get(DATASET_CONTEXT_TAG, ""),
            )
            for key, item in unique.items()
        ],
        ignore_conflicts=True,  # already an input of this run
    )
    return locked


# -- MLflow experiments ---------------------------------------------------------------------
def _free_name(name: str, slug: str, pk: int, taken: set[str]) -> str:
    """`name`, or with the project's slug (unique) appended when another experiment of the
    organization has it."""
    for candidate in (
        name[:MAX_EXPERIMENT_NAME_LENGTH],
        f"{name[:400]} ({slug})",
        f"{name[:400]} ({slug}, {pk})",
    ):
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable: the last candidate contains the unique project id")


def experiments_ensure(*, org: Organization) -> None:
    """An experiment for every project of `org` that has none yet (projects made in the
    browser), named after the project. One query when there is nothing to do."""
    missing = list(
        Project.objects.filter(organization=org, mlflow_experiment__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", "name", "slug", "created_at")
    )
    if not missing:
        return
    taken = set(Experiment.objects.filter(organization=org).values_list("name", flat=True))
    rows = []
    for pk, name, slug, created_at in missing:
        name = _free_name(name, slug, pk, taken)
        taken.add(name)
        rows.append(Experiment(project_id=pk, organization=org, name=name, created_at=created_at))
    # A concurrent request may create the same rows: theirs win, ours are skipped.
    Experiment.objects.bulk_create(rows, ignore_conflicts=True)


def experiment_for(*, project: Project) -> Experiment:
    """The project's experiment, created on demand."""
    experiment = Experiment.objects.filter(project=project).first()
    if experiment is None:
        experiments_ensure(org=project.organization)
        experiment = Experiment.objects.get(project=project)
    return experiment


def _check_experiment_name(org: Organization, name: str, exclude: Project | None = None) -> str:
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        raise ValidationError("An experiment needs a name.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise ValidationError(
            f"An experiment name has at most {MAX_EXPERIMENT_NAME_LENGTH} characters."
        )
    if text_problem(name):
        raise ValidationError(f"The experiment name {text_problem(name)}.")
    other = Experiment.objects.filter(organization=org, name=name).exclude(project=exclude).first()
    if other is not None:
        state = " in deleted state" if other.deleted_at else ""
        raise ValidationError(
            f"Experiment(name={name}) already exists{state}.", code=ALREADY_EXISTS
        )
    return name


def _check_experiment_tags(tags: Mapping[str, str]) -> None:
    errors = _check_values(tags, "experiment tag", MAX_EXPERIMENT_TAG_VALUE_LENGTH, 10**6)
    if errors:
        raise ValidationError(errors)


def experiment_create(
    *, org: Organization, user: User | None, name: str, tags: Mapping[str, str] | None = None
) -> Experiment:
    """A new project, known to the mlflow client as the experiment `name` (any text, kept
    exactly; the project gets a slug of its own)."""
    experiments_ensure(org=org)  # so that the names of browser-made projects count
    name = _check_experiment_name(org, name)
    tags = dict(tags or {})
    _check_experiment_tags(tags)
    try:
        return _experiment_with_project(
            org=org,
            user=user,
            project_name=name[:200],
            summary=f"Created by the MLflow client for the experiment “{name}”.",
            name=name,
            tags=tags,
        )
    except IntegrityError as exc:  # created concurrently under the same name
        raise ValidationError(
            f"Experiment(name={name}) already exists.", code=ALREADY_EXISTS
        ) from exc


def experiment_default(*, org: Organization, user: User | None) -> Experiment:
    """The organization's Default experiment (MLflow's "0"), created on first use as the
    project "Unsorted runs": where runs logged without an experiment land."""
    found = Experiment.objects.filter(organization=org, is_default=True).first()
    if found is not None:
        return found
    experiments_ensure(org=org)
    taken = set(Experiment.objects.filter(organization=org).values_list("name", flat=True))
    name = DEFAULT_EXPERIMENT_NAME
    if name in taken:  # a project of the organization is called "Default"
        name = f"{DEFAULT_EXPERIMENT_NAME} ({DEFAULT_PROJECT_NAME})"
    try:
        return _experiment_with_project(
            org=org,
            user=user,
            project_name=DEFAULT_PROJECT_NAME,
            summary="Runs logged with the mlflow client without choosing an experiment "
            "(MLflow's Default experiment). Move the work to a project of its own when "
            "it grows into one.",
            name=name,
            is_default=True,
        )
    except IntegrityError:  # created concurrently
        return Experiment.objects.get(organization=org, is_default=True)


@transaction.atomic
def _experiment_with_project(
    *, org: Organization, user: User | None, project_name: str, summary: str, **fields
) -> Experiment:
    """A new project and its experiment, both or neither (an IntegrityError leaves none)."""
    project = project_create(org=org, user=user, name=project_name, summary=summary)
    return Experiment.objects.create(
        project=project, organization=org, created_at=project.created_at, **fields
    )


def _touch(experiment: Experiment, *fields: str) -> None:
    experiment.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def experiment_rename(*, experiment: Experiment, name: str, actor: User | None) -> Experiment:
    """Rename the experiment; the project's display name follows while the two were equal
    (a project the client created), otherwise the project keeps the name people gave it."""
    project = experiment.project
    old = experiment.name
    experiment.name = _check_experiment_name(project.organization, name, exclude=project)
    _touch(experiment, "name")
    if project.name == old[:200] and not experiment.is_default:
        project.name = experiment.name[:200]
        project.save(update_fields=["name", "updated_at"])
    audit(
        org=project.organization,
        actor=actor,
        action="experiment.renamed",
        target=experiment.name,
        data={"from": old, "project": project.pk},
    )
    return experiment


@transaction.atomic
def experiment_set_deleted(
    *, experiment: Experiment, deleted: bool, actor: User | None
) -> Experiment:
    """Soft-delete the experiment and, as MLflow does, every run of it (the project itself
    stays: it is more than its runs); or restore the experiment and all its runs.
    Idempotent."""
    if (experiment.deleted_at is not None) != deleted:
        now = timezone.now()
        experiment.deleted_at = now if deleted else None
        _touch(experiment, "deleted_at")
        Run.objects.filter(project_id=experiment.pk, deleted_at__isnull=deleted).update(
            deleted_at=experiment.deleted_at, updated_at=now
        )
        audit(
            org=experiment.organization,
            actor=actor,
            action="experiment.deleted" if deleted else "experiment.restored",
            target=experiment.name,
            data={"project": experiment.pk},
        )
    return experiment


def _check_experiment_active(experiment: Experiment) -> None:
    if experiment.deleted_at is not None:
        raise ValidationError(
            f"The experiment {experiment.pk} must be in the 'active' state. "
            "Current state is deleted.",
            code=NOT_ACTIVE,
        )


@transaction.atomic
def experiment_set_tag(*, experiment: Experiment, key: str, value: str) -> Experiment:
    locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
    _check_experiment_active(locked)
    _check_experiment_tags({key: value})
    locked.tags = {**locked.tags, key: value}
    _touch(locked, "tags")
    return locked


@transaction.atomic
def experiment_delete_tag(*, experiment: Experiment, key: str) -> Experiment:
    """Remove a tag; a ValidationError when the experiment has no such tag."""
    locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
    _check_experiment_active(locked)
    if key not in locked.tags:
        raise ValidationError(
            f"No tag with name: {key} in experiment {locked.pk}.", code=DOES_NOT_EXIST
        )
    del locked.tags[key]
    _touch(locked, "tags")
    return locked


# -- logged models (MLflow 3) ---------------------------------------------------------------
LOGGED_MODEL_PREFIX = "m-"
MAX_LOGGED_MODEL_NAME_LENGTH = 500


def _new_logged_model_id() -> str:
    return f"{LOGGED_MODEL_PREFIX}{uuid.uuid4().hex}"


def _check_model_values(params: Mapping[str, str], tags: Mapping[str, str]) -> None:
    errors = _check_values(params, "param", MAX_PARAM_VALUE_LENGTH, MAX_BATCH_PARAMS)
    errors += _check_values(tags, "tag", MAX_TAG_VALUE_LENGTH, MAX_BATCH_TAGS)
    if errors:
        raise ValidationError({"non_field_errors": errors})


@transaction.atomic
def logged_model_create(
    *,
    project: Project,
    user: User | None,
    name: str = "",
    source_run: Run | None = None,
    model_type: str = "",
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> LoggedModel:
    """A new logged model of `project` (pending until finalized), made by `source_run`."""
    params, tags = dict(params or {}), dict(tags or {})
    _check_model_values(params, tags)
    errors: list[str] = []
    _check_text(name, "model name", errors)
    if len(name) > MAX_LOGGED_MODEL_NAME_LENGTH:
        errors.append(f"A model name has at most {MAX_LOGGED_MODEL_NAME_LENGTH} characters.")
    if errors:
        raise ValidationError({"name": errors})
    model_id = _new_logged_model_id()
    return LoggedModel.objects.create(
        id=model_id,
        project=project,
        source_run=source_run,
        name=name.strip() or f"model-{model_id[2:10]}",
        model_type=model_type,
        created_by=user,
        params=params,
        tags=tags,
    )


def _check_model_active(model: LoggedModel) -> None:
    if model.deleted_at is not None:
        raise ValidationError(f"The logged model {model.pk} is deleted.", code=NOT_ACTIVE)


@transaction.atomic
def logged_model_update(
    *,
    model: LoggedModel,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    status: str | None = None,
) -> LoggedModel:
    """Add params, set tags and/or change the status of a logged model."""
    params, tags = dict(params or {}), dict(tags or {})
    _check_model_values(params, tags)
    locked = LoggedModel.objects.select_for_update().get(pk=model.pk)
    _check_model_active(locked)
    locked.params = {**locked.params, **params}
    locked.tags = {**locked.tags, **tags}
    if status is not None:
        locked.status = status
    locked.save(update_fields=["params", "tags", "status", "updated_at"])
    return locked


@transaction.atomic
def logged_model_delete_tag(*, model: LoggedModel, key: str) -> LoggedModel:
    locked = LoggedModel.objects.select_for_update().get(pk=model.pk)
    _check_model_active(locked)
    if key not in locked.tags:
        raise ValidationError(f"No tag with key {key!r} on model {model.pk}.", code=DOES_NOT_EXIST)
    del locked.tags[key]
    locked.save(update_fields=["tags", "updated_at"])
    return locked


def logged_model_delete(*, model: LoggedModel) -> None:
    """Soft delete, as MLflow's: the model disappears from searches and reads; its files
    stay where they are."""
    LoggedModel.objects.filter(pk=model.pk, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), updated_at=timezone.now()
    )


@transaction.atomic
def logged_model_log_metrics(
    *, model: LoggedModel, run: Run, metrics: Iterable[tuple[MetricPoint, str, str]]
) -> LoggedModel:
    """Keep metric values logged with the model's id: (point, dataset name, dataset digest)."""
    locked = LoggedModel.objects.select_for_update().get(pk=model.pk)
    default_ts = now_ms()
    rows = [
        {
            "key": point.key,
            "value": to_json_number(float(point.value)),
            "timestamp": default_ts if point.timestamp is None else point.timestamp,
            "step": point.step,
            "run_id": str(run.pk),
            "dataset_name": dataset_name,
            "dataset_digest": dataset_digest,
        }
        for point, dataset_name, dataset_digest in metrics
    ]
    if rows:
        locked.metrics = [*locked.metrics, *rows]
        locked.save(update_fields=["metrics", "updated_at"])
    return locked


def run_log_outputs(*, run: Run, outputs: Iterable[tuple[LoggedModel, int]]) -> None:
    """Record the logged models a run produced (once per run and model)."""
    for model, step in outputs:
        RunOutput.objects.update_or_create(run=run, model=model, defaults={"step": step})
