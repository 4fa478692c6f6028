"""Where a model is wrong most often: the worst feature slices of labelled rows.

Each feature column is cut into slices — one per value (numbers with at most `max_values`
distinct values, booleans, text: the `max_values` most frequent values, the rest pooled as
"other"), or quantile bins for numbers with more distinct values — plus a "(missing)"
slice. A slice's error rate comes with a Wilson score interval, and slices are ranked by
the interval's *lower* bound: a slice of 5 rows with 3 errors (60 %, interval down to
~23 %) ranks below one of 400 rows with 140 (35 %, down to ~30 %), so small noisy slices
do not top the list.

With a per-row loss instead of correctness, the slice's mean loss is ranked by the lower
bound of its Student-t interval instead.

Slice counts (rows, errors; or rows, loss sum, loss sum of squares) add up across
partitions once the slice definitions — values and bin edges — are fixed, e.g. taken from
the first window or the reference (`slice_definitions` then `slice_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .errors import DriftInputError

MISSING_LABEL = "(missing)"
OTHER_LABEL = "other"


@dataclass(frozen=True)
class SliceDefinition:
    """How one column is cut: by `values` (the rest is "other") or by quantile `edges`."""

    column: str
    kind: str  # "values" | "bins"
    values: tuple[Any, ...] = ()
    edges: tuple[float, ...] = ()
    pooled_other: bool = False

    def labels(self) -> list[dict[str, Any]]:
        """Descriptions of the slices by code; "(missing)" is always last."""
        if self.kind == "bins":
            described = []
            for i in range(len(self.edges) - 1):
                lo, hi = self.edges[i], self.edges[i + 1]
                closing = "]" if i == len(self.edges) - 2 else ")"
                described.append(
                    {
                        "value": f"[{lo:.6g}, {hi:.6g}{closing}",
                        "kind": "bin",
                        "lower": lo,
                        "upper": hi,
                    }
                )
        else:
            described = [{"value": _plain(v), "kind": "value"} for v in self.values]
            if self.pooled_other:
                described.append({"value": OTHER_LABEL, "kind": "other"})
        described.append({"value": MISSING_LABEL, "kind": "missing"})
        return described

    def codes(self, column: Any) -> np.ndarray:
        """Slice code of every row (the last code is "(missing)")."""
        series = column if isinstance(column, pd.Series) else pd.Series(np.asarray(column))
        missing = series.isna().to_numpy()
        n_slices = len(self.labels())
        if self.kind == "bins":
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            inner = np.asarray(self.edges[1:-1])
            codes = np.searchsorted(inner, values, side="right")
        else:
            lookup = pd.Index(list(self.values))
            codes = lookup.get_indexer(series)
            codes[codes < 0] = len(self.values)  # unseen or pooled values: "other"
            if not self.pooled_other and (codes[~missing] == len(self.values)).any():
                raise DriftInputError(
                    f"Column {self.column!r} has a value outside its slice definition."
                )
        codes = np.asarray(codes, dtype=np.int64)
        codes[missing] = n_slices - 1
        return codes


def slice_definitions(
    columns: Mapping[str, Any], *, max_values: int = 10, bins: int = 5
) -> list[SliceDefinition]:
    """Slice definitions of every column, from the data itself."""
    return [_definition(name, values, max_values, bins) for name, values in columns.items()]


def _definition(name: str, column: Any, max_values: int, bins: int) -> SliceDefinition:
    series = column if isinstance(column, pd.Series) else pd.Series(np.asarray(column))
    present = series.dropna()
    if series.dtype.kind in "iuf" and present.nunique() > max_values:
        finite = present.to_numpy(dtype=np.float64)
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])
        return SliceDefinition(column=name, kind="bins", edges=tuple(float(e) for e in edges))
    counts = present.value_counts()
    # Most frequent first, equal counts ordered by text so runs are reproducible.
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    kept = tuple(value for value, _ in ranked[:max_values])
    return SliceDefinition(
        column=name, kind="values", values=kept, pooled_other=len(ranked) > max_values
    )


@dataclass(frozen=True)
class SliceCounts:
    """Per-slice sums of one column's slices; partitions merge by addition."""

    definition: SliceDefinition
    rows: np.ndarray
    errors: np.ndarray  # error count, or loss sum
    squares: np.ndarray = field(default_factory=lambda: np.zeros(0))  # loss sum of squares

    def merge(self, other: SliceCounts) -> SliceCounts:
        if other.definition != self.definition:
            raise DriftInputError("Only counts over the same slice definition can be merged.")
        return SliceCounts(
            definition=self.definition,
            rows=self.rows + other.rows,
            errors=self.errors + other.errors,
            squares=self.squares + other.squares,
        )


