"""The status machine, analysis versions and their idempotency, raw-row aggregation."""

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from evaluation.abtests import jobs, services, state
from evaluation.abtests.selectors import abtest_decisions_for_project
from evaluation.models import ABRawUpload, ABResult, ABTestAnalysis, ABTestDecision
from evaluation.stats import aggregate_file

from .conftest import METRICS, RESULTS

# --- the status machine --------------------------------------------------------------------


def test_a_test_goes_from_draft_to_decided(abtest, member):
    services.abtest_start(abtest=abtest, user=member)
    state.abtest_results_set(abtest=abtest, user=member, results=RESULTS, source="form")
    abtest = services.abtest_stop(abtest=abtest, user=member, analyse=False)
    analysis = services.abtest_analysis_request(abtest=abtest, user=member, enqueue=False)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    abtest.refresh_from_db()
    assert abtest.status == "analyzed"
    services.abtest_decide(abtest=abtest, user=member, outcome="ship", rationale="Revenue +5%.")
    abtest.refresh_from_db()
    assert abtest.status == "decided"
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[:3] == ["abtest.created", "abtest.running", "abtest.results_recorded"]
    assert "abtest.decided" in actions and "abtest.analyzed" in actions


@pytest.mark.parametrize(
    ("fixture", "action", "message"),
    [
        ("abtest", services.abtest_stop, "Only a running test can be stopped"),
        ("running_abtest", services.abtest_start, "Only a draft test can be started"),
        ("stopped_abtest", services.abtest_stop, "Only a running test can be stopped"),
        ("analyzed_abtest", services.abtest_start, "Only a draft test can be started"),
    ],
)
def test_refused_transitions_raise_a_clear_error_and_change_nothing(
    request, fixture, action, message, member
):
    abtest = request.getfixturevalue(fixture)
    before = abtest.status
    with pytest.raises(state.TransitionError, match=message):
        action(abtest=abtest, user=member)
    abtest.refresh_from_db()
    assert abtest.status == before


@pytest.mark.parametrize("fixture", ["abtest", "running_abtest", "stopped_abtest"])
def test_only_an_analyzed_test_can_be_decided(request, fixture, member):
    abtest = request.getfixturevalue(fixture)
    with pytest.raises(state.TransitionError, match="finished analysis"):
        services.abtest_decide(abtest=abtest, user=member, outcome="ship", rationale="Because.")
    assert not ABTestDecision.objects.exists()


def test_a_decision_needs_a_rationale_and_a_known_outcome(analyzed_abtest, member):
    with pytest.raises(ValidationError) as error:
        services.abtest_decide(abtest=analyzed_abtest, user=member, outcome="maybe", rationale=" ")
    assert set(error.value.message_dict) == {"outcome", "rationale"}
    analyzed_abtest.refresh_from_db()
    assert analyzed_abtest.status == "analyzed"


def test_a_decided_test_is_final(analyzed_abtest, member):
    services.abtest_decide(abtest=analyzed_abtest, user=member, outcome="ship", rationale="Up.")
    with pytest.raises(state.TransitionError):
        state.abtest_results_set(
            abtest=analyzed_abtest, user=member, results=RESULTS, source="form"
        )
    with pytest.raises(state.TransitionError):
        services.abtest_analysis_request(abtest=analyzed_abtest, user=member)
    with pytest.raises(state.TransitionError):
        services.abtest_decide(abtest=analyzed_abtest, user=member, outcome="ship", rationale="x")


def test_new_results_send_an_analyzed_test_back_to_stopped(analyzed_abtest, member):
    state.abtest_results_set(
        abtest=analyzed_abtest,
        user=member,
        results={"conversion": RESULTS["conversion"]},
        source="form",
    )
    analyzed_abtest.refresh_from_db()
    assert analyzed_abtest.status == "stopped"


def test_the_design_of_a_started_test_cannot_change(running_abtest, member):
    with pytest.raises(state.TransitionError, match="draft"):
        services.abtest_update_design(
            abtest=running_abtest,
            user=member,
            name="Renamed",
            hypothesis="h",
            variants=[{"key": "control", "allocation": 1.0}],
            metrics=METRICS,
        )


def test_an_interim_analysis_keeps_a_running_test_running(running_abtest, member):
    analysis = services.abtest_analysis_request(abtest=running_abtest, user=member, enqueue=False)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    running_abtest.refresh_from_db()
    assert running_abtest.status == "running"


# --- analyses: versions and idempotency ----------------------------------------------------


def test_the_request_creates_a_queued_row_with_a_snapshot_of_the_results(stopped_abtest, member):
    analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member, enqueue=False)
    assert analysis.status == "queued"
    assert analysis.version == 1
    assert analysis.inputs["results"] == RESULTS
    assert analysis.inputs["control"] == "control"


