"""Data drift per column and per dataset, with Evidently 0.7's default method choice.

Which test a column gets (Evidently's ``_get_default_stattest``; "n_unique" counts the
distinct non-missing values of reference and current together, "reference rows" the
non-missing reference rows):

====================  ===========  ==============================  =================
reference rows        column type  n_unique                        method (threshold)
====================  ===========  ==============================  =================
≤ 1000                numeric      > 5                             ks (p ≤ 0.05)
≤ 1000                numeric      3–5                             chisquare (p < 0.05)
≤ 1000                numeric      ≤ 2                             z (p < 0.05)
≤ 1000                categorical  > 2                             chisquare (p < 0.05)
≤ 1000                categorical  ≤ 2                             z (p < 0.05)
> 1000                numeric      > 5                             wasserstein (≥ 0.1)
> 1000                numeric      ≤ 5                             jensenshannon (≥ 0.1)
> 1000                categorical  any                             jensenshannon (≥ 0.1)
====================  ===========  ==============================  =================

PSI (threshold 0.1) is computed for every column besides the chosen method. The dataset
drifts when the share of drifted columns is at least `drift_share` (default 0.5).

PSI and Jensen–Shannon compare shares over bins: for a numeric column whose *reference*
has more than 20 distinct values, Sturges bins spanning the combined range; otherwise one
bin per distinct value of either side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import stattests as st
from .errors import DriftInputError
from .partials import (
    CATEGORICAL,
    NUMERIC,
    CategoricalPartial,
    ColumnPartial,
    NumericPartial,
    align_counts,
    column_partial,
    infer_column_type,
)

DEFAULT_DRIFT_SHARE = 0.5
# Evidently switches from significance tests to distances above this many reference rows.
SMALL_REFERENCE_ROWS = 1000
METHODS = tuple(st.DEFAULT_THRESHOLDS)
NUMERIC_METHODS = frozenset({"ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z"})
CATEGORICAL_METHODS = frozenset({"psi", "jensenshannon", "chisquare", "z"})


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict for one column; `statistic` is a p-value for ks/chisquare/z and a
    distance for the others, `psi` is always the PSI (Evidently's binning)."""

    column: str
    type: str
    method: str
    statistic: float
    threshold: float
    drifted: bool
    psi: float
    reference_rows: int
    current_rows: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift plus the dataset verdict (share of drifted columns ≥ drift_share)."""

    columns: list[ColumnDrift]
    drifted_columns: int
    share_drifted: float
    drift_share: float
    dataset_drifted: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.as_dict() for c in self.columns],
            "drifted_columns": self.drifted_columns,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "dataset_drifted": self.dataset_drifted,
        }


# --- one column ---------------------------------------------------------------------------


def column_type_of(partial: ColumnPartial) -> str:
    return NUMERIC if isinstance(partial, NumericPartial) else CATEGORICAL


def default_method(reference: ColumnPartial, current: ColumnPartial) -> str:
    """Evidently's automatic choice of test for this pair of partials (table above)."""
    n_unique = _combined_unique(reference, current, at_most=6)
    if reference.rows <= SMALL_REFERENCE_ROWS:
        if isinstance(reference, NumericPartial) and n_unique > 5:
            return "ks"
        return "chisquare" if n_unique > 2 else "z"
    if isinstance(reference, NumericPartial) and n_unique > 5:
        return "wasserstein"
    return "jensenshannon"


