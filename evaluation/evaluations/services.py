"""State changes of evaluations: upload, configure, run (from the Celery task) and the
bookkeeping of success, failure and time-outs.

The life of an evaluation: ``draft`` (browser: file stored, columns not yet confirmed) →
``queued`` (task enqueued on commit) → ``running`` → ``succeeded`` | ``failed``. Only the
current attempt of a running evaluation may write progress or an outcome, and results
are written in the same transaction that marks it succeeded.
"""

from __future__ import annotations

import csv
import gzip
import logging
import math
import os
import posixpath
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import IO, Any

import pyarrow.parquet as pq
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit
from evaluation.metrics import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    EvaluationInputError,
    EvaluationOptions,
    detect_format,
    evaluate,
    parse_rules,
    read_header,
    read_predictions,
    suggest_mapping,
)
from evaluation.models import Evaluation, EvaluationMetric, EvaluationStatus, EvaluationTask
from mlprojects.models import Baseline, BaselineKind, Metric, MetricKind, Project

logger = logging.getLogger(__name__)

ROLE_KEYS = ("y_true", "y_score", "y_pred", "group", "item")
COLUMN_KEYS = (*ROLE_KEYS, "proba", "features", "score_b", "label_b")
# Options given as columns (tradeoff) or as rule baselines (rules) are not plain options.
RESERVED_OPTIONS = ("rules", "tradeoff")
PREVIEW_ROWS = 5
# A progress write is one UPDATE; twice a second keeps the bar live at a negligible cost
# (the reader calls back once per ~2 MB block, i.e. up to hundreds of times a second).
PROGRESS_WRITE_INTERVAL_S = 0.5
# Test hook: seconds to sleep in every progress callback, so a test can kill a worker
# while an evaluation of a small file is still running. Unset everywhere else.
_TEST_PROGRESS_DELAY_S = float(os.environ.get("EVALUATION_TEST_PROGRESS_DELAY") or 0)

TIMED_OUT_MESSAGE = (
    "The evaluation took longer than {minutes} minutes and was stopped. Upload a smaller "
    "file (or a Parquet file, which reads faster), or ask an administrator to raise "
    "EVALUATION_TIME_LIMIT_SECONDS."
)
INTERNAL_ERROR_MESSAGE = (
    "The evaluation stopped because of an internal error (not a problem with your file). "
    "It has been logged; try again later."
)


class Superseded(Exception):
    """This attempt is no longer the evaluation's current one (it was restarted after a
    redelivery, or marked failed): stop without writing anything."""


# -- reading an upload ------------------------------------------------------------------------


def clean_filename(name: str) -> str:
    """The last path component of a client's file name, for display and downloads only."""
    return posixpath.basename((name or "").replace("\\", "/")).strip()[:200] or "predictions"


def inspect_file(fh: IO[bytes]) -> tuple[str, list[str]]:
    """(format, header) of a predictions file, or ValidationError on the file field."""
    try:
        file_format = detect_format(fh)
        header = read_header(fh)
    except EvaluationInputError as exc:
        raise ValidationError({"file": str(exc)}) from None
    finally:
        fh.seek(0)
    return file_format, header


