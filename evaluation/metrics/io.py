"""Streaming reader for prediction files (CSV, gzip CSV, Parquet) and column auto-detection.

The format is detected from the first bytes, not the file name: ``PAR1`` is Parquet,
``1f 8b`` is gzip (holding a CSV), anything else must be UTF-8 CSV text (the delimiter,
``,`` ``;`` tab or ``|``, is sniffed from the first lines).

Only the mapped columns are converted, batch by batch (`pyarrow.csv.open_csv` /
`pyarrow.parquet.ParquetFile.iter_batches`), straight into float64 chunks; numbers never
become Python objects. Text columns stay in Arrow until the end: labels that turn out to be
numbers become numeric arrays, ids (group, item) become integer codes, and text features
become object arrays that share one Python string per distinct value. Peak memory is about
twice the final arrays (the chunks plus their concatenation).

The mapping says which file column plays which role::

    {"y_true": "label", "y_score": "score", "y_pred": "prediction",
     "proba": {"cat": "p_cat", "dog": "p_dog"},          # class -> column
     "group": "user_id", "item": "menu_item",
     "features": ["age", "city"]}

and the result's columns use the engine's names: ``y_true``, ``y_score``, ``y_pred``,
``proba:<class>``, ``group``, ``item`` and each feature under its own name.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import os
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from .errors import EvaluationInputError, InputLimitError
from .validation import PROBA_PREFIX, PreparedData, prepare_columns

Source = str | os.PathLike[str] | bytes | BinaryIO
Progress = Callable[[int, int | None], None]

# 2 MB blocks: big enough to amortise per-batch work, small enough that the reader's
# read-ahead does not hold hundreds of MB of raw text.
_CSV_BLOCK_BYTES = 2 << 20
_PARQUET_BATCH_ROWS = 256 * 1024
_SNIFF_BYTES = 64 << 10
_MAPPING_KEYS = ("y_true", "y_score", "y_pred", "proba", "group", "item", "features")

_OTHER_FORMATS = (
    (b"PK\x03\x04", "a ZIP archive (or an Excel .xlsx file); export the data as CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file; export the data as CSV"),
    (b"BZh", "bzip2-compressed; use gzip or plain CSV"),
    (b"\xfd7zXZ\x00", "xz-compressed; use gzip or plain CSV"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; use gzip or plain CSV"),
)


@dataclass
class ReadResult:
    """Columns read from a file (engine names -> numpy arrays) and what was read.

    `prepared` is set when `read_predictions` was given a task: the columns were then
    validated for it, and ``prepared.columns`` are the cleaned arrays.
    """

    columns: dict[str, np.ndarray]
    rows: int
    file_format: str
    source_columns: dict[str, str]
    prepared: PreparedData | None = None


# -- format detection -------------------------------------------------------------------------


def _head_bytes(source: Source, n: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:n])
    if isinstance(source, str | os.PathLike):
        try:
            with Path(source).open("rb") as fh:
                return fh.read(n)
        except FileNotFoundError:
            raise EvaluationInputError(f"The file {os.fspath(source)!r} does not exist.") from None
    pos = source.tell()
    data = source.read(n)
    source.seek(pos)
    return data


def detect_format(source: Source) -> str:
    """``"parquet"``, ``"csv.gz"`` or ``"csv"`` from the magic bytes; errors on other formats
    and on empty files."""
    head = _head_bytes(source, 8)
    if not head:
        raise EvaluationInputError("The file is empty.")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x1f\x8b"):
        return "csv.gz"
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            raise EvaluationInputError(f"The file is {what}. Supported: CSV, gzip CSV, Parquet.")
    return "csv"


def _binary_stream(source: Source) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        return Path(source).open("rb")  # noqa: SIM115 - closed by the caller
    source.seek(0)
    return source


def _text_head(source: Source, file_format: str) -> str:
    """First ~64 KB of the CSV text (decompressed), checked to be text."""
    raw = _binary_stream(source)
    try:
        if file_format == "csv.gz":
            try:
                with gzip.GzipFile(fileobj=raw) as gz:
                    head = gz.read(_SNIFF_BYTES)
            except (OSError, EOFError, zlib.error):
                raise EvaluationInputError(
                    "The gzip file is corrupted or truncated; compress the CSV again."
                ) from None
            if head.startswith(b"PAR1"):
                raise EvaluationInputError(
                    "This is a gzip-compressed Parquet file; upload the Parquet file itself "
                    "(it is already compressed)."
                )
        else:
            head = raw.read(_SNIFF_BYTES)
    finally:
        if isinstance(source, str | os.PathLike):
            raw.close()
        elif not isinstance(source, bytes | bytearray | memoryview):
            source.seek(0)
    if not head.strip():
        raise EvaluationInputError("The file is empty.")
    if b"\x00" in head:
        raise EvaluationInputError(
            "The file looks binary, not like CSV text or Parquet; check that the right file "
            "was uploaded."
        )
    # Cut at the last newline so a multi-byte character split at 64 KB is not an error.
    cut = head.rfind(b"\n")
    sample = head if cut <= 0 or len(head) < _SNIFF_BYTES else head[:cut]
    try:
        return sample.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EvaluationInputError(
            "The file is not UTF-8 text. Save or export it as 'CSV UTF-8'."
        ) from None


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


# -- header and mapping -----------------------------------------------------------------------


def read_header(source: Source) -> list[str]:
    """The column names of a CSV / gzip CSV / Parquet file (for the column-mapping step)."""
    file_format = detect_format(source)
    if file_format == "parquet":
        return list(_parquet_file(source).schema_arrow.names)
    header, _ = _csv_header(source, file_format)
    return header


def _csv_header(source: Source, file_format: str) -> tuple[list[str], str]:
    text = _text_head(source, file_format)
    delimiter = _sniff_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (StopIteration, csv.Error):
        raise EvaluationInputError("The file has no header row.") from None
    # Names are kept exactly as written: pyarrow selects columns by their exact name.
    if not any(header):
        raise EvaluationInputError("The header row is empty; the first line must name columns.")
    counts: dict[str, int] = {}
    for name in header:
        counts[name] = counts.get(name, 0) + 1
    dups = sorted(name for name, count in counts.items() if count > 1)
    if dups:
        raise EvaluationInputError(
            f"Column name(s) {', '.join(repr(d) for d in dups)} appear more than once in the "
            "header; give every column a distinct name."
        )
    return header, delimiter


def _norm(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "y_true": (
        "y_true", "label", "labels", "target", "truth", "ground_truth", "actual", "y",
        "true", "class", "outcome", "relevance", "rel", "rating", "clicked", "is_relevant",
        "gold", "true_label", "ordered", "purchased", "bought", "converted", "click",
        "liked",
    ),
    "y_score": (
        "y_score", "score", "scores", "prob", "probability", "proba", "y_prob", "y_proba",
        "pred_proba", "prediction_score", "predicted_probability", "p", "confidence",
        "logit", "margin",
    ),
    "y_pred": (
        "y_pred", "pred", "prediction", "predicted", "predicted_label", "yhat", "y_hat",
        "forecast", "estimate",
    ),
    "group": (
        "group", "group_id", "query", "query_id", "qid", "user", "user_id", "userid",
        "session", "session_id", "customer", "customer_id", "request_id",
    ),
    "item": (
        "item", "item_id", "itemid", "product", "product_id", "doc", "doc_id",
        "document_id", "menu_item", "menu_item_id", "menu_id", "dish", "dish_id", "sku",
    ),
}  # fmt: skip
_PROBA_RE = re.compile(r"^(?:proba|prob|probability|p|score)[_:](.+)$")
_NOT_FEATURES = {"id", "row_id", "index", "unnamed_0", "", "row", "rownum"}


def suggest_mapping(header: Sequence[str], *, task: str | None = None) -> dict[str, Any]:
    """Guess which column plays which role from the column names alone.

    Recognises usual names case-insensitively (``label``/``target``/``y_true``;
    ``score``/``prob``/``y_score``; ``pred``/``prediction``; ``user_id``/``query_id``/``qid``;
    ``item_id``/``product_id``/``menu_item``), per-class probability columns
    ``proba_<class>`` / ``prob_<class>`` / ``p_<class>``, and offers every other column
    (except id/index columns) as a feature.

    Returns ``{"mapping": {...}, "task": suggested task or None, "unmapped": [...]}``; the
    mapping has the shape `read_predictions` takes. A suggestion only: show it to the user.
    """
    by_norm = {}
    for name in header:
        by_norm.setdefault(_norm(name), name)
    used: set[str] = set()
    mapping: dict[str, Any] = {}
    proba: dict[str, str] = {}
    for name in header:
        match = _PROBA_RE.match(_norm(name))
        if match:
            proba[name[len(name) - len(match.group(1)) :]] = name
    # A lone "score_x" is more likely a score than a class column.
    if len(proba) >= 2:
        mapping["proba"] = proba
        used.update(proba.values())
    for role, names in _ROLE_NAMES.items():
        for candidate in names:
            column = by_norm.get(candidate)
            if column is not None and column not in used:
                mapping[role] = column
                used.add(column)
                break
    features = [n for n in header if n not in used and _norm(n) not in _NOT_FEATURES]
    mapping["features"] = features
    suggested = task
    if suggested is None:
        if "group" in mapping and "y_true" in mapping and "y_score" in mapping:
            suggested = "ranking"
        elif len(proba) >= 3:
            suggested = "multiclass"
        elif "y_true" in mapping and "y_score" in mapping:
            suggested = "binary"
    unmapped = [n for n in header if n not in used and n not in features]
    return {"mapping": mapping, "task": suggested, "unmapped": unmapped}


def _mapping_targets(mapping: Mapping[str, Any]) -> dict[str, str]:
    """engine column name -> file column name."""
    unknown = sorted(set(mapping) - set(_MAPPING_KEYS))
    if unknown:
        raise EvaluationInputError(
            f"Unknown mapping key(s) {', '.join(unknown)}; use {', '.join(_MAPPING_KEYS)}."
        )
    targets: dict[str, str] = {}
    for role in ("y_true", "y_score", "y_pred", "group", "item"):
        column = mapping.get(role)
        if column:
            targets[role] = str(column)
    proba = mapping.get("proba") or {}
    if not isinstance(proba, Mapping):
        raise EvaluationInputError("'proba' must map each class to its probability column.")
    for cls, column in proba.items():
        targets[PROBA_PREFIX + str(cls)] = str(column)
    features = mapping.get("features") or []
    if isinstance(features, str) or not isinstance(features, Sequence):
        raise EvaluationInputError("'features' must be a list of column names.")
    for column in features:
        if str(column) in targets:
            continue
        targets[str(column)] = str(column)
    if not targets:
        raise EvaluationInputError("The column mapping is empty; map at least y_true.")
    return targets


def _check_columns_exist(targets: Mapping[str, str], available: Sequence[str]) -> None:
    for key, column in targets.items():
        if column in available:
            continue
        close = difflib.get_close_matches(column, list(available), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        role = "" if key == column else f" (mapped to {key})"
        raise EvaluationInputError(
            f"Column {column!r}{role} is not in the file.{hint} "
            f"Available columns: {', '.join(available)}."
        )


# -- reading ---------------------------------------------------------------------------------


def _kind_of(key: str, task: str | None) -> str:
    """How to convert a column: "number", "label", "code" or "feature"."""
    if key == "y_score" or key.startswith(PROBA_PREFIX):
        return "number"
    if key in ("y_true", "y_pred"):
        return "number" if task in ("regression", "ranking") else "label"
    if key in ("group", "item"):
        return "code"
    return "feature"


def _is_numeric_type(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_null(t)
    )


class _Collector:
    """Accumulates one column's batches.

    Numbers go straight to float64 chunks. Labels and features are optimistic: a text
    batch whose values all parse as numbers is converted at once (so a 0/1 label column
    never sits in memory as strings); only once a value is real text does the column keep
    Arrow text chunks, and if numbers were converted before that, `reread` asks the reader
    for the column's text again (rare: a numeric-looking column with text further down).
    Ids are kept as Arrow chunks and dictionary-encoded at the end.
    """

    def __init__(self, key: str, column: str, kind: str) -> None:
        self.key, self.column, self.kind = key, column, kind
        self.numbers: list[np.ndarray] = []
        self.arrow: list[pa.Array] = []
        self.text = False
        self.reread = False

    def add(self, array: pa.Array | pa.ChunkedArray, *, row_offset: int) -> None:
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        if self.kind == "number":
            if not _is_numeric_type(array.type):
                array = _cast_numbers(
                    array, column=self.column, key=self.key, row_offset=row_offset
                )
            self.numbers.append(_float_numpy(array))
            return
        if self.kind in ("label", "feature") and not self.text:
            if _is_numeric_type(array.type):
                self.numbers.append(_float_numpy(array))
                return
            try:
                self.numbers.append(_float_numpy(pc.cast(array, pa.float64())))
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self.text = True
                self.reread = bool(self.numbers)
        self.arrow.append(array)

    def replace_text(self, chunks: list[pa.Array]) -> None:
        """The whole column's text, re-read after a late text value (see `reread`)."""
        self.numbers, self.arrow, self.reread = [], chunks, False

    def finish(self) -> np.ndarray:
        if self.kind == "code":
            return _codes(self.arrow)
        if self.kind == "number" or not self.text:
            return np.concatenate(self.numbers) if self.numbers else np.zeros(0)
        return _text(self.arrow)


