"""Aggregate a file of raw per-user rows into the per-variant sums `analyze` takes.

Input: a CSV, gzip-compressed CSV or Parquet file with one row per user, a column naming
the user's variant, one column per metric and optionally one pre-period covariate column
per metric (for CUPED). The file is streamed in chunks (``pandas.read_csv(chunksize=...)``
or ``pyarrow.parquet.ParquetFile.iter_batches``) so memory stays flat for large uploads,
and ``progress(rows_read)`` is called after every chunk.

A ratio metric reads two columns per user, ``<column>_numerator`` and
``<column>_denominator`` (and, for CUPED, ``<covariate>_numerator`` and
``<covariate>_denominator``), and sums them with every cross product. A quantile metric
keeps its column's values per variant (the only metric type whose memory grows with the
file) and reads the sample quantile and its bounds at the end (`quantile_inputs`).

Output: ``{metric_key: {variant_key: aggregates}}`` with, per variant,
``{"users", "conversions"}`` for binomial metrics or ``{"users", "sum", "sum_squares"}``
for continuous ones, plus ``covariate_sum``, ``covariate_sum_squares`` and
``covariate_sum_products`` when a covariate column is given. Every variant key appears,
with ``users`` 0 if no row had it.

Any problem (missing column, unknown variant label, missing or non-numeric or non-finite
value, a binomial value other than 0/1, unreadable file) raises `StatsInputError` naming
the column and the data row (1-based, not counting a CSV header line).
"""

from __future__ import annotations

import gzip
import numbers
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from evaluation.stats.inputs import METRIC_TYPES, StatsInputError
from evaluation.stats.quantile import quantile_inputs

FileFormat = Literal["csv", "parquet"]
Source = str | os.PathLike[str] | IO[bytes]

DEFAULT_CHUNK_SIZE = 100_000


@dataclass(frozen=True)
class _MetricColumns:
    key: str
    type: str
    column: str
    covariate: str | None
    quantile_level: float | None = None

    def columns(self) -> list[str]:
        """The file columns this metric reads."""
        if self.type != "ratio":
            return [self.column] + ([self.covariate] if self.covariate else [])
        bases = [self.column] + ([self.covariate] if self.covariate else [])
        return [f"{base}_{part}" for base in bases for part in ("numerator", "denominator")]


def _parse_specs(
    metrics: Sequence[Mapping[str, Any]],
    covariates: Mapping[str, str] | None,
    variant_column: str,
) -> list[_MetricColumns]:
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence) or not metrics:
        raise StatsInputError("'metrics' must be a non-empty list of {key, type, column}.")
    covariates = dict(covariates or {})
    specs: list[_MetricColumns] = []
    seen: set[str] = set()
    for index, item in enumerate(metrics, start=1):
        if not isinstance(item, Mapping):
            raise StatsInputError(f"Metric #{index} must be an object with key and type.")
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise StatsInputError(f"Metric #{index} needs a non-empty text 'key'.")
        if key in seen:
            raise StatsInputError(f"Metric key {key!r} is listed more than once.")
        seen.add(key)
        if item.get("type") not in METRIC_TYPES:
            raise StatsInputError(
                f"Metric {key!r}: 'type' must be one of {', '.join(METRIC_TYPES)}, "
                f"got {item.get('type')!r}."
            )
        level = item.get("quantile_level")
        if item["type"] == "quantile" and not (isinstance(level, numbers.Real) and 0 < level < 1):
            raise StatsInputError(f"Metric {key!r}: a quantile metric needs 'quantile_level'.")
        column = item.get("column", key)
        if not isinstance(column, str) or not column:
            raise StatsInputError(f"Metric {key!r}: 'column' must be a column name.")
        covariate = covariates.pop(key, None)
        if covariate is not None and (not isinstance(covariate, str) or not covariate):
            raise StatsInputError(f"Metric {key!r}: the covariate must be a column name.")
        for name in (column, covariate):
            if name == variant_column:
                raise StatsInputError(
                    f"Metric {key!r} uses the variant column {variant_column!r} as data."
                )
        if item["type"] == "quantile" and covariate is not None:
            raise StatsInputError(f"Metric {key!r}: a quantile metric takes no covariate.")
        specs.append(
            _MetricColumns(
                key,
                item["type"],
                column,
                covariate,
                float(level) if item["type"] == "quantile" else None,
            )
        )
    if covariates:
        raise StatsInputError(
            f"Covariates given for unknown metric(s) {', '.join(map(repr, covariates))}."
        )
    return specs


