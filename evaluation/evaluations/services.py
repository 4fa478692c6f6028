"""State changes of evaluations that users make: upload, configure, submit. Running an
evaluation is background work (`jobs.py`, enqueued here through `tasks.py`).

The life of an evaluation: ``draft`` (browser: file stored, columns not yet confirmed) →
``queued`` (task enqueued on commit) → ``running`` → ``succeeded`` | ``failed``.
"""

from __future__ import annotations

import csv
import gzip
import posixpath
from collections.abc import Iterable, Mapping
from typing import IO, Any

import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.jobs import job_enqueue
from accounts.models import User
from accounts.services import audit
from evaluation.evaluations.models import COLUMN_KEYS, ROLE_KEYS
from evaluation.metrics import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    EvaluationInputError,
    EvaluationOptions,
    detect_format,
    parse_rules,
    read_header,
    suggest_mapping,
)
from evaluation.models import Evaluation, EvaluationStatus, EvaluationTask
from evaluation.uploads import UploadTooLarge, check_data_filename
from mlprojects.models import Baseline, BaselineKind, Metric, MetricKind, Project
from mlprojects.site.storage import open_stored

# Options given as columns (tradeoff) or as rule baselines (rules) are not plain options.
RESERVED_OPTIONS = ("rules", "tradeoff")
PREVIEW_ROWS = 5
# The column-mapping step guesses the roles from this many first rows (enough for the
# uniqueness and cardinality checks; the 64 KiB read in `file_preview` caps it anyway).
SAMPLE_ROWS = 200


# -- reading an upload ------------------------------------------------------------------------


def clean_filename(name: str) -> str:
    """The last path component of a client's file name, for display and downloads only."""
    return posixpath.basename((name or "").replace("\\", "/")).strip()[:200] or "predictions"


def inspect_file(fh: IO[bytes]) -> tuple[str, list[str]]:
    """(format, header) of a predictions file, or ValidationError on the file field."""
    try:
        file_format = detect_format(fh)
        header = read_header(fh)
        if file_format == "parquet":
            # Parquet says how many rows it holds: over the limit is refused at once.
            rows = pq.ParquetFile(fh).metadata.num_rows
            if rows > settings.EVALUATION_MAX_ROWS:
                raise ValidationError(
                    {
                        "file": f"The file has {rows:,} rows, more than the limit of "
                        f"{settings.EVALUATION_MAX_ROWS:,} (the setting EVALUATION_MAX_ROWS)."
                    }
                )
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
    _check_option_limits(options)
    return dict(options)


# Options whose value multiplies the size of the result, with the setting that caps each
# (the engine's defaults are well below them).
OPTION_LIMITS = {
    "max_slice_values": "EVALUATION_MAX_SLICE_VALUES",
    "slice_bins": "EVALUATION_MAX_SLICE_VALUES",
    "curve_points": "EVALUATION_MAX_CURVE_POINTS",
    "calibration_bins": "EVALUATION_MAX_CURVE_POINTS",
}


def _check_option_limits(options: Mapping[str, Any]) -> None:
    for key, setting in OPTION_LIMITS.items():
        limit = getattr(settings, setting)
        if key in options and options[key] > limit:
            raise ValidationError(
                {"options": f"Option {key} is at most {limit} (the setting {setting})."}
            )
    columns = len(options.get("slice_columns") or [])
    limit = settings.EVALUATION_MAX_SLICE_COLUMNS
    if columns > limit:
        raise ValidationError(
            {
                "options": f"At most {limit} slice columns (the setting "
                "EVALUATION_MAX_SLICE_COLUMNS)."
            }
        )


def _clean_rule_baselines(
    specs: Any, task: str, header: list[str], *, has_item: bool = True
) -> list[dict[str, Any]]:
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
        if rule_set.recommends and not has_item:
            raise ValidationError({"rule_baselines": f"{name}: {NEEDS_ITEM}"})
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
        _clean_rule_baselines(
            rule_baselines,
            task,
            header,
            has_item=bool(isinstance(columns, Mapping) and columns.get("item")),
        ),
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


NEEDS_ITEM = "its rules recommend items, which needs the item column: map it."


