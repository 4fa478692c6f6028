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
the windows of one day and removes the ones that no longer have rows. A partition is read
batch by batch into one Arrow table of its latest rows (about the raw column bytes), and
each aggregate converts the one column it needs at a time (`WindowRows`): memory does not
grow with the number of features, and the reference window is reduced to its drift
partials and CBPE model before any partition is read.
"""

from __future__ import annotations

import dataclasses
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
    column_drift,
    column_partial,
    drift_report,
    infer_column_type,
    rank_slices,
    slice_counts,
    slice_definitions,
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
#: The stored form of a label.
LABEL_SCHEMA = pa.schema(
    [
        ("prediction_id", pa.string()),
        ("label", pa.float64()),
        ("received_at", pa.timestamp("us", "UTC")),
    ]
)


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


#: Bytes of a stored Parquet file read at a time (Arrow's read-ahead off: see `_parquet`).
READ_BUFFER_BYTES = 1024 * 1024


@contextmanager
def _parquet(name: str) -> Iterator[pq.ParquetFile]:
    """A stored Parquet file, read as it is consumed (without pre_buffer=False Arrow reads
    ahead and keeps the whole file in memory)."""
    with default_storage.open(name, "rb") as fh:
        yield pq.ParquetFile(fh, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)


def _storage_batches(
    path: str, names: Iterable[str], columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """The rows of the files `names` under `path`, in name order, a batch at a time."""
    for name in sorted(names):
        with _parquet(f"{path}/{name}") as parquet:
            present = None
            if columns is not None:
                present = [c for c in columns if c in parquet.schema_arrow.names]
            for batch in parquet.iter_batches(batch_size=INGEST_BATCH_ROWS, columns=present):
                yield pa.Table.from_batches([batch])


def _keep_last(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Whether each id is the last occurrence of its value (a re-sent row replaces the
    earlier one)."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    codes = ids.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    keep = np.zeros(codes.size, dtype=bool)
    _, last_from_end = np.unique(codes[::-1], return_index=True)
    keep[codes.size - 1 - last_from_end] = True
    return keep


def _unified(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for the files of a partition (ingests may differ): a column missing in
    some file is null there; numbers widen; a column typed differently otherwise is text."""
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema.remove_metadata():
            known = fields.get(field.name)
            if known is None or known.type == field.type:
                fields[field.name] = field
                continue
            try:
                merged = pa.unify_schemas(
                    [pa.schema([known]), pa.schema([field])], promote_options="permissive"
                )
                fields[field.name] = merged.field(0)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                fields[field.name] = pa.field(field.name, pa.string())
    return pa.schema(list(fields.values()))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.table(columns, schema=schema)


def read_partition(project: Project, day: date, columns: list[str] | None = None) -> pd.DataFrame:
    """The day's prediction rows, the latest of each prediction_id (only `columns`, plus
    prediction_id, when given)."""
    if columns is not None:
        columns = ["prediction_id", *(c for c in columns if c != "prediction_id")]
    return partition_table(project, day, columns=columns, ids=True, labels=False).to_pandas()


def partition_days(project: Project) -> list[date]:
    dirs, _ = _listdir(f"{_root(project)}/predictions")
    return sorted(date.fromisoformat(d) for d in dirs)


def _day_ids(project: Project, day: date) -> pa.Array:
    """The prediction ids of one day partition (one column read, file by file)."""
    path = f"{_root(project)}/predictions/{day.isoformat()}"
    chunks = [
        t.column("prediction_id").cast(pa.string())
        for t in _storage_batches(path, _listdir(path)[1], columns=["prediction_id"])
    ]
    if not chunks:
        return pa.array([], pa.string())
    return pc.unique(pa.chunked_array(chunks, pa.string()).combine_chunks())


