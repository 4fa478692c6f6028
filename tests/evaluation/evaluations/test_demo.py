"""The demo's fraud evaluation: computed through the real service, correct, loaded once."""

import io

import pandas as pd
import pytest
from django.core.management import call_command
from sklearn.metrics import roc_auc_score

from evaluation.evaluations.demo import FRAUD_EVALUATION, _fraud_predictions_csv
from evaluation.models import Evaluation, EvaluationStatus
from mlprojects.models import Metric


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())


def test_the_demo_has_a_succeeded_fraud_evaluation_loaded_once(demo):
    call_command("load_demo", stdout=io.StringIO())
    evaluation = Evaluation.objects.get(name=FRAUD_EVALUATION)
    assert Evaluation.objects.filter(name=FRAUD_EVALUATION).count() == 1
    assert evaluation.status == EvaluationStatus.SUCCEEDED
    assert evaluation.project.slug == "fraud-detection"


def test_the_demo_evaluation_matches_scikit_learn_and_sets_its_target_metric(demo):
    evaluation = Evaluation.objects.get(name=FRAUD_EVALUATION)
    frame = pd.read_csv(io.BytesIO(_fraud_predictions_csv()))
    expected = roc_auc_score(frame["is_fraud"], frame["fraud_score"])
    assert evaluation.result["metrics"]["roc_auc"] == pytest.approx(expected, abs=1e-9)
    target = Metric.objects.get(pk=evaluation.target_metric_id)
    assert target.current == pytest.approx(evaluation.result["metrics"]["recall"])


def test_the_results_page_says_which_baseline_a_warning_is_about(demo, client):
    evaluation = Evaluation.objects.get(name=FRAUD_EVALUATION)
    client.post(
        "/accounts/login/", {"username": "owner@example.com", "password": "mlprojects-demo"}
    )
    page = client.get(f"/o/demo/projects/fraud-detection/evaluations/{evaluation.pk}/").text
    assert "<strong>Majority baseline:</strong>" in page
