"""Regression metrics and the residual distribution.

Residuals are ``y_true − y_pred`` (positive = the model under-predicts).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import MetricValue, fnum
from .errors import EvaluationInputError

REGRESSION_METRICS: tuple[str, ...] = ("rmse", "mae", "mape", "r2")

RESIDUAL_QUANTILES: tuple[float, ...] = (
    0.0,
    0.01,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    0.9,
    0.95,
    0.99,
    1.0,
)


def regression_metrics(*, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, MAPE and R² of predictions against targets.

    * MAPE is a fraction (0.1 = 10 %), averaged over rows whose target is not 0; those
      rows are excluded and counted in ``mape_excluded_rows`` (scikit-learn instead divides
      by machine epsilon there, which makes the value meaningless; it also floors tiny
      targets at epsilon, so the two differ for 0 < |target| < 2.2e-16). None when every
      target is 0.
    * R² is None when the target is constant (scikit-learn returns 0 or 1 there by
      convention; neither says anything about the model).

    Returns ``{"metrics": {rmse, mae, mape, r2}, "undefined": {metric: reason},
    "mape_excluded_rows": int}``.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise EvaluationInputError("Targets and predictions must be 1-D and the same length.")
    n = y.size
    if n == 0:
        raise EvaluationInputError("There are no rows to evaluate.")
    residual = y - p
    abs_res = np.abs(residual)
    undefined: dict[str, str] = {}
    sse = float(np.dot(residual, residual))
    values: dict[str, MetricValue] = {"rmse": np.sqrt(sse / n), "mae": float(abs_res.mean())}
    nonzero = y != 0
    kept = int(np.count_nonzero(nonzero))
    excluded = n - kept
    if kept:
        values["mape"] = float((abs_res[nonzero] / np.abs(y[nonzero])).mean())
    else:
        values["mape"] = None
        undefined["mape"] = "Every target is 0, so percentage errors are undefined."
    centred = y - y.mean()
    sst = float(np.dot(centred, centred))
    if sst > 0:
        values["r2"] = 1.0 - sse / sst
    else:
        values["r2"] = None
        undefined["r2"] = (
            "The target has the same value in every row, so R² (variance explained) is undefined."
        )
    return {
        "metrics": {name: fnum(values[name]) for name in REGRESSION_METRICS},
        "undefined": undefined,
        "mape_excluded_rows": excluded,
    }


def residual_distribution(
    *, y_true: np.ndarray, y_pred: np.ndarray, bins: int = 30
) -> dict[str, Any]:
    """Histogram and quantiles of residuals ``y_true − y_pred``.

    The histogram spans the 0.5 %–99.5 % quantiles so that a few extreme residuals do not
    squash every other bar into one; rows outside are counted in ``below`` / ``above``.

    Returns ``{"mean", "std", "quantiles": [{"q", "value"}], "histogram": {"edges": [...],
    "counts": [...], "below": int, "above": int}}``.
    """
    residual = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    if residual.size == 0:
        raise EvaluationInputError("There are no rows to evaluate.")
    qs = np.quantile(residual, RESIDUAL_QUANTILES)
    lo, hi = np.quantile(residual, [0.005, 0.995])
    counts, edges = np.histogram(residual, bins=bins, range=(float(lo), float(hi)))
    if hi > lo:
        below = int(np.count_nonzero(residual < lo))
        above = int(np.count_nonzero(residual > hi))
    else:
        # All residuals in the middle 99 % are equal: numpy widens the range by ±0.5.
        below = int(np.count_nonzero(residual < edges[0]))
        above = int(np.count_nonzero(residual > edges[-1]))
    return {
        "mean": fnum(residual.mean()),
        "std": fnum(residual.std()),
        "quantiles": [
            {"q": q, "value": fnum(v)} for q, v in zip(RESIDUAL_QUANTILES, qs, strict=True)
        ],
        "histogram": {
            "edges": [fnum(e) for e in edges],
            "counts": [int(c) for c in counts],
            "below": below,
            "above": above,
        },
    }