def _float_numpy(array: pa.Array) -> np.ndarray:
    if pa.types.is_null(array.type):
        return np.full(len(array), np.nan)
    if not pa.types.is_float64(array.type):
        array = array.cast(pa.float64())
    # Nulls become NaN (zero_copy_only=False fills them), counted later by validation.
    return array.to_numpy(zero_copy_only=False)


def _cast_numbers(array: pa.Array, *, column: str, key: str, row_offset: int) -> pa.Array:
    """Text -> float64, or an error naming the first value that is not a number."""
    try:
        return pc.cast(array, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Bisect to the first bad value: O(log n) casts, only on this error path.
    lo, hi = 0, len(array)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(array.slice(lo, mid - lo), pa.float64())
            lo = mid
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
    bad = array[lo].as_py()
    role = "" if key == column else f" (mapped to {key})"
    raise EvaluationInputError(
        f"Column {column!r}{role} must be numeric, but row {row_offset + lo + 1} holds "
        f"{bad!r}. Fix the value or map another column."
    )


def _encode(chunks: list[pa.Array]) -> tuple[np.ndarray, pa.Array | None]:
    """Dictionary-encode chunks with one shared dictionary (no concatenated copy of the
    text): (int64 codes with -1 for missing, dictionary)."""
    if not chunks:
        return np.zeros(0, dtype=np.int64), None
    chunks = [c if not pa.types.is_null(c.type) else c.cast(pa.string()) for c in chunks]
    first = chunks[0].type
    chunks = [c if c.type == first else c.cast(first) for c in chunks]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks))
    codes = np.concatenate(
        [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
    ).astype(np.int64, copy=False)
    # A chunked encode grows one dictionary; the last chunk holds all of it.
    return codes, encoded.chunks[-1].dictionary


def _codes(chunks: list[pa.Array]) -> np.ndarray:
    """Integer codes of an id column (int64, or float64 with NaN where the id is missing)."""
    codes, _ = _encode(chunks)
    if (codes < 0).any():
        return np.where(codes < 0, np.nan, codes.astype(np.float64))
    return codes


def _text(chunks: list[pa.Array]) -> np.ndarray:
    """Object array sharing one Python string per distinct value (None where missing)."""
    chunks = [
        c if pa.types.is_string(c.type) or pa.types.is_large_string(c.type) else c.cast(pa.string())
        for c in chunks
    ]
    codes, dictionary = _encode(chunks)
    values = [] if dictionary is None else dictionary.to_pylist()
    categories = np.asarray(values + [None], dtype=object)
    # -1 (missing) picks the trailing None.
    return categories[codes]


def _parquet_file(source: Source) -> pq.ParquetFile:
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            return pq.ParquetFile(pa.BufferReader(bytes(source)))
        return pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise EvaluationInputError(
            f"The Parquet file is corrupted or truncated ({_short(exc)}); export it again."
        ) from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def read_predictions(
    source: Source,
    *,
    mapping: Mapping[str, Any],
    task: str | None = None,
    drop_invalid: bool = False,
    pos_label: Any = None,
    score_kind: str = "probability",
    progress: Progress | None = None,
    max_rows: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> ReadResult:
    """Read the mapped columns of a predictions file, streaming, into numpy arrays.

    `source` is a path, the file's bytes, or a seekable binary file object. `progress`,
    if given, is called after every batch with ``(rows_read, total_rows_or_None)`` (the
    total is known for Parquet only). With a `task`, the columns are also validated
    (see `validation.prepare_columns`; `drop_invalid`, `pos_label` and `score_kind` are
    passed on) and ``result.prepared`` holds the cleaned data.

    Raises `EvaluationInputError` when the file is empty, malformed, not UTF-8, of an
    unsupported format, lacks a mapped column (the message lists the available ones), has
    a non-numeric value in a numeric column (naming column, row and value), has no data
    rows, or - with a task - fails validation.

    Raises `InputLimitError` (and stops reading) once the file has more than `max_rows`
    data rows, or a gzip CSV decompresses to more than `max_decompressed_bytes`: a small
    compressed file may otherwise expand to more rows than a worker's memory holds.
    """
    targets = _mapping_targets(mapping)
    file_format = detect_format(source)
    limits = _Limits(max_rows, max_decompressed_bytes)
    if file_format == "parquet":
        columns, rows = _read_parquet(source, targets, task, progress, limits)
    else:
        columns, rows = _read_csv(source, file_format, targets, task, progress, limits)
    # Hand Arrow's cached buffers back to the OS: a long-lived worker should not keep the
    # high-water mark of the biggest upload.
    pa.default_memory_pool().release_unused()
    if rows == 0:
        raise EvaluationInputError("The file has a header but no data rows.")
    result = ReadResult(
        columns=columns, rows=rows, file_format=file_format, source_columns=dict(targets)
    )
    if task is not None:
        result.prepared = prepare_columns(
            task=task,
            columns=columns,
            drop_invalid=drop_invalid,
            pos_label=pos_label,
            score_kind=score_kind,
        )
    return result


@dataclass(frozen=True)
class _Limits:
    rows: int | None = None
    decompressed_bytes: int | None = None

    def check_rows(self, rows: int) -> None:
        if self.rows is not None and rows > self.rows:
            raise InputLimitError(
                f"The file has more than {self.rows:,} data rows, the most one evaluation "
                "reads; evaluate a sample or split the file.",
                limit="rows",
                value=self.rows,
            )

    def decompressed_bytes_error(self) -> InputLimitError:
        return InputLimitError(
            f"The gzip file decompresses to more than {self.decompressed_bytes:,} bytes, "
            "the most one evaluation reads; evaluate a sample or split the file.",
            limit="decompressed_bytes",
            value=self.decompressed_bytes or 0,
        )


class _CappedStream(io.RawIOBase):
    """Passes reads on to a (decompressing) stream and raises once more than `limit`
    bytes came out of it, so a gzip bomb stops at the limit, not at the worker's memory."""

    def __init__(self, stream: Any, limits: _Limits) -> None:
        super().__init__()
        self._stream = stream
        self._limits = limits
        self._limit = limits.decompressed_bytes or 0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size is not None and size >= 0 else None)
        self.read_bytes += len(data)
        if self.read_bytes > self._limit:
            raise self._limits.decompressed_bytes_error()
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _collectors(targets: Mapping[str, str], task: str | None) -> list[_Collector]:
    return [_Collector(key, column, _kind_of(key, task)) for key, column in targets.items()]


def _finish(collectors: list[_Collector]) -> dict[str, np.ndarray]:
    return {c.key: c.finish() for c in collectors}


def _read_parquet(
    source: Source,
    targets: Mapping[str, str],
    task: str | None,
    progress: Progress | None,
    limits: _Limits,
) -> tuple[dict[str, np.ndarray], int]:
    pf = _parquet_file(source)
    available = list(pf.schema_arrow.names)
    _check_columns_exist(targets, available)
    total = pf.metadata.num_rows
    # Parquet says how many rows it has: refuse before reading any.
    limits.check_rows(total)
    wanted = list(dict.fromkeys(targets.values()))
    collectors = _collectors(targets, task)
    rows = 0
    try:
        for batch in pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=wanted):
            for c in collectors:
                c.add(batch.column(c.column), row_offset=rows)
            rows += batch.num_rows
            if progress is not None:
                progress(rows, total)
        for c in collectors:
            if c.reread:
                c.replace_text(
                    [
                        b.column(0)
                        for b in pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=[c.column])
                    ]
                )
    except (pa.ArrowException, OSError) as exc:
        raise EvaluationInputError(
            f"The Parquet file could not be read ({_short(exc)}); export it again."
        ) from None
    return _finish(collectors), rows


