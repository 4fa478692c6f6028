"""The loop back, in the browser: the demo's fraud project has an alert on its monitoring
page; the owner records it as a finding, starts the next cycle, and finds the finding as a
hypothesis of the new cycle. On the way, a drift cell drills down to both distributions,
and the page fits a phone."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from evaluation.models import Alert
from mlprojects.models import Project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONITORING = "/o/demo/projects/fraud-detection/monitoring/"


def _demo_alert() -> Alert:
    """The demo's alert on the fraud project (its drift report's). Should the demo ever
    come without one, the same alert is raised here through the worker's functions."""
    project = Project.objects.get(organization__slug="demo", slug="fraud-detection")
    alert = Alert.objects.filter(project=project).order_by("pk").first()
    if alert is None:
        from evaluation.monitoring import jobs

        report = project.drift_reports.filter(status="succeeded").first()
        alert = jobs.drift_alert_raise(report)
    return alert


@pytest.fixture
def owner_page(page):
    call_command("load_demo", stdout=io.StringIO())
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("mlprojects-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_an_alert_becomes_a_finding_and_then_a_hypothesis_of_the_next_cycle(owner_page, screenshot):
    page = owner_page
    alert = _demo_alert()
    page.goto(MONITORING)
    row = page.locator(f"#alert-{alert.pk}")
    expect(row.get_by_text(alert.title)).to_be_visible()
    # The charts are drawn (Chart.js sizes each canvas) and the heat map drills down.
    expect(page.locator("#windows canvas").first).to_have_attribute("style", re.compile("width"))
    page.locator("#window-drift td.drifted a").first.click()
    expect(page.locator("#drift-detail .distribution h3")).to_contain_text("against the reference")
    expect(page.locator("#drift-detail canvas")).to_have_attribute("style", re.compile("width"))
    screenshot("monitoring-1280")

    row.get_by_role("button", name="Record as finding").click()
    expect(page.get_by_text("Recorded as a finding of step 9.")).to_be_visible()

    page.goto("/o/demo/projects/fraud-detection/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile(r"^Start cycle \d+$")).click()
    expect(page.get_by_text(re.compile(r"Cycle \d+ started from cycle"))).to_be_visible()
    hypothesis = page.locator("li", has_text=alert.title).first
    expect(hypothesis).to_be_visible()


def test_the_monitoring_page_fits_a_phone(owner_page, screenshot):
    page = owner_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(MONITORING)
    expect(page.locator("#window-drift")).to_be_visible()
    page.locator("#window-drift td.drifted a").first.click()
    expect(page.locator("#drift-detail canvas")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("monitoring-390")
