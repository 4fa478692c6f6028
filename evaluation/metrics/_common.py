"""Small helpers shared by the metric modules: JSON-safe numbers, metric directions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: A metric value as returned to callers: a finite float, or None when undefined.
MetricValue = float | None

#: Which direction is "better" for every metric name the engine produces. Used by `lift`
#: and `compare`, and by slices to decide what "worst" means.
HIGHER_IS_BETTER: dict[str, bool] = {
    # binary
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "specificity": True,
    "roc_auc": True,
    "average_precision": True,
    "log_loss": False,
    "brier": False,
    # multiclass
    "balanced_accuracy": True,
    "f1_macro": True,
    "f1_micro": True,
    "f1_weighted": True,
    # regression
    "rmse": False,
    "mae": False,
    "mape": False,
    "r2": True,
    # ranking
    "precision_at_k": True,
    "recall_at_k": True,
    "map_at_k": True,
    "ndcg_at_k": True,
    "hit_rate": True,
    "coverage": True,
}

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression", "ranking")


def fnum(value: Any) -> MetricValue:
    """A plain Python float, or None for NaN/inf/None (JSON has no NaN)."""
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def ratio(numerator: float, denominator: float) -> MetricValue:
    """numerator / denominator, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return fnum(numerator / denominator)


def jsonable(obj: Any) -> Any:
    """Recursively turn numpy scalars/arrays into Python values and NaN/inf into None.

    Every public result passes through this, so `json.dumps(result, allow_nan=False)`
    always succeeds.
    """
    if isinstance(obj, Mapping):
        return {str(key): jsonable(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(value) for value in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return fnum(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    return str(obj)


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (int64, 0..n_unique-1, -1 for missing) and the unique values.

    pandas' hash-based factorize is O(n) and handles strings without sorting Python
    objects, which matters for ID columns with millions of rows.
    """
    codes, uniques = pd.factorize(np.asarray(values), use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def format_value(value: Any) -> str:
    """A short human label for a slice value or class (1.0 -> "1", 0.123456 -> "0.1235")."""
    if isinstance(value, float | np.floating):
        if math.isfinite(value) and float(value).is_integer():
            return str(int(value))
        return f"{float(value):.4g}"
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def warning(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """One entry of a result's "warnings" list."""
    return {"code": code, "message": message, **extra}