def column_drift(
    reference: ColumnPartial,
    current: ColumnPartial,
    *,
    column: str,
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of one column between two partials of the same type.

    `method` overrides Evidently's automatic choice (one of ``ks``, ``wasserstein``,
    ``psi``, ``jensenshannon``, ``chisquare``, ``z``), `threshold` the method's default.
    """
    kind = column_type_of(reference)
    if column_type_of(current) != kind:
        raise DriftInputError(
            f"Column {column!r} is {kind} in the reference but not in the window."
        )
    if reference.rows == 0 or current.rows == 0:
        side = "reference" if reference.rows == 0 else "window"
        raise DriftInputError(f"Column {column!r} has no non-missing values in the {side}.")
    chosen = method or default_method(reference, current)
    allowed = NUMERIC_METHODS if kind == NUMERIC else CATEGORICAL_METHODS
    if chosen not in allowed:
        raise DriftInputError(
            f"Method {chosen!r} does not apply to the {kind} column {column!r}; "
            f"use one of {', '.join(sorted(allowed))}."
        )
    limit = st.DEFAULT_THRESHOLDS[chosen] if threshold is None else float(threshold)
    psi = st.psi(*_binned_counts(reference, current))
    statistic = psi if chosen == "psi" else _statistic(chosen, reference, current)
    return ColumnDrift(
        column=column,
        type=kind,
        method=chosen,
        statistic=statistic,
        threshold=limit,
        drifted=st.is_drifted(chosen, statistic, limit),
        psi=psi,
        reference_rows=reference.rows,
        current_rows=current.rows,
    )


def _statistic(method: str, reference: ColumnPartial, current: ColumnPartial) -> float:
    if method == "wasserstein":
        assert isinstance(reference, NumericPartial) and isinstance(current, NumericPartial)
        return st.wasserstein_normed(
            reference.values, current.values, reference_std=float(np.std(reference.values))
        )
    if method == "ks":
        assert isinstance(reference, NumericPartial) and isinstance(current, NumericPartial)
        return st.ks_pvalue(reference.values, current.values)
    if method == "jensenshannon":
        return st.jensenshannon(*_binned_counts(reference, current))
    values, ref_counts, cur_counts = _value_counts(reference, current)
    if method == "chisquare":
        return st.chisquare_pvalue(ref_counts, cur_counts)
    return _z_pvalue(values, ref_counts, cur_counts)


def _z_pvalue(values: np.ndarray, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    if values.size > 2:
        raise DriftInputError("The z test compares two values; this column has more.")
    if values.size == 1:  # both sides hold the same single value: nothing moved
        return 1.0
    # Evidently codes the smallest value 0 and the other 1, and tests the share of 1s.
    second = 1 if sorted(values.tolist())[0] == values[0] else 0
    return st.z_pvalue(
        reference_second=int(ref_counts[second]),
        reference_rows=int(ref_counts.sum()),
        current_second=int(cur_counts[second]),
        current_rows=int(cur_counts.sum()),
    )


def _value_counts(
    reference: ColumnPartial, current: ColumnPartial
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of distinct values and both sides' counts over it."""
    if isinstance(reference, CategoricalPartial) and isinstance(current, CategoricalPartial):
        values, (ref_counts, cur_counts) = align_counts(reference, current)
        return values, ref_counts, cur_counts
    assert isinstance(reference, NumericPartial) and isinstance(current, NumericPartial)
    ref_values, ref_runs = st.value_runs(reference.values)
    cur_values, cur_runs = st.value_runs(current.values)
    values = np.union1d(ref_values, cur_values)
    ref_counts = np.zeros(values.size, dtype=np.int64)
    cur_counts = np.zeros(values.size, dtype=np.int64)
    ref_counts[np.searchsorted(values, ref_values)] = ref_runs
    cur_counts[np.searchsorted(values, cur_values)] = cur_runs
    return values, ref_counts, cur_counts


