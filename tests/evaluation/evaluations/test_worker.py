"""Evaluations on a real Celery worker: a worker SIGKILLed mid-evaluation (on Redis and on
the embedded broker of `make run`) and a broker down at submit lose nothing, and the
result is written exactly once."""

import json

import pytest

from accounts.models import AuditEvent, JobAttempt
from evaluation.evaluations import services
from evaluation.models import Evaluation, EvaluationMetric, EvaluationStatus
from mlprojects.celery import app
from tests.worker import (
    EMBEDDED_BROKER,
    FAST_JOBS,
    broker_unreachable,
    start_worker,
    wait_for,
)

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


def assert_succeeded_exactly_once(done: Evaluation) -> None:
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert done.attempts == 2
    assert done.rows_read == ROWS
    assert done.result["info"]["rows"] == ROWS
    assert AuditEvent.objects.filter(action="evaluation.succeeded").count() == 1
    model_rows = EvaluationMetric.objects.filter(evaluation=done, source="model")
    assert model_rows.count() == len(done.result["metrics"]) == 9
    attempts = JobAttempt.objects.filter(job_type="evaluation.evaluation", job_id=done.pk)
    assert [a.outcome for a in attempts] == ["lost", "succeeded"]
    assert attempts[0].worker != attempts[1].worker


def kill_mid_evaluation_and_replace(
    tmp_path, evaluation_id: int, *, broker: str | None = None, first_beat: bool = False
) -> Evaluation:
    """Kill a worker (SIGKILL to all its processes) while it is mid-file; a new worker
    with beat must finish the evaluation within the reclaim interval (8 s here)."""
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    # The first worker sleeps in every progress callback, so it is surely mid-file when
    # it is killed; the second one runs at full speed.
    first = start_worker(
        tmp_path / "first",
        broker=broker,
        beat=first_beat,
        extra_env={**FAST_JOBS, "EVALUATION_TEST_PROGRESS_DELAY": "2"},
    )
    second = None
    try:
        wait_for(
            lambda: status_of(evaluation_id).rows_read > 0,
            timeout=30,
            message=f"the first worker never made progress:\n{first.log()}",
        )
        running = status_of(evaluation_id)
        assert running.status == EvaluationStatus.RUNNING
        assert 0 < running.progress < 1
        first.kill()
        assert status_of(evaluation_id).status == EvaluationStatus.RUNNING

        second = start_worker(tmp_path / "second", broker=broker, beat=True, extra_env=FAST_JOBS)
        return wait_for(
            lambda: (e := status_of(evaluation_id)).is_finished and e,
            timeout=120,
            message=f"the evaluation never finished:\n{second.log()}",
        )
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_a_worker_killed_mid_evaluation_on_redis_is_replaced_and_it_succeeds_exactly_once(
    project, member, tmp_path, not_eager
):
    evaluation = services.evaluation_create(
        project=project,
        user=member,
        upload=upload(cancer_csv(rows=ROWS)),
        task="binary",
        columns=BINARY_COLUMNS,
        options={"slice_columns": ["size"]},
    )
    done = kill_mid_evaluation_and_replace(tmp_path, evaluation.pk)
    assert_succeeded_exactly_once(done)


def test_a_worker_killed_mid_evaluation_on_the_embedded_broker_loses_nothing(
    project, member, tmp_path
):
    # The embedded broker drops a message once a worker has taken it, so only the job
    # table can bring the evaluation back. The test process cannot reach the worker's
    # broker: beat's sweep in the worker sends the queued evaluation.
    with broker_unreachable():
        evaluation = services.evaluation_create(
            project=project,
            user=member,
            upload=upload(cancer_csv(rows=ROWS)),
            task="binary",
            columns=BINARY_COLUMNS,
            options={"slice_columns": ["size"]},
        )
    assert status_of(evaluation.pk).dispatched_at is None
    done = kill_mid_evaluation_and_replace(
        tmp_path, evaluation.pk, broker=EMBEDDED_BROKER, first_beat=True
    )
    assert_succeeded_exactly_once(done)


def test_an_evaluation_submitted_while_the_broker_is_down_runs_once_it_is_back(
    project, member, tmp_path, client_for
):
    api = client_for(member)
    with broker_unreachable():
        response = api.post(
            f"/api/v1/projects/{project.pk}/evaluations/",
            {
                "file": upload(cancer_csv()),
                "task": "binary",
                "columns": json.dumps(BINARY_COLUMNS),
            },
        )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    queued = Evaluation.objects.get()  # nothing else was created, nothing half-written
    assert (queued.status, queued.dispatched_at, queued.attempts) == ("queued", None, 0)

    app.conf.task_always_eager = False
    worker = start_worker(tmp_path, beat=True, extra_env=FAST_JOBS)
    try:
        done = wait_for(
            lambda: (e := status_of(queued.pk)).is_finished and e,
            timeout=120,
            message=f"the sweep never sent the evaluation:\n{worker.log()}",
        )
    finally:
        app.conf.task_always_eager = True
        worker.kill()
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert done.attempts == 1
    assert AuditEvent.objects.filter(action="evaluation.succeeded").count() == 1


def test_the_progress_bar_fragment_follows_a_real_worker(
    project, member, tmp_path, not_eager, client_for
):
    worker = start_worker(tmp_path, extra_env={"EVALUATION_TEST_PROGRESS_DELAY": "2"})
    client = client_for(member)
    # The first request of a process loads every URL and template (seconds on a loaded
    # machine): done before the evaluation starts, so the first poll sees it running.
    client.get("/o/acme/projects/menu-recommender/evaluations/")
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
        seen = set()

        def finished():
            response = client.get(url, HTTP_HX_REQUEST="true")
            seen.add(response.status_code)
            return response.status_code == 286

        wait_for(finished, timeout=120, interval=0.3, message=worker.log())
    finally:
        worker.kill()
    done = status_of(evaluation.pk)
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert seen == {200, 286}
