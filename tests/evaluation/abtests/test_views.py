"""The A/B test pages: design, calculator, results entry, uploads, analysis polling,
decision; htmx fragments with and without HX-Request; permissions; query counts."""

import math

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from evaluation.abtests import jobs, services, state
from evaluation.models import ABRawUpload, ABResult, ABTest, ABTestAnalysis
from evaluation.uploads import MaxSizeUploadHandler

from .conftest import RESULTS

HTMX = {"HTTP_HX_REQUEST": "true"}


def base(org, project) -> str:
    return f"/o/{org.slug}/projects/{project.slug}/ab-tests/"


def design_post(**overrides) -> dict:
    data = {
        "name": "Menu descriptions",
        "hypothesis": "Descriptions bring first-time guests back.",
        "control": "control",
        "planned_users_per_variant": "",
        "planned_days": "",
        "variants-TOTAL_FORMS": "3",
        "variants-INITIAL_FORMS": "0",
        "variants-0-key": "control",
        "variants-0-allocation": "50",
        "variants-1-key": "treatment",
        "variants-1-allocation": "50",
        "variants-2-key": "",
        "variants-2-allocation": "",
        "metrics-TOTAL_FORMS": "2",
        "metrics-INITIAL_FORMS": "0",
        "metrics-0-key": "conversion",
        "metrics-0-type": "binomial",
        "metrics-0-role": "primary",
        "metrics-0-direction": "higher",
        "metrics-1-key": "order_time",
        "metrics-1-type": "continuous",
        "metrics-1-role": "guardrail",
        "metrics-1-direction": "lower",
    }
    data.update(overrides)
    return data


# --- design --------------------------------------------------------------------------------


def test_the_design_form_creates_a_draft_and_redirects_to_it(org, project, member, client_for):
    response = client_for(member).post(base(org, project) + "new/", design_post())
    abtest = ABTest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{base(org, project)}{abtest.pk}/"
    assert [(v.key, v.allocation, v.is_control) for v in abtest.variants.all()] == [
        ("control", 0.5, True),
        ("treatment", 0.5, False),
    ]
    assert [(m.key, m.role, m.direction) for m in abtest.metrics.all()] == [
        ("conversion", "primary", "higher"),
        ("order_time", "guardrail", "lower"),
    ]


def test_allocations_not_adding_up_show_an_error_and_save_nothing(org, project, member, client_for):
    response = client_for(member).post(
        base(org, project) + "new/", design_post(**{"variants-1-allocation": "40"})
    )
    assert response.status_code == 200
    assert "The traffic shares add up to 90 %; make them add up to 100 %." in response.text
    assert not ABTest.objects.exists()


def test_a_missing_name_and_a_bad_split_are_reported_together(org, project, member, client_for):
    response = client_for(member).post(
        base(org, project) + "new/", design_post(name="", **{"variants-1-allocation": "60"})
    )
    assert "This field is required." in response.text
    assert "add up to 110 %" in response.text
    assert not ABTest.objects.exists()


def test_a_missing_control_shows_an_error(org, project, member, client_for):
    response = client_for(member).post(base(org, project) + "new/", design_post(control="old"))
    assert "control variant" in response.text
    assert not ABTest.objects.exists()


def test_the_design_page_embeds_the_calculator(org, project, member, client_for):
    response = client_for(member).get(base(org, project) + "new/")
    assert response.status_code == 200
    assert 'id="calculator-result"' in response.text
    assert 'hx-get="' + base(org, project) + 'sample-size/"' in response.text


def test_a_draft_design_can_be_edited_but_a_running_one_cannot(
    org, project, abtest, member, client_for
):
    client = client_for(member)
    url = f"{base(org, project)}{abtest.pk}/edit/"
    assert client.get(url).status_code == 200
    client.post(url, design_post(name="Renamed"))
    abtest.refresh_from_db()
    assert abtest.name == "Renamed"
    services.abtest_start(abtest=abtest, user=member)
    response = client.post(url, design_post(name="Again"))
    assert response.status_code == 302
    abtest.refresh_from_db()
    assert abtest.name == "Renamed"