def _peek(source: Source, size: int) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as handle:
                return handle.read(size)
        except OSError as error:
            raise StatsInputError(f"Cannot open the file: {error.strerror or error}.") from error
    if not (hasattr(source, "seekable") and source.seekable()):
        raise StatsInputError("The uploaded file object must be seekable.")
    position = source.tell()
    head = source.read(size)
    source.seek(position)
    return head if isinstance(head, bytes) else b""


def _detect(source: Source, file_format: FileFormat | None) -> tuple[FileFormat, str | None]:
    # Sniff magic bytes instead of trusting the file name: uploads are often renamed.
    head = _peek(source, 4)
    compression = "gzip" if head[:2] == b"\x1f\x8b" else None
    if file_format is None:
        file_format = "parquet" if head == b"PAR1" else "csv"
    elif file_format not in ("csv", "parquet"):
        raise StatsInputError(f"'file_format' must be 'csv' or 'parquet', got {file_format!r}.")
    return file_format, compression


def _rewind(source: Source) -> None:
    if not isinstance(source, (str, os.PathLike)):
        source.seek(0)


def _csv_chunks(
    source: Source,
    columns: list[str],
    variant_column: str,
    compression: str | None,
    chunk_size: int,
) -> Iterator[pd.DataFrame]:
    try:
        header = pd.read_csv(source, nrows=0, compression=compression)
    except pd.errors.EmptyDataError as error:
        raise StatsInputError("The file is empty (no header row).") from error
    except (pd.errors.ParserError, UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise StatsInputError(f"Could not read the CSV file: {error}") from error
    _require_columns(list(header.columns), columns)
    _rewind(source)
    try:
        with pd.read_csv(
            source,
            usecols=columns,
            dtype={variant_column: str},
            compression=compression,
            chunksize=chunk_size,
        ) as reader:
            yield from reader
    except (pd.errors.ParserError, UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise StatsInputError(f"Could not read the CSV file: {error}") from error


def _parquet_chunks(source: Source, columns: list[str], chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source)
        _require_columns(list(parquet.schema_arrow.names), columns)
        for batch in parquet.iter_batches(batch_size=chunk_size, columns=columns):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise StatsInputError(f"Could not read the Parquet file: {error}") from error


def _require_columns(present: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in present]
    if missing:
        raise StatsInputError(
            f"The file has no column(s) {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(repr, present))}."
        )


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _numeric(series: pd.Series, column: str, first_row: int) -> np.ndarray:
    """Convert one chunk of a column to float64, rejecting missing/non-numeric/infinite."""
    missing = series.isna().to_numpy()
    if missing.any():
        row = first_row + _first(missing) + 1
        raise StatsInputError(f"Row {row}, column {column!r}: the value is missing.")
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64)
    else:
        # Text (a chunk where pandas could not parse every value as a number).
        text = series.astype(str).str.strip()
        converted = pd.to_numeric(text, errors="coerce")
        bad = converted.isna().to_numpy()
        if bad.any():
            position = _first(bad)
            raise StatsInputError(
                f"Row {first_row + position + 1}, column {column!r}: "
                f"{series.iloc[position]!r} is not a number."
            )
        values = converted.to_numpy(dtype=np.float64)
    infinite = ~np.isfinite(values)
    if infinite.any():
        position = _first(infinite)
        raise StatsInputError(
            f"Row {first_row + position + 1}, column {column!r}: {series.iloc[position]!r} "
            "is not a finite number."
        )
    return values


class _Totals:
    """Running per-variant sums for every metric, accumulated chunk by chunk."""

    def __init__(self, variants: Sequence[str], specs: Sequence[_MetricColumns]) -> None:
        self.variants = list(variants)
        self.index = pd.Index(self.variants)
        self.specs = specs
        k = len(self.variants)
        self.users = np.zeros(k, dtype=np.int64)
        self.sums = {s.key: np.zeros(k) for s in specs}
        self.squares = {s.key: np.zeros(k) for s in specs}
        self.x_sums = {s.key: np.zeros(k) for s in specs if s.covariate}
        self.x_squares = {s.key: np.zeros(k) for s in specs if s.covariate}
        self.xy_sums = {s.key: np.zeros(k) for s in specs if s.covariate}
        # Ratio metrics: Σ of every product of two of (m, d, m′, d′), keyed by their names.
        self.ratio_sums: dict[str, dict[str, np.ndarray]] = {
            s.key: {} for s in specs if s.type == "ratio"
        }
        # Quantile metrics: the values of each variant, in chunks.
        self.values: dict[str, list[list[np.ndarray]]] = {
            s.key: [[] for _ in range(k)] for s in specs if s.type == "quantile"
        }

    def _add_ratio(
        self, spec: _MetricColumns, chunk: pd.DataFrame, codes: np.ndarray, first_row: int
    ) -> None:
        k = len(self.variants)
        names = ["numerator", "denominator", "pre_numerator", "pre_denominator"]
        columns = spec.columns()
        parts = {
            name: _numeric(chunk[column], column, first_row)
            for name, column in zip(names, columns, strict=False)
        }
        totals = self.ratio_sums[spec.key]

        def add(field: str, weights: np.ndarray) -> None:
            totals.setdefault(field, np.zeros(k))
            totals[field] += np.bincount(codes, weights=weights, minlength=k)

        present = list(parts)
        for i, a in enumerate(present):
            add(f"{a}_sum", parts[a])
            add(f"{a}_sum_squares", parts[a] * parts[a])
            for b in present[i + 1 :]:
                field = (
                    "sum_products"
                    if (a, b) == ("numerator", "denominator")
                    else f"{a}_{b}_sum_products"
                )
                add(field, parts[a] * parts[b])

    def add(self, chunk: pd.DataFrame, variant_column: str, first_row: int) -> None:
        k = len(self.variants)
        labels = chunk[variant_column]
        missing = labels.isna().to_numpy()
        if missing.any():
            raise StatsInputError(
                f"Row {first_row + _first(missing) + 1}, column {variant_column!r}: the "
                "variant is missing."
            )
        labels = labels.astype(str).str.strip()
        codes = self.index.get_indexer(labels)
        unknown = codes < 0
        if unknown.any():
            position = _first(unknown)
            raise StatsInputError(
                f"Row {first_row + position + 1}, column {variant_column!r}: unknown variant "
                f"{labels.iloc[position]!r}; expected one of "
                f"{', '.join(map(repr, self.variants))}."
            )
        self.users += np.bincount(codes, minlength=k)
        for spec in self.specs:
            if spec.type == "ratio":
                self._add_ratio(spec, chunk, codes, first_row)
                continue
            y = _numeric(chunk[spec.column], spec.column, first_row)
            if spec.type == "quantile":
                for i in range(k):
                    self.values[spec.key][i].append(y[codes == i])
                continue
            if spec.type == "binomial":
                not_binary = (y != 0) & (y != 1)
                if not_binary.any():
                    position = _first(not_binary)
                    raise StatsInputError(
                        f"Row {first_row + position + 1}, column {spec.column!r}: a binomial "
                        f"metric must be 0 or 1, got {chunk[spec.column].iloc[position]!r}."
                    )
            self.sums[spec.key] += np.bincount(codes, weights=y, minlength=k)
            self.squares[spec.key] += np.bincount(codes, weights=y * y, minlength=k)
            if spec.covariate:
                x = _numeric(chunk[spec.covariate], spec.covariate, first_row)
                self.x_sums[spec.key] += np.bincount(codes, weights=x, minlength=k)
                self.x_squares[spec.key] += np.bincount(codes, weights=x * x, minlength=k)
                self.xy_sums[spec.key] += np.bincount(codes, weights=x * y, minlength=k)

    def result(self) -> dict[str, dict[str, dict[str, int | float]]]:
        output: dict[str, dict[str, dict[str, int | float]]] = {}
        for spec in self.specs:
            per_variant: dict[str, dict[str, int | float]] = {}
            for i, variant in enumerate(self.variants):
                entry: dict[str, int | float] = {"users": int(self.users[i])}
                if spec.type == "ratio":
                    for field, totals in self.ratio_sums[spec.key].items():
                        entry[field] = float(totals[i])
                    per_variant[variant] = entry
                    continue
                if spec.type == "quantile":
                    chunks = self.values[spec.key][i]
                    values = np.concatenate(chunks) if chunks else np.empty(0)
                    if values.size:
                        entry = dict(quantile_inputs(values, spec.quantile_level))
                    per_variant[variant] = entry
                    continue
                if spec.type == "binomial":
                    # Sums of 0/1 values are exact integers in float64 up to 2**53 rows.
                    entry["conversions"] = int(round(self.sums[spec.key][i]))
                else:
                    entry["sum"] = float(self.sums[spec.key][i])
                    entry["sum_squares"] = float(self.squares[spec.key][i])
                if spec.covariate:
                    entry["covariate_sum"] = float(self.x_sums[spec.key][i])
                    entry["covariate_sum_squares"] = float(self.x_squares[spec.key][i])
                    entry["covariate_sum_products"] = float(self.xy_sums[spec.key][i])
                per_variant[variant] = entry
            output[spec.key] = per_variant
        return output


class RowLimitError(StatsInputError):
    """The file has more rows than `aggregate_file`'s `max_rows`; reading stopped there."""


def aggregate_file(
    source: Source,
    *,
    variant_column: str,
    variants: Sequence[str],
    metrics: Sequence[Mapping[str, Any]],
    covariates: Mapping[str, str] | None = None,
    file_format: FileFormat | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    max_rows: int | None = None,
) -> dict[str, dict[str, dict[str, int | float]]]:
    """Stream a per-user CSV / gzip CSV / Parquet file into per-variant aggregates.

    Args:
        source: a path, or a seekable binary file object (e.g. a Django upload).
        variant_column: column holding each user's variant key.
        variants: the experiment's variant keys; any other label in the file is an error.
        metrics: ``[{"key", "type": "binomial"|"continuous"|"ratio"|"quantile",
            "column" (default: key), "quantile_level" (quantile only)}]``;
            other fields (role, direction) are ignored so `analyze`'s list can be reused.
        covariates: optional ``{metric_key: pre_period_column}`` for CUPED.
        file_format: "csv" or "parquet"; by default detected from the file's first bytes
            (gzip compression of a CSV is always detected that way).
        chunk_size: rows per chunk.
        progress: called as ``progress(rows_read)`` after each chunk.
        max_rows: stop with `StatsInputError` once the file has more data rows than this
            (a small gzip file can expand to billions of rows).

    Returns:
        ``{metric_key: {variant_key: aggregates}}``, ready for ``analyze(results=...)``.
    """
    if not isinstance(variant_column, str) or not variant_column:
        raise StatsInputError("'variant_column' must be a column name.")
    if isinstance(variants, (str, bytes)) or not variants:
        raise StatsInputError("'variants' must be a non-empty list of variant keys.")
    if len(set(variants)) != len(variants) or not all(isinstance(v, str) for v in variants):
        raise StatsInputError("'variants' must be distinct text keys.")
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, numbers.Integral)
        or chunk_size < 1
    ):
        raise StatsInputError(f"'chunk_size' must be a positive whole number, got {chunk_size!r}.")
    specs = _parse_specs(metrics, covariates, variant_column)
    columns = list(dict.fromkeys([variant_column] + [c for s in specs for c in s.columns()]))
    fmt, compression = _detect(source, file_format)
    chunks = (
        _parquet_chunks(source, columns, chunk_size)
        if fmt == "parquet"
        else _csv_chunks(source, columns, variant_column, compression, chunk_size)
    )
    totals = _Totals(variants, specs)
    rows_read = 0
    for chunk in chunks:
        totals.add(chunk, variant_column, rows_read)
        rows_read += len(chunk)
        if max_rows is not None and rows_read > max_rows:
            raise RowLimitError(
                f"The file has more than {max_rows:,} data rows, the most one upload "
                "aggregates; aggregate it in parts or upload the per-variant totals."
            )
        if progress is not None:
            progress(rows_read)
    if rows_read == 0 and progress is not None:
        progress(0)
    return totals.result()
