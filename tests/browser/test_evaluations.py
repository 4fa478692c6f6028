"""A team member uploads predictions, confirms the columns, watches the progress bar and
reads the results: headline metrics, the recommended threshold, worst slices, charts."""

import pytest
from playwright.sync_api import expect

from evaluation.models import Evaluation
from mlprojects.celery import app
from tests.evaluation.evaluations.conftest import cancer_csv
from tests.worker import start_worker

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def slow_worker(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Slowed down so the progress bar is on screen for a few seconds.
    worker = start_worker(tmp_path, extra_env={"EVALUATION_TEST_PROGRESS_DELAY": "1"})
    app.conf.task_always_eager = False
    yield worker
    app.conf.task_always_eager = True
    worker.kill()


def log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()


def test_upload_map_watch_and_read_an_evaluation(
    page, screenshot, project, member, slow_worker, tmp_path
):
    path = tmp_path / "cancer-predictions.csv"
    path.write_bytes(cancer_csv(rows=40_000))
    log_in(page, member.email)
    page.goto("/o/acme/projects/menu-recommender/")
    page.get_by_role("button", name="Evaluations", exact=True).click()
    expect(page.get_by_text("No evaluations yet")).to_be_visible()
    page.get_by_role("button", name="Upload predictions").click()

    page.get_by_label("Predictions file").set_input_files(str(path))
    page.get_by_label("Name").fill("Logistic regression v1")
    screenshot("evaluation-upload")
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.get_by_role("heading", name="Map the columns")).to_be_visible()
    expect(page.locator("table.preview th", has_text="texture")).to_be_visible()
    expect(page.get_by_label("True label / target (y_true)")).to_have_value("label")
    expect(page.get_by_label("Score or probability (y_score)")).to_have_value("score")
    page.get_by_label("Cost of a false negative").fill("5")
    screenshot("evaluation-columns")
    page.get_by_role("button", name="Start the evaluation").click()

    bar = page.locator("#evaluation-progress-bar")
    expect(bar).to_be_visible(timeout=20_000)
    expect(page.get_by_text("rows read")).to_be_visible()
    screenshot("evaluation-progress")

    expect(page.locator("#recommended-threshold")).to_be_visible(timeout=60_000)
    evaluation = Evaluation.objects.get()
    assert evaluation.status == "succeeded", evaluation.error
    result = evaluation.result
    recommended = result["info"]["recommended_threshold"]["threshold"]
    expect(page.locator("#recommended-threshold h2")).to_contain_text(f"{recommended:.4f}")
    expect(page.locator("#headline")).to_contain_text(f"{result['metrics']['roc_auc']:.4f}")
    worst = result["slices"][0]
    expect(page.locator("#slices tbody tr").first).to_contain_text(str(worst["value"]))
    canvas = page.locator("#chart-roc")
    expect(canvas).to_be_visible()
    assert canvas.bounding_box()["height"] > 100  # Chart.js sized and drew it
    page.wait_for_timeout(300)
    screenshot("evaluation-results")