def file_preview(fh: IO[bytes], file_format: str, rows: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first `rows` data rows as text, for the column-mapping step."""
    try:
        if file_format == "parquet":
            batch = next(pq.ParquetFile(fh).iter_batches(batch_size=rows), None)
            if batch is None:
                return []
            table = batch.to_pydict()
            names = list(table)
            return [
                ["" if table[n][i] is None else str(table[n][i]) for n in names]
                for i in range(batch.num_rows)
            ]
        raw = gzip.GzipFile(fileobj=fh) if file_format == "csv.gz" else fh
        head = raw.read(64 * 1024).decode("utf-8-sig", errors="replace")
        lines = head.splitlines()
        if len(head) == 64 * 1024 and len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut in the middle
        lines = lines[: rows + 1]
        try:
            dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        return list(csv.reader(lines, dialect))[1:]
    except (OSError, EOFError, ValueError):
        return []
    finally:
        fh.seek(0)


# -- validating a configuration ---------------------------------------------------------------


def _missing_column(column: str, role: str, header: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(column, header, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"Column {column!r} ({role}) is not in the file.{hint} "
        f"Available columns: {', '.join(header)}."
    )


def _as_name(value: Any, role: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError({"columns": f"{role} must be a column name."})
    return value


def _clean_columns(task: str, columns: Any, header: list[str]) -> dict[str, Any]:
    if not isinstance(columns, Mapping):
        raise ValidationError({"columns": "Give the column mapping as a JSON object."})
    unknown = sorted(set(columns) - set(COLUMN_KEYS))
    if unknown:
        raise ValidationError(
            {"columns": f"Unknown key(s) {', '.join(unknown)}; use {', '.join(COLUMN_KEYS)}."}
        )
    clean: dict[str, Any] = {}
    for role in (*ROLE_KEYS, "score_b", "label_b"):
        if columns.get(role):
            clean[role] = _as_name(columns[role], role)
    proba = columns.get("proba") or {}
    if not isinstance(proba, Mapping):
        raise ValidationError({"columns": "proba must map each class to its column."})
    if proba:
        clean["proba"] = {str(k): _as_name(v, f"proba[{k}]") for k, v in proba.items()}
    features = columns.get("features") or []
    if isinstance(features, str) or not isinstance(features, Iterable):
        raise ValidationError({"columns": "features must be a list of column names."})
    clean["features"] = [_as_name(f, "features") for f in features]

    needs = {
        EvaluationTask.BINARY: [("y_true",), ("y_score", "y_pred")],
        EvaluationTask.MULTICLASS: [("y_true",), ("y_pred", "proba")],
        EvaluationTask.REGRESSION: [("y_true",), ("y_pred", "y_score")],
        EvaluationTask.RANKING: [("y_true",), ("y_score",), ("group",)],
    }[task]
    for alternatives in needs:
        if not any(clean.get(role) for role in alternatives):
            raise ValidationError(
                {"columns": f"The {task} task needs a {' or '.join(alternatives)} column."}
            )
    if bool(clean.get("score_b")) != bool(clean.get("label_b")):
        raise ValidationError(
            {"columns": "The trade-off needs both a second score (score_b) and label (label_b)."}
        )
    if clean.get("score_b") and not clean.get("y_score"):
        raise ValidationError({"columns": "The trade-off blends y_score with score_b."})
    used = [(role, clean[role]) for role in (*ROLE_KEYS, "score_b", "label_b") if role in clean]
    used += [(f"proba[{k}]", v) for k, v in clean.get("proba", {}).items()]
    used += [("feature", f) for f in clean["features"]]
    for role, column in used:
        if column not in header:
            raise ValidationError({"columns": _missing_column(column, role, header)})
    return clean


def _clean_options(options: Any, header: list[str]) -> dict[str, Any]:
    if options in (None, ""):
        options = {}
    if not isinstance(options, Mapping):
        raise ValidationError({"options": "Give the options as a JSON object."})
    reserved = [key for key in RESERVED_OPTIONS if key in options]
    if reserved:
        raise ValidationError(
            {"options": "Rule baselines and the trade-off are given separately, not as options."}
        )
    try:
        EvaluationOptions.parse(options)
    except EvaluationInputError as exc:
        raise ValidationError({"options": str(exc)}) from None
    for column in options.get("slice_columns") or []:
        if column not in header:
            raise ValidationError({"options": _missing_column(column, "slice column", header)})
    return dict(options)


def _clean_rule_baselines(specs: Any, task: str, header: list[str]) -> list[dict[str, Any]]:
    if not specs:
        return []
    if not isinstance(specs, list):
        raise ValidationError({"rule_baselines": 'Give a list of {"name", "rules"} objects.'})
    clean, names = [], set()
    for i, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or not spec.get("name") or "rules" not in spec:
            raise ValidationError({"rule_baselines": f'Entry {i} needs a "name" and "rules".'})
        name = str(spec["name"])
        if name in names:
            raise ValidationError({"rule_baselines": f"Two rule baselines are named {name!r}."})
        names.add(name)
        try:
            rule_set = parse_rules(spec["rules"], features=header, task=task)
        except EvaluationInputError as exc:
            raise ValidationError({"rule_baselines": f"{name}: {exc}"}) from None
        clean.append({"name": name, "rules": rule_set.to_dict()})
    return clean


def validate_configuration(
    *,
    task: str,
    columns: Any,
    options: Any,
    header: list[str],
    rule_baselines: Any = None,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Check a mapping, options and rule baselines against a file's header before anything
    is saved. Returns them cleaned; raises ValidationError keyed by field."""
    if task not in EvaluationTask.values:
        raise ValidationError(
            {"task": f"Unknown task {task!r}; choose {', '.join(EvaluationTask.values)}."}
        )
    return (
        _clean_columns(task, columns, header),
        _clean_options(options, header),
        _clean_rule_baselines(rule_baselines, task, header),
    )


# -- links to the project's lifecycle ---------------------------------------------------------


def clean_target(
    *, project: Project, task: str, target_metric: Metric | int | None, target_metric_key: str
) -> tuple[Metric | None, str]:
    """The lifecycle metric an evaluation updates on success (a model metric of the
    project's current cycle) and the engine metric it takes the value from — the task's
    primary metric when no key is given. ValidationError by field otherwise."""
    key = (target_metric_key or "").strip()
    if target_metric is None:
        if key:
            raise ValidationError(
                {"target_metric": "Choose the project's metric this engine metric updates."}
            )
        return None, ""
    pk = target_metric.pk if isinstance(target_metric, Metric) else target_metric
    metric = Metric.objects.filter(
        pk=pk,
        cycle__project=project,
        cycle__number=project.cycle,
        kind=MetricKind.MODEL,
    ).first()
    if metric is None:
        raise ValidationError(
            {"target_metric": "Choose a model metric of this project's current cycle."}
        )
    key = key or PRIMARY_METRIC.get(task, "")
    if key not in HIGHER_IS_BETTER:
        raise ValidationError(
            {
                "target_metric_key": f"Unknown engine metric {key!r}; use one of "
                f"{', '.join(sorted(HIGHER_IS_BETTER))}."
            }
        )
    return metric, key


def project_rule_baselines(*, project: Project) -> list[dict[str, Any]]:
    """The rules baselines of the project's current cycle, as `rule_baselines` entries."""
    baselines = Baseline.objects.filter(
        cycle__project=project,
        cycle__number=project.cycle,
        kind=BaselineKind.RULES,
        rules__isnull=False,
    ).order_by("id")
    return [{"name": b.name, "rules": b.rules} for b in baselines]


def applicable_rule_baselines(
    specs: list[dict[str, Any]], *, task: str, header: list[str], taken: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], list[str]]:
    """The project's rule baselines the engine can run on this file and task, and a
    warning for each one skipped (a feature that is not a column, a prediction of the
    wrong type for the task, a name already used) instead of failing the evaluation."""
    usable, warnings, names = [], [], set(taken)
    for spec in specs:
        name = spec["name"]
        if name in names:
            warnings.append(f"Rule baseline “{name}” skipped: another baseline has this name.")
            continue
        try:
            parse_rules(spec["rules"], features=header, task=task)
        except EvaluationInputError as exc:
            warnings.append(f"Rule baseline “{name}” skipped: {exc}")
            continue
        names.add(name)
        usable.append({"name": name, "rules": spec["rules"]})
    return usable, warnings


