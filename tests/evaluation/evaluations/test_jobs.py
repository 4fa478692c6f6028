"""The background work of an evaluation: redelivery, superseded attempts, time-outs and
unexpected errors end cleanly; evaluations whose worker was lost are swept by a periodic
task, not by the pages that show them."""

from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from accounts.models import AuditEvent
from evaluation.evaluations import jobs
from evaluation.evaluations.tasks import fail_stuck_evaluations_task, run_evaluation_task
from evaluation.models import EvaluationMetric, EvaluationStatus
from mlprojects.celery import app

from .conftest import refresh


def test_a_succeeded_evaluation_is_never_recomputed(make_evaluation):
    evaluation = make_evaluation()
    run_evaluation_task(evaluation.pk)
    evaluation = refresh(evaluation)
    assert evaluation.attempts == 1
    assert AuditEvent.objects.filter(action="evaluation.succeeded").count() == 1
    assert EvaluationMetric.objects.filter(evaluation=evaluation, source="model").count() == 9


def test_a_redelivered_running_evaluation_restarts_cleanly(make_evaluation):
    evaluation = make_evaluation(run=False)
    assert jobs.evaluation_start(evaluation_id=evaluation.pk) == 1  # the worker that died
    run_evaluation_task(evaluation.pk)  # the redelivery
    evaluation = refresh(evaluation)
    assert evaluation.status == EvaluationStatus.SUCCEEDED
    assert evaluation.attempts == 2
    assert EvaluationMetric.objects.filter(evaluation=evaluation, source="model").count() == 9


def test_a_superseded_attempt_cannot_record_its_result(make_evaluation):
    evaluation = make_evaluation(run=False)
    first = jobs.evaluation_start(evaluation_id=evaluation.pk)
    second = jobs.evaluation_start(evaluation_id=evaluation.pk)
    result = {"metrics": {"f1": 0.5}, "baselines": {}, "info": {}}
    assert not jobs.evaluation_record_success(
        evaluation_id=evaluation.pk, attempt=first, result=result
    )
    assert jobs.evaluation_record_success(
        evaluation_id=evaluation.pk, attempt=second, result=result
    )
    assert not jobs.evaluation_record_success(
        evaluation_id=evaluation.pk, attempt=second, result=result
    )
    assert EvaluationMetric.objects.filter(evaluation=evaluation).count() == 1


def started(evaluation, minutes_ago: int) -> None:
    jobs.evaluation_start(evaluation_id=evaluation.pk)
    type(evaluation).objects.filter(pk=evaluation.pk).update(
        started_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_the_sweep_marks_an_evaluation_running_past_the_time_limit_failed(
    make_evaluation, settings
):
    settings.EVALUATION_TIME_LIMIT_SECONDS = 60
    evaluation = make_evaluation(run=False)
    started(evaluation, minutes_ago=10)
    fail_stuck_evaluations_task.delay()
    evaluation = refresh(evaluation)
    assert evaluation.status == EvaluationStatus.FAILED
    assert "longer than 1 minutes" in evaluation.error
    assert evaluation.result is None
    assert jobs.evaluations_fail_stuck() == 0  # already failed: nothing left to do


def test_the_sweep_leaves_a_recent_running_evaluation_running(make_evaluation, settings):
    settings.EVALUATION_TIME_LIMIT_SECONDS = 60
    evaluation = make_evaluation(run=False)
    started(evaluation, minutes_ago=2)
    assert jobs.evaluations_fail_stuck() == 0
    assert refresh(evaluation).status == EvaluationStatus.RUNNING


def test_the_sweep_is_scheduled_by_celery_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["fail-stuck-evaluations"]
    assert app.tasks[entry["task"]].name == fail_stuck_evaluations_task.name
    assert entry["schedule"] == settings.EVALUATION_STUCK_SWEEP_SECONDS


def test_the_soft_time_limit_marks_the_evaluation_failed(make_evaluation, monkeypatch):
    def too_slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(jobs, "read_predictions", too_slow)
    evaluation = make_evaluation()
    assert evaluation.status == EvaluationStatus.FAILED
    assert "took longer than" in evaluation.error


def test_an_unexpected_error_fails_the_evaluation_without_a_result(make_evaluation, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jobs, "evaluate", broken)
    evaluation = make_evaluation()
    assert evaluation.status == EvaluationStatus.FAILED
    assert "internal error" in evaluation.error
    assert "disk on fire" not in evaluation.error
    assert evaluation.result is None