def slice_counts(
    definitions: Sequence[SliceDefinition], columns: Mapping[str, Any], *, outcome: np.ndarray
) -> list[SliceCounts]:
    """Rows and outcome sums per slice of every defined column."""
    outcome = np.asarray(outcome, dtype=np.float64)
    result = []
    for definition in definitions:
        codes = definition.codes(columns[definition.column])
        if codes.size != outcome.size:
            raise DriftInputError(f"Column {definition.column!r} and the outcome differ in length.")
        n = len(definition.labels())
        result.append(
            SliceCounts(
                definition=definition,
                rows=np.bincount(codes, minlength=n),
                errors=np.bincount(codes, weights=outcome, minlength=n),
                squares=np.bincount(codes, weights=outcome**2, minlength=n),
            )
        )
    return result


@dataclass(frozen=True)
class Slice:
    """One slice's error rate (or mean loss) with its confidence interval."""

    column: str
    value: Any
    kind: str
    rows: int
    errors: float
    rate: float
    ci_low: float
    ci_high: float
    lower: float | None = None
    upper: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(
    errors: np.ndarray, rows: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion errors / rows."""
    z = special.ndtri(0.5 + confidence / 2)
    p = errors / rows
    denominator = 1 + z**2 / rows
    center = (p + z**2 / (2 * rows)) / denominator
    half = z * np.sqrt(p * (1 - p) / rows + z**2 / (4 * rows**2)) / denominator
    return center - half, center + half


def _t_interval(
    sums: np.ndarray, squares: np.ndarray, rows: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):  # empty slices are dropped later
        mean = sums / rows
        variance = np.maximum(squares - rows * mean**2, 0) / (rows - 1)
        half = stats.t.ppf(0.5 + confidence / 2, rows - 1) * np.sqrt(variance / rows)
    half = np.where(rows > 1, half, np.inf)
    return mean - half, mean + half


def rank_slices(
    counts: Sequence[SliceCounts],
    *,
    loss: bool = False,
    confidence: float = 0.95,
    min_rows: int = 1,
) -> list[Slice]:
    """Slices ranked worst first: by the lower confidence bound of the error rate (Wilson)
    or mean loss (Student t), then by the rate itself, then by size."""
    found = []
    for c in counts:
        keep = c.rows >= max(min_rows, 1)
        rows = c.rows.astype(np.float64)
        if loss:
            low, high = _t_interval(c.errors, c.squares, rows, confidence)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                low, high = wilson_interval(c.errors, rows, confidence)
        for code, desc in enumerate(c.definition.labels()):
            if not keep[code]:
                continue
            found.append(
                Slice(
                    column=c.definition.column,
                    value=desc["value"],
                    kind=desc["kind"],
                    rows=int(c.rows[code]),
                    errors=float(c.errors[code]),
                    rate=float(c.errors[code] / rows[code]),
                    ci_low=float(low[code]),
                    ci_high=float(high[code]),
                    lower=desc.get("lower"),
                    upper=desc.get("upper"),
                )
            )
    found.sort(key=lambda s: (-s.ci_low, -s.rate, -s.rows, s.column, str(s.value)))
    return found


def worst_slices(
    columns: Mapping[str, Any],
    *,
    errors: np.ndarray | None = None,
    loss: np.ndarray | None = None,
    max_values: int = 10,
    bins: int = 5,
    confidence: float = 0.95,
    min_rows: int = 1,
    top: int | None = None,
) -> list[Slice]:
    """The worst slices of labelled rows, worst first.

    Pass `errors` (per-row True/1 when the model was wrong) to rank error rates with
    Wilson intervals, or `loss` (per-row non-negative loss) to rank mean losses with
    Student-t intervals.
    """
    if (errors is None) == (loss is None):
        raise DriftInputError("Pass exactly one of errors (per-row wrong/right) or loss.")
    outcome = np.asarray(errors if errors is not None else loss, dtype=np.float64)
    if np.isnan(outcome).any():
        raise DriftInputError("The per-row outcome must not contain missing values.")
    if errors is not None and not np.isin(outcome, (0.0, 1.0)).all():
        raise DriftInputError("errors must be booleans or 0/1 per row.")
    definitions = slice_definitions(columns, max_values=max_values, bins=bins)
    counts = slice_counts(definitions, columns, outcome=outcome)
    ranked = rank_slices(counts, loss=loss is not None, confidence=confidence, min_rows=min_rows)
    return ranked if top is None else ranked[:top]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