def _with_project_rules(
    project: Project, rule_baselines: Any, *, task: str, header: list[str]
) -> tuple[Any, list[str]]:
    explicit = rule_baselines if isinstance(rule_baselines, list) else []
    taken = [s.get("name") for s in explicit if isinstance(s, Mapping)]
    usable, warnings = applicable_rule_baselines(
        project_rule_baselines(project=project), task=task, header=header, taken=taken
    )
    return [*explicit, *usable] if (explicit or usable) else rule_baselines, warnings


def _update_target_metric(evaluation: Evaluation, result: Mapping[str, Any]) -> None:
    """Set the target lifecycle metric's current value from the result, through the
    workspace's service (so the change is in the step's history). Skipped when the value
    is missing or undefined, or the metric's cycle is no longer the current one."""
    from mlprojects.lifecycle.services import item_update

    if evaluation.target_metric_id is None or not evaluation.target_metric_key:
        return
    value = result["metrics"].get(evaluation.target_metric_key)
    if not isinstance(value, int | float) or value != value or value in (math.inf, -math.inf):
        return
    metric = Metric.objects.select_for_update().get(pk=evaluation.target_metric_id)
    try:
        item_update(project=evaluation.project, user=None, item=metric, values={"current": value})
    except ValidationError as exc:
        logger.info("Evaluation %s did not update metric %s: %s", evaluation.pk, metric.pk, exc)
        return
    audit(
        org=evaluation.project.organization,
        actor=None,
        action="metric.updated_by_evaluation",
        target=metric.name,
        data={
            "metric": metric.pk,
            "evaluation": evaluation.pk,
            "key": evaluation.target_metric_key,
            "value": value,
        },
    )


