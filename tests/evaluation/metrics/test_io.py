"""Reading prediction files: formats, streaming, mapping, and every bad-input message."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.metrics import (
    EvaluationInputError,
    detect_format,
    read_header,
    read_predictions,
    suggest_mapping,
)

CSV = (
    "label,score,city,age,user_id\n"
    "1,0.9,Seoul,31,u1\n"
    "0,0.2,Busan,45,u2\n"
    "1,0.7,,22,u1\n"
    "0,0.4,Seoul,,u3\n"
)
MAPPING = {"y_true": "label", "y_score": "score", "features": ["city", "age"]}
BINARY = {"y_true": "label", "y_score": "score"}


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _parquet(tmp_path: Path, name: str = "p.parquet", **columns) -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


def _error(path: Path, mapping=BINARY, **kwargs) -> str:
    with pytest.raises(EvaluationInputError) as info:
        read_predictions(path, mapping=mapping, task=kwargs.pop("task", "binary"), **kwargs)
    return str(info.value)


# -- formats ---------------------------------------------------------------------------------


def test_csv_columns_are_read_as_float_arrays_and_text(tmp_path):
    result = read_predictions(_write(tmp_path, "a.csv", CSV), mapping=MAPPING)
    assert result.columns["y_score"].dtype == np.float64
    assert result.columns["y_score"].tolist() == [0.9, 0.2, 0.7, 0.4]
    assert result.columns["city"].tolist() == ["Seoul", "Busan", None, "Seoul"]
    assert np.isnan(result.columns["age"][3])


def test_gzip_csv_reads_like_the_plain_csv(tmp_path):
    plain = read_predictions(_write(tmp_path, "a.csv", CSV), mapping=MAPPING)
    packed = read_predictions(
        _write(tmp_path, "a.csv.gz", gzip.compress(CSV.encode())), mapping=MAPPING
    )
    assert packed.file_format == "csv.gz"
    np.testing.assert_array_equal(packed.columns["y_score"], plain.columns["y_score"])


def test_format_is_detected_from_magic_bytes_not_the_extension(tmp_path):
    path = _write(tmp_path, "predictions.csv", gzip.compress(CSV.encode()))
    assert detect_format(path) == "csv.gz"


def test_parquet_reads_like_the_csv(tmp_path):
    path = _parquet(
        tmp_path,
        label=[1, 0, 1, 0],
        score=[0.9, 0.2, 0.7, 0.4],
        city=["Seoul", "Busan", None, "Seoul"],
        age=[31.0, 45.0, 22.0, None],
    )
    result = read_predictions(path, mapping=MAPPING)
    plain = read_predictions(_write(tmp_path, "a.csv", CSV), mapping=MAPPING)
    assert result.file_format == "parquet"
    for key in ("y_true", "y_score", "age"):
        np.testing.assert_array_equal(result.columns[key], plain.columns[key])
    assert result.columns["city"].tolist() == plain.columns["city"].tolist()


def test_file_bytes_and_file_objects_are_accepted(tmp_path):
    data = CSV.encode()
    from_bytes = read_predictions(data, mapping=BINARY)
    from_file = read_predictions(io.BytesIO(data), mapping=BINARY)
    np.testing.assert_array_equal(from_bytes.columns["y_score"], from_file.columns["y_score"])


def test_semicolon_delimited_csv_is_sniffed(tmp_path):
    result = read_predictions(
        _write(tmp_path, "a.csv", "label;score\n1;0.5\n0;0.25\n"), mapping=BINARY
    )
    assert result.columns["y_score"].tolist() == [0.5, 0.25]


def test_utf8_byte_order_mark_is_ignored(tmp_path):
    result = read_predictions(
        _write(tmp_path, "a.csv", b"\xef\xbb\xbf" + CSV.encode()), mapping=BINARY
    )
    assert result.rows == 4


def test_only_mapped_columns_are_returned(tmp_path):
    result = read_predictions(_write(tmp_path, "a.csv", CSV), mapping=BINARY)
    assert set(result.columns) == {"y_true", "y_score"}


def test_progress_is_reported_per_batch_with_total_for_parquet(tmp_path):
    n = 600_000  # more than one 256k-row Parquet batch
    path = _parquet(tmp_path, label=np.arange(n) % 2, score=np.linspace(0, 1, n))
    calls = []
    read_predictions(path, mapping=BINARY, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3 and calls[-1] == (n, n)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_progress_total_is_unknown_for_csv(tmp_path):
    calls = []
    read_predictions(
        _write(tmp_path, "a.csv", CSV),
        mapping=BINARY,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (4, None)


def test_text_appearing_after_numeric_looking_blocks_keeps_the_column_as_text(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("evaluation.metrics.io._CSV_BLOCK_BYTES", 1 << 12)
    rows = "".join(f"{i % 2},0.5,{i % 7}\n" for i in range(3000)) + "1,0.5,B12\n"
    mapping = {**BINARY, "features": ["zone"]}
    result = read_predictions(
        _write(tmp_path, "a.csv", "label,score,zone\n" + rows), mapping=mapping
    )
    zone = result.columns["zone"]
    assert zone.dtype == object and zone[0] == "0" and zone[-1] == "B12"


def test_numeric_looking_text_in_parquet_becomes_numbers(tmp_path):
    path = _parquet(tmp_path, label=["1", "0"], score=[0.4, 0.3], age=["31", None])
    result = read_predictions(path, mapping={**BINARY, "features": ["age"]})
    assert result.columns["y_true"].tolist() == [1.0, 0.0]
    assert result.columns["age"][0] == 31.0 and np.isnan(result.columns["age"][1])


def test_group_and_item_ids_become_integer_codes(tmp_path):
    mapping = {"y_true": "label", "y_score": "score", "group": "user_id"}
    result = read_predictions(_write(tmp_path, "a.csv", CSV), mapping=mapping)
    assert result.columns["group"].tolist() == [0, 1, 0, 2]


def test_text_labels_stay_text_for_multiclass(tmp_path):
    path = _write(tmp_path, "m.csv", "animal,proba_cat,proba_dog\ncat,0.8,0.2\ndog,0.3,0.7\n")
    mapping = {"y_true": "animal", "proba": {"cat": "proba_cat", "dog": "proba_dog"}}
    result = read_predictions(path, mapping=mapping, task="multiclass")
    assert result.columns["y_true"].tolist() == ["cat", "dog"]
    assert sorted(result.prepared.proba) == ["cat", "dog"]


def test_task_validation_converts_binary_labels_to_booleans(tmp_path):
    result = read_predictions(_write(tmp_path, "a.csv", CSV), mapping=BINARY, task="binary")
    assert result.prepared.columns["y_true"].tolist() == [True, False, True, False]


# -- header and auto-detection -------------------------------------------------------------


def test_read_header_lists_the_columns(tmp_path):
    assert read_header(_write(tmp_path, "a.csv", CSV)) == [
        "label",
        "score",
        "city",
        "age",
        "user_id",
    ]


def test_suggest_mapping_recognises_binary_columns():
    suggestion = suggest_mapping(["id", "Label", "Score", "age", "city"])
    assert suggestion["mapping"] == {
        "y_true": "Label",
        "y_score": "Score",
        "features": ["age", "city"],
    }
    assert suggestion["task"] == "binary"


def test_suggest_mapping_recognises_per_class_probability_columns():
    suggestion = suggest_mapping(["target", "proba_cat", "proba_dog", "p_bird"])
    assert suggestion["mapping"]["proba"] == {
        "cat": "proba_cat",
        "dog": "proba_dog",
        "bird": "p_bird",
    }
    assert suggestion["task"] == "multiclass"


def test_suggest_mapping_recognises_a_recommender_file():
    suggestion = suggest_mapping(["user_id", "menu_item", "relevance", "score", "hour"])
    mapping = suggestion["mapping"]
    assert (mapping["group"], mapping["item"], mapping["y_true"]) == (
        "user_id",
        "menu_item",
        "relevance",
    )
    assert suggestion["task"] == "ranking"


# -- bad input -------------------------------------------------------------------------------


def test_empty_file_is_rejected(tmp_path):
    assert "empty" in _error(_write(tmp_path, "a.csv", b""))


def test_header_without_rows_is_rejected(tmp_path):
    assert "no data rows" in _error(_write(tmp_path, "a.csv", "label,score\n"))


def test_empty_parquet_is_rejected(tmp_path):
    path = _parquet(tmp_path, label=pa.array([], pa.int64()), score=pa.array([], pa.float64()))
    assert "no data rows" in _error(path)


def test_row_with_too_many_fields_is_reported_as_malformed(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\n1,0.5\n0,0.2,9\n"))
    assert "malformed" in message and "3 fields" in message


def test_binary_garbage_is_rejected(tmp_path):
    assert "looks binary" in _error(_write(tmp_path, "a.csv", bytes(range(256)) * 4))


def test_non_utf8_text_is_rejected_with_how_to_fix(tmp_path):
    data = "label,score,city\n1,0.5,S\xe3o Paulo\n0,0.1,x\n".encode("latin-1")
    message = _error(_write(tmp_path, "a.csv", data), mapping={**BINARY, "features": ["city"]})
    assert "UTF-8" in message


def test_zip_or_excel_file_is_rejected(tmp_path):
    assert "Excel" in _error(_write(tmp_path, "a.xlsx", b"PK\x03\x04rest-of-zip"))


def test_corrupted_gzip_is_rejected(tmp_path):
    assert "gzip" in _error(_write(tmp_path, "a.csv.gz", b"\x1f\x8b\x08\x00garbage"))


def test_corrupted_parquet_is_rejected(tmp_path):
    assert "Parquet" in _error(_write(tmp_path, "a.parquet", b"PAR1garbage"))


def test_missing_column_lists_available_columns_and_a_close_match(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "lbl,score\n1,0.5\n"))
    assert "'label'" in message and "Did you mean 'lbl'" in message and "lbl, score" in message


def test_missing_parquet_column_is_rejected(tmp_path):
    path = _parquet(tmp_path, target=[1, 0], score=[0.4, 0.3])
    assert "Available columns: target, score" in _error(path)


def test_duplicate_header_names_are_rejected(tmp_path):
    assert "more than once" in _error(_write(tmp_path, "a.csv", "label,label,score\n1,1,0.2\n"))


def test_non_numeric_score_names_column_row_and_value(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\n1,0.5\n0,0.1\n1,abc\n"))
    assert "'score'" in message and "row 3" in message and "'abc'" in message


def test_non_numeric_value_in_a_later_csv_block_names_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr("evaluation.metrics.io._CSV_BLOCK_BYTES", 1 << 14)  # many blocks
    rows = "".join(f"{i % 2},0.5\n" for i in range(20_000)) + "1,oops\n"
    message = _error(_write(tmp_path, "a.csv", "label,score\n" + rows))
    assert "row 20001" in message and "'oops'" in message


def test_csv_is_streamed_in_batches_with_progress_after_each(tmp_path, monkeypatch):
    monkeypatch.setattr("evaluation.metrics.io._CSV_BLOCK_BYTES", 1 << 14)
    rows = "".join(f"{i % 2},0.5\n" for i in range(20_000))
    calls = []
    result = read_predictions(
        _write(tmp_path, "a.csv", "label,score\n" + rows),
        mapping=BINARY,
        progress=lambda done, total: calls.append(done),
    )
    assert len(calls) > 5 and calls[-1] == result.rows == 20_000


def test_non_numeric_parquet_text_column_names_the_row(tmp_path):
    path = _parquet(tmp_path, label=[1, 0, 1], score=["0.5", "0.1", "n/a"])
    assert "row 3" in _error(path)


def test_nan_and_inf_are_counted_and_reported(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\n1,0.5\n0,\n1,inf\n0,0.3\n"))
    assert "2 row(s)" in message and "1 missing/NaN and 1 infinite" in message
    assert "first at row 2" in message and "drop invalid rows" in message


def test_drop_invalid_drops_those_rows_and_reports_how_many(tmp_path):
    path = _write(tmp_path, "a.csv", "label,score\n1,0.5\n0,\n1,inf\n0,0.3\n")
    result = read_predictions(path, mapping=BINARY, task="binary", drop_invalid=True)
    assert result.prepared.rows_dropped == 2
    assert result.prepared.columns["y_score"].tolist() == [0.5, 0.3]
    assert "Dropped 2 of 4 rows" in result.prepared.warnings[0]["message"]


def test_probabilities_outside_zero_one_are_rejected(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\n1,1.5\n0,0.2\n"))
    assert "[0, 1]" in message and "max 1.5" in message and "'score'" in message


def test_raw_scores_outside_zero_one_are_accepted_as_score_kind_score(tmp_path):
    path = _write(tmp_path, "a.csv", "label,score\n1,1.5\n0,-0.2\n")
    result = read_predictions(path, mapping=BINARY, task="binary", score_kind="score")
    assert result.prepared.score_is_probability is False


def test_class_probability_column_outside_zero_one_is_rejected(tmp_path):
    path = _write(tmp_path, "m.csv", "y,p_a,p_b\na,1.2,0.1\nb,0.3,0.7\n")
    mapping = {"y_true": "y", "proba": {"a": "p_a", "b": "p_b"}}
    assert "proba:a" in _error(path, mapping=mapping, task="multiclass")


def test_single_class_fails_and_says_why_auc_is_undefined(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\n1,0.5\n1,0.2\n"))
    assert "same label" in message and "ROC-AUC" in message and "both classes" in message


def test_three_labels_are_outside_the_binary_task(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\n1,0.5\n2,0.2\n0,0.1\n"))
    assert "exactly two" in message and "multiclass" in message


def test_multiclass_label_without_probability_column_is_rejected(tmp_path):
    path = _write(tmp_path, "m.csv", "y,p_a,p_b\na,0.9,0.1\nc,0.3,0.7\n")
    mapping = {"y_true": "y", "proba": {"a": "p_a", "b": "p_b"}}
    message = _error(path, mapping=mapping, task="multiclass")
    assert "c" in message and "no probability column" in message


def test_unclear_positive_label_asks_for_pos_label(tmp_path):
    message = _error(_write(tmp_path, "a.csv", "label,score\nspam,0.5\nham,0.2\n"))
    assert "pos_label" in message


def test_text_labels_work_with_an_explicit_positive_label(tmp_path):
    path = _write(tmp_path, "a.csv", "label,score\nspam,0.5\nham,0.2\n")
    result = read_predictions(path, mapping=BINARY, task="binary", pos_label="spam")
    assert result.prepared.columns["y_true"].tolist() == [True, False]


def test_regression_target_must_be_numeric(tmp_path):
    path = _write(tmp_path, "r.csv", "y,pred\n1.5,1.0\nbig,2.0\n")
    message = _error(path, mapping={"y_true": "y", "y_pred": "pred"}, task="regression")
    assert "'y'" in message and "'big'" in message


def test_unknown_mapping_key_is_rejected(tmp_path):
    with pytest.raises(EvaluationInputError, match="Unknown mapping key"):
        read_predictions(_write(tmp_path, "a.csv", CSV), mapping={"y_truth": "label"})