def test_it_requires_edit_permission_to_design(org, project, viewer, stakeholder, client_for):
    for user in (viewer, stakeholder):
        assert client_for(user).get(base(org, project) + "new/").status_code == 403
        response = client_for(user).post(base(org, project) + "new/", design_post())
        assert response.status_code == 403
    assert not ABTest.objects.exists()


# --- the calculator ------------------------------------------------------------------------


def test_the_calculator_answers_a_fragment_to_htmx_and_a_page_otherwise(
    org, project, viewer, client_for
):
    query = (
        "?metric_type=binomial&baseline=0.1&mde=0.05&mde_type=relative&alpha=0.05&power=0.8"
        "&variants=2&daily_users=1000"
    )
    client = client_for(viewer)
    fragment = client.get(base(org, project) + "sample-size/" + query, **HTMX)
    assert fragment.text.lstrip().startswith('<div id="calculator-result"')
    assert "<html" not in fragment.text
    exact = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(0.105, 0.1), alpha=0.05, power=0.8, ratio=1
    )
    per_variant = math.ceil(exact)
    assert f'id="plan-per-variant">{per_variant:,}<' in fragment.text
    assert f"<strong>{math.ceil(2 * per_variant / 1000)}</strong>" in fragment.text  # days
    page = client.get(base(org, project) + "sample-size/" + query)
    assert "<html" in page.text and f"{per_variant:,}" in page.text


def test_the_calculator_explains_impossible_inputs(org, project, member, client_for):
    response = client_for(member).get(
        base(org, project) + "sample-size/?metric_type=binomial&baseline=0.9&mde=0.5"
        "&mde_type=relative&alpha=0.05&power=0.8&variants=2",
        **HTMX,
    )
    assert "outside (0, 1)" in response.text


# --- detail, status ------------------------------------------------------------------------


def test_start_and_stop_move_the_status(org, project, abtest, member, client_for):
    client = client_for(member)
    url = f"{base(org, project)}{abtest.pk}/status/"
    client.post(url, {"action": "start"})
    abtest.refresh_from_db()
    assert abtest.status == "running"
    response = client.post(url, {"action": "start"}, follow=True)
    assert "Only a draft test can be started" in response.text
    client.post(url, {"action": "stop"})
    abtest.refresh_from_db()
    assert abtest.status == "stopped"


def test_stop_analyses_the_final_results_so_the_team_can_decide_at_once(
    org, project, running_abtest, member, client_for, django_capture_on_commit_callbacks
):
    client = client_for(member)
    earlier = services.abtest_analysis_request(
        abtest=running_abtest, user=member, options={"alpha": 0.1}, enqueue=False
    )
    jobs.abtest_analysis_run(analysis_id=earlier.pk)
    url = f"{base(org, project)}{running_abtest.pk}/status/"
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url, {"action": "stop"})
    analysis = running_abtest.analyses.order_by("-version").first()
    assert (analysis.version, analysis.status) == (2, "queued")
    assert analysis.options["alpha"] == 0.1  # the options of the latest analysis
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    running_abtest.refresh_from_db()
    assert running_abtest.status == "analyzed"


def test_stop_without_primary_results_queues_no_analysis(org, project, abtest, member, client_for):
    client = client_for(member)
    url = f"{base(org, project)}{abtest.pk}/status/"
    client.post(url, {"action": "start"})
    client.post(url, {"action": "stop"})
    abtest.refresh_from_db()
    assert abtest.status == "stopped"
    assert not abtest.analyses.exists()


def test_a_viewer_reads_the_page_but_may_not_change_it(
    org, project, running_abtest, viewer, client_for
):
    client = client_for(viewer)
    url = f"{base(org, project)}{running_abtest.pk}/"
    response = client.get(url)
    assert response.status_code == 200
    assert "Enter results for" not in response.text
    assert client.post(url + "status/", {"action": "stop"}).status_code == 403
    assert client.post(url + "analyze/", {"alpha": "0.05"}).status_code == 403
    assert client.post(url + "decide/", {"outcome": "ship"}).status_code == 403


def test_the_results_page_needs_a_bounded_number_of_queries(
    org, project, analyzed_abtest, member, client_for, django_assert_max_num_queries
):
    client = client_for(member)
    url = f"{base(org, project)}{analyzed_abtest.pk}/"
    with django_assert_max_num_queries(17):
        response = client.get(url)
    assert response.status_code == 200
    assert 'id="lift-conversion-treatment"' in response.text