def _label_table(project: Project, day: date, ids: pa.Array) -> pa.Table:
    """The labels of these predictions of `day`, the latest of each prediction_id (by
    arrival): the day's label partition and the pending labels among them, never other
    days'. Read a batch at a time; only the labels themselves are kept."""
    root = f"{_root(project)}/labels"
    path = f"{root}/{day.isoformat()}"
    tables = [_conform(t, LABEL_SCHEMA) for t in _storage_batches(path, _listdir(path)[1])]
    for table in _storage_batches(root, _listdir(root)[1]):
        wanted = pc.is_in(table.column("prediction_id").cast(pa.string()), value_set=ids)
        if pc.any(wanted).as_py():
            tables.append(_conform(table.filter(wanted), LABEL_SCHEMA))
    if not tables:
        return LABEL_SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    # Arrow's sort is stable: of labels that arrived at the same time the later file wins.
    table = table.take(pc.sort_indices(table, sort_keys=[("received_at", "ascending")]))
    return table.filter(_keep_last(table.column("prediction_id")))


def read_labels(project: Project, day: date, ids: Iterable[str]) -> pd.DataFrame:
    """The labels of these predictions of `day` (see `_label_table`) as a DataFrame."""
    return _label_table(project, day, pa.array(list(ids), pa.string())).to_pandas()


def partition_table(
    project: Project,
    day: date,
    *,
    columns: list[str] | None = None,
    ids: bool = False,
    labels: bool = True,
) -> pa.Table:
    """The day's prediction rows - the latest of each prediction_id - as one Arrow table
    (only `columns` when given; prediction_id only with `ids`), with their `label` and
    `received_at` joined when `labels` (null where none arrived yet). Two passes over the
    day's files: the ids first (to know which rows a later file replaced), then the other
    columns a batch at a time, keeping the kept rows only. Memory holds the day's columns
    once, in Arrow's compact form (about the raw column bytes), and one batch."""
    path = f"{_root(project)}/predictions/{day.isoformat()}"
    names = sorted(_listdir(path)[1])
    schemas, chunks = [], []
    for name in names:
        with _parquet(f"{path}/{name}") as parquet:
            schemas.append(parquet.schema_arrow)
            chunks.append(parquet.read(columns=["prediction_id"]).column(0).cast(pa.string()))
    schema = pa.schema(
        [
            f
            for f in _unified(schemas)
            if (columns is None or f.name in columns) and (ids or f.name != "prediction_id")
        ]
    )
    all_ids = pa.chunked_array(chunks, pa.string()).combine_chunks()
    keep = _keep_last(all_ids)
    tables, offset = [], 0
    for table in _storage_batches(path, names, columns=schema.names):
        wanted = keep[offset : offset + table.num_rows]
        offset += table.num_rows
        if wanted.any():
            tables.append(_conform(table.filter(wanted), schema))
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    if not labels:
        return table
    kept_ids = all_ids.filter(keep)
    found = _label_table(project, day, kept_ids)
    at = pc.index_in(kept_ids, value_set=found.column("prediction_id"))
    for column in ("label", "received_at"):
        table = table.append_column(column, found.column(column).take(at))
    return table


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


class WindowRows:
    """The rows of one window - an Arrow table, or the rows of it where `mask` is true -
    handed out a pandas column at a time (`rows["amount"]`): each aggregate converts the
    column it needs, uses it and lets it go, so memory holds the Arrow table (about the
    raw column bytes) and one column, however many features the rows have."""

    def __init__(self, table: pa.Table, mask: np.ndarray | None = None) -> None:
        self.table = table
        self.mask = mask
        self.rows = table.num_rows if mask is None else int(mask.sum())

    @classmethod
    def of(cls, frame: pd.DataFrame) -> WindowRows:
        return cls(pa.Table.from_pandas(frame, preserve_index=False))

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def __contains__(self, name: object) -> bool:
        return name in self.table.column_names

    def __getitem__(self, name: str) -> pd.Series:
        column = self.table.column(name)
        if self.mask is not None:
            column = column.filter(pa.array(self.mask))
        return column.to_pandas()

    def pop(self, name: str) -> pd.Series:
        """The column, removed from these rows: its Arrow memory goes once it is used."""
        column = self[name]
        self.table = self.table.drop_columns([name])
        return column

    def where(self, keep: np.ndarray) -> WindowRows:
        """The rows where `keep` (a flag per row of these rows) is true."""
        if self.mask is None:
            return WindowRows(self.table, keep)
        mask = np.zeros(self.table.num_rows, dtype=bool)
        mask[np.flatnonzero(self.mask)[keep]] = True
        return WindowRows(self.table, mask)


