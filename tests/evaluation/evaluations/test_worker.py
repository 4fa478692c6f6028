"""Evaluations on a real Celery worker over Redis, including a worker killed mid-task and
the beat-scheduled sweep of an evaluation whose worker was lost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from evaluation.evaluations import services
from evaluation.models import Evaluation, EvaluationMetric, EvaluationStatus
from mlprojects.celery import app
from tests.factories import EvaluationFactory
from tests.worker import start_worker, wait_for

from .conftest import BINARY_COLUMNS, cancer_csv, upload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 60_000  # ~6 MB of CSV: three 2 MB blocks, so three progress callbacks


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def status_of(evaluation_id: int) -> Evaluation:
    return Evaluation.objects.get(pk=evaluation_id)


def test_a_worker_killed_mid_evaluation_is_replaced_and_it_succeeds_exactly_once(
    project, member, tmp_path, not_eager
):
    # The first worker sleeps in every progress callback, so it is surely mid-file when
    # it is killed; the second one runs at full speed.
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = start_worker(tmp_path / "first", extra_env={"EVALUATION_TEST_PROGRESS_DELAY": "2"})
    second = None
    try:
        evaluation = services.evaluation_create(
            project=project,
            user=member,
            upload=upload(cancer_csv(rows=ROWS)),
            task="binary",
            columns=BINARY_COLUMNS,
            options={"slice_columns": ["size"]},
        )
        wait_for(
            lambda: status_of(evaluation.pk).rows_read > 0,
            timeout=30,
            message=f"the first worker never made progress:\n{first.log()}",
        )
        running = status_of(evaluation.pk)
        assert running.status == EvaluationStatus.RUNNING
        assert 0 < running.progress < 1
        first.kill()
        assert status_of(evaluation.pk).status == EvaluationStatus.RUNNING

        # Redis hands the unacknowledged task to a new worker once its visibility
        # timeout has passed (here 1 s instead of hours).
        second = start_worker(tmp_path / "second", extra_env={"CELERY_VISIBILITY_TIMEOUT": "1"})
        done = wait_for(
            lambda: (e := status_of(evaluation.pk)).is_finished and e,
            timeout=60,
            message=f"the evaluation never finished:\n{second.log()}",
        )
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert done.attempts == 2
    assert done.rows_read == ROWS
    assert done.result["info"]["rows"] == ROWS
    assert AuditEvent.objects.filter(action="evaluation.succeeded").count() == 1
    model_rows = EvaluationMetric.objects.filter(evaluation=done, source="model")
    assert model_rows.count() == len(done.result["metrics"]) == 9


def test_the_progress_bar_fragment_follows_a_real_worker(
    project, member, tmp_path, not_eager, client_for
):
    worker = start_worker(tmp_path, extra_env={"EVALUATION_TEST_PROGRESS_DELAY": "0.5"})
    try:
        evaluation = services.evaluation_create(
            project=project,
            user=member,
            upload=upload(cancer_csv(rows=ROWS)),
            task="binary",
            columns=BINARY_COLUMNS,
            options={},
        )
        url = f"/o/acme/projects/menu-recommender/evaluations/{evaluation.pk}/"
        client = client_for(member)
        seen = set()

        def finished():
            response = client.get(url, HTTP_HX_REQUEST="true")
            seen.add(response.status_code)
            return response.status_code == 286

        wait_for(finished, timeout=60, interval=0.3, message=worker.log())
    finally:
        worker.kill()
    assert seen == {200, 286}
    assert status_of(evaluation.pk).status == EvaluationStatus.SUCCEEDED


def test_celery_beat_sweeps_a_stuck_evaluation(project, tmp_path, not_eager):
    # Running for an hour, and its worker is gone: nothing else will ever finish it.
    evaluation = EvaluationFactory(
        project=project,
        status=EvaluationStatus.RUNNING,
        attempts=1,
        started_at=timezone.now() - timedelta(hours=1),
    )
    worker = start_worker(
        tmp_path,
        beat=True,
        extra_env={"EVALUATION_TIME_LIMIT_SECONDS": "60", "EVALUATION_STUCK_SWEEP_SECONDS": "1"},
    )
    try:
        failed = wait_for(
            lambda: (e := status_of(evaluation.pk)).is_finished and e,
            timeout=60,
            message=f"beat never swept the evaluation:\n{worker.log()}",
        )
    finally:
        worker.kill()
    assert failed.status == EvaluationStatus.FAILED
    assert "longer than 1 minutes" in failed.error