# --- results -------------------------------------------------------------------------------


def results_post(metric="conversion", **values) -> dict:
    data = {"metric": metric}
    if metric == "conversion":
        data.update(
            {
                "control__users": "1000",
                "control__conversions": "100",
                "treatment__users": "1010",
                "treatment__conversions": "131",
            }
        )
    data.update(values)
    return {k if k == "metric" else f"{metric}-{k}": v for k, v in data.items()}


def test_results_entered_in_the_form_are_saved_and_redirect(
    org, project, abtest, member, client_for
):
    url = f"{base(org, project)}{abtest.pk}/results/"
    response = client_for(member).post(url, results_post())
    assert response.status_code == 302
    assert sorted(ABResult.objects.values_list("users", "conversions")) == [
        (1000, 100),
        (1010, 131),
    ]


def test_a_continuous_metric_may_be_entered_as_mean_and_sample_sd(
    org, project, abtest, member, client_for
):
    control, treatment = np.array([2.0, 4.0, 9.0]), np.array([1.0, 5.0, 6.0, 8.0])
    data = {"metric": "revenue"}
    for key, values in (("control", control), ("treatment", treatment)):
        data[f"revenue-{key}__users"] = str(len(values))
        data[f"revenue-{key}__mean"] = repr(float(values.mean()))
        data[f"revenue-{key}__sd"] = repr(float(values.std(ddof=1)))
    url = f"{base(org, project)}{abtest.pk}/results/"
    response = client_for(member).post(url, data)
    assert response.status_code == 302
    rows = {r.variant.key: r for r in ABResult.objects.select_related("variant")}
    assert rows["control"].sum == pytest.approx(control.sum())
    assert rows["control"].sum_squares == pytest.approx(np.square(control).sum())
    assert rows["treatment"].sum_squares == pytest.approx(np.square(treatment).sum())


def test_a_continuous_metric_without_sums_or_mean_is_a_form_error(
    org, project, abtest, member, client_for
):
    data = {"metric": "revenue", "revenue-control__users": "3", "revenue-treatment__users": "4"}
    response = client_for(member).post(f"{base(org, project)}{abtest.pk}/results/", data)
    assert response.status_code == 200
    assert "or the mean and the sample standard deviation" in response.text
    assert not ABResult.objects.exists()


def test_results_entered_with_htmx_answer_the_results_fragment(
    org, project, abtest, member, client_for
):
    url = f"{base(org, project)}{abtest.pk}/results/"
    response = client_for(member).post(url, results_post(), **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="results">')
    assert "<html" not in response.text
    assert "12.97%" in response.text  # the treatment: 131 / 1010


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"control__conversions": "1001"}, "cannot exceed"),
        ({"control__users": "-3"}, "cannot be negative"),
        ({"control__users": "0", "control__conversions": "0"}, "&#x27;users&#x27; is 0"),
        ({"treatment__users": "lots"}, "is not a number"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_results_in_the_form_show_the_error_and_save_nothing(
    org, project, abtest, member, client_for, values, message, htmx
):
    url = f"{base(org, project)}{abtest.pk}/results/"
    response = client_for(member).post(url, results_post(**values), **(HTMX if htmx else {}))
    assert response.status_code == 200
    assert message in response.text
    assert ("<html" in response.text) is not htmx
    assert not ABResult.objects.exists()


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("results.csv", text.encode(), content_type="text/csv")


GOOD_CSV = """metric,variant,users,conversions,sum,sum_squares
conversion,control,1000,100,,
conversion,treatment,1010,131,,
revenue,control,1000,,24800,705300
revenue,treatment,1010,,26260,782000
"""


def test_an_aggregates_csv_replaces_the_results_of_its_metrics(
    org, project, abtest, member, client_for
):
    url = f"{base(org, project)}{abtest.pk}/results/csv/"
    response = client_for(member).post(url, {"file": csv_file(GOOD_CSV)})
    assert response.status_code == 302
    saved = {(r.metric.key, r.variant.key): r.as_stats() for r in ABResult.objects.all()}
    assert saved[("revenue", "treatment")] == RESULTS["revenue"]["treatment"]
    assert saved[("conversion", "control")] == RESULTS["conversion"]["control"]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (GOOD_CSV.replace("revenue,control,1000,,", "revenue,control,1000,5,"), "unknown field"),
        (GOOD_CSV.replace("conversion,treatment", "conversion,treatmnet"), "unknown variant"),
        (GOOD_CSV.replace("revenue,control", "visits,control"), "Unknown metric"),
        (GOOD_CSV.replace("1010,131", "1010,1311"), "cannot exceed"),
        ("metric,users\nconversion,5\n", "needs the column"),
        (GOOD_CSV + "conversion,control,5,1,,\n", "appears twice"),
    ],
    ids=["wrong-type", "unknown-variant", "unknown-metric", "too-many", "columns", "duplicate"],
)
def test_a_bad_aggregates_csv_shows_the_error_and_saves_nothing(
    org, project, running_abtest, member, client_for, csv_text, message
):
    before = sorted(ABResult.objects.values_list("pk", "users"))
    url = f"{base(org, project)}{running_abtest.pk}/results/csv/"
    response = client_for(member).post(url, {"file": csv_file(csv_text)})
    assert response.status_code == 200
    assert message in response.text.replace("&#x27;", "'")
    assert sorted(ABResult.objects.values_list("pk", "users")) == before


