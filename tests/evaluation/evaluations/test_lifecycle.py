"""Evaluations linked to the project's lifecycle: the target metric whose current value a
successful evaluation sets, and the project's rule baselines evaluated alongside."""

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from accounts.models import AuditEvent
from evaluation.evaluations import jobs, services
from evaluation.models import Evaluation
from mlprojects.lifecycle.services import cycle_start_next
from mlprojects.models import Baseline, SectionVersion

from .conftest import BINARY_COLUMNS, cancer_csv, upload

URL = "/o/acme/projects/menu-recommender/evaluations/"


def submit(client, project, **extra):
    data = {
        "file": upload(cancer_csv()),
        "task": "binary",
        "columns": json.dumps(BINARY_COLUMNS),
        **extra,
    }
    return client.post(f"/api/v1/projects/{project.pk}/evaluations/", data)


@pytest.fixture
def api(member, client_for):
    return client_for(member)


# -- the target metric -------------------------------------------------------------------------


def test_a_successful_evaluation_sets_the_target_metrics_current_value(
    make_evaluation, lifecycle, cancer
):
    _, y, score, _ = cancer
    evaluation = make_evaluation(target_metric=lifecycle.recall, target_metric_key="recall")
    assert evaluation.status == "succeeded"
    lifecycle.recall.refresh_from_db()
    assert lifecycle.recall.current == pytest.approx(recall_score(y, score >= 0.5))
    assert lifecycle.recall.current == evaluation.result["metrics"]["recall"]


def test_the_update_is_in_the_steps_history_and_the_audit_log(make_evaluation, lifecycle):
    before = SectionVersion.objects.filter(cycle=lifecycle.cycle, step="goals").count()
    evaluation = make_evaluation(target_metric=lifecycle.recall, target_metric_key="recall")
    assert SectionVersion.objects.filter(cycle=lifecycle.cycle, step="goals").count() == before + 1
    event = AuditEvent.objects.get(action="metric.updated_by_evaluation")
    assert event.data["evaluation"] == evaluation.pk and event.data["key"] == "recall"


def test_without_a_key_the_tasks_main_metric_is_taken(make_evaluation, lifecycle, cancer):
    _, y, score, _ = cancer
    evaluation = make_evaluation(target_metric=lifecycle.recall.pk)
    assert evaluation.target_metric_key == "f1"  # PRIMARY_METRIC["binary"]
    lifecycle.recall.refresh_from_db()
    assert lifecycle.recall.current == pytest.approx(f1_score(y, score >= 0.5))


def test_a_failed_evaluation_leaves_the_target_metric_alone(make_evaluation, lifecycle):
    broken = b"label,score,size,texture\n1,0.9,small,1\n0,not-a-number,large,2\n"
    evaluation = make_evaluation(broken, target_metric=lifecycle.recall, target_metric_key="recall")
    assert evaluation.status == "failed"
    lifecycle.recall.refresh_from_db()
    assert lifecycle.recall.current is None


