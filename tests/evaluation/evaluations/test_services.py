"""The evaluation services and task on real files: results equal scikit-learn, bad input
fails with the engine's message and stores nothing."""

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from sklearn import metrics as skm

from evaluation.evaluations import services
from evaluation.models import EvaluationMetric, EvaluationStatus
from evaluation.uploads import UploadTooLarge

from .conftest import BINARY_COLUMNS, cancer_csv


def sklearn_binary(y, score, threshold=0.5):
    pred = (score >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "specificity": tn / (tn + fp),
        "roc_auc": skm.roc_auc_score(y, score),
        "average_precision": skm.average_precision_score(y, score),
        "log_loss": skm.log_loss(y, score),
        "brier": skm.brier_score_loss(y, score),
    }


def test_a_binary_evaluation_stores_metrics_equal_to_sklearn(make_evaluation, cancer):
    _, y, score, _ = cancer
    evaluation = make_evaluation()
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    reference = sklearn_binary(y, score)
    for name, value in reference.items():
        assert evaluation.result["metrics"][name] == pytest.approx(value, abs=1e-9), name
    stored = dict(
        EvaluationMetric.objects.filter(evaluation=evaluation, source="model").values_list(
            "name", "value"
        )
    )
    assert stored == pytest.approx(reference, abs=1e-9)


def test_a_succeeded_evaluation_has_baselines_thresholds_and_slices(make_evaluation):
    evaluation = make_evaluation(options={"slice_columns": ["size"], "cost_fn": 5})
    result = evaluation.result
    assert {"majority", "prior"} <= set(result["baselines"])
    assert result["baselines"]["majority"]["lift"]["roc_auc"]["better"] is True
    assert result["thresholds"]
    assert result["info"]["recommended_threshold"]["cost_fn"] == 5
    assert [s["value"] for s in result["slices"]] and {s["column"] for s in result["slices"]} == {
        "size"
    }
    values = [s["primary_value"] for s in result["slices"]]
    assert values == sorted(values)  # worst first
    assert evaluation.progress == 1.0
    assert evaluation.rows_read == 569
    assert evaluation.attempts == 1


def test_the_second_objective_gives_a_tradeoff_curve(make_evaluation):
    columns = {**BINARY_COLUMNS, "score_b": "score_weak", "label_b": "label_weak"}
    evaluation = make_evaluation(columns=columns)
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    weights = [p["weight"] for p in evaluation.result["tradeoff"]]
    assert weights[0] == 0 and weights[-1] == 1


def test_rule_baselines_are_stored_and_scored(make_evaluation):
    rules = {"rules": [{"when": [{"feature": "size", "op": "==", "value": "small"}], "then": 1}],
             "default": 0}  # fmt: skip
    evaluation = make_evaluation(
        columns={"y_true": "label", "y_score": "score"},
        rule_baselines=[{"name": "small is benign", "rules": rules}],
    )
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    assert evaluation.rule_baselines == [{"name": "small is benign", "rules": rules}]
    assert "rule:small is benign" in evaluation.result["baselines"]
    assert EvaluationMetric.objects.filter(
        evaluation=evaluation, source="rule:small is benign", name="accuracy"
    ).exists()


def test_gzip_and_parquet_files_give_the_same_metrics(make_evaluation):
    plain = make_evaluation()
    zipped = make_evaluation(gzip.compress(cancer_csv()), name="p.csv.gz")
    buffer = io.BytesIO()
    table = pa.csv.read_csv(io.BytesIO(cancer_csv()))
    pq.write_table(table, buffer)
    parquet = make_evaluation(buffer.getvalue(), name="p.parquet")
    assert (zipped.file_format, parquet.file_format) == ("csv.gz", "parquet")
    assert zipped.result["metrics"] == plain.result["metrics"]
    assert parquet.result["metrics"] == pytest.approx(plain.result["metrics"], abs=1e-12)


def test_regression_multiclass_and_ranking_evaluations_succeed(make_evaluation):
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    reg = "y,pred\n" + "".join(
        f"{a!r},{a + b!r}\n" for a, b in zip(y.tolist(), rng.normal(size=200).tolist(), strict=True)
    )
    evaluation = make_evaluation(
        reg.encode(), task="regression", columns={"y_true": "y", "y_pred": "pred"}
    )
    assert evaluation.result["metrics"]["rmse"] == pytest.approx(
        skm.root_mean_squared_error(
            [float(r.split(",")[0]) for r in reg.split()[1:]],
            [float(r.split(",")[1]) for r in reg.split()[1:]],
        ),
        abs=1e-9,
    )
    labels = rng.choice(["cat", "dog", "eel"], size=300)
    proba = rng.dirichlet([1, 1, 1], size=300)
    mc = "label,proba_cat,proba_dog,proba_eel\n" + "".join(
        f"{lab},{p[0]!r},{p[1]!r},{p[2]!r}\n" for lab, p in zip(labels, proba.tolist(), strict=True)
    )
    evaluation = make_evaluation(
        mc.encode(),
        task="multiclass",
        columns={"y_true": "label",
                 "proba": {"cat": "proba_cat", "dog": "proba_dog", "eel": "proba_eel"}},
    )  # fmt: skip
    assert evaluation.result["metrics"]["log_loss"] == pytest.approx(
        skm.log_loss(labels, proba, labels=["cat", "dog", "eel"]), abs=1e-9
    )
    rk = "user,item,clicked,score\n" + "".join(
        f"{u},{i},{int(rng.random() < 0.3)},{float(rng.random())!r}\n"
        for u in range(30)
        for i in range(8)
    )
    evaluation = make_evaluation(
        rk.encode(),
        task="ranking",
        columns={"y_true": "clicked", "y_score": "score", "group": "user", "item": "item"},
        options={"k": 3},
    )
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    assert evaluation.result["info"]["k"] == 3


