"""Mergeable summaries of one column of one window (or of the reference).

A window's drift statistics are computed from a partial per column, and partials built
from different partitions of the same window merge into the partial of the whole window:

* categorical columns: the count of every value — merging adds counts, memory is one entry
  per distinct value, and every categorical statistic (PSI, Jensen–Shannon, chi-square, Z)
  is exact from it;
* numeric columns: the sorted finite values — merging merges two sorted runs. Wasserstein
  and Kolmogorov–Smirnov depend on every value, and Evidently's PSI / Jensen–Shannon bins
  for a numeric column span the *combined* reference-and-window range with a bin count
  from the combined size (Sturges), so no histogram on edges fixed in advance reproduces
  them. We therefore keep the window exactly (8 bytes a row, the size of the raw column)
  rather than a bounded reservoir whose statistics would only approximate Evidently's.
  Everything else a numeric statistic needs (count, min, max, distinct values, histogram
  on any edges) is derived from the sorted values in O(log n) or O(n) without re-sorting.

Missing values (NaN, None, ±inf) are dropped as Evidently drops them and counted in
``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import DriftInputError

NUMERIC = "numeric"
CATEGORICAL = "categorical"
COLUMN_TYPES = (NUMERIC, CATEGORICAL)

# Evidently infers an integer column as categorical when it has at most this many values.
INTEGER_CARDINALITY_LIMIT = 10


@dataclass(frozen=True)
class NumericPartial:
    """Sorted finite values of a numeric column; `integer` records that every part was
    integer-typed (numpy's Sturges rule never makes integer bins narrower than 1)."""

    values: np.ndarray
    integer: bool
    missing: int = 0

    @property
    def rows(self) -> int:
        return int(self.values.size)

    def merge(self, other: NumericPartial) -> NumericPartial:
        # A stable sort of two concatenated sorted runs is a linear-time merge (timsort).
        values = np.concatenate([self.values, other.values])
        values.sort(kind="stable")
        return NumericPartial(
            values=values,
            integer=self.integer and other.integer,
            missing=self.missing + other.missing,
        )


@dataclass(frozen=True)
class CategoricalPartial:
    """Distinct non-missing values of a categorical column and how often each occurs."""

    values: np.ndarray
    counts: np.ndarray
    missing: int = 0

    @property
    def rows(self) -> int:
        return int(self.counts.sum())

    def merge(self, other: CategoricalPartial) -> CategoricalPartial:
        values, (mine, theirs) = align_counts(self, other)
        return CategoricalPartial(
            values=values, counts=mine + theirs, missing=self.missing + other.missing
        )


ColumnPartial = NumericPartial | CategoricalPartial


def align_counts(*partials: CategoricalPartial) -> tuple[np.ndarray, list[np.ndarray]]:
    """The union of the partials' values and each partial's counts over that union."""
    codes, union = pd.factorize(np.concatenate([p.values for p in partials]))
    aligned, start = [], 0
    for p in partials:
        part = codes[start : start + p.values.size]
        start += p.values.size
        aligned.append(np.bincount(part, weights=p.counts, minlength=len(union)).astype(np.int64))
    return np.asarray(union), aligned


def infer_column_type(values: Any) -> str | None:
    """Evidently's column-type inference for drift: floats are numeric; integers are
    categorical up to 10 distinct values, numeric above; booleans, pandas categoricals and
    strings are categorical — except strings with more distinct values than half the
    non-missing rows, which Evidently treats as free text (None here: text drift is out of
    scope), as it does dates and anything else."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    kind = series.dtype.kind
    if kind == "f":
        return NUMERIC
    if kind in "iu":
        return CATEGORICAL if series.nunique() <= INTEGER_CARDINALITY_LIMIT else NUMERIC
    if kind == "b" or isinstance(series.dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if kind in "OUT" or pd.api.types.is_string_dtype(series.dtype):
        present = series.dropna()
        if present.empty or not isinstance(present.iloc[0], str):
            return None
        return None if series.nunique() > present.size * 0.5 else CATEGORICAL
    return None


def column_partial(values: Any, *, column_type: str) -> ColumnPartial:
    """The partial of one column (array-like or pandas Series) as `column_type`."""
    if column_type == NUMERIC:
        return _numeric_partial(values)
    if column_type == CATEGORICAL:
        return _categorical_partial(values)
    raise DriftInputError(
        f"Unknown column type {column_type!r}; expected one of {', '.join(COLUMN_TYPES)}."
    )


def _numeric_partial(values: Any) -> NumericPartial:
    raw = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if raw.dtype.kind not in "iuf":
        raise DriftInputError(
            f"A numeric column must hold numbers (found values of type {raw.dtype})."
        )
    integer = raw.dtype.kind in "iu"
    finite = raw.astype(np.float64)  # always a copy: it is sorted in place below
    if not integer:
        keep = np.isfinite(finite)
        if not keep.all():
            finite = finite[keep]
    finite.sort()
    return NumericPartial(values=finite, integer=integer, missing=int(raw.size - finite.size))


def _categorical_partial(values: Any) -> CategoricalPartial:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values), copy=False)
    size = int(series.size)
    if series.dtype.kind == "f":
        series = series[np.isfinite(series.to_numpy())]
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques)).astype(np.int64)
    uniques = np.asarray(uniques)
    return CategoricalPartial(values=uniques, counts=counts, missing=size - int(counts.sum()))
