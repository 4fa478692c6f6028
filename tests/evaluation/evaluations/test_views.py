"""Evaluation pages: upload and mapping, progress polling, results, download, compare."""

from datetime import timedelta

import pytest
from django.utils import timezone

from evaluation.evaluations import jobs
from evaluation.models import Evaluation, EvaluationStatus

from .conftest import cancer_csv, refresh, upload

BASE = "/o/acme/projects/menu-recommender/evaluations/"


def test_the_project_page_links_to_its_evaluations(project, member, client_for):
    response = client_for(member).get("/o/acme/projects/menu-recommender/")
    assert BASE in response.text


def test_the_list_shows_each_evaluation_with_its_headline_metric(
    make_evaluation, member, client_for
):
    evaluation = make_evaluation(name="cancer.csv")
    response = client_for(member).get(BASE)
    assert response.status_code == 200
    assert "cancer.csv" in response.text
    assert f"{evaluation.result['metrics']['f1']:.4f}" in response.text


def test_step_7_of_the_project_page_lists_the_evaluations(make_evaluation, member, client_for):
    evaluation = make_evaluation(name="ranker-v2.csv")
    page = client_for(member).get("/o/acme/projects/menu-recommender/").text
    step = page[page.index('id="step-evaluation"') :]
    section = step[step.index('id="project-evaluations"') :]
    assert f'href="{BASE}{evaluation.pk}/"' in section
    assert "ranker-v2.csv" in section
    assert "Succeeded" in section
    assert f"F1 <strong>{evaluation.result['metrics']['f1']:.4f}</strong>" in section


def test_the_list_runs_a_bounded_number_of_queries(
    make_evaluation, member, client_for, django_assert_max_num_queries
):
    for _ in range(3):
        make_evaluation()
    client = client_for(member)
    with django_assert_max_num_queries(12):
        client.get(BASE)


def test_a_viewer_may_read_but_not_upload(project, viewer, client_for):
    client = client_for(viewer)
    assert client.get(BASE).status_code == 200
    assert client.get(BASE + "new/").status_code == 403
    response = client.post(BASE + "new/", {"file": upload(cancer_csv())})
    assert response.status_code == 403
    assert not Evaluation.objects.exists()


def test_uploading_stores_a_draft_and_asks_for_the_columns(project, member, client_for):
    client = client_for(member)
    response = client.post(BASE + "new/", {"file": upload(cancer_csv(), "../../cancer.csv")})
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{evaluation.pk}/columns/"
    assert evaluation.status == EvaluationStatus.DRAFT
    assert evaluation.original_filename == "cancer.csv"
    assert ".." not in evaluation.file.name
    page = client.get(response["Location"])
    assert '<th scope="col">texture</th>' in page.text  # the header
    assert "<td>large</td>" in page.text or "<td>small</td>" in page.text  # a preview row
    assert page.context["form"]["y_true"].value() == "label"  # suggested
    assert page.context["form"]["y_score"].value() == "score"


def test_an_oversize_upload_is_a_form_error(project, member, client_for, settings):
    settings.EVALUATION_MAX_UPLOAD_BYTES = 1000
    response = client_for(member).post(BASE + "new/", {"file": upload(cancer_csv())})
    assert response.status_code == 413
    assert "larger than the limit of 1000 bytes" in response.text
    assert not Evaluation.objects.exists()


def test_a_txt_file_is_refused_inline_even_when_it_holds_csv(project, member, client_for):
    response = client_for(member).post(BASE + "new/", {"file": upload(cancer_csv(), "p.txt")})
    assert response.status_code == 200
    assert "“p.txt” is not a data file: upload a .csv, .csv.gz or .parquet" in response.text
    assert not Evaluation.objects.exists()


def test_an_unreadable_file_is_a_form_error(project, member, client_for):
    response = client_for(member).post(BASE + "new/", {"file": upload(b"PK\x03\x04zip")})
    assert response.status_code == 200
    assert "ZIP archive" in response.text
    assert not Evaluation.objects.exists()


def mapping_post(**overrides):
    data = {
        "name": "Cancer v1",
        "task": "binary",
        "y_true": "label",
        "y_score": "score",
        "features": ["size", "texture"],
        "slice_columns": ["size"],
        "threshold": "0.5",
        "cost_fn": "5",
        "cost_fp": "1",
        "k": "10",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_confirming_the_columns_queues_and_runs_the_evaluation(
    project, member, client_for, django_capture_on_commit_callbacks
):
    client = client_for(member)
    client.post(BASE + "new/", {"file": upload(cancer_csv())})
    evaluation = Evaluation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}{evaluation.pk}/columns/", mapping_post())
    assert response.status_code == 302
    evaluation = refresh(evaluation)
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    assert evaluation.name == "Cancer v1"
    assert evaluation.options["cost_fn"] == 5
    page = client.get(response["Location"])
    assert "Recommended threshold" in page.text
    assert 'id="chart-roc"' in page.text
    assert "Slices, worst first" in page.text


