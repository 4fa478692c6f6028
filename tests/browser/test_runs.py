"""A member looks at the runs a training script logged, sorts and filters them, compares
two, marks a baseline, and creates an API token."""

import pytest
from playwright.sync_api import expect

from evaluation.models import Run
from evaluation.runs.services import MetricPoint, run_create, run_log_batch
from tests.browser.conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def logged_runs(project, member):
    specs = [
        ("logreg-baseline", {"model": "logreg", "lr": "0.1"}, "finished", [0.52, 0.58, 0.61]),
        ("xgb-depth-4", {"model": "xgboost", "lr": "0.05", "depth": "4"}, "finished",
         [0.55, 0.66, 0.71, 0.74]),
        ("xgb-depth-8", {"model": "xgboost", "lr": "0.05", "depth": "8"}, "failed",
         [0.57, 0.69]),
    ]  # fmt: skip
    for name, params, status, f1s in specs:
        run = run_create(project=project, user=member, name=name, params=params)
        points = [MetricPoint("f1", v, step=i) for i, v in enumerate(f1s)]
        points += [MetricPoint("val_loss", 1 - v + 0.1, step=i) for i, v in enumerate(f1s)]
        run_log_batch(run=run, metrics=points, tags={"dataset": "menu-2024"})
        Run.objects.filter(pk=run.pk).update(status=status)


def login(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()


def test_a_member_reviews_sorts_compares_and_marks_runs(page, screenshot, member, logged_runs):
    login(page, member)
    page.goto("/o/acme/projects/menu-recommender/")
    page.get_by_role("button", name="Experiment runs").click()
    expect(page.get_by_role("heading", name="Experiment runs")).to_be_visible()
    expect(page.locator("#runs-table tbody tr")).to_have_count(3)
    page.get_by_role("link", name="f1", exact=True).click()
    expect(page.locator("#runs-table tbody tr").first).to_contain_text("xgb-depth-4")
    screenshot("runs-table")

    page.get_by_label("Status").select_option("failed")
    expect(page.locator("#runs-table tbody tr")).to_have_count(1)
    page.get_by_label("Status").select_option("")
    expect(page.locator("#runs-table tbody tr")).to_have_count(3)

    page.get_by_label("Compare logreg-baseline").check()
    page.get_by_label("Compare xgb-depth-4").check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.get_by_role("heading", name="Compare 2 runs")).to_be_visible()
    expect(page.locator("tr.diff")).to_have_count(3)  # depth, lr, model
    expect(page.locator("canvas[data-chart-index]")).to_have_count(2)
    wait_until(page, "Chart.getChart(document.querySelector('canvas')) !== undefined")
    screenshot("runs-compare")

    page.get_by_label("Role of logreg-baseline").select_option("baseline")
    expect(page.get_by_text("“logreg-baseline” is now baseline.")).to_be_visible()
    assert Run.objects.get(name="logreg-baseline").role == "baseline"


def test_a_member_creates_a_token_and_sees_it_once(page, screenshot, member, project):
    login(page, member)
    page.goto("/o/acme/tokens/")
    page.get_by_label("Name").fill("training box")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#token-value")).to_contain_text("mlp_")
    screenshot("api-tokens")
    page.reload()
    expect(page.locator("#token-value")).to_have_count(0)
    expect(page.locator("tbody tr")).to_have_count(1)


def test_the_link_printed_by_the_mlflow_client_opens_the_run(page, member, project, logged_runs):
    run = Run.objects.get(name="xgb-depth-4")
    login(page, member)
    page.goto(f"/mlflow/#/experiments/{project.pk}/runs/{run.pk}")
    expect(page.get_by_role("heading", name="xgb-depth-4")).to_be_visible()


def test_the_run_page_shows_artifacts_at_desktop_and_phone_width(
    page, screenshot, member, project, settings, tmp_path
):
    """Images, a log_table table and a text preview render under the CSP, and the tree
    stays inside the screen on a phone."""
    import json

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from evaluation.runs import artifacts

    settings.MEDIA_ROOT = tmp_path / "media"
    run = run_create(project=project, user=member, name="with-artifacts")
    prefix = artifacts.run_prefix(
        org_id=project.organization_id, project_id=project.pk, run_id=run.pk
    )
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18"
        b"\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    files = {
        "plots/roc.png": png,
        "eval/table.json": json.dumps(
            {"columns": ["question", "score"], "data": [["a long question text", 0.5]]}
        ).encode(),
        "notes/summary.txt": b"precision is fine",
    }
    for relative, body in files.items():
        name = artifacts.storage_name([*prefix, *relative.split("/")])
        default_storage.save(name, ContentFile(body))
    login(page, member)
    page.goto(f"/o/acme/projects/{project.slug}/runs/{run.pk}/")
    section = page.locator(".run-artifacts")
    expect(section.get_by_role("img", name="plots/roc.png")).to_be_visible()
    expect(section.get_by_role("cell", name="a long question text")).to_be_visible()
    # Visible is not yet loaded: wait until the browser has fetched the image (a broken
    # one ends complete at width 0).
    wait_until(page, "document.querySelector('.artifact-image').complete")
    assert page.evaluate("document.querySelector('.artifact-image').naturalWidth") == 1
    screenshot("run-artifacts-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(section).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("run-artifacts-390")
