"""A member opens the project's Models page from the project page: registered models with
versions, aliases and source runs render under the CSP at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from evaluation.registry import services
from evaluation.runs.services import logged_model_create, run_create
from tests.browser.test_runs import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_models_page_at_desktop_and_phone_width(page, screenshot, member, project):
    run = run_create(project=project, user=member, name="train-logistic-regression")
    logged = logged_model_create(project=project, user=member, name="clf", source_run=run)
    model = services.registered_model_create(
        org=project.organization,
        user=member,
        name="menu-ranker-with-a-rather-long-name",
        description="Ranks menu items",
    )
    for _ in range(2):
        source = services.resolve_source(org=project.organization, source=f"models:/{logged.pk}")
        services.version_create(
            model=model, user=member, source=source, source_text=f"models:/{logged.pk}"
        )
    services.alias_set(model=model, alias="champion", version=model.versions.get(version=2))

    login(page, member)
    page.goto(f"/o/acme/projects/{project.slug}/")
    page.get_by_role("button", name="Models").click()
    expect(page.get_by_role("heading", name="menu-ranker-with-a-rather-long-name")).to_be_visible()
    expect(page.get_by_text("@champion")).to_be_visible()
    expect(page.get_by_role("link", name="train-logistic-regression").first).to_be_visible()
    screenshot("models-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_text("@champion")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("models-390")
    page.get_by_role("link", name="train-logistic-regression").first.click()
    expect(page).to_have_url(f"/o/acme/projects/{project.slug}/runs/{run.pk}/")
