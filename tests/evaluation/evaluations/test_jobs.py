"""The background work of an evaluation: redelivery, superseded attempts, time-outs and
unexpected errors end cleanly; evaluations whose worker was lost are reclaimed by the job
sweep (tests/accounts/test_jobs.py), not by the pages that show them."""

from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from accounts.models import AuditEvent, JobAttempt
from evaluation.evaluations import jobs
from evaluation.evaluations.tasks import run_evaluation_task
from evaluation.models import EvaluationMetric, EvaluationStatus

from .conftest import refresh


def test_a_succeeded_evaluation_is_never_recomputed(make_evaluation):
    evaluation = make_evaluation()
    run_evaluation_task(evaluation.pk)
    evaluation = refresh(evaluation)
    assert evaluation.attempts == 1
    assert AuditEvent.objects.filter(action="evaluation.succeeded").count() == 1
    assert EvaluationMetric.objects.filter(evaluation=evaluation, source="model").count() == 9


def lose_heartbeat(evaluation, seconds: int = 3600) -> None:
    type(evaluation).objects.filter(pk=evaluation.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_redelivered_message_leaves_an_evaluation_running_on_a_live_worker_alone(
    make_evaluation,
):
    evaluation = make_evaluation(run=False)
    assert jobs.evaluation_start(evaluation_id=evaluation.pk) == 1
    run_evaluation_task(evaluation.pk)  # a duplicate while the first worker still beats
    evaluation = refresh(evaluation)
    assert evaluation.status == EvaluationStatus.RUNNING
    assert evaluation.attempts == 1


def test_a_redelivered_evaluation_whose_worker_stopped_beating_restarts_cleanly(
    make_evaluation,
):
    evaluation = make_evaluation(run=False)
    assert jobs.evaluation_start(evaluation_id=evaluation.pk) == 1  # the worker that died
    lose_heartbeat(evaluation)
    run_evaluation_task(evaluation.pk)  # the redelivery
    evaluation = refresh(evaluation)
    assert evaluation.status == EvaluationStatus.SUCCEEDED
    assert evaluation.attempts == 2
    assert EvaluationMetric.objects.filter(evaluation=evaluation, source="model").count() == 9
    outcomes = JobAttempt.objects.filter(job_type="evaluation.evaluation", job_id=evaluation.pk)
    assert [a.outcome for a in outcomes] == ["lost", "succeeded"]


def test_a_superseded_attempt_cannot_record_its_result(make_evaluation):
    evaluation = make_evaluation(run=False)
    first = jobs.evaluation_start(evaluation_id=evaluation.pk)
    lose_heartbeat(evaluation)
    second = jobs.evaluation_start(evaluation_id=evaluation.pk)
    assert (first, second) == (1, 2)
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


def test_an_evaluation_out_of_attempts_fails_with_a_clear_error(make_evaluation, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    evaluation = make_evaluation(run=False)
    for _ in range(2):
        jobs.evaluation_start(evaluation_id=evaluation.pk)
        lose_heartbeat(evaluation)
    assert jobs.evaluation_start(evaluation_id=evaluation.pk) is None
    evaluation = refresh(evaluation)
    assert evaluation.status == EvaluationStatus.FAILED
    assert "started 2 times" in evaluation.error
    assert "JOB_MAX_ATTEMPTS" in evaluation.error
    assert evaluation.result is None


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
