"""Production predictions and their labels: raw rows kept as Parquet files in storage,
aggregated per window (an hour or a day, UTC) into `MonitoringWindow` rows.

Storage layout (through `default_storage`, so S3 works unchanged)::

    monitoring/<org>/<project>/predictions/<YYYY-MM-DD>/<ns>-<uuid>.parquet  (by row day)
    monitoring/<org>/<project>/labels/<YYYY-MM-DD>/<ns>-<uuid>.parquet       (by the day of
                                                                           their prediction)
    monitoring/<org>/<project>/labels/<ns>-<uuid>.parquet                   (pending: their
                                                                 prediction not seen yet)

A file name starts with its arrival time in nanoseconds, so reading a partition's files in
name order and keeping the last row of each `prediction_id` makes a re-sent prediction
replace the earlier one (a re-sent label likewise, by its `received_at`): re-ingesting
never double-counts. Labels are filed under their prediction's day when they arrive (or,
when they come before it, when the prediction arrives), so computing a day reads that
day's labels only, however long the history.

A window lies inside one day partition, so each partition is computed on its own (the
partial aggregates of a window are those of its partition); `compute_partition` writes
the windows of one day and removes the ones that no longer have rows.
"""

from __future__ import annotations

import math
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from evaluation.drift import (
    DriftInputError,
    cbpe_estimate,
    cbpe_fit,
    data_drift,
    infer_column_types,
    worst_slices,
)
from evaluation.metrics.binary import binary_metrics
from evaluation.monitoring.models import MonitoringWindow, MonitorSettings, WindowSize
from mlprojects.models import Project

#: Columns with a meaning of their own; every other column is a feature (or an attribution).
RESERVED = ("prediction_id", "timestamp", "deployment", "model_version", "score", "prediction")
ATTRIBUTION_PREFIX = "shap_"
#: The threshold turning scores into predicted labels when rows carry no `prediction`.
THRESHOLD = 0.5
WORST_SLICES = 5
SCORE_BINS = 10


#: Rows read, checked and staged at a time by an ingest: 100,000 rows of 20 features are
#: about 20 MB in pandas (measured in bench/bench_monitoring.py), whatever the file's size.
INGEST_BATCH_ROWS = 100_000
#: The stage key of labels whose prediction has not arrived.
PENDING = "pending"


class IngestError(ValueError):
    """Rows that cannot be stored; the message says which and why."""


# -- storage -------------------------------------------------------------------------------


def _root(project: Project) -> str:
    return f"monitoring/{project.organization_id}/{project.pk}"


def _file_name() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"


def _listdir(path: str) -> tuple[list[str], list[str]]:
    try:
        return default_storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return [], []


def _read(
    path: str,
    files: Iterable[str],
    columns: list[str] | None = None,
    ids: set[str] | None = None,
) -> pd.DataFrame:
    """The files' rows in name order; only `columns`, and only rows whose prediction_id is
    in `ids` when given (filtered row group by row group, so memory stays bounded)."""
    frames = []
    filters = [("prediction_id", "in", sorted(ids))] if ids is not None else None
    for name in sorted(files):
        with default_storage.open(f"{path}/{name}", "rb") as fh:
            frames.append(pq.read_table(fh, columns=columns, filters=filters).to_pandas())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def partition_days(project: Project) -> list[date]:
    dirs, _ = _listdir(f"{_root(project)}/predictions")
    return sorted(date.fromisoformat(d) for d in dirs)


def read_partition(project: Project, day: date, columns: list[str] | None = None) -> pd.DataFrame:
    """The day's prediction rows, the latest of each prediction_id (only `columns`, plus
    prediction_id, when given)."""
    path = f"{_root(project)}/predictions/{day.isoformat()}"
    if columns is not None:
        columns = ["prediction_id", *(c for c in columns if c != "prediction_id")]
    frame = _read(path, _listdir(path)[1], columns=columns)
    if frame.empty:
        return frame
    return frame.drop_duplicates("prediction_id", keep="last").reset_index(drop=True)


