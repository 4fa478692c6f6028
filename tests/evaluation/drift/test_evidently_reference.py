"""Data drift against Evidently 0.7.23's DataDriftPreset, column by column.

Every case is a reference and a current frame with numeric and categorical columns of many
shapes (continuous, skewed with missing and infinite values, wide and narrow integers,
few-valued numbers, binary numbers, categories appearing and vanishing, binary and constant
categories, booleans), at reference sizes on both sides of Evidently's 1000-row switch.
Evidently runs once for all cases (see `_reference`), reporting its chosen method, score,
threshold and verdict per column, the PSI of every column, and the dataset verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from evaluation.drift import data_drift

from ._reference import reference_python, run_reference

REFERENCE, WHY_NOT = reference_python()
pytestmark = pytest.mark.skipif(REFERENCE is None, reason=f"Evidently reference: {WHY_NOT}")

NUMERICAL = ["normal", "skewed", "int_wide", "steps", "few", "binary_num"]
CATEGORICAL = ["cat", "binary_cat", "cat_int", "const", "flag"]
SMALL = [(200, 150), (500, 900), (1000, 1200), (300, 1500), (999, 400), (800, 800)]
LARGE = [(1001, 1000), (3000, 2500), (8000, 6000), (1500, 4000), (5000, 1200), (2000, 2000)]
SIZES = [(seed, *size) for seed, size in enumerate(SMALL + LARGE)]
# Relative agreement asked of deterministic statistics; p-values below 1e-300 are compared
# absolutely (both sides underflow differently).
RTOL = 1e-9


def make_frames(seed: int, ref_rows: int, cur_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    shift = [0.0, 0.05, 0.3][seed % 3]

    def frame(rows: int, drift: float, current: bool) -> pd.DataFrame:
        skewed = rng.lognormal(mean=drift, sigma=1.0, size=rows)
        skewed[rng.random(rows) < 0.05] = np.nan
        if current:
            skewed[rng.random(rows) < 0.01] = np.inf
        categories = ["a", "b", "c", "d", "e", "f"]
        weights = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
        if current and drift:
            categories = ["a", "b", "c", "d", "e", "new"]  # "f" vanishes, "new" appears
            weights = np.roll(weights, 1)
        steps_high = 31 if current and drift else 16  # ≤ 20 distinct values in the reference
        return pd.DataFrame(
            {
                "normal": rng.normal(loc=drift, scale=1 + drift, size=rows),
                "skewed": skewed,
                "int_wide": rng.integers(0, 200 + int(100 * drift), size=rows),
                "steps": rng.integers(0, steps_high, size=rows).astype(np.float64),
                "few": rng.choice([0.0, 1.0, 2.5, 4.0], p=[0.4, 0.3, 0.2, 0.1], size=rows),
                "binary_num": (rng.random(rows) < 0.3 + drift / 3).astype(np.float64),
                "cat": rng.choice(categories, p=weights / weights.sum(), size=rows),
                "binary_cat": rng.choice(
                    ["no", "yes"], p=[0.6 - drift / 3, 0.4 + drift / 3], size=rows
                ),
                "cat_int": rng.choice([1, 2, 3, 4], size=rows),
                "const": np.full(rows, "k"),
                "flag": rng.random(rows) < 0.5 + drift / 2,
            }
        )

    return frame(ref_rows, 0.0, False), frame(cur_rows, shift, True)


TYPES = {**dict.fromkeys(NUMERICAL, "numeric"), **dict.fromkeys(CATEGORICAL, "categorical")}


@pytest.fixture(scope="module")
def evidently(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cases = []
    for seed, ref_rows, cur_rows in SIZES:
        reference, current = make_frames(seed, ref_rows, cur_rows)
        cases.append(
            {
                "id": f"s{seed}",
                "reference": reference,
                "current": current,
                "numerical": NUMERICAL,
                "categorical": CATEGORICAL,
            }
        )
    return run_reference("drift", cases, tmp_path_factory.mktemp("evidently"))


def ours(seed: int, ref_rows: int, cur_rows: int) -> dict[str, Any]:
    reference, current = make_frames(seed, ref_rows, cur_rows)
    return data_drift(reference, current, column_types=TYPES).as_dict()


def close(a: float, b: float) -> bool:
    if abs(a) < 1e-300 and abs(b) < 1e-300:
        return True
    return bool(np.isclose(a, b, rtol=RTOL, atol=0))


CASES = pytest.mark.parametrize(("seed", "ref_rows", "cur_rows"), SIZES)


@CASES
def test_each_column_gets_the_method_and_threshold_evidently_chooses(
    evidently: dict[str, Any], seed: int, ref_rows: int, cur_rows: int
) -> None:
    theirs = evidently[f"s{seed}"]["columns"]
    for column in ours(seed, ref_rows, cur_rows)["columns"]:
        expected = theirs[column["column"]]
        assert (column["method"], column["threshold"]) == (
            expected["method"],
            expected["threshold"],
        ), column["column"]


@CASES
def test_each_drift_statistic_equals_evidentlys(
    evidently: dict[str, Any], seed: int, ref_rows: int, cur_rows: int
) -> None:
    theirs = evidently[f"s{seed}"]["columns"]
    for column in ours(seed, ref_rows, cur_rows)["columns"]:
        expected = theirs[column["column"]]["statistic"]
        assert close(column["statistic"], expected), (
            column["column"],
            column["statistic"],
            expected,
        )


@CASES
def test_each_drift_verdict_equals_evidentlys(
    evidently: dict[str, Any], seed: int, ref_rows: int, cur_rows: int
) -> None:
    theirs = evidently[f"s{seed}"]["columns"]
    for column in ours(seed, ref_rows, cur_rows)["columns"]:
        assert column["drifted"] == theirs[column["column"]]["drifted"], column["column"]


@CASES
def test_psi_of_every_column_equals_evidentlys(
    evidently: dict[str, Any], seed: int, ref_rows: int, cur_rows: int
) -> None:
    theirs = evidently[f"s{seed}"]["columns"]
    for column in ours(seed, ref_rows, cur_rows)["columns"]:
        expected = theirs[column["column"]]["psi"]
        assert close(column["psi"], expected), (column["column"], column["psi"], expected)


@CASES
def test_share_of_drifted_columns_and_dataset_verdict_equal_evidentlys(
    evidently: dict[str, Any], seed: int, ref_rows: int, cur_rows: int
) -> None:
    theirs = evidently[f"s{seed}"]
    report = ours(seed, ref_rows, cur_rows)
    assert report["drifted_columns"] == theirs["drifted_columns"]
    assert report["share_drifted"] == pytest.approx(theirs["share_drifted"], abs=1e-15)
    assert report["dataset_drifted"] == theirs["dataset_drifted"]


def test_cases_cover_every_default_method(evidently: dict[str, Any]) -> None:
    methods = {
        (TYPES[name], column["method"])
        for case in evidently.values()
        for name, column in case["columns"].items()
    }
    assert methods == {
        ("numeric", "ks"),
        ("numeric", "chisquare"),
        ("numeric", "z"),
        ("numeric", "wasserstein"),
        ("numeric", "jensenshannon"),
        ("categorical", "chisquare"),
        ("categorical", "z"),
        ("categorical", "jensenshannon"),
    }
