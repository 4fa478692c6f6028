"""Streaming aggregation of raw per-user rows from CSV, gzip CSV and Parquet files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.stats import StatsInputError, aggregate_file, analyze
from tests.evaluation.stats._helpers import TWO_ARMS

METRICS = [
    {"key": "conv", "type": "binomial", "column": "converted"},
    {"key": "revenue", "type": "continuous"},
]


def user_rows(n: int = 1_000, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "variant": rng.choice(["control", "treatment"], size=n),
            "converted": rng.integers(0, 2, size=n),
            "revenue": rng.gamma(2.0, 10.0, size=n).round(2),
            "pre_revenue": rng.gamma(2.0, 10.0, size=n).round(2),
        }
    )


def expected_aggregates(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {"conv": {}, "revenue": {}}
    for variant, group in frame.groupby("variant"):
        y, x = group["revenue"].to_numpy(), group["pre_revenue"].to_numpy()
        out["conv"][variant] = {"users": len(group), "conversions": int(group["converted"].sum())}
        out["revenue"][variant] = {
            "users": len(group),
            "sum": y.sum(),
            "sum_squares": (y**2).sum(),
            "covariate_sum": x.sum(),
            "covariate_sum_squares": (x**2).sum(),
            "covariate_sum_products": (x * y).sum(),
        }
    return out


def aggregate(source: object, **overrides: object) -> dict:
    options: dict = {
        "variant_column": "variant",
        "variants": ["control", "treatment"],
        "metrics": METRICS,
        "covariates": {"revenue": "pre_revenue"},
        "chunk_size": 128,
    }
    options.update(overrides)
    return aggregate_file(source, **options)


def assert_matches(result: dict, frame: pd.DataFrame) -> None:
    expected = expected_aggregates(frame)
    for metric, per_variant in expected.items():
        for variant, fields in per_variant.items():
            assert result[metric][variant] == pytest.approx(fields, rel=1e-12)


def write_csv(frame: pd.DataFrame, path: Path, text: str | None = None) -> Path:
    if text is None:
        frame.to_csv(path, index=False)
    else:
        path.write_text(text)
    return path


def test_csv_rows_are_aggregated_per_variant(tmp_path: Path) -> None:
    frame = user_rows()
    result = aggregate(write_csv(frame, tmp_path / "rows.csv"))
    assert_matches(result, frame)


def test_gzip_csv_rows_are_aggregated_per_variant(tmp_path: Path) -> None:
    frame = user_rows()
    path = tmp_path / "rows.csv.gz"
    frame.to_csv(path, index=False, compression="gzip")
    assert_matches(aggregate(path), frame)


def test_parquet_rows_are_aggregated_per_variant(tmp_path: Path) -> None:
    frame = user_rows()
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, index=False, row_group_size=300)
    assert_matches(aggregate(path), frame)


def test_an_uploaded_file_object_is_read_like_a_path() -> None:
    frame = user_rows()
    buffer = io.BytesIO(frame.to_csv(index=False).encode())
    assert_matches(aggregate(buffer), frame)


def test_format_is_detected_from_content_not_file_name(tmp_path: Path) -> None:
    frame = user_rows()
    path = tmp_path / "upload.bin"
    frame.to_parquet(path, index=False)
    assert_matches(aggregate(path), frame)


def test_progress_is_reported_after_every_chunk_with_rows_read_so_far(tmp_path: Path) -> None:
    calls: list[int] = []
    aggregate(write_csv(user_rows(300), tmp_path / "rows.csv"), progress=calls.append)
    assert calls == [128, 256, 300]


def test_parquet_progress_is_reported_per_batch(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    user_rows(300).to_parquet(path, index=False)
    calls: list[int] = []
    aggregate(path, progress=calls.append)
    assert calls == [128, 256, 300]


def test_aggregates_feed_straight_into_analyze(tmp_path: Path) -> None:
    results = aggregate(write_csv(user_rows(), tmp_path / "rows.csv"))
    out = analyze(
        variants=TWO_ARMS,
        control="control",
        metrics=[{"key": m["key"], "type": m["type"]} for m in METRICS],
        results=results,
        cuped=True,
    )
    assert set(out["metrics"]) == {"conv", "revenue"}


def test_a_variant_with_no_rows_is_reported_with_zero_users(tmp_path: Path) -> None:
    frame = user_rows()
    result = aggregate(
        write_csv(frame, tmp_path / "rows.csv"), variants=["control", "treatment", "b"]
    )
    assert result["conv"]["b"] == {"users": 0, "conversions": 0}


def test_binomial_columns_may_hold_booleans_in_parquet(tmp_path: Path) -> None:
    frame = user_rows(50)
    frame["converted"] = frame["converted"].astype(bool)
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, index=False)
    assert aggregate(path)["conv"]["control"]["conversions"] == int(
        frame.loc[frame["variant"] == "control", "converted"].sum()
    )


def test_an_unknown_variant_is_reported_with_its_row(tmp_path: Path) -> None:
    frame = user_rows(300)
    frame.loc[200, "variant"] = "treatmnet"
    with pytest.raises(
        StatsInputError, match=r"Row 201, column 'variant': unknown variant 'treatmnet'"
    ):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_a_non_numeric_value_is_reported_with_its_row_and_column(tmp_path: Path) -> None:
    frame = user_rows(300).astype({"revenue": object})
    frame.loc[150, "revenue"] = "12,50"
    with pytest.raises(
        StatsInputError, match=r"Row 151, column 'revenue': '12,50' is not a number"
    ):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_a_missing_value_is_reported_with_its_row_and_column(tmp_path: Path) -> None:
    frame = user_rows(10)
    frame.loc[3, "pre_revenue"] = np.nan
    with pytest.raises(StatsInputError, match=r"Row 4, column 'pre_revenue': the value is missing"):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_a_missing_variant_is_reported_with_its_row(tmp_path: Path) -> None:
    frame = user_rows(10).astype({"variant": object})
    frame.loc[6, "variant"] = None
    with pytest.raises(StatsInputError, match=r"Row 7, column 'variant': the variant is missing"):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_a_non_binary_binomial_value_is_rejected(tmp_path: Path) -> None:
    frame = user_rows(10)
    frame.loc[2, "converted"] = 2
    with pytest.raises(StatsInputError, match=r"Row 3, column 'converted': .* must be 0 or 1"):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_an_infinite_value_is_rejected(tmp_path: Path) -> None:
    frame = user_rows(10)
    frame.loc[5, "revenue"] = np.inf
    with pytest.raises(StatsInputError, match=r"Row 6, column 'revenue': .* not a finite number"):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_a_missing_csv_column_is_named(tmp_path: Path) -> None:
    frame = user_rows(10).drop(columns=["pre_revenue"])
    with pytest.raises(StatsInputError, match=r"no column\(s\) 'pre_revenue'"):
        aggregate(write_csv(frame, tmp_path / "rows.csv"))


def test_a_missing_parquet_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    user_rows(10).drop(columns=["converted"]).to_parquet(path, index=False)
    with pytest.raises(StatsInputError, match=r"no column\(s\) 'converted'"):
        aggregate(path)


def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StatsInputError, match=r"The file is empty"):
        aggregate(write_csv(user_rows(0), tmp_path / "rows.csv", text=""))


def test_a_file_that_cannot_be_opened_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StatsInputError, match=r"Cannot open the file"):
        aggregate(tmp_path / "nope.csv")


def test_a_corrupt_parquet_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(StatsInputError, match=r"Could not read the Parquet file"):
        aggregate(path)


def test_a_covariate_for_an_unknown_metric_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StatsInputError, match=r"unknown metric\(s\) 'clicks'"):
        aggregate(write_csv(user_rows(5), tmp_path / "r.csv"), covariates={"clicks": "x"})


def test_an_invalid_chunk_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StatsInputError, match=r"'chunk_size' must be a positive whole number"):
        aggregate(write_csv(user_rows(5), tmp_path / "r.csv"), chunk_size=0)
