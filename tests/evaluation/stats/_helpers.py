"""Shared builders for the statistics-engine tests (plain data, no fixtures magic)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

TWO_ARMS = [{"key": "control", "allocation": 0.5}, {"key": "treatment", "allocation": 0.5}]


def binomial_experiment(
    control: tuple[int, int] = (10_000, 1_000),
    treatment: tuple[int, int] = (10_000, 1_100),
    **metric: Any,
) -> dict[str, Any]:
    """Keyword arguments for `analyze` with one binomial metric 'conv'."""
    return {
        "variants": TWO_ARMS,
        "control": "control",
        "metrics": [{"key": "conv", "type": "binomial", **metric}],
        "results": {
            "conv": {
                "control": {"users": control[0], "conversions": control[1]},
                "treatment": {"users": treatment[0], "conversions": treatment[1]},
            }
        },
    }


def sums(values: np.ndarray) -> dict[str, float | int]:
    """Continuous aggregates of a per-user array."""
    return {
        "users": int(values.size),
        "sum": float(values.sum()),
        "sum_squares": float((values**2).sum()),
    }


def cuped_sums(y: np.ndarray, x: np.ndarray) -> dict[str, float | int]:
    """Continuous aggregates plus CUPED covariate sums of per-user arrays y and x."""
    return {
        **sums(y),
        "covariate_sum": float(x.sum()),
        "covariate_sum_squares": float((x**2).sum()),
        "covariate_sum_products": float((x * y).sum()),
    }


def load_gbstats() -> ModuleType | None:
    """Import GrowthBook's gbstats 0.8.0 as an independent reference, if available.

    gbstats pins numpy<2 and pandas<2, so it cannot be a normal dependency, but its test
    modules only need scipy, numpy and pydantic, which the project environment has. Either
    install it into the venv with ``pip install --no-deps gbstats==0.8.0`` or into a
    directory with ``pip install --no-deps --target DIR gbstats==0.8.0`` and set
    ``GBSTATS_PATH=DIR``. Returns None (and the reference tests skip) otherwise.
    """
    path = os.environ.get("GBSTATS_PATH")
    if path and Path(path).is_dir() and path not in sys.path:
        sys.path.append(path)
    try:
        import gbstats
        import gbstats.bayesian.tests
        import gbstats.frequentist.tests
        import gbstats.models.statistics
        import gbstats.utils  # noqa: F401 - imported to prove the modules load
    except Exception:  # noqa: BLE001 - any import failure just means "not available"
        return None
    return gbstats