def feature_columns(rows: pd.DataFrame | WindowRows) -> list[str]:
    return [
        c
        for c in rows.columns
        if c not in RESERVED
        and c not in ("label", "received_at")
        and not c.startswith(ATTRIBUTION_PREFIX)
    ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _window_starts(table: pa.Table, size: str) -> np.ndarray:
    """The start of each row's window, in microseconds since the epoch (UTC)."""
    step = (3_600 if size == WindowSize.HOUR else 86_400) * 1_000_000
    stamps = pc.cast(table.column("timestamp"), pa.timestamp("us", "UTC"), safe=False)
    micros = pc.cast(stamps, pa.int64()).to_numpy()
    return micros // step * step


def _as_datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))


def _as_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _scores(rows: pd.DataFrame | WindowRows) -> np.ndarray:
    column = "score" if "score" in rows else "prediction"
    return rows[column].to_numpy(dtype=np.float64)


def _predicted(rows: pd.DataFrame | WindowRows) -> np.ndarray:
    if "prediction" in rows:
        prediction = rows["prediction"]
        if prediction.notna().all():
            return prediction.to_numpy(dtype=np.float64)
    return (_scores(rows) >= THRESHOLD).astype(np.float64)


def _labels(rows: pd.DataFrame | WindowRows) -> np.ndarray:
    return rows["label"].to_numpy(dtype=np.float64)


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


def realized_performance(labelled: pd.DataFrame | WindowRows) -> dict[str, Any] | None:
    """The metrics engine's binary metrics on the labelled rows (None without any)."""
    labels = _labels(labelled)
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


def label_delay(labelled: WindowRows) -> dict[str, Any] | None:
    if not labelled.rows:
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


def feature_association(rows: pd.DataFrame | WindowRows, features: list[str]) -> dict[str, float]:
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


def _drift(rows: WindowRows, context: PartitionContext, columns: list[str]) -> dict | None:
    """Drift of `columns` against the reference window, one column at a time (the
    reference's partials are computed once per context)."""
    types = context.column_types(columns)
    if not types:
        return None
    found = [
        column_drift(
            context.partials[name],
            column_partial(rows[name], column_type=kind),
            column=name,
        )
        for name, kind in types.items()
    ]
    return drift_report(found).as_dict()


def _worst_slices(labelled: WindowRows, features: list[str]) -> list[dict[str, Any]]:
    """The worst slices of the labelled rows over every feature, sliced one feature at a
    time (the ranking is over all of them)."""
    errors = _predicted(labelled) != _labels(labelled)
    counts = []
    for column in features:
        values = {column: labelled[column].to_numpy()}
        counts += slice_counts(slice_definitions(values), values, outcome=errors)
    return [s.as_dict() for s in rank_slices(counts)[:WORST_SLICES]]


def window_result(rows: WindowRows, context: PartitionContext) -> dict[str, Any]:
    """Every aggregate of one window's rows (labels joined: missing where none arrived)."""
    labelled = rows.where(~np.isnan(_labels(rows)))
    scores = _scores(rows)
    result: dict[str, Any] = {
        "rows": rows.rows,
        "labelled_rows": labelled.rows,
        "label_coverage": labelled.rows / rows.rows if rows.rows else 0.0,
        "label_delay": label_delay(labelled),
        "score": score_summary(scores),
        "performance": realized_performance(labelled) if labelled.rows else None,
        "estimated_performance": None,
        "drift": None,
        "worst_slices": [],
        "attribution": {},
    }
    if context.cbpe_model is not None and (~np.isnan(scores)).any():
        estimate = cbpe_estimate(context.cbpe_model, scores=scores)
        result["estimated_performance"] = estimate.as_dict()
    del scores
    features = feature_columns(rows)
    if context.reference_rows:
        score_column = "score" if "score" in rows else "prediction"
        columns = [c for c in features if c in context.types] + [score_column]
        try:
            result["drift"] = _drift(rows, context, columns)
        except DriftInputError as exc:
            result["drift"] = {"error": str(exc)}
    if labelled.rows and features and _is_binary(_labels(labelled)):
        try:
            result["worst_slices"] = _worst_slices(labelled, features)
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