# --- raw uploads and their progress --------------------------------------------------------

RAW = b"variant,conversion,revenue,order_time\n" + b"control,1,30.5,7\ntreatment,0,12.0,9\n" * 5


def test_a_raw_upload_is_aggregated_and_its_progress_polling_stops_when_done(
    org, project, abtest, member, client_for, django_capture_on_commit_callbacks
):
    client = client_for(member)
    url = f"{base(org, project)}{abtest.pk}/uploads/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"file": csv_file(RAW.decode()), "variant_column": "variant"})
    assert response.status_code == 302
    upload = ABRawUpload.objects.get()
    assert upload.status == "succeeded"
    status = client.get(f"{url}{upload.pk}/", **HTMX)
    assert status.status_code == 286
    assert status["HX-Retarget"] == "#results"
    assert "10 rows" in status.text
    assert ABResult.objects.get(metric__key="conversion", variant__key="control").conversions == 5


def test_a_pending_upload_keeps_polling_and_without_htmx_redirects(
    org, project, abtest, member, client_for
):
    upload = services.abtest_raw_upload_create(
        abtest=abtest, user=member, file=csv_file(RAW.decode())
    )
    client = client_for(member)
    url = f"{base(org, project)}{abtest.pk}/uploads/{upload.pk}/"
    polled = client.get(url, **HTMX)
    assert polled.status_code == 200
    assert 'hx-trigger="every 1s"' in polled.text
    assert "<progress" in polled.text
    plain = client.get(url)
    assert plain.status_code == 302
    assert plain["Location"].endswith(f"/ab-tests/{abtest.pk}/#results")