def test_a_metric_of_a_cycle_that_ended_meanwhile_is_not_changed(
    make_evaluation, lifecycle, project, member
):
    evaluation = make_evaluation(
        target_metric=lifecycle.recall, target_metric_key="recall", run=False
    )
    cycle_start_next(project=project, user=member)
    jobs.evaluation_run(evaluation_id=evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.status == "succeeded"
    lifecycle.recall.refresh_from_db()
    assert lifecycle.recall.current is None  # earlier cycles are read-only


def test_a_business_metric_cannot_be_the_target(make_evaluation, lifecycle):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        make_evaluation(target_metric=lifecycle.revisit)
    assert "target_metric" in caught.value.message_dict
    assert not Evaluation.objects.exists()


def test_the_api_takes_and_shows_the_target_metric(
    api, project, lifecycle, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(
            api, project, target_metric=lifecycle.recall.pk, target_metric_key="recall"
        )
    assert response.status_code == 202
    body = api.get(f"/api/v1/evaluations/{response.json()['id']}/").json()
    assert (body["target_metric"], body["target_metric_key"]) == (lifecycle.recall.pk, "recall")
    lifecycle.recall.refresh_from_db()
    assert lifecycle.recall.current == body["metrics"]["recall"]


def test_another_orgs_metric_as_target_is_a_400_and_nothing_is_stored(
    api, project, foreign_lifecycle
):
    response = submit(api, project, target_metric=foreign_lifecycle.model.pk)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["target_metric"] == [
        "Choose a model metric of this project's current cycle."
    ]
    assert not Evaluation.objects.exists()


def test_an_unknown_engine_metric_is_a_400_on_the_key(api, project, lifecycle):
    response = submit(api, project, target_metric=lifecycle.recall.pk, target_metric_key="recal")
    assert response.status_code == 400
    assert "target_metric_key" in response.json()["error"]["fields"]


# -- rule baselines from the project -----------------------------------------------------------


def _rule_predictions(texture: np.ndarray) -> np.ndarray:
    return np.where(texture >= 20, 0, 1)


def test_the_api_evaluates_the_projects_rule_baselines_by_default(
    api, project, rule_baseline, cancer, django_capture_on_commit_callbacks
):
    X, y, _, _ = cancer
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, project)
    assert response.status_code == 202
    assert response.json()["rule_baselines"] == ["Texture rule"]
    assert response.json()["skipped_rule_baselines"] == []
    evaluation = Evaluation.objects.get(pk=response.json()["id"])
    assert evaluation.rule_baselines == [{"name": "Texture rule", "rules": rule_baseline.rules}]
    baseline = evaluation.result["baselines"]["rule:Texture rule"]
    predictions = _rule_predictions(X[:, 1])
    assert baseline["accuracy"] == pytest.approx(accuracy_score(y, predictions))
    assert baseline["recall"] == pytest.approx(recall_score(y, predictions))


def test_the_api_can_leave_the_projects_rule_baselines_out(api, project, rule_baseline):
    response = submit(api, project, project_rule_baselines="false")
    assert response.status_code == 202
    assert response.json()["rule_baselines"] == []
    assert Evaluation.objects.get().rule_baselines == []


def test_a_rule_baseline_on_a_feature_the_file_lacks_is_skipped_with_a_warning(
    api, project, rule_baseline, lifecycle, django_capture_on_commit_callbacks
):
    Baseline.objects.create(
        cycle=lifecycle.cycle,
        name="Spicy rule",
        kind="rules",
        rules={"rules": [{"when": [{"feature": "likes_spicy", "op": "==", "value": True}],
                          "then": 1}], "default": 0},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, project)
    assert response.status_code == 202
    body = response.json()
    assert body["rule_baselines"] == ["Texture rule"]
    [warning] = body["skipped_rule_baselines"]
    assert warning.startswith("Rule baseline “Spicy rule” skipped:")
    assert "no column 'likes_spicy'" in warning
    assert Evaluation.objects.get().status == "succeeded"


def test_a_rule_baseline_whose_prediction_does_not_fit_the_task_is_skipped(api, project, lifecycle):
    """The workspace accepts a text prediction; a binary evaluation cannot use it."""
    Baseline.objects.create(
        cycle=lifecycle.cycle,
        name="Dish rule",
        kind="rules",
        rules={"rules": [{"when": [{"feature": "size", "op": "==", "value": "large"}],
                          "then": "bibimbap"}], "default": "bulgogi"},
    )  # fmt: skip
    response = submit(api, project)
    assert response.status_code == 202
    [warning] = response.json()["skipped_rule_baselines"]
    assert "Dish rule" in warning and "binary task" in warning


def test_a_rule_set_the_workspace_accepts_but_the_engine_refuses_is_skipped(
    api, project, lifecycle
):
    """A stored rule set the engine can't run (here one saved before the workspace
    refused null predictions) is skipped with the engine's reason, never a failure."""
    baseline = Baseline(
        cycle=lifecycle.cycle,
        name="Unfinished rule",
        kind="rules",
        rules={"rules": [{"when": [{"feature": "texture", "op": ">", "value": 30}],
                          "then": None}], "default": 0},
    )  # fmt: skip
    baseline.save()  # written directly: the workspace's validation now refuses it
    response = submit(api, project)
    assert response.status_code == 202
    [warning] = response.json()["skipped_rule_baselines"]
    assert warning.startswith("Rule baseline “Unfinished rule” skipped: rules[0].then:")


def test_only_the_current_cycles_rule_baselines_are_used(api, project, rule_baseline, member):
    cycle_start_next(project=project, user=member)
    Baseline.objects.filter(cycle__number=2).update(name="Texture rule v2")
    response = submit(api, project)
    assert response.json()["rule_baselines"] == ["Texture rule v2"]


# -- the configure page ------------------------------------------------------------------------


@pytest.fixture
def draft(project, member):
    return services.evaluation_upload(project=project, user=member, upload=upload(cancer_csv()))


def _configure(client, draft, **extra):
    data = {
        "name": "cancer",
        "task": "binary",
        "y_true": "label",
        "y_score": "score",
        "features": ["size", "texture"],
        "threshold": 0.5,
        "cost_fn": 1,
        "cost_fp": 1,
        "k": 10,
        **extra,
    }
    return client.post(f"{URL}{draft.pk}/columns/", data, follow=True)


def test_the_configure_page_offers_the_model_metrics_and_the_rule_baselines(
    member, draft, lifecycle, rule_baseline, client_for
):
    html = client_for(member).get(f"{URL}{draft.pk}/columns/").text
    assert "Project metric to update" in html
    assert f'<option value="{lifecycle.recall.pk}">Recall</option>' in html
    assert "Revisit rate" not in html  # a business metric
    assert "Evaluate the project&#x27;s rule baselines too" in html and "“Texture rule”" in html


def test_configuring_applies_the_rule_baselines_and_the_target(
    member, draft, lifecycle, rule_baseline, client_for, django_capture_on_commit_callbacks
):
    Baseline.objects.create(
        cycle=lifecycle.cycle,
        name="Spicy rule",
        kind="rules",
        rules={"rules": [{"when": [{"feature": "likes_spicy", "op": "==", "value": True}],
                          "then": 1}], "default": 0},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = _configure(
            client_for(member),
            draft,
            project_rules="on",
            target_metric=lifecycle.recall.pk,
            target_metric_key="recall",
        )
    assert "Rule baseline “Spicy rule” skipped" in response.text
    draft.refresh_from_db()
    assert [b["name"] for b in draft.rule_baselines] == ["Texture rule"]
    assert draft.status == "succeeded"
    lifecycle.recall.refresh_from_db()
    assert lifecycle.recall.current == draft.result["metrics"]["recall"]


def test_unticking_the_box_leaves_the_rule_baselines_out(member, draft, rule_baseline, client_for):
    _configure(client_for(member), draft)
    draft.refresh_from_db()
    assert draft.status == "queued" and draft.rule_baselines == []


def test_the_result_page_names_the_metric_it_measures(
    member, make_evaluation, lifecycle, client_for
):
    evaluation = make_evaluation(target_metric=lifecycle.recall, target_metric_key="recall")
    html = client_for(member).get(f"{URL}{evaluation.pk}/").text
    assert "Measures" in html and ">Recall</a> (target 0.8)" in html
    assert "its current value is now this evaluation's <code>recall</code>" in html