BAD_FILES = [
    ("header only", b"label,score\n", "no data rows"),
    ("non-numeric score", b"label,score\n1,0.3\n0,high\n", "must be numeric"),
    ("NaN score", b"label,score\n1,0.3\n0,\n1,0.9\n0,0.1\n", "missing or non-finite"),
    ("infinite score", b"label,score\n1,0.3\n0,inf\n1,0.9\n0,0.1\n", "non-finite"),
    ("three labels", b"label,score\n1,0.3\n0,0.2\n2,0.9\n", "label"),
    ("probability above 1", b"label,score\n1,1.3\n0,0.2\n1,0.9\n", "[0, 1]"),
    ("one class", b"label,score\n1,0.3\n1,0.2\n1,0.9\n", "class"),
    ("malformed", b"label,score\n1,0.3\n0,0.2,7,8\n", "malformed"),
]
# Files whose header cannot even be read are refused at upload, before anything is saved.
UNREADABLE_FILES = [
    ("empty", b"", "empty"),
    ("not utf-8", "label,score\n1,0.3\n0,0.2\n\xe9,0.1\n".encode("latin-1"), "UTF-8"),
    ("zip", b"PK\x03\x04 not really a zip", "ZIP"),
]


@pytest.mark.parametrize(("content", "expected"), [(c, e) for _, c, e in BAD_FILES],
                         ids=[n for n, _, _ in BAD_FILES])  # fmt: skip
def test_bad_input_ends_failed_with_the_engines_message_and_no_result(
    make_evaluation, content, expected
):
    evaluation = make_evaluation(content, columns={"y_true": "label", "y_score": "score"})
    assert evaluation.status == EvaluationStatus.FAILED
    assert expected in evaluation.error
    assert evaluation.result is None
    assert not EvaluationMetric.objects.filter(evaluation=evaluation).exists()


@pytest.mark.parametrize(("content", "expected"), [(c, e) for _, c, e in UNREADABLE_FILES],
                         ids=[n for n, _, _ in UNREADABLE_FILES])  # fmt: skip
def test_an_unreadable_file_is_refused_before_anything_is_saved(
    make_evaluation, content, expected, project
):
    with pytest.raises(ValidationError) as raised:
        make_evaluation(content, columns={"y_true": "label", "y_score": "score"})
    assert expected in raised.value.message_dict["file"][0]
    assert not project.evaluations.exists()


def test_dropping_invalid_rows_is_an_explicit_option_and_is_reported(make_evaluation):
    content = b"label,score\n1,0.3\n0,\n1,0.9\n0,0.1\n0,nan\n"
    evaluation = make_evaluation(
        content, columns={"y_true": "label", "y_score": "score"}, options={"drop_invalid": True}
    )
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    assert evaluation.result["info"]["rows_dropped"] == 2
    assert any(w["code"] == "rows_dropped" for w in evaluation.result["warnings"])


def test_a_missing_column_is_refused_with_a_field_error_and_nothing_is_saved(
    make_evaluation, project
):
    with pytest.raises(ValidationError) as raised:
        make_evaluation(columns={"y_true": "labl", "y_score": "score"})
    assert "Did you mean 'label'" in raised.value.message_dict["columns"][0]
    assert not project.evaluations.exists()
    assert not default_storage.exists("evaluations")


def test_unknown_options_are_refused(make_evaluation):
    with pytest.raises(ValidationError) as raised:
        make_evaluation(options={"treshold": 0.4})
    assert "Unknown option" in raised.value.message_dict["options"][0]


def test_storage_names_are_made_by_the_server(make_evaluation, project):
    evaluation = make_evaluation(name="../../../etc/passwd.csv")
    assert evaluation.file.name.startswith(f"evaluations/{project.organization_id}/")
    assert evaluation.file.name.endswith(".csv")
    assert "passwd" not in evaluation.file.name and ".." not in evaluation.file.name
    assert evaluation.original_filename == "passwd.csv"
    assert default_storage.exists(evaluation.file.name)


def test_an_upload_over_the_limit_is_refused(make_evaluation, settings, project):
    settings.EVALUATION_MAX_UPLOAD_BYTES = 100
    with pytest.raises(UploadTooLarge, match="limit of 100 bytes"):
        make_evaluation()
    assert not project.evaluations.exists()


def test_the_preview_shows_the_first_rows(make_evaluation):
    evaluation = make_evaluation(run=False)
    header, preview = services.evaluation_header(evaluation)
    assert header[:3] == ["id", "label", "score"]
    assert len(preview) == 5 and preview[0][0] == "0"


def test_a_client_cannot_write_a_result_into_a_queued_evaluation(make_evaluation):
    evaluation = make_evaluation(run=False)
    evaluation.result = {"metrics": {}}
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        evaluation.save()