def test_a_mapping_naming_no_score_is_a_form_error(project, member, client_for):
    client = client_for(member)
    client.post(BASE + "new/", {"file": upload(cancer_csv())})
    evaluation = Evaluation.objects.get()
    response = client.post(f"{BASE}{evaluation.pk}/columns/", mapping_post(y_score=""))
    assert response.status_code == 200
    assert "needs a y_score or y_pred column" in response.text
    assert refresh(evaluation).status == EvaluationStatus.DRAFT


def test_the_progress_fragment_polls_while_running(make_evaluation, member, client_for):
    evaluation = make_evaluation(run=False)
    client = client_for(member)
    page = client.get(f"{BASE}{evaluation.pk}/")
    assert 'hx-trigger="every 1s"' in page.text
    assert "<html" in page.text
    fragment = client.get(f"{BASE}{evaluation.pk}/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'id="evaluation-progress-bar"' in fragment.text


def test_the_progress_fragment_stops_polling_when_done(make_evaluation, member, client_for):
    evaluation = make_evaluation()
    fragment = client_for(member).get(f"{BASE}{evaluation.pk}/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 286
    assert fragment["HX-Refresh"] == "true"
    assert "hx-trigger" not in fragment.text


def test_the_results_page_shows_headline_threshold_slices_and_charts(
    make_evaluation, member, client_for
):
    evaluation = make_evaluation(options={"slice_columns": ["size"]})
    response = client_for(member).get(f"{BASE}{evaluation.pk}/")
    text = response.text
    assert "ROC-AUC" in text
    assert f"{evaluation.result['metrics']['roc_auc']:.4f}" in text
    recommended = evaluation.result["info"]["recommended_threshold"]["threshold"]
    assert f"{recommended:.4f}" in text
    assert "size = <strong>" in text
    assert 'id="evaluation-charts"' in text
    assert "vendor/chartjs/chart.umd.min.js" in text


def test_the_results_page_runs_a_bounded_number_of_queries(
    make_evaluation, member, client_for, django_assert_max_num_queries
):
    evaluation = make_evaluation(options={"slice_columns": ["size"]})
    client = client_for(member)
    with django_assert_max_num_queries(10):
        client.get(f"{BASE}{evaluation.pk}/")


def test_a_failed_evaluation_shows_the_message_and_no_results(make_evaluation, member, client_for):
    evaluation = make_evaluation(
        b"label,score\n1,0.3\n0,high\n", columns={"y_true": "label", "y_score": "score"}
    )
    response = client_for(member).get(f"{BASE}{evaluation.pk}/")
    assert "must be numeric" in response.text
    assert "Recommended threshold" not in response.text
    assert "evaluation-charts" not in response.text


def test_the_results_page_of_other_tasks_renders(make_evaluation, member, client_for):
    reg = "y,pred\n" + "".join(f"{i},{i + (i % 3) - 1}\n" for i in range(100))
    evaluation = make_evaluation(
        reg.encode(), task="regression", columns={"y_true": "y", "y_pred": "pred"}
    )
    response = client_for(member).get(f"{BASE}{evaluation.pk}/")
    assert response.status_code == 200
    assert 'id="chart-residuals"' in response.text


def test_the_file_is_downloaded_through_the_org_checked_view(make_evaluation, member, client_for):
    evaluation = make_evaluation(name="cancer.csv")
    response = client_for(member).get(f"{BASE}{evaluation.pk}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == cancer_csv()
    assert 'filename="cancer.csv"' in response["Content-Disposition"]


def test_an_outsider_cannot_download_the_file(make_evaluation, outsider, client_for):
    evaluation = make_evaluation()
    response = client_for(outsider).get(f"{BASE}{evaluation.pk}/file/")
    assert response.status_code == 404


def test_another_projects_evaluation_is_not_found_under_this_project(
    make_evaluation, org, member, client_for
):
    from tests.factories import ProjectFactory

    other = ProjectFactory(organization=org, slug="other")
    evaluation = make_evaluation(project=other)
    response = client_for(member).get(f"{BASE}{evaluation.pk}/file/")
    assert response.status_code == 404


def test_two_evaluations_are_compared_side_by_side(make_evaluation, member, client_for):
    a = make_evaluation(options={"threshold": 0.5})
    b = make_evaluation(options={"threshold": 0.9})
    response = client_for(member).get(f"{BASE}compare/?a={a.pk}&b={b.pk}")
    assert response.status_code == 200
    rows = {r["metric"]: r for r in response.context["rows"]}
    assert rows["roc_auc"]["better"] == "tie"
    assert rows["recall"]["difference"] == pytest.approx(
        b.result["metrics"]["recall"] - a.result["metrics"]["recall"]
    )


def test_comparing_different_tasks_says_why_not(make_evaluation, member, client_for):
    a = make_evaluation()
    reg = "y,pred\n" + "".join(f"{i},{i + 1}\n" for i in range(50))
    b = make_evaluation(reg.encode(), task="regression", columns={"y_true": "y", "y_pred": "pred"})
    response = client_for(member).get(f"{BASE}compare/?a={a.pk}&b={b.pk}")
    assert "Cannot compare a binary evaluation with a regression evaluation" in response.text


def test_reading_a_stuck_evaluation_writes_nothing(
    make_evaluation, member, reader_for, assert_no_writes, settings
):
    """Stuck evaluations are the periodic sweep's job (see test_jobs), not the pages'."""
    settings.EVALUATION_TIME_LIMIT_SECONDS = 60
    evaluation = make_evaluation(run=False)
    jobs.evaluation_start(evaluation_id=evaluation.pk)
    Evaluation.objects.filter(pk=evaluation.pk).update(
        started_at=timezone.now() - timedelta(hours=1)
    )
    client = reader_for(member)
    with assert_no_writes():
        assert client.get(BASE).status_code == 200
        poll = client.get(f"{BASE}{evaluation.pk}/", HTTP_HX_REQUEST="true")
        assert poll.status_code == 200
        assert (
            client.get(f"/api/v1/projects/{evaluation.project_id}/evaluations/").status_code == 200
        )
        assert client.get(f"/api/v1/evaluations/{evaluation.pk}/").status_code == 200
    assert refresh(evaluation).status == EvaluationStatus.RUNNING


def _ranking_csv() -> bytes:
    from tests.evaluation.metrics.test_guess import ranking_rows

    header, rows = ranking_rows()
    return ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()


def _selected(page: str, name: str) -> list[str]:
    """The values pre-selected or pre-ticked for a field of the mapping form."""
    import re

    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    if select:
        return re.findall(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return re.findall(rf'<input type="checkbox" name="{name}" value="([^"]*)"[^>]*checked', page)


def test_the_mapping_page_guesses_a_ranking_file_and_previews_it(project, member, client_for):
    client = client_for(member)
    response = client.post(BASE + "new/", {"file": upload(_ranking_csv(), "dishes.csv")})
    page = client.get(response["Location"]).text
    assert _selected(page, "task") == ["ranking"]
    assert _selected(page, "group") == ["guest_id"]
    assert _selected(page, "item") == ["dish"]
    assert _selected(page, "y_true") == ["ordered"]
    assert _selected(page, "features") == ["party_size", "meal"]
    assert _selected(page, "slice_columns") == ["party_size", "meal"]
    # The preview: ten rows, each column with its role.
    preview = page.split('id="mapping-preview"')[1].split("</section>")[0]
    assert preview.count("<tr>") == 1 + 10  # the header row and ten rows
    assert '<td data-role-of="guest_id"><span class="badge">Group</span>' in preview
    assert '<td data-role-of="meal"><span class="badge">Feature · Slice</span>' in preview
    assert "Not used" in preview  # rank


def test_the_preview_shows_the_submitted_mapping_when_the_form_has_errors(
    project, member, client_for
):
    client = client_for(member)
    response = client.post(BASE + "new/", {"file": upload(_ranking_csv(), "dishes.csv")})
    page = client.post(
        response["Location"], {"name": "x", "task": "ranking", "y_true": "", "group": "meal"}
    ).text
    assert "This field is required." in page
    assert '<td data-role-of="meal"><span class="badge">Group</span>' in page
    assert '<td data-role-of="guest_id"><span class="badge muted">Not used</span>' in page


def test_a_file_without_a_label_name_leaves_the_label_to_choose(project, member, client_for):
    content = b"guest_id,dish,rank\n" + b"".join(
        f"G{g},d{d},{d + 1}\n".encode() for g in range(5) for d in range(4)
    )
    client = client_for(member)
    response = client.post(BASE + "new/", {"file": upload(content, "ranks.csv")})
    page = client.get(response["Location"]).text
    assert _selected(page, "y_true") == [""]  # "— choose —", not the id in the first column
    assert "looks like a rank position" in page