def test_a_redelivered_task_neither_duplicates_nor_recomputes(stopped_abtest, member):
    from evaluation.abtests.tasks import analyze_abtest_task

    analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member, enqueue=False)
    analyze_abtest_task.apply(args=[stopped_abtest.pk])
    analysis.refresh_from_db()
    finished = analysis.finished_at
    assert analysis.status == "succeeded"
    analyze_abtest_task.apply(args=[stopped_abtest.pk])
    analysis.refresh_from_db()
    assert ABTestAnalysis.objects.count() == 1
    assert analysis.finished_at == finished


def test_an_analysis_interrupted_mid_run_is_completed_by_the_retry(stopped_abtest, member):
    analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member, enqueue=False)
    ABTestAnalysis.objects.filter(pk=analysis.pk).update(status="running")  # the worker died
    jobs.abtest_analyses_run_pending(abtest_id=stopped_abtest.pk)
    analysis.refresh_from_db()
    assert analysis.status == "succeeded"
    assert analysis.result["metrics"]["conversion"]["treatment"]["users_treatment"] == 1010


def test_later_result_edits_do_not_change_an_analysis_version(analyzed_abtest, member):
    analysis = analyzed_abtest.analyses.get()
    before = analysis.result
    state.abtest_results_set(
        abtest=analyzed_abtest,
        user=member,
        results={"conversion": {k: {"users": 50, "conversions": 5} for k in RESULTS["conversion"]}},
        source="form",
    )
    jobs.abtest_analyses_run_pending(abtest_id=analyzed_abtest.pk)
    analysis.refresh_from_db()
    assert analysis.result == before


def test_an_analysis_the_engine_rejects_is_recorded_as_failed(stopped_abtest, member):
    analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member, enqueue=False)
    inputs = analysis.inputs
    inputs["results"]["conversion"]["control"]["conversions"] = 5000  # corrupt the snapshot
    ABTestAnalysis.objects.filter(pk=analysis.pk).update(inputs=inputs)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == "failed"
    assert "cannot exceed" in analysis.error
    stopped_abtest.refresh_from_db()
    assert stopped_abtest.status == "stopped"


