"""The background work of evaluations: compute an evaluation, record its outcome, and
fail the ones whose worker was lost. Plain functions, testable without Celery;
`tasks.py` runs them in a worker, `services.py` enqueues them.

A run claims the evaluation (a new attempt), reads the file with progress written as it
goes, and records the result and metric rows in the same transaction that marks it
succeeded. Only the current attempt of a running evaluation may write progress or an
outcome; nothing partial is ever stored.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.jobs import (
    job_claim,
    job_current,
    job_fail,
    job_heartbeat,
    job_lock_current,
    job_succeed,
)
from accounts.services import audit
from evaluation.evaluations.models import ROLE_KEYS
from evaluation.metrics import (
    EvaluationInputError,
    EvaluationOptions,
    InputLimitError,
    evaluate,
    read_predictions,
)
from evaluation.models import Evaluation, EvaluationMetric
from mlprojects.lifecycle.services import item_update
from mlprojects.models import Metric
from mlprojects.site.storage import open_stored

logger = logging.getLogger(__name__)

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
    """Claim the evaluation for this worker (`accounts.jobs.job_claim`): the new attempt
    number, or None when there is nothing to do (finished, a draft, running on a live
    worker, or deleted). A claimed evaluation starts from the beginning of its file."""
    attempt = job_claim(Evaluation, evaluation_id)
    if attempt is not None:
        _current(evaluation_id, attempt).update(progress=0.0, rows_read=0)
    return attempt


def _current(evaluation_id: int, attempt: int):
    return job_current(Evaluation, evaluation_id, attempt)


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
    with open_stored(evaluation.file.name) as fh:
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
            max_rows=settings.EVALUATION_MAX_ROWS,
            max_decompressed_bytes=settings.EVALUATION_MAX_DECOMPRESSED_BYTES,
        )
    rows, prepared, file_format = read.rows, read.prepared, read.file_format
    del read
    if not _current(evaluation.pk, attempt).update(
        progress=1.0, rows_read=rows, updated_at=timezone.now()
    ):
        raise Superseded
    result = evaluate(task=evaluation.task, prepared=prepared, options=options)
    result["info"]["file_format"] = file_format
    _check_result_size(result)
    return result


#: The setting that holds each of the reader's limits (`InputLimitError.limit`).
LIMIT_SETTINGS = {
    "rows": "EVALUATION_MAX_ROWS",
    "decompressed_bytes": "EVALUATION_MAX_DECOMPRESSED_BYTES",
}


def _check_result_size(result: Mapping[str, Any]) -> None:
    """A result too large to store and serve (every answer of the evaluation API carries
    it) fails the evaluation, naming the setting."""
    limit = settings.EVALUATION_MAX_RESULT_BYTES
    size = len(json.dumps(result, separators=(",", ":"), default=str))
    if size > limit:
        raise EvaluationInputError(
            f"The results would take {size:,} bytes, more than the limit of {limit:,} "
            "(the setting EVALUATION_MAX_RESULT_BYTES); use fewer slice columns, slice "
            "values or curve points."
        )


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


def _update_target_metric(evaluation: Evaluation, result: Mapping[str, Any]) -> None:
    """Set the target lifecycle metric's current value from the result, through the
    workspace's service (so the change is in the step's history). Skipped when the value
    is missing or undefined, or the metric's cycle is no longer the current one."""
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


@transaction.atomic
def evaluation_record_success(*, evaluation_id: int, attempt: int, result: dict[str, Any]) -> bool:
    """Write the result and metric rows and mark succeeded, in one transaction - only if
    `attempt` is still the current one. Returns whether it was recorded."""
    evaluation = job_lock_current(Evaluation, evaluation_id, attempt)
    if evaluation is None:
        return False
    job_succeed(evaluation, result=result, progress=1.0)
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
    evaluation = job_fail(Evaluation, evaluation_id, message=message, attempt=attempt)
    if evaluation is None:
        return False
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
    """What `run_evaluation_task` does: claim, compute, record. Input problems end the evaluation
    `failed` with the engine's message; nothing partial is ever stored."""
    attempt = evaluation_start(evaluation_id=evaluation_id)
    if attempt is None:
        return
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    try:
        with job_heartbeat(Evaluation, evaluation_id, attempt):
            result = _compute(evaluation, attempt)
    except Superseded:
        logger.info("Evaluation %s attempt %s was superseded", evaluation_id, attempt)
        return
    except EvaluationInputError as exc:
        message = str(exc)
        if isinstance(exc, InputLimitError):
            message += f" The limit is the setting {LIMIT_SETTINGS[exc.limit]}."
        evaluation_fail(evaluation_id=evaluation_id, message=message, attempt=attempt)
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