_CONVERSION_RE = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+)")


def _read_csv(
    source: Source,
    file_format: str,
    targets: Mapping[str, str],
    task: str | None,
    progress: Progress | None,
    limits: _Limits,
) -> tuple[dict[str, np.ndarray], int]:
    header, delimiter = _csv_header(source, file_format)
    _check_columns_exist(targets, header)
    collectors = _collectors(targets, task)
    wanted = list(dict.fromkeys(targets.values()))
    # Numbers parse straight to float64; everything else is read as text (and converted
    # batch by batch by the collectors), so a column whose first block looks numeric
    # cannot make the reader fail on a later block.
    numeric_columns = {c.column for c in collectors if c.kind == "number"}
    column_types = {
        name: (pa.float64() if name in numeric_columns else pa.string()) for name in wanted
    }
    convert = pcsv.ConvertOptions(
        include_columns=wanted, column_types=column_types, strings_can_be_null=True
    )
    parse = pcsv.ParseOptions(delimiter=delimiter)
    read = pcsv.ReadOptions(block_size=_CSV_BLOCK_BYTES)
    rows = 0
    raw = _binary_stream(source)
    try:
        stream = pa.CompressedInputStream(raw, "gzip") if file_format == "csv.gz" else raw
        if file_format == "csv.gz" and limits.decompressed_bytes is not None:
            stream = _CappedStream(stream, limits)
        reader = pcsv.open_csv(
            stream, read_options=read, parse_options=parse, convert_options=convert
        )
        for batch in reader:
            for c in collectors:
                c.add(batch.column(c.column), row_offset=rows)
            rows += batch.num_rows
            limits.check_rows(rows)
            if progress is not None:
                progress(rows, None)
    except pa.ArrowInvalid as exc:
        raise _csv_error(exc, source, file_format, header, targets, delimiter) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise EvaluationInputError(
            f"The file could not be read to the end ({_short(exc)}); it may be truncated."
        ) from None
    finally:
        if isinstance(source, str | os.PathLike):
            raw.close()
    for c in collectors:
        if c.reread:
            c.replace_text(_csv_text_column(source, file_format, c.column, delimiter))
    return _finish(collectors), rows