def _latest_labels(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({"prediction_id": [], "label": [], "received_at": []})
    frame = pd.concat(frames, ignore_index=True).sort_values("received_at", kind="stable")
    return frame.drop_duplicates("prediction_id", keep="last").reset_index(drop=True)


def read_labels(project: Project, day: date, ids: set[str]) -> pd.DataFrame:
    """The labels of these predictions of `day`, the latest of each prediction_id: the
    day's label partition and the pending labels among them — never other days'."""
    root = f"{_root(project)}/labels"
    path = f"{root}/{day.isoformat()}"
    return _latest_labels([_read(path, _listdir(path)[1]), _read(root, _listdir(root)[1], ids=ids)])


def _day_ids(project: Project, day: date) -> pa.Array:
    """The prediction ids of one day partition (one column read, file by file)."""
    path = f"{_root(project)}/predictions/{day.isoformat()}"
    chunks = []
    for name in sorted(_listdir(path)[1]):
        with default_storage.open(f"{path}/{name}", "rb") as fh:
            chunks.append(pq.read_table(fh, columns=["prediction_id"]).column(0).combine_chunks())
    if not chunks:
        return pa.array([], pa.string())
    return pc.unique(pa.concat_arrays([c.cast(pa.string()) for c in chunks]))


class _Stage:
    """The files one ingest writes, staged in a local temporary directory - one Parquet
    file per destination (a day partition, or the pending labels) however many batches
    fill it - and published to storage only once every batch was read and valid. A bad
    row in the last batch therefore leaves nothing stored, and memory holds one batch."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.schema: pa.Schema | None = None
        self.count = 0

    def _conform(self, table: pa.Table, offset: int) -> pa.Table:
        # One schema for every batch: a column a later batch types differently (an integer
        # column with a null, an all-null column) is cast to the first batch's type.
        table = table.replace_schema_metadata(None)
        if self.schema is None:
            self.schema = table.schema
            return table
        if table.schema.equals(self.schema):
            return table
        if set(table.column_names) != set(self.schema.names):
            raise IngestError(f"Rows from row {offset} on have other columns than the first.")
        columns = []
        for field in self.schema:
            column = table.column(field.name)
            if column.type != field.type:
                if pa.types.is_null(field.type):
                    raise IngestError(
                        f"Column {field.name!r} is empty in the first rows: send a typed "
                        "column (a Parquet schema), or put a value in the first rows."
                    )
                try:
                    column = column.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise IngestError(
                        f"Column {field.name!r} changes type from row {offset} on "
                        f"({field.type} before, {column.type} then)."
                    ) from None
            columns.append(column)
        return pa.table(columns, schema=self.schema)

    def write(self, key: str, table: pa.Table, offset: int = 0) -> None:
        table = self._conform(table, offset)
        if key not in self.writers:
            self.count += 1
            path = self.directory / f"{self.count}.parquet"
            self.writers[key] = pq.ParquetWriter(path, table.schema)
            self.writers[key].path = path  # type: ignore[attr-defined]
        self.writers[key].write_table(table)

    def keys(self) -> list[str]:
        return list(self.writers)

    def read(self, key: str) -> Iterator[pa.Table]:
        """The batches staged under `key` (closing its file first)."""
        writer = self.writers.pop(key)
        writer.close()
        parquet = pq.ParquetFile(writer.path, pre_buffer=False)  # type: ignore[attr-defined]
        for batch in parquet.iter_batches(batch_size=INGEST_BATCH_ROWS):
            yield pa.Table.from_batches([batch])

    def publish(self, name_of: Callable[[str], str]) -> list[str]:
        """Save every staged file to storage under `name_of(key)`; all or none."""
        saved: list[str] = []
        try:
            for key, writer in list(self.writers.items()):
                writer.close()
                with open(writer.path, "rb") as fh:  # type: ignore[attr-defined]
                    saved.append(default_storage.save(name_of(key), File(fh)))
        except BaseException:
            for name in saved:
                default_storage.delete(name)
            raise
        self.writers.clear()
        return saved

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


@contextmanager
def _staging() -> Iterator[_Stage]:
    with tempfile.TemporaryDirectory(prefix="monitoring-ingest-") as directory:
        stage = _Stage(directory)
        try:
            yield stage
        finally:
            stage.close()


def _file_labels(
    project: Project, source: Iterable[pa.Table], days: Iterable[date], stage: _Stage
) -> list[date]:
    """Stage the labels of `source` under the day of their prediction, looking for them
    in `days` one day at a time (one day's prediction ids in memory, one batch of labels);
    the labels not found go on to the next day, and those left at the end are staged as
    pending (their predictions are elsewhere or have not arrived). Returns the days."""
    written = []
    spill = 0
    for day in days:
        ids = _day_ids(project, day)
        if not len(ids):
            continue
        spill += 1
        rest = f"rest-{spill}"
        found = False
        for table in source:
            here = pc.is_in(table.column("prediction_id"), value_set=ids)
            if pc.any(here).as_py():
                stage.write(day.isoformat(), table.filter(here))
                found = True
            if not pc.all(here).as_py():
                stage.write(rest, table.filter(pc.invert(here)))
        if found:
            written.append(day)
        if rest not in stage.writers:
            return written
        source = stage.read(rest)
    for table in source:
        stage.write(PENDING, table)
    return written


def _label_name(project: Project, key: str) -> str:
    if key == PENDING:
        return f"{_root(project)}/labels/{_file_name()}"
    return f"{_root(project)}/labels/{key}/{_file_name()}"


def _storage_batches(path: str, names: Iterable[str]) -> Iterator[pa.Table]:
    for name in sorted(names):
        with default_storage.open(f"{path}/{name}", "rb") as fh:
            parquet = pq.ParquetFile(fh, pre_buffer=False, buffer_size=1024 * 1024)
            for batch in parquet.iter_batches(batch_size=INGEST_BATCH_ROWS):
                yield pa.Table.from_batches([batch])


def _file_pending_labels(project: Project, days: Iterable[date]) -> None:
    """Predictions of `days` arrived: move the pending labels that were waiting for them
    into those days' label partitions."""
    root = f"{_root(project)}/labels"
    names = sorted(_listdir(root)[1])
    if not names:
        return
    with _staging() as stage:
        written = _file_labels(project, _storage_batches(root, names), sorted(set(days)), stage)
        if not written:
            return
        stage.publish(lambda key: _label_name(project, key))
    for name in names:
        default_storage.delete(f"{root}/{name}")


def _clean_ids(frame: pd.DataFrame, what: str, offset: int = 0) -> pd.Series:
    if "prediction_id" not in frame:
        raise IngestError(f"Every {what} needs a prediction_id.")
    ids = frame["prediction_id"]
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        raise IngestError(f"Row {offset + int(np.flatnonzero(missing)[0])} has no prediction_id.")
    return ids.astype(str)


def clean_predictions(frame: pd.DataFrame, offset: int = 0) -> pd.DataFrame:
    """Validated prediction rows, typed for storage; `offset` is the number of the first
    row in the whole upload (error messages name rows by it)."""
    frame = frame.copy()
    frame["prediction_id"] = _clean_ids(frame, "prediction", offset)
    if "timestamp" not in frame:
        raise IngestError("Every prediction needs a timestamp.")
    stamps = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce", format="mixed")
    if stamps.isna().any():
        raise IngestError(
            f"Row {offset + int(np.flatnonzero(stamps.isna())[0])} has no valid timestamp "
            "(ISO 8601)."
        )
    frame["timestamp"] = stamps.astype("datetime64[us, UTC]")
    for column in ("label", "received_at"):
        if column in frame:
            raise IngestError(
                f"Prediction rows have no {column!r} column: send labels to the labels "
                "endpoint, whenever they arrive."
            )
    if "score" not in frame and "prediction" not in frame:
        raise IngestError("Rows need a score, a prediction, or both.")
    for column in ("score", "prediction"):
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna() & frame[column].notna()
            if bad.any():
                row = offset + int(np.flatnonzero(bad)[0])
                raise IngestError(f"Row {row}: {column} is not a number.")
            frame[column] = values.astype("float64")
    for column in frame.columns:
        if frame[column].dtype == object and column != "prediction_id":
            # Mixed objects (numbers and text) are kept as text so that Parquet can type them.
            if not frame[column].map(lambda v: v is None or isinstance(v, str)).all():
                numbers = pd.to_numeric(frame[column], errors="coerce")
                if (numbers.notna() | frame[column].isna()).all():
                    frame[column] = numbers
                else:
                    frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    return frame


def _batches(frames: pd.DataFrame | Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    return [frames] if isinstance(frames, pd.DataFrame) else frames


def store_predictions(
    project: Project, frames: pd.DataFrame | Iterable[pd.DataFrame]
) -> dict[str, Any]:
    """Validate prediction rows - a frame, or the batches of a streamed file - and store
    them in their day partitions (one file per day per call). All or nothing: the rows
    are staged locally batch by batch and published when every batch was valid. Returns
    the row count and the days written."""
    rows = 0
    with _staging() as stage:
        for frame in _batches(frames):
            if frame.empty:
                continue
            frame = clean_predictions(frame, rows)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            days = pc.strftime(table.column("timestamp"), format="%Y-%m-%d")
            for day in pc.unique(days).to_pylist():
                stage.write(day, table.filter(pc.equal(days, day)), rows)
            rows += len(frame)
        if not rows:
            raise IngestError("No rows.")
        written = sorted(date.fromisoformat(key) for key in stage.keys())
        stage.publish(lambda key: f"{_root(project)}/predictions/{key}/{_file_name()}")
    _file_pending_labels(project, written)
    return {"rows": rows, "days": written}


def clean_labels(
    frame: pd.DataFrame, offset: int = 0, received_at: pd.Series | None = None
) -> pd.DataFrame:
    """Validated label rows with their arrival time (now, or `received_at`)."""
    ids = _clean_ids(frame, "label", offset)
    if "label" not in frame:
        raise IngestError("Every row needs a label.")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    if labels.isna().any():
        row = offset + int(np.flatnonzero(labels.isna())[0])
        raise IngestError(f"Row {row}: label is not a number.")
    stored = pd.DataFrame(
        {
            "prediction_id": ids.to_numpy(),
            "label": labels.astype("float64").to_numpy(),
            "received_at": pd.Timestamp(timezone.now()).tz_convert("UTC"),
        }
    )
    if received_at is not None:
        stored["received_at"] = pd.to_datetime(received_at, utc=True).to_numpy()
    stored["received_at"] = stored["received_at"].astype("datetime64[us, UTC]")
    return stored


def store_labels(
    project: Project,
    frames: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    received_at: pd.Series | None = None,
) -> dict[str, Any]:
    """Validate label rows - a frame, or the batches of a streamed file - and store them
    with their arrival time (now, or per row `received_at` when replaying labels that
    arrived in the past: the demo's history, with one frame), filed under the day of
    their prediction (pending when it has not arrived). All or nothing, like
    `store_predictions`. Returns the row count and the days whose windows they change."""
    rows = 0
    with _staging() as stage:
        for frame in _batches(frames):
            if frame.empty:
                continue
            stored = clean_labels(frame, rows, received_at)
            stage.write("all", pa.Table.from_pandas(stored, preserve_index=False), rows)
            rows += len(stored)
        if not rows:
            raise IngestError("No rows.")
        days = _file_labels(project, stage.read("all"), partition_days(project), stage)
        stage.publish(lambda key: _label_name(project, key))
    return {"rows": rows, "days": days}


# -- aggregates ------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c not in RESERVED
        and c not in ("label", "received_at")
        and not c.startswith(ATTRIBUTION_PREFIX)
    ]


def window_starts(stamps: pd.Series, size: str) -> pd.Series:
    return stamps.dt.floor("h" if size == WindowSize.HOUR else "D")


def _scores(frame: pd.DataFrame) -> np.ndarray:
    column = "score" if "score" in frame else "prediction"
    return frame[column].to_numpy(dtype=np.float64)


def _predicted(frame: pd.DataFrame) -> np.ndarray:
    if "prediction" in frame and frame["prediction"].notna().all():
        return frame["prediction"].to_numpy(dtype=np.float64)
    return (_scores(frame) >= THRESHOLD).astype(np.float64)


def score_summary(scores: np.ndarray) -> dict[str, Any]:
    scores = scores[~np.isnan(scores)]
    if scores.size == 0:
        return {"rows": 0}
    quantiles = np.quantile(scores, [0.05, 0.25, 0.5, 0.75, 0.95])
    edges = np.linspace(0.0, 1.0, SCORE_BINS + 1)
    if scores.min() < 0 or scores.max() > 1:
        edges = np.linspace(scores.min(), scores.max(), SCORE_BINS + 1)
    counts, _ = np.histogram(scores, bins=edges)
    return {
        "rows": int(scores.size),
        "mean": float(scores.mean()),
        "p05": float(quantiles[0]),
        "p25": float(quantiles[1]),
        "median": float(quantiles[2]),
        "p75": float(quantiles[3]),
        "p95": float(quantiles[4]),
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def _is_binary(labels: np.ndarray) -> bool:
    return labels.size > 0 and bool(np.isin(labels, (0.0, 1.0)).all())


def realized_performance(labelled: pd.DataFrame) -> dict[str, Any] | None:
    """The metrics engine's binary metrics on the labelled rows (None without any)."""
    labels = labelled["label"].to_numpy(dtype=np.float64)
    if not _is_binary(labels):
        return None
    scores = _scores(labelled)
    keep = ~np.isnan(scores)
    if not keep.any():
        return None
    result = binary_metrics(
        y_true=labels[keep].astype(int), y_score=scores[keep], threshold=THRESHOLD
    )
    return {"metrics": result["metrics"], "undefined": result["undefined"]}


def label_delay(labelled: pd.DataFrame) -> dict[str, Any] | None:
    if labelled.empty:
        return None
    delays = (labelled["received_at"] - labelled["timestamp"]).dt.total_seconds().to_numpy()
    delays = np.maximum(delays, 0.0)
    return {
        "median_seconds": float(np.median(delays)),
        "p90_seconds": float(np.quantile(delays, 0.9)),
        "max_seconds": float(delays.max()),
    }


def _association(values: pd.Series, scores: pd.Series) -> float | None:
    keep = values.notna() & scores.notna()
    values, scores = values[keep], scores[keep]
    if len(values) < 3 or scores.nunique() < 2 or values.nunique() < 2:
        return None
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        rho = np.corrcoef(values.rank().to_numpy(), scores.rank().to_numpy())[0, 1]
        return abs(float(rho))
    # Correlation ratio: the share of the score's spread explained by the category.
    codes = pd.factorize(values.astype(str))[0]
    score = scores.to_numpy(dtype=np.float64)
    counts = np.bincount(codes)
    means = np.bincount(codes, weights=score) / counts
    between = float((counts * (means - score.mean()) ** 2).sum())
    total = float(((score - score.mean()) ** 2).sum())
    return math.sqrt(between / total) if total > 0 else None


def feature_association(rows: pd.DataFrame, features: list[str]) -> dict[str, float]:
    """A model-agnostic association of each feature with the score, in [0, 1]: |Spearman's
    ρ| for numeric features, the correlation ratio η for categorical ones. Not an
    attribution: it shows what moves with the score, not what the model uses."""
    scores = pd.Series(_scores(rows))
    found = {}
    for column in features:
        value = _association(rows[column].reset_index(drop=True), scores)
        if value is not None:
            found[column] = value
    return found


def window_result(
    rows: pd.DataFrame, reference: pd.DataFrame | None, cbpe_model: Any
) -> dict[str, Any]:
    """Every aggregate of one window's rows (labels already joined: NaN when missing)."""
    labelled = rows[rows["label"].notna()]
    result: dict[str, Any] = {
        "rows": len(rows),
        "labelled_rows": len(labelled),
        "label_coverage": len(labelled) / len(rows) if len(rows) else 0.0,
        "label_delay": label_delay(labelled),
        "score": score_summary(_scores(rows)),
        "performance": realized_performance(labelled) if len(labelled) else None,
        "estimated_performance": None,
        "drift": None,
        "worst_slices": [],
        "attribution": {},
    }
    if cbpe_model is not None:
        scores = _scores(rows)
        if (~np.isnan(scores)).any():
            result["estimated_performance"] = cbpe_estimate(cbpe_model, scores=scores).as_dict()
    features = feature_columns(rows)
    if reference is not None and len(reference):
        score_column = "score" if "score" in rows else "prediction"
        columns = [c for c in features if c in reference] + [score_column]
        try:
            types = infer_column_types(reference, columns)
            if types:
                result["drift"] = data_drift(reference, rows, column_types=types).as_dict()
        except DriftInputError as exc:
            result["drift"] = {"error": str(exc)}
    if len(labelled) and _is_binary(labelled["label"].to_numpy(dtype=np.float64)) and features:
        errors = _predicted(labelled) != labelled["label"].to_numpy(dtype=np.float64)
        try:
            found = worst_slices(
                {c: labelled[c].to_numpy() for c in features}, errors=errors, top=WORST_SLICES
            )
            result["worst_slices"] = [s.as_dict() for s in found]
        except DriftInputError:
            result["worst_slices"] = []
    for column in rows.columns:
        if column.startswith(ATTRIBUTION_PREFIX):
            values = pd.to_numeric(rows[column], errors="coerce").abs()
            if values.notna().any():
                result["attribution"][column[len(ATTRIBUTION_PREFIX) :]] = float(values.mean())
    if not result["attribution"]:
        result["association"] = feature_association(rows, features)
    return _finite(result)


# -- computing windows -------------------------------------------------------------------------


def monitor_settings(project: Project) -> MonitorSettings:
    return MonitorSettings.objects.get_or_create(project=project)[0]


def _joined(project: Project, day: date, frame: pd.DataFrame) -> pd.DataFrame:
    """The day's prediction rows with their labels (NaN where none arrived yet)."""
    if frame.empty:
        return frame
    labels = read_labels(project, day, set(frame["prediction_id"]))
    return frame.merge(labels, on="prediction_id", how="left", suffixes=("", "_label"))


def reference_rows(project: Project, size: str) -> tuple[Any, pd.DataFrame]:
    """(start, rows) of the reference window: the chosen one, else the first one."""
    chosen = monitor_settings(project).reference_start
    days = partition_days(project)
    if not days:
        return None, pd.DataFrame()
    day = chosen.astimezone(UTC).date() if chosen else days[0]
    frame = _joined(project, day, read_partition(project, day))
    if frame.empty:
        return None, frame
    starts = window_starts(frame["timestamp"], size)
    start = pd.Timestamp(chosen).tz_convert("UTC") if chosen else starts.min()
    return start.to_pydatetime(), frame[starts == start].reset_index(drop=True)


def _fit_cbpe(reference: pd.DataFrame) -> Any:
    labelled = reference[reference["label"].notna()] if "label" in reference else reference[:0]
    if labelled.empty or "score" not in labelled:
        return None
    labels = labelled["label"].to_numpy(dtype=np.float64)
    scores = labelled["score"].to_numpy(dtype=np.float64)
    keep = ~np.isnan(scores)
    if not _is_binary(labels) or len(set(labels[keep])) < 2:
        return None
    try:
        return cbpe_fit(scores=scores[keep], targets=labels[keep].astype(int), threshold=THRESHOLD)
    except DriftInputError:
        return None


@dataclass(frozen=True)
class PartitionContext:
    """What every day partition of a project is computed against: the window size, the
    reference window's rows and the CBPE model fitted on them. Read once when several
    partitions are computed together."""

    size: str
    ref_start: Any
    reference: pd.DataFrame
    cbpe_model: Any


def partition_context(project: Project) -> PartitionContext:
    size = monitor_settings(project).window
    ref_start, reference = reference_rows(project, size)
    cbpe_model = _fit_cbpe(reference) if len(reference) else None
    return PartitionContext(size, ref_start, reference, cbpe_model)


def compute_partition(
    project: Project, day: date, context: PartitionContext | None = None
) -> list[MonitoringWindow]:
    """(Re)compute the windows of one day partition and drop those left without rows."""
    context = context or partition_context(project)
    size, ref_start = context.size, context.ref_start
    reference, cbpe_model = context.reference, context.cbpe_model
    frame = _joined(project, day, read_partition(project, day))
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    step = timedelta(hours=1) if size == WindowSize.HOUR else timedelta(days=1)
    now = timezone.now()
    kept = []
    with transaction.atomic():
        if not frame.empty:
            if "label" not in frame:
                frame["label"] = np.nan
                frame["received_at"] = pd.NaT
            starts = window_starts(frame["timestamp"], size)
            for start, rows in frame.groupby(starts, sort=True):
                start = start.to_pydatetime()
                result = window_result(rows.reset_index(drop=True), reference, cbpe_model)
                result["reference_start"] = ref_start.isoformat() if ref_start else None
                window, _ = MonitoringWindow.objects.update_or_create(
                    project=project,
                    size=size,
                    start=start,
                    defaults={
                        "end": start + step,
                        "rows": result["rows"],
                        "labelled_rows": result["labelled_rows"],
                        "is_reference": ref_start is not None and start == ref_start,
                        "result": result,
                        "computed_at": now,
                    },
                )
                kept.append(window)
        MonitoringWindow.objects.filter(
            project=project, start__gte=day_start, start__lt=day_start + timedelta(days=1)
        ).exclude(pk__in=[w.pk for w in kept]).delete()
        # Windows of another size are stale once the project's setting changed.
        MonitoringWindow.objects.filter(project=project).exclude(size=size).delete()
    return kept


def stale_days(project: Project, days: Iterable[date]) -> list[date]:
    """The days to compute after rows of `days` arrived: those days, and every day when
    the reference window may have changed (rows before or in the reference day)."""
    days = sorted(set(days))
    all_days = partition_days(project)
    first = monitor_settings(project).reference_start
    reference_day = first.astimezone(UTC).date() if first else (all_days[0] if all_days else None)
    if reference_day is None or any(d <= reference_day for d in days):
        return all_days
    return days