@pytest.fixture
def bytes_streamed(monkeypatch):
    """What the size-limit handler saw of each file chunk by chunk, in bytes."""
    seen: list[int] = []
    receive = MaxSizeUploadHandler.receive_data_chunk

    def spy(self, raw_data: bytes, start: int) -> bytes:
        seen.append(self.received + len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(MaxSizeUploadHandler, "receive_data_chunk", spy)
    return seen


def test_an_oversize_raw_upload_is_refused_while_it_streams_and_saves_nothing(
    org, project, abtest, member, client_for, settings, bytes_streamed
):
    settings.ABTEST_MAX_UPLOAD_BYTES = 100_000
    body = RAW + b"control,1,30.5,7\n" * 40_000  # about 680 kB
    url = f"{base(org, project)}{abtest.pk}/uploads/"
    response = client_for(member).post(url, {"file": csv_file(body.decode())})
    assert response.status_code == 413
    assert "The file is larger than the limit of 97.7 KB." in response.text
    assert "ABTEST_MAX_UPLOAD_BYTES" in response.text
    assert "<details open>" in response.text  # the upload form, with its error
    assert bytes_streamed and max(bytes_streamed) < len(body) / 2
    assert not ABRawUpload.objects.exists()


def test_a_raw_upload_announced_too_large_is_refused_before_any_byte_is_read(
    org, project, abtest, member, client_for, settings, bytes_streamed
):
    settings.ABTEST_MAX_UPLOAD_BYTES = 1_000
    body = RAW + b"control,1,30.5,7\n" * 80_000  # about 1.4 MB, over limit + overhead
    url = f"{base(org, project)}{abtest.pk}/uploads/"
    response = client_for(member).post(url, {"file": csv_file(body.decode())}, **HTMX)
    assert response.status_code == 413
    assert "The file is larger than the limit of 1000 bytes." in response.text
    assert bytes_streamed == []
    assert not ABRawUpload.objects.exists()


def test_an_oversize_aggregates_csv_is_refused_while_it_streams(
    org, project, running_abtest, member, client_for, bytes_streamed
):
    before = sorted(ABResult.objects.values_list("pk", "users"))
    text = GOOD_CSV + "# padding\n" * 150_000  # 1.5 MB
    url = f"{base(org, project)}{running_abtest.pk}/results/csv/"
    response = client_for(member).post(url, {"file": csv_file(text)})
    assert response.status_code == 413
    assert "The aggregates CSV is larger than 1 MB; is it raw rows?" in response.text
    assert max(bytes_streamed) < len(text)
    assert sorted(ABResult.objects.values_list("pk", "users")) == before


def test_uploads_still_need_the_csrf_token(org, project, abtest, member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    url = f"{base(org, project)}{abtest.pk}/uploads/"
    response = client.post(url, {"file": csv_file(RAW.decode())})
    assert response.status_code == 403
    assert not ABRawUpload.objects.exists()


# --- analysis and decision -----------------------------------------------------------------


def test_requesting_an_analysis_queues_a_version_and_the_page_polls_it(
    org, project, stopped_abtest, member, client_for
):
    client = client_for(member)
    detail = f"{base(org, project)}{stopped_abtest.pk}/"
    response = client.post(
        detail + "analyze/", {"alpha": "0.05", "correction": "none", "prior": "flat"}
    )
    assert response.status_code == 302
    analysis = ABTestAnalysis.objects.get()
    assert analysis.status == "queued"  # on_commit never fires inside the test transaction
    page = client.get(detail)
    assert f'hx-get="{detail}analyses/{analysis.pk}/"' in page.text
    polled = client.get(f"{detail}analyses/{analysis.pk}/", **HTMX)
    assert polled.status_code == 200
    assert 'id="analysis-progress"' in polled.text
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    done = client.get(f"{detail}analyses/{analysis.pk}/", **HTMX)
    assert done.status_code == 286
    assert done["HX-Retarget"] == "#analysis"
    assert 'id="lift-conversion-treatment"' in done.text
    assert 'hx-swap-oob="true"' in done.text  # the status steps now show "Analyzed"
    assert "Record decision" in done.text


def test_the_analysis_versions_badge_follows_the_job_to_succeeded(
    org, project, stopped_abtest, member, client_for
):
    client = client_for(member)
    detail = f"{base(org, project)}{stopped_abtest.pk}/"
    client.post(detail + "analyze/", {"alpha": "0.05", "correction": "none", "prior": "flat"})
    analysis = ABTestAnalysis.objects.get()
    page = client.get(detail).text
    versions = page[page.index('id="analysis-versions"') :]
    assert '<span class="badge">Queued</span>' in versions[: versions.index("</section>")]
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    done = client.get(f"{detail}analyses/{analysis.pk}/", **HTMX).text
    # The versions list is swapped out of band with the results, so no stale "Queued".
    versions = done[done.index('<div id="analysis-versions" hx-swap-oob="true">') :]
    assert '<span class="badge badge-ok">Succeeded</span>' in versions
    assert "Queued" not in done


def test_an_analysis_version_has_its_own_page(org, project, analyzed_abtest, viewer, client_for):
    analysis = analyzed_abtest.analyses.get()
    url = f"{base(org, project)}{analyzed_abtest.pk}/analyses/{analysis.pk}/"
    response = client_for(viewer).get(url)
    assert response.status_code == 200
    assert "Analysis version 1" in response.text
    assert 'class="lift-bar"' in response.text


def test_bad_analysis_options_show_the_error(org, project, stopped_abtest, member, client_for):
    url = f"{base(org, project)}{stopped_abtest.pk}/analyze/"
    response = client_for(member).post(
        url, {"alpha": "0.05", "correction": "none", "prior": "normal", "prior_variance": "-1"}
    )
    assert response.status_code == 200
    assert "greater than 0" in response.text
    assert not ABTestAnalysis.objects.exists()


def test_the_results_page_shows_the_lift_row_and_the_srm_banner(
    org, project, abtest, member, client_for
):
    results = {**RESULTS, "conversion": {**RESULTS["conversion"]}}
    results["conversion"]["treatment"] = {"users": 1300, "conversions": 150}
    state.abtest_results_set(abtest=abtest, user=member, results=results, source="form")
    services.abtest_stop(abtest=abtest, user=member, analyse=False)
    analysis = services.abtest_analysis_request(abtest=abtest, user=member, enqueue=False)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    response = client_for(member).get(f"{base(org, project)}{abtest.pk}/")
    assert 'id="srm-banner"' in response.text
    assert "Sample ratio mismatch" in response.text
    lift = analysis.__class__.objects.get().result["metrics"]["conversion"]["treatment"]["lift"]
    assert f"{lift * 100:+.2f}%" in response.text


def test_the_page_flags_a_breached_guardrail(org, project, abtest, member, client_for):
    results = {**RESULTS, "order_time": {**RESULTS["order_time"]}}
    results["order_time"]["treatment"] = {"users": 1010, "sum": 9595.0, "sum_squares": 100000.0}
    state.abtest_results_set(abtest=abtest, user=member, results=results, source="form")
    services.abtest_stop(abtest=abtest, user=member, analyse=False)
    analysis = services.abtest_analysis_request(abtest=abtest, user=member, enqueue=False)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    response = client_for(member).get(f"{base(org, project)}{abtest.pk}/")
    assert "Guardrail breached" in response.text


def test_a_decision_closes_the_test_and_shows_on_the_project_page(
    org, project, analyzed_abtest, member, client_for
):
    client = client_for(member)
    url = f"{base(org, project)}{analyzed_abtest.pk}/decide/"
    response = client.post(url, {"outcome": "ship", "rationale": "Revisit rate +3 points."})
    assert response.status_code == 302
    analyzed_abtest.refresh_from_db()
    assert analyzed_abtest.status == "decided"
    project_page = client.get(f"/o/{org.slug}/projects/{project.slug}/")
    assert "Menu descriptions" in project_page.text
    assert "Revisit rate +3 points." in project_page.text
    assert "Ship" in project_page.text


def test_a_decision_without_rationale_is_refused(org, project, analyzed_abtest, member, client_for):
    url = f"{base(org, project)}{analyzed_abtest.pk}/decide/"
    response = client_for(member).post(url, {"outcome": "ship", "rationale": ""})
    assert response.status_code == 200
    assert "This field is required" in response.text
    analyzed_abtest.refresh_from_db()
    assert analyzed_abtest.status == "analyzed"


def test_the_list_shows_the_projects_tests_with_their_decision(
    org, project, analyzed_abtest, member, client_for, other_abtest
):
    services.abtest_decide(
        abtest=analyzed_abtest, user=member, outcome="iterate", rationale="Try shorter text."
    )
    response = client_for(member).get(base(org, project))
    assert "Menu descriptions" in response.text
    assert "Iterate" in response.text
    assert "Secret test" not in response.text


def test_saving_an_unchanged_design_keeps_every_variant_and_metric(
    org, project, abtest, member, client_for
):
    """The browser posts the rendered rows as initial forms; unchanged rows must stay."""
    data = design_post(**{"variants-INITIAL_FORMS": "2", "metrics-INITIAL_FORMS": "2"})
    data.update({"variants-0-description": "Old menu", "variants-1-description": "New menu"})
    client_for(member).post(f"{base(org, project)}{abtest.pk}/edit/", data)
    assert [v.key for v in abtest.variants.all()] == ["control", "treatment"]
    assert [m.key for m in abtest.metrics.all()] == ["conversion", "order_time"]