# -- creating ----------------------------------------------------------------------------------


def _check_size(upload: UploadedFile) -> None:
    limit = settings.EVALUATION_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        from evaluation.uploads import UploadTooLarge

        raise UploadTooLarge(limit)


def _store(evaluation: Evaluation, upload: UploadedFile) -> None:
    """Write the upload through the storage API under a server-made name (see
    `evaluation_file_name`); Django streams it in chunks or moves the temporary file."""
    upload.seek(0)
    evaluation.file.save("upload", upload, save=False)


def _save_new(evaluation: Evaluation, upload: UploadedFile) -> None:
    _store(evaluation, upload)
    try:
        evaluation.save()
    except BaseException:
        default_storage.delete(evaluation.file.name)
        raise


@transaction.atomic
def evaluation_upload(
    *, project: Project, user: User | None, upload: UploadedFile, name: str = ""
) -> Evaluation:
    """Browser step 1: store the file as a draft, with the suggested task."""
    _check_size(upload)
    file_format, header = inspect_file(upload)
    filename = clean_filename(upload.name)
    evaluation = Evaluation(
        project=project,
        created_by=user,
        name=(name.strip() or filename)[:200],
        task=suggest_mapping(header)["task"] or EvaluationTask.BINARY,
        status=EvaluationStatus.DRAFT,
        original_filename=filename,
        file_format=file_format,
        file_size=upload.size or 0,
    )
    _save_new(evaluation, upload)
    audit(
        org=project.organization,
        actor=user,
        action="evaluation.uploaded",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "bytes": evaluation.file_size},
    )
    return evaluation


def evaluation_header(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    """The stored file's header and first rows (for the column-mapping step)."""
    with default_storage.open(evaluation.file.name, "rb") as fh:
        _, header = inspect_file(fh)
        return header, file_preview(fh, evaluation.file_format)


def _enqueue(evaluation: Evaluation) -> None:
    from evaluation.evaluations.tasks import run_evaluation_task

    transaction.on_commit(lambda: run_evaluation_task.delay(evaluation.pk))


@transaction.atomic
def evaluation_configure(
    *,
    evaluation: Evaluation,
    user: User | None,
    task: str,
    columns: Mapping[str, Any],
    options: Mapping[str, Any],
    rule_baselines: list[dict[str, Any]] | None = None,
    name: str = "",
    project_rules: bool = False,
    target_metric: Metric | int | None = None,
    target_metric_key: str = "",
) -> Evaluation:
    """Browser step 2: confirm the mapping of a draft and queue it. With `project_rules`,
    the project's rule baselines that fit the file are added (the others are listed in
    `evaluation.skipped_rule_baselines`)."""
    evaluation = (
        Evaluation.objects.select_for_update().select_related("project").get(pk=evaluation.pk)
    )
    if evaluation.status != EvaluationStatus.DRAFT:
        raise ValidationError("This evaluation was already submitted.")
    header, _ = evaluation_header(evaluation)
    warnings: list[str] = []
    if project_rules and task in EvaluationTask.values:
        rule_baselines, warnings = _with_project_rules(
            evaluation.project, rule_baselines, task=task, header=header
        )
    columns, options, rules = validate_configuration(
        task=task, columns=columns, options=options, header=header, rule_baselines=rule_baselines
    )
    metric, key = clean_target(
        project=evaluation.project,
        task=task,
        target_metric=target_metric,
        target_metric_key=target_metric_key,
    )
    evaluation.task, evaluation.columns, evaluation.options = task, columns, options
    evaluation.rule_baselines = rules
    evaluation.target_metric, evaluation.target_metric_key = metric, key
    evaluation.skipped_rule_baselines = warnings
    evaluation.status = EvaluationStatus.QUEUED
    if name.strip():
        evaluation.name = name.strip()[:200]
    evaluation.save()
    audit(
        org=evaluation.project.organization,
        actor=user,
        action="evaluation.submitted",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "task": task},
    )
    _enqueue(evaluation)
    return evaluation


