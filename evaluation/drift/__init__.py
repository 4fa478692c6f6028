"""Pure production-monitoring engine (no Django): data drift per column with Evidently's
default methods, confidence-based performance estimation (CBPE) as NannyML defines it, and
the worst slices of labelled rows. Works on numpy arrays, pandas objects or mappings of
column → values; window statistics come from partials that merge across partitions."""

from evaluation.drift.cbpe import (
    CBPEEstimate,
    CBPEModel,
    ExpectedConfusion,
    IsotonicCalibrator,
    cbpe_estimate,
    cbpe_fit,
    estimated_roc_auc,
    expected_confusion,
    isotonic_fit,
    needs_calibration,
)
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
from evaluation.drift.slices import (
    Slice,
    SliceCounts,
    SliceDefinition,
    rank_slices,
    slice_counts,
    slice_definitions,
    wilson_interval,
    worst_slices,
)
from evaluation.drift.stattests import DEFAULT_THRESHOLDS

__all__ = [
    "CATEGORICAL",
    "DEFAULT_THRESHOLDS",
    "NUMERIC",
    "CBPEEstimate",
    "CBPEModel",
    "CategoricalPartial",
    "ColumnDrift",
    "DriftInputError",
    "DriftReport",
    "ExpectedConfusion",
    "IsotonicCalibrator",
    "NumericPartial",
    "Slice",
    "SliceCounts",
    "SliceDefinition",
    "cbpe_estimate",
    "cbpe_fit",
    "column_distribution",
    "column_drift",
    "column_partial",
    "data_drift",
    "default_method",
    "drift_from_partials",
    "drift_report",
    "estimated_roc_auc",
    "expected_confusion",
    "frame_partials",
    "infer_column_type",
    "infer_column_types",
    "isotonic_fit",
    "merge_partials",
    "needs_calibration",
    "rank_slices",
    "slice_counts",
    "slice_definitions",
    "wilson_interval",
    "worst_slices",
]
