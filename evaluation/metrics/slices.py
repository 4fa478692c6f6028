"""Metrics per slice of a feature column, worst slice first.

How a column is cut into slices:

* numeric with at most `max_values` distinct values, or text: one slice per value; for text
  only the `max_values` most frequent values get their own slice, the rest are pooled in
  ``"other"``;
* numeric with more distinct values: quantile bins (`bins` of them, fewer when quantiles
  coincide), labelled by interval ``[lo, hi)`` (the last one ``[lo, hi]``);
* missing values (empty cells, NaN) form a ``"(missing)"`` slice.

Slices with fewer than `min_rows` rows are listed (with their row count, flagged
``"small": True``) but their metrics are not computed: a handful of rows makes any metric
noise. The rest are ordered worst first by the task's primary metric; slices where the
primary metric is undefined come next, small slices last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._common import MetricValue, format_value
from .errors import EvaluationInputError

MISSING_LABEL = "(missing)"
OTHER_LABEL = "other"


def slice_codes(
    column: np.ndarray, *, max_values: int = 10, bins: int = 5
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Assign every row to a slice: (int codes per row, slice descriptions by code).

    Each description is ``{"value": label, "kind": "value" | "bin" | "other" | "missing"}``
    (bins also carry ``"lower"`` and ``"upper"``).
    """
    col = np.asarray(column)
    if col.dtype.kind in "iufb":
        values = col.astype(np.float64, copy=False)
        missing = np.isnan(values)
        distinct = pd.unique(values[~missing])
        if distinct.size > max_values:
            return _quantile_bins(values, missing, bins)
        return _by_value(values, missing, max_values)
    return _by_value(col, pd.Series(col, copy=False).isna().to_numpy(), max_values)


def _by_value(
    values: np.ndarray, missing: np.ndarray, max_values: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    # Most frequent first; equal counts by label so the order is stable across runs.
    order = sorted(range(len(uniques)), key=lambda i: (-counts[i], format_value(uniques[i])))
    keep = order[:max_values]
    remap = np.full(len(uniques) + 1, len(keep), dtype=np.int64)  # default: "other"
    for new, old in enumerate(keep):
        remap[old] = new
    described = [{"value": format_value(uniques[i]), "kind": "value"} for i in keep]
    out = remap[codes]
    if len(order) > max_values:
        described.append({"value": OTHER_LABEL, "kind": "other"})
    if missing.any():
        out[missing] = len(described)
        described.append({"value": MISSING_LABEL, "kind": "missing"})
    return out, described


def _quantile_bins(
    values: np.ndarray, missing: np.ndarray, bins: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    finite = values[~missing]
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
    inner = edges[1:-1]
    codes = np.searchsorted(inner, values, side="right").astype(np.int64)
    described = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        closing = "]" if i == len(edges) - 2 else ")"
        described.append(
            {
                "value": f"[{format_value(lo)}, {format_value(hi)}{closing}",
                "kind": "bin",
                "lower": float(lo),
                "upper": float(hi),
            }
        )
    if missing.any():
        codes[missing] = len(described)
        described.append({"value": MISSING_LABEL, "kind": "missing"})
    return codes, described


def evaluate_slices(
    *,
    columns: Mapping[str, np.ndarray],
    slice_columns: Sequence[str],
    metric_fn: Callable[[np.ndarray], dict[str, Any]],
    primary: str,
    higher_is_better: bool,
    overall: MetricValue = None,
    min_rows: int = 30,
    max_values: int = 10,
    bins: int = 5,
) -> list[dict[str, Any]]:
    """Metrics of every slice of every column in `slice_columns`, worst first.

    `metric_fn(mask)` returns ``{"metrics": {...}, "undefined": {...}}`` for the rows where
    the boolean `mask` is true. Returns entries ``{"column", "value", "kind", "rows",
    "small", "metrics", "undefined", "primary_metric", "primary_value", "delta_vs_overall"}``
    (``delta_vs_overall`` = slice − overall value of the primary metric).
    """
    entries: list[dict[str, Any]] = []
    for name in slice_columns:
        if name not in columns:
            available = ", ".join(sorted(columns)) or "(none)"
            raise EvaluationInputError(
                f"Slice column {name!r} is not among the feature columns ({available})."
            )
        codes, described = slice_codes(columns[name], max_values=max_values, bins=bins)
        sizes = np.bincount(codes, minlength=len(described))
        for code, desc in enumerate(described):
            rows = int(sizes[code])
            if rows == 0:
                continue
            entry: dict[str, Any] = {"column": name, **desc, "rows": rows}
            entry["small"] = rows < min_rows
            entry["primary_metric"] = primary
            if entry["small"]:
                entry["metrics"] = None
                entry["undefined"] = {
                    "*": f"Only {rows} rows (< {min_rows}); metrics are not computed."
                }
                entry["primary_value"] = None
            else:
                result = metric_fn(codes == code)
                entry["metrics"] = result["metrics"]
                entry["undefined"] = result["undefined"]
                entry["primary_value"] = result["metrics"].get(primary)
            value = entry["primary_value"]
            entry["delta_vs_overall"] = (
                value - overall if value is not None and overall is not None else None
            )
            entries.append(entry)

    def worst_first(entry: dict[str, Any]) -> tuple[int, float, int]:
        value = entry["primary_value"]
        if entry["small"]:
            return (2, 0.0, -entry["rows"])
        if value is None:
            return (1, 0.0, -entry["rows"])
        return (0, value if higher_is_better else -value, -entry["rows"])

    entries.sort(key=worst_first)
    return entries