@transaction.atomic
def evaluation_create(
    *,
    project: Project,
    user: User | None,
    upload: UploadedFile,
    task: str,
    columns: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    rule_baselines: list[dict[str, Any]] | None = None,
    name: str = "",
    project_rules: bool = False,
    target_metric: Metric | int | None = None,
    target_metric_key: str = "",
) -> Evaluation:
    """One step (API): check the mapping against the file's header, store, queue. Nothing is
    stored when the mapping or the file is invalid. `project_rules` and the target metric
    as in `evaluation_configure`."""
    _check_size(upload)
    file_format, header = inspect_file(upload)
    warnings: list[str] = []
    if project_rules and task in EvaluationTask.values:
        rule_baselines, warnings = _with_project_rules(
            project, rule_baselines, task=task, header=header
        )
    columns, options, rules = validate_configuration(
        task=task, columns=columns, options=options, header=header, rule_baselines=rule_baselines
    )
    metric, key = clean_target(
        project=project, task=task, target_metric=target_metric, target_metric_key=target_metric_key
    )
    filename = clean_filename(upload.name)
    evaluation = Evaluation(
        project=project,
        created_by=user,
        name=(name.strip() or filename)[:200],
        task=task,
        status=EvaluationStatus.QUEUED,
        original_filename=filename,
        file_format=file_format,
        file_size=upload.size or 0,
        columns=columns,
        options=options,
        rule_baselines=rules,
        target_metric=metric,
        target_metric_key=key,
    )
    evaluation.skipped_rule_baselines = warnings
    _save_new(evaluation, upload)
    audit(
        org=project.organization,
        actor=user,
        action="evaluation.submitted",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "task": task},
    )
    _enqueue(evaluation)
    return evaluation


# -- running ---------------------------------------------------------------------------------


def engine_mapping(evaluation: Evaluation) -> dict[str, Any]:
    """The reader's mapping: roles, per-class probabilities, and every feature column the
    options need (slices, the trade-off's second pair, the rule baselines' features)."""
    cols = evaluation.columns
    mapping: dict[str, Any] = {role: cols[role] for role in ROLE_KEYS if cols.get(role)}
    if cols.get("proba"):
        mapping["proba"] = dict(cols["proba"])
    features = list(cols.get("features") or [])
    wanted = [
        *evaluation.options.get("slice_columns", []),
        cols.get("score_b"),
        cols.get("label_b"),
    ]
    for spec in evaluation.rule_baselines:
        wanted += [c["feature"] for rule in spec["rules"]["rules"] for c in rule["when"]]
    for column in wanted:
        if column and column not in features:
            features.append(column)
    mapping["features"] = features
    return mapping


def engine_options(evaluation: Evaluation) -> dict[str, Any]:
    options = dict(evaluation.options)
    if evaluation.rule_baselines:
        options["rules"] = {spec["name"]: spec["rules"] for spec in evaluation.rule_baselines}
    cols = evaluation.columns
    if cols.get("score_b"):
        options["tradeoff"] = {
            "score_a": "y_score",
            "label_a": "y_true",
            "score_b": cols["score_b"],
            "label_b": cols["label_b"],
        }
    return options