def _open_column_as_text(stream: Any, column: str, delimiter: str) -> pcsv.CSVStreamingReader:
    return pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
        parse_options=pcsv.ParseOptions(delimiter=delimiter),
        convert_options=pcsv.ConvertOptions(
            include_columns=[column],
            column_types={column: pa.string()},
            strings_can_be_null=True,
        ),
    )


def _csv_text_column(source: Source, file_format: str, column: str, delimiter: str) -> list:
    """One column of the CSV as Arrow text chunks (second pass, only when needed)."""
    raw = _binary_stream(source)
    try:
        stream = pa.CompressedInputStream(raw, "gzip") if file_format == "csv.gz" else raw
        return [batch.column(0) for batch in _open_column_as_text(stream, column, delimiter)]
    finally:
        if isinstance(source, str | os.PathLike):
            raw.close()


def _csv_error(
    exc: pa.ArrowInvalid,
    source: Source,
    file_format: str,
    header: list[str],
    targets: Mapping[str, str],
    delimiter: str,
) -> EvaluationInputError:
    text = str(exc)
    match = _CONVERSION_RE.search(text)
    if match and "invalid UTF8" in text:
        return EvaluationInputError("The file is not UTF-8 text. Save or export it as 'CSV UTF-8'.")
    if match:
        column = header[int(match.group(1))]
        key = next((k for k, v in targets.items() if v == column), column)
        return _locate_bad_number(source, file_format, column, key, delimiter)
    if "CSV parse error" in text:
        detail = text.split("CSV parse error:", 1)[1].strip()
        fields = re.match(r"Expected (\d+) columns, got (\d+): (.*)", detail, re.S)
        if fields:
            row_text = fields.group(3).strip()[:80]
            return EvaluationInputError(
                f"The CSV is malformed: a row has {fields.group(2)} fields but the header has "
                f"{fields.group(1)} (row starts {row_text!r}). Check quoting and delimiters."
            )
        return EvaluationInputError(f"The CSV is malformed: {detail[:200]}")
    if "gzip" in text.lower() or "compress" in text.lower():
        return EvaluationInputError("The gzip file is corrupted or truncated.")
    return EvaluationInputError(f"The file could not be read as CSV: {_short(exc)}")


def _locate_bad_number(
    source: Source, file_format: str, column: str, key: str, delimiter: str
) -> EvaluationInputError:
    """Re-read one column as text to name the row holding the non-number."""
    raw = _binary_stream(source)
    try:
        stream = pa.CompressedInputStream(raw, "gzip") if file_format == "csv.gz" else raw
        rows = 0
        for batch in _open_column_as_text(stream, column, delimiter):
            _cast_numbers(batch.column(0), column=column, key=key, row_offset=rows)
            rows += batch.num_rows
    except EvaluationInputError as located:
        return located
    finally:
        if isinstance(source, str | os.PathLike):
            raw.close()
    role = "" if key == column else f" (mapped to {key})"
    return EvaluationInputError(f"Column {column!r}{role} must be numeric but is not.")