def applicable_rule_baselines(
    specs: list[dict[str, Any]],
    *,
    task: str,
    header: list[str],
    taken: Iterable[str] = (),
    has_item: bool = True,
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
            rule_set = parse_rules(spec["rules"], features=header, task=task)
        except EvaluationInputError as exc:
            warnings.append(f"Rule baseline “{name}” skipped: {exc}")
            continue
        if rule_set.recommends and not has_item:
            warnings.append(f"Rule baseline “{name}” skipped: {NEEDS_ITEM}")
            continue
        names.add(name)
        usable.append({"name": name, "rules": spec["rules"]})
    return usable, warnings


def _with_project_rules(
    project: Project, rule_baselines: Any, *, task: str, header: list[str], columns: Any
) -> tuple[Any, list[str]]:
    explicit = rule_baselines if isinstance(rule_baselines, list) else []
    taken = [s.get("name") for s in explicit if isinstance(s, Mapping)]
    usable, warnings = applicable_rule_baselines(
        project_rule_baselines(project=project),
        task=task,
        header=header,
        taken=taken,
        has_item=bool(isinstance(columns, Mapping) and columns.get("item")),
    )
    return [*explicit, *usable] if (explicit or usable) else rule_baselines, warnings


# -- creating ----------------------------------------------------------------------------------


def _check_size(upload: UploadedFile) -> None:
    limit = settings.EVALUATION_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise UploadTooLarge(limit, "EVALUATION_MAX_UPLOAD_BYTES")


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
    check_data_filename(upload.name)
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


def evaluation_header(
    evaluation: Evaluation, *, rows: int = PREVIEW_ROWS
) -> tuple[list[str], list[list[str]]]:
    """The stored file's header and first `rows` rows (for the column-mapping step)."""
    with open_stored(evaluation.file.name) as fh:
        _, header = inspect_file(fh)
        return header, file_preview(fh, evaluation.file_format, rows=rows)


def _enqueue(evaluation: Evaluation) -> None:
    """Queue the evaluation's job: its task is sent after commit, or by the job sweep if
    the broker cannot be reached then (the request succeeds either way)."""
    job_enqueue(evaluation)


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
            evaluation.project, rule_baselines, task=task, header=header, columns=columns
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
    check_data_filename(upload.name)
    file_format, header = inspect_file(upload)
    warnings: list[str] = []
    if project_rules and task in EvaluationTask.values:
        rule_baselines, warnings = _with_project_rules(
            project, rule_baselines, task=task, header=header, columns=columns
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


@transaction.atomic
def evaluation_rename(*, evaluation: Evaluation, user: User | None, name: str) -> Evaluation:
    name = name.strip()[:200]
    if not name:
        raise ValidationError({"name": "Give the evaluation a name."})
    old, evaluation.name = evaluation.name, name
    evaluation.save(update_fields=["name", "updated_at"])
    audit(
        org=evaluation.project.organization,
        actor=user,
        action="evaluation.renamed",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "from": old},
    )
    return evaluation


@transaction.atomic
def evaluation_delete(*, evaluation: Evaluation, user: User | None) -> None:
    """Delete the evaluation (a draft that was never mapped, a failed or a finished one)
    and, once that is committed, its stored file — through the storage API, so the S3
    backend removes it too. A running evaluation is left to finish first."""
    evaluation = (
        Evaluation.objects.select_for_update().select_related("project").get(pk=evaluation.pk)
    )
    if evaluation.is_pending:
        raise ValidationError("This evaluation is being computed; delete it when it is done.")
    file_name = evaluation.file.name
    audit(
        org=evaluation.project.organization,
        actor=user,
        action="evaluation.deleted",
        target=evaluation.name,
        data={"evaluation": evaluation.pk, "file": evaluation.original_filename},
    )
    evaluation.delete()
    if file_name:
        transaction.on_commit(lambda: default_storage.delete(file_name))


@transaction.atomic
def evaluation_retry(*, evaluation: Evaluation, user: User | None) -> Evaluation:
    """A failed evaluation back to its column mapping, with the file it already has: the
    team fixes the mapping (or nothing) and submits again, without uploading again."""
    evaluation = (
        Evaluation.objects.select_for_update().select_related("project").get(pk=evaluation.pk)
    )
    if evaluation.status != EvaluationStatus.FAILED:
        raise ValidationError("Only a failed evaluation can be retried.")
    evaluation.status, evaluation.error = EvaluationStatus.DRAFT, ""
    evaluation.progress, evaluation.started_at, evaluation.finished_at = 0.0, None, None
    evaluation.save()
    audit(
        org=evaluation.project.organization,
        actor=user,
        action="evaluation.retried",
        target=evaluation.name,
        data={"evaluation": evaluation.pk},
    )
    return evaluation


@transaction.atomic
def evaluation_drafts_delete(*, project: Project, user: User | None) -> int:
    """Delete every draft of the project — uploads whose columns were never mapped — with
    their stored files, one audit entry each. Returns how many were deleted."""
    drafts = list(
        Evaluation.objects.select_for_update()
        .select_related("project")
        .filter(project=project, status=EvaluationStatus.DRAFT)
    )
    for draft in drafts:
        evaluation_delete(evaluation=draft, user=user)
    return len(drafts)