def evaluation_start(*, evaluation_id: int) -> int | None:
    """Claim the evaluation for this worker: the new attempt number, or None when there is
    nothing to do (already finished, a draft, or deleted). A redelivered task finds its
    evaluation `running` and starts it again from the beginning."""
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().filter(pk=evaluation_id).first()
        if evaluation is None or evaluation.status not in (
            EvaluationStatus.QUEUED,
            EvaluationStatus.RUNNING,
        ):
            return None
        if evaluation.status == EvaluationStatus.RUNNING:
            logger.warning(
                "Evaluation %s was running (attempt %s) and is restarted",
                evaluation.pk,
                evaluation.attempts,
            )
        evaluation.status = EvaluationStatus.RUNNING
        evaluation.attempts += 1
        evaluation.started_at = timezone.now()
        evaluation.progress, evaluation.rows_read = 0.0, 0
        evaluation.save(
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "progress",
                "rows_read",
                "updated_at",
            ]
        )
        return evaluation.attempts


def _current(evaluation_id: int, attempt: int):
    return Evaluation.objects.filter(
        pk=evaluation_id, status=EvaluationStatus.RUNNING, attempts=attempt
    )


def _estimated_rows(fh: IO[bytes], file_format: str, size: int) -> int | None:
    """Rows in a plain CSV, estimated from the line length of its first megabyte (the
    reader reads ahead, so the file position says little about the rows converted)."""
    if file_format != "csv":
        return None
    head = fh.read(1 << 20)
    fh.seek(0)
    lines = head.count(b"\n")
    if not lines:
        return None
    if len(head) >= size:
        unterminated_last_line = not head.endswith(b"\n")
        return max(lines + unterminated_last_line - 1, 1)  # minus the header
    return max(round(size * lines / len(head)) - 1, 1)


def _progress_writer(
    evaluation_id: int, attempt: int, fh: IO[bytes], evaluation: Evaluation
) -> Callable[[int, int | None], None]:
    last = 0.0
    size = evaluation.file_size
    estimate = _estimated_rows(fh, evaluation.file_format, size)

    def report(rows: int, total: int | None) -> None:
        nonlocal last
        if _TEST_PROGRESS_DELAY_S:
            time.sleep(_TEST_PROGRESS_DELAY_S)
        now = time.monotonic()
        if now - last < PROGRESS_WRITE_INTERVAL_S and not _TEST_PROGRESS_DELAY_S:
            return
        last = now
        # Parquet knows its row count; a plain CSV's is estimated; for gzip, the share of
        # the compressed bytes read so far. 100 % only once the whole file is read.
        if total or estimate:
            fraction = rows / (total or estimate)
        else:
            fraction = fh.tell() / size if size else 0.0
        updated = _current(evaluation_id, attempt).update(
            progress=min(max(fraction, 0.0), 0.99), rows_read=rows, updated_at=timezone.now()
        )
        if not updated:
            raise Superseded

    return report


def _compute(evaluation: Evaluation, attempt: int) -> dict[str, Any]:
    options = engine_options(evaluation)
    opts = EvaluationOptions.parse(options)
    with default_storage.open(evaluation.file.name, "rb") as fh:
        # Validated while reading, so the raw arrays can go before the metrics allocate
        # their own (sort orders, cumulative sums): peak memory stays near one copy.
        read = read_predictions(
            fh,
            mapping=engine_mapping(evaluation),
            task=evaluation.task,
            drop_invalid=opts.drop_invalid,
            pos_label=opts.pos_label,
            score_kind=opts.score_kind,
            progress=_progress_writer(evaluation.pk, attempt, fh, evaluation),
        )
    rows, prepared, file_format = read.rows, read.prepared, read.file_format
    del read
    if not _current(evaluation.pk, attempt).update(
        progress=1.0, rows_read=rows, updated_at=timezone.now()
    ):
        raise Superseded
    result = evaluate(task=evaluation.task, prepared=prepared, options=options)
    result["info"]["file_format"] = file_format
    return result


def _metric_rows(evaluation: Evaluation, result: Mapping[str, Any]) -> list[EvaluationMetric]:
    rows = [
        EvaluationMetric(evaluation=evaluation, source="model", name=name, value=value)
        for name, value in result["metrics"].items()
    ]
    for source, values in result["baselines"].items():
        rows += [
            EvaluationMetric(evaluation=evaluation, source=source, name=name, value=value)
            for name, value in values.items()
            if name != "lift"
        ]
    return rows