def test_the_task_gives_up_on_a_lasting_database_error_with_bookkeeping(
    stopped_abtest, member, monkeypatch
):
    from django.db import OperationalError

    from evaluation.abtests.tasks import analyze_abtest_task

    analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member, enqueue=False)

    def broken(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(jobs, "abtest_analyses_run_pending", broken)
    result = analyze_abtest_task.apply(args=[stopped_abtest.pk], retries=3, throw=False)
    assert result.failed()
    analysis.refresh_from_db()
    assert analysis.status == "failed"
    assert "database is locked" in analysis.error


# --- raw per-user rows ---------------------------------------------------------------------


def _raw_frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = np.where(rng.random(n) < 0.5, "control", "treatment")
    revenue_pre = rng.gamma(3.0, 8.0, n)
    return pd.DataFrame(
        {
            "variant": variant,
            "conversion": (rng.random(n) < 0.12).astype(int),
            "revenue": revenue_pre * 0.6 + rng.gamma(2.0, 5.0, n),
            "order_time": rng.normal(8.0, 3.0, n),
            "conversion_pre": (rng.random(n) < 0.1).astype(int),
            "revenue_pre": revenue_pre,
            "order_time_pre": rng.normal(8.0, 3.0, n),
        }
    )


def _upload(abtest, member, content: bytes, name: str, **kwargs):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return services.abtest_raw_upload_create(abtest=abtest, user=member, file=file, **kwargs)


@pytest.mark.parametrize("kind", ["csv", "gzip", "parquet"])
def test_raw_rows_are_aggregated_like_the_engine_does(
    kind, abtest, member, django_capture_on_commit_callbacks
):
    frame = _raw_frame()
    if kind == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        content = buffer.getvalue()
    else:
        content = frame.to_csv(index=False).encode()
        if kind == "gzip":
            content = gzip.compress(content)
    with django_capture_on_commit_callbacks(execute=True):
        upload = _upload(abtest, member, content, "../../etc/passwd.csv", covariate_suffix="_pre")
    upload.refresh_from_db()
    assert upload.status == "succeeded", upload.error
    assert upload.rows_read == len(frame)
    assert upload.progress == 1.0
    expected = aggregate_file(
        io.BytesIO(content),
        variant_column="variant",
        variants=["control", "treatment"],
        metrics=METRICS,
        covariates={m["key"]: f"{m['key']}_pre" for m in METRICS},
    )
    saved = {
        (r.metric.key, r.variant.key): r.as_stats()
        for r in ABResult.objects.select_related("metric", "variant")
    }
    for metric, per_variant in expected.items():
        for variant, data in per_variant.items():
            assert saved[(metric, variant)] == pytest.approx(data, rel=1e-12)
    abtest.refresh_from_db()
    assert abtest.status == "running"


def test_the_stored_file_has_a_server_generated_name(abtest, member):
    upload = _upload(abtest, member, b"variant,conversion\ncontrol,1\n", "../../etc/passwd.csv")
    assert upload.file.name.startswith(f"abtests/{abtest.pk}/raw-")
    assert upload.file.name.endswith(".csv")
    assert "passwd" not in upload.file.name and ".." not in upload.file.name
    assert upload.original_name == "passwd.csv"


def test_an_unknown_variant_in_raw_rows_fails_the_upload_and_keeps_the_results(
    running_abtest, member, django_capture_on_commit_callbacks
):
    frame = _raw_frame()
    frame.loc[7, "variant"] = "treatmnet"
    before = sorted(ABResult.objects.values_list("pk", "users"))
    with django_capture_on_commit_callbacks(execute=True):
        upload = _upload(running_abtest, member, frame.to_csv(index=False).encode(), "rows.csv")
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert "Row 8" in upload.error and "unknown variant 'treatmnet'" in upload.error
    assert sorted(ABResult.objects.values_list("pk", "users")) == before


def test_a_variant_without_rows_fails_the_upload(
    abtest, member, django_capture_on_commit_callbacks
):
    frame = _raw_frame()
    frame["variant"] = "control"
    with django_capture_on_commit_callbacks(execute=True):
        upload = _upload(abtest, member, frame.to_csv(index=False).encode(), "rows.csv")
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert "'treatment'" in upload.error
    assert not ABResult.objects.exists()


def test_processing_a_finished_upload_again_does_nothing(
    abtest, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload = _upload(abtest, member, _raw_frame().to_csv(index=False).encode(), "rows.csv")
    ids = sorted(ABResult.objects.values_list("pk", flat=True))
    jobs.abtest_raw_upload_process(upload_id=upload.pk)
    assert sorted(ABResult.objects.values_list("pk", flat=True)) == ids


def test_an_empty_upload_is_refused(abtest, member):
    with pytest.raises(ValidationError, match="empty"):
        _upload(abtest, member, b"", "rows.csv")
    assert not ABRawUpload.objects.exists()


# --- the selector for proposals ------------------------------------------------------------


def test_decisions_for_a_project_list_the_latest_decision_with_the_primary_lift(
    analyzed_abtest, member, project, other_abtest
):
    services.abtest_decide(
        abtest=analyzed_abtest, user=member, outcome="ship", rationale="Revisit rate +3 points."
    )
    (entry,) = abtest_decisions_for_project(project=project)
    assert entry["name"] == "Menu descriptions"
    assert entry["outcome"] == "ship"
    assert entry["rationale"] == "Revisit rate +3 points."
    assert entry["primary_metric"] == "conversion"
    lift = analyzed_abtest.analyses.get().result["metrics"]["conversion"]["treatment"]["lift"]
    assert entry["primary_results"]["treatment"]["lift"] == lift


def test_an_analysis_requested_while_the_broker_is_down_is_queued_and_swept_later(
    stopped_abtest, member, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.jobs import jobs_sweep
    from tests.worker import broker_unreachable

    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.dispatched_at) == ("queued", None)
    ABTestAnalysis.objects.filter(pk=analysis.pk).update(
        queued_at=timezone.now() - timedelta(minutes=1)
    )
    assert jobs_sweep()["dispatched"] == 1  # the broker is back (tasks run inline)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == ("succeeded", 1)
    stopped_abtest.refresh_from_db()
    assert stopped_abtest.status == "analyzed"


def test_a_gzip_bomb_of_raw_rows_fails_the_upload_at_the_row_limit(
    abtest, member, settings, django_capture_on_commit_callbacks
):
    settings.ABTEST_MAX_ROWS = 250_000
    bomb = gzip.compress(
        b"variant,conversion,revenue,order_time\n" + b"control,1,2.5,7\n" * 2_000_000, 9
    )
    assert len(bomb) < 100_000
    with django_capture_on_commit_callbacks(execute=True):
        upload = _upload(abtest, member, bomb, "bomb.csv.gz")
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert "more than 250,000 data rows" in upload.error
    assert "ABTEST_MAX_ROWS" in upload.error
    assert upload.rows_read <= 400_000
    assert not ABResult.objects.exists()
