"""Pure production-monitoring engine (no Django): data drift per column with Evidently's
default methods. Works on numpy arrays, pandas objects or mappings of
column → values; window statistics come from partials that merge across partitions."""

from evaluation.drift.data_drift import (
    ColumnDrift,
    DriftReport,
    column_distribution,
    column_drift,
    data_drift,
    default_method,
    drift_from_partials,
    drift_report,
    frame_partials,
    infer_column_types,
    merge_partials,
)
from evaluation.drift.errors import DriftInputError
from evaluation.drift.partials import (
    CATEGORICAL,
    NUMERIC,
    CategoricalPartial,
    NumericPartial,
    column_partial,
    infer_column_type,
)
from evaluation.drift.stattests import DEFAULT_THRESHOLDS

__all__ = [
    "CATEGORICAL",
    "DEFAULT_THRESHOLDS",
    "NUMERIC",
    "CategoricalPartial",
    "ColumnDrift",
    "DriftInputError",
    "DriftReport",
    "NumericPartial",
    "column_distribution",
    "column_drift",
    "column_partial",
    "data_drift",
    "default_method",
    "drift_from_partials",
    "drift_report",
    "frame_partials",
    "infer_column_type",
    "infer_column_types",
    "merge_partials",
]