def reference_window(project: Project, size: str) -> tuple[datetime | None, WindowRows | None]:
    """(start, rows) of the reference window: the chosen one, else the first one. Only the
    reference window's rows are kept, not the rest of its day."""
    chosen = monitor_settings(project).reference_start
    days = partition_days(project)
    if not days:
        return None, None
    day = chosen.astimezone(UTC).date() if chosen else days[0]
    table = partition_table(project, day)
    if not table.num_rows:
        return None, None
    starts = _window_starts(table, size)
    start = _as_micros(chosen) if chosen else int(starts.min())
    inside = starts == start
    return _as_datetime(start), WindowRows(table if inside.all() else table.filter(inside))


def _fit_cbpe(reference: WindowRows) -> Any:
    labelled = reference.where(~np.isnan(_labels(reference)))
    if not labelled.rows or "score" not in labelled:
        return None
    labels = _labels(labelled)
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
    """What every day partition of a project is computed against: the window size, and
    from the reference window - read once, then let go - its start, row count, the
    Evidently type and drift partial of each column, and the CBPE model fitted on it.
    Shared when several partitions are computed together."""

    size: str
    ref_start: datetime | None = None
    reference_rows: int = 0
    types: dict[str, str | None] = dataclasses.field(default_factory=dict)
    partials: dict[str, Any] = dataclasses.field(default_factory=dict)
    cbpe_model: Any = None

    def column_types(self, columns: list[str]) -> dict[str, str]:
        """Evidently's type of each of `columns` in the reference (text, dates and
        columns the reference lacks are left out)."""
        return {name: kind for name in columns if (kind := self.types.get(name)) is not None}


def partition_context(project: Project) -> PartitionContext:
    size = monitor_settings(project).window
    ref_start, reference = reference_window(project, size)
    if reference is None or not reference.rows:
        return PartitionContext(size, ref_start)
    cbpe_model = _fit_cbpe(reference)
    score_column = "score" if "score" in reference else "prediction"
    # One column at a time, each dropped from the reference once summarized: memory holds
    # the reference's Arrow table shrinking as its partials grow, never both whole.
    types, partials = {}, {}
    for column in [*feature_columns(reference), score_column]:
        values = reference.pop(column)
        types[column] = kind = infer_column_type(values)
        if kind is not None:
            partials[column] = column_partial(values, column_type=kind)
        del values
    return PartitionContext(size, ref_start, reference.rows, types, partials, cbpe_model)


def compute_partition(
    project: Project, day: date, context: PartitionContext | None = None
) -> list[MonitoringWindow]:
    """(Re)compute the windows of one day partition and drop those left without rows.
    The results are computed first, one window at a time, and written in one short
    transaction."""
    context = context or partition_context(project)
    size, ref_start = context.size, context.ref_start
    table = partition_table(project, day)
    results = []
    if table.num_rows:
        starts = _window_starts(table, size)
        for start in np.unique(starts):
            inside = starts == start
            rows = WindowRows(table, None if inside.all() else inside)
            result = window_result(rows, context)
            result["reference_start"] = ref_start.isoformat() if ref_start else None
            results.append((_as_datetime(start), result))
    del table
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    step = timedelta(hours=1) if size == WindowSize.HOUR else timedelta(days=1)
    now = timezone.now()
    kept = []
    with transaction.atomic():
        for start, result in results:
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
