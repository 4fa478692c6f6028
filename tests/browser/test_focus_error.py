"""After a bad results entry, the first error is scrolled into view and focused."""

import pytest
from playwright.sync_api import expect

from evaluation.abtests import services
from tests.evaluation.abtests.conftest import METRICS, VARIANTS

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_first_error_of_a_bad_results_entry_is_focused_in_view(page, org, project, member):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Menu descriptions",
        hypothesis="Descriptions bring first-time guests back.",
        variants=VARIANTS,
        metrics=METRICS,
    )
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, member.email)
    page.goto(f"/o/{org.slug}/projects/{project.slug}/ab-tests/{abtest.pk}/")
    box = page.locator("details", has_text="Enter results for conversion")
    box.locator("summary").click()
    box.get_by_label("Users (control)", exact=True).fill("1000")
    box.get_by_label("Conversions (control)", exact=True).fill("lots")
    box.get_by_label("Users (treatment)", exact=True).fill("1010")
    box.get_by_label("Conversions (treatment)", exact=True).fill("131")
    page.evaluate("window.scrollTo(0, 0)")
    box.get_by_role("button", name="Save conversion results").click()
    error = page.locator("#results form .field-error").first
    expect(error).to_contain_text("is not a number")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    expect(focused).to_have_attribute("name", "conversion-control__conversions")
    expect(focused).to_be_in_viewport()