def _binned_counts(
    reference: ColumnPartial, current: ColumnPartial
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides' counts over Evidently's PSI / Jensen–Shannon bins."""
    if isinstance(reference, NumericPartial) and isinstance(current, NumericPartial):
        if _distinct_at_most(reference.values, st.NUMERIC_BINNING_MIN_UNIQUE + 1) > (
            st.NUMERIC_BINNING_MIN_UNIQUE
        ):
            edges = st.sturges_edges(
                low=min(reference.values[0], current.values[0]),
                high=max(reference.values[-1], current.values[-1]),
                size=reference.rows + current.rows,
                integer=reference.integer and current.integer,
            )
            return (
                st.counts_on_edges(reference.values, edges),
                st.counts_on_edges(current.values, edges),
            )
    _, ref_counts, cur_counts = _value_counts(reference, current)
    return ref_counts, cur_counts


def _distinct_at_most(sorted_values: np.ndarray, limit: int) -> int:
    """Number of distinct values of a sorted array, counted only up to `limit` (cheap for
    continuous columns, whose first few hundred values already tell)."""
    probe = sorted_values[:: max(1, sorted_values.size // (4 * limit))]
    if st.value_runs(probe)[0].size >= limit:
        return limit
    return min(limit, int(st.value_runs(sorted_values)[0].size))


def _combined_unique(reference: ColumnPartial, current: ColumnPartial, *, at_most: int) -> int:
    if isinstance(reference, NumericPartial) and isinstance(current, NumericPartial):
        if _distinct_at_most(reference.values, at_most) >= at_most:
            return at_most
        values = np.union1d(st.value_runs(reference.values)[0], st.value_runs(current.values)[0])
        return min(at_most, int(values.size))
    assert isinstance(reference, CategoricalPartial) and isinstance(current, CategoricalPartial)
    return min(at_most, int(align_counts(reference, current)[0].size))


# --- a dataset ----------------------------------------------------------------------------


def frame_partials(
    frame: Any, *, column_types: Mapping[str, str], columns: Sequence[str] | None = None
) -> dict[str, ColumnPartial]:
    """Partials of the chosen columns of a DataFrame (or a mapping of column → values)."""
    names = list(column_types) if columns is None else list(columns)
    missing = [name for name in names if name not in frame]
    if missing:
        raise DriftInputError(f"Missing column(s): {', '.join(map(repr, missing))}.")
    return {name: column_partial(frame[name], column_type=column_types[name]) for name in names}


def merge_partials(*parts: Mapping[str, ColumnPartial]) -> dict[str, ColumnPartial]:
    """Merge partials of the same columns computed on different partitions of a window."""
    merged: dict[str, ColumnPartial] = dict(parts[0])
    for part in parts[1:]:
        if set(part) != set(merged):
            raise DriftInputError("Partials to merge must cover the same columns.")
        for name, partial in part.items():
            merged[name] = merged[name].merge(partial)  # type: ignore[arg-type]
    return merged


def drift_report(
    columns: Sequence[ColumnDrift], *, drift_share: float = DEFAULT_DRIFT_SHARE
) -> DriftReport:
    """The dataset verdict over per-column results."""
    if not columns:
        raise DriftInputError("No column to compare.")
    drifted = sum(1 for c in columns if c.drifted)
    share = drifted / len(columns)
    return DriftReport(
        columns=list(columns),
        drifted_columns=drifted,
        share_drifted=share,
        drift_share=drift_share,
        dataset_drifted=bool(share >= drift_share),
    )


def drift_from_partials(
    reference: Mapping[str, ColumnPartial],
    current: Mapping[str, ColumnPartial],
    *,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DriftReport:
    """Drift of every column of `reference` (a stored profile) against a window's merged
    partials."""
    methods, thresholds = methods or {}, thresholds or {}
    results = []
    for name, ref in reference.items():
        if name not in current:
            raise DriftInputError(f"The window has no column {name!r}.")
        results.append(
            column_drift(
                ref,
                current[name],
                column=name,
                method=methods.get(name),
                threshold=thresholds.get(name),
            )
        )
    return drift_report(results, drift_share=drift_share)


def infer_column_types(frame: Any, columns: Sequence[str] | None = None) -> dict[str, str]:
    """Evidently's type for each column that drift applies to (text, dates and unknown
    columns are left out)."""
    names = (
        list(frame.columns if hasattr(frame, "columns") else frame) if columns is None else columns
    )
    types = {}
    for name in names:
        kind = infer_column_type(frame[name])
        if kind is not None:
            types[name] = kind
    return types


def data_drift(
    reference: Any,
    current: Any,
    *,
    column_types: Mapping[str, str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DriftReport:
    """Evidently-equivalent data drift of `current` against `reference` (DataFrames or
    mappings of column → values), one column at a time so that memory stays bounded by
    one column's working set.

    `column_types` maps column → ``"numeric"`` / ``"categorical"``; by default every
    column of the reference that Evidently would type as numeric or categorical.
    """
    types = dict(column_types) if column_types is not None else infer_column_types(reference)
    methods, thresholds = methods or {}, thresholds or {}
    results = []
    for name, kind in types.items():
        for side, frame in (("reference", reference), ("window", current)):
            if name not in frame:
                raise DriftInputError(f"The {side} has no column {name!r}.")
        results.append(
            column_drift(
                column_partial(reference[name], column_type=kind),
                column_partial(current[name], column_type=kind),
                column=name,
                method=methods.get(name),
                threshold=thresholds.get(name),
            )
        )
    return drift_report(results, drift_share=drift_share)


# --- chart drill-down ---------------------------------------------------------------------


def column_distribution(
    reference: ColumnPartial, current: ColumnPartial, *, bins: int | Sequence[float] | None = None
) -> dict[str, Any]:
    """Both sides' distribution of one column for a chart.

    Numeric: counts over shared bins — by default numpy's Doane rule over the combined
    sample, as Evidently's drill-down histogram — returned as ``{"type": "numeric",
    "edges", "reference", "current"}`` (counts) plus shares. Categorical: counts per value,
    values ordered by their text as Evidently orders them.
    """
    if isinstance(reference, NumericPartial) and isinstance(current, NumericPartial):
        if bins is None or isinstance(bins, int):
            combined = np.concatenate([reference.values, current.values])
            edges = np.histogram_bin_edges(combined, bins="doane" if bins is None else bins)
        else:
            edges = np.asarray(bins, dtype=np.float64)
        ref_counts = st.counts_on_edges(reference.values, edges)
        cur_counts = st.counts_on_edges(current.values, edges)
        return {
            "type": NUMERIC,
            "edges": edges.tolist(),
            "reference": ref_counts.tolist(),
            "current": cur_counts.tolist(),
            "reference_share": _shares(ref_counts),
            "current_share": _shares(cur_counts),
        }
    values, ref_counts, cur_counts = _value_counts(reference, current)
    order = sorted(range(values.size), key=lambda i: str(values[i]))
    ref_counts, cur_counts = ref_counts[order], cur_counts[order]
    return {
        "type": CATEGORICAL,
        "values": [_plain(values[i]) for i in order],
        "reference": ref_counts.tolist(),
        "current": cur_counts.tolist(),
        "reference_share": _shares(ref_counts),
        "current_share": _shares(cur_counts),
    }


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * counts.size


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


__all__ = [
    "ColumnDrift",
    "DriftReport",
    "column_distribution",
    "column_drift",
    "data_drift",
    "default_method",
    "drift_from_partials",
    "drift_report",
    "frame_partials",
    "infer_column_types",
    "merge_partials",
]