@transaction.atomic
def evaluation_record_success(*, evaluation_id: int, attempt: int, result: dict[str, Any]) -> bool:
    """Write the result and metric rows and mark succeeded, in one transaction - only if
    `attempt` is still the current one. Returns whether it was recorded."""
    evaluation = (
        Evaluation.objects.select_for_update()
        .select_related("project__organization")
        .filter(pk=evaluation_id)
        .first()
    )
    if evaluation is None or (evaluation.status, evaluation.attempts) != (
        EvaluationStatus.RUNNING,
        attempt,
    ):
        return False
    evaluation.status = EvaluationStatus.SUCCEEDED
    evaluation.result = result
    evaluation.progress = 1.0
    evaluation.finished_at = timezone.now()
    evaluation.save()
    EvaluationMetric.objects.bulk_create(_metric_rows(evaluation, result))
    _update_target_metric(evaluation, result)
    audit(
        org=evaluation.project.organization,
        actor=None,
        action="evaluation.succeeded",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "rows": result["info"].get("rows")},
    )
    return True


@transaction.atomic
def evaluation_fail(*, evaluation_id: int, message: str, attempt: int | None = None) -> bool:
    """Mark failed with a message for the uploader (no result is kept). With `attempt`, only
    if that attempt is still the current one."""
    evaluation = (
        Evaluation.objects.select_for_update()
        .select_related("project__organization")
        .filter(pk=evaluation_id)
        .first()
    )
    if evaluation is None or evaluation.is_finished:
        return False
    if attempt is not None and evaluation.attempts != attempt:
        return False
    evaluation.status = EvaluationStatus.FAILED
    evaluation.error = message
    evaluation.result = None
    evaluation.finished_at = timezone.now()
    evaluation.save()
    audit(
        org=evaluation.project.organization,
        actor=None,
        action="evaluation.failed",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "error": message[:500]},
    )
    return True


def timed_out_message() -> str:
    return TIMED_OUT_MESSAGE.format(minutes=round(settings.EVALUATION_TIME_LIMIT_SECONDS / 60))


def evaluation_run(*, evaluation_id: int) -> None:
    """What the Celery task does: claim, compute, record. Input problems end the evaluation
    `failed` with the engine's message; nothing partial is ever stored."""
    attempt = evaluation_start(evaluation_id=evaluation_id)
    if attempt is None:
        return
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    try:
        result = _compute(evaluation, attempt)
    except Superseded:
        logger.info("Evaluation %s attempt %s was superseded", evaluation_id, attempt)
        return
    except EvaluationInputError as exc:
        evaluation_fail(evaluation_id=evaluation_id, message=str(exc), attempt=attempt)
        return
    except SoftTimeLimitExceeded:
        evaluation_fail(evaluation_id=evaluation_id, message=timed_out_message(), attempt=attempt)
        return
    except Exception:
        logger.exception("Evaluation %s failed unexpectedly", evaluation_id)
        evaluation_fail(
            evaluation_id=evaluation_id, message=INTERNAL_ERROR_MESSAGE, attempt=attempt
        )
        return
    evaluation_record_success(evaluation_id=evaluation_id, attempt=attempt, result=result)


def evaluations_fail_stuck(*, project: Project | None = None) -> int:
    """Mark failed every evaluation still `running` well past the time limit (its worker
    died and the task was lost, or the hard limit killed it). Called when evaluations are
    read, so a stuck one never shows as running forever. Returns how many were failed."""
    # The grace lets the task's own soft-time-limit handler write its message first.
    limit = settings.EVALUATION_TIME_LIMIT_SECONDS
    cutoff = timezone.now() - timedelta(seconds=limit + 120)
    stuck = Evaluation.objects.filter(status=EvaluationStatus.RUNNING, started_at__lt=cutoff)
    if project is not None:
        stuck = stuck.filter(project=project)
    failed = 0
    for evaluation_id in stuck.values_list("pk", flat=True):
        failed += evaluation_fail(evaluation_id=evaluation_id, message=timed_out_message())
    return failed
