"""A team designs an A/B test, sizes it, enters results, analyses it and decides."""

import pytest
from playwright.sync_api import expect

from evaluation.models import ABTest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()


def enter_results(page, metric: str, values: dict[str, str]) -> None:
    box = page.locator("details", has_text=f"Enter results for {metric}")
    box.locator("summary").click()
    for label, value in values.items():
        box.get_by_label(label, exact=True).fill(value)
    box.get_by_role("button", name=f"Save {metric} results").click()


def test_design_size_enter_analyse_and_decide(page, screenshot, org, project, member):
    login(page, member.email)
    page.goto(f"/o/{org.slug}/projects/{project.slug}/")
    page.get_by_role("link", name="New A/B test").click()
    expect(page.get_by_role("heading", name="Design an A/B test")).to_be_visible()

    page.get_by_label("Name").fill("Menu descriptions")
    page.get_by_label("Hypothesis").fill(
        "Rule-based descriptions make more first-time guests come back."
    )
    page.locator("#id_metrics-0-key").fill("conversion")
    page.locator("#id_metrics-1-key").fill("revenue")
    page.locator("#id_metrics-1-type").select_option("continuous")

    # The calculator updates as the inputs change (htmx, debounced).
    before = page.locator("#plan-per-variant").inner_text()
    page.get_by_label("Baseline rate").fill("0.18")
    page.get_by_label("Expected daily users (all variants)").fill("170")
    expect(page.locator("#plan-per-variant")).not_to_have_text(before)
    per_variant = page.locator("#plan-per-variant").inner_text()
    page.get_by_role("button", name="Use in this design").click()
    assert page.get_by_label("Planned users per variant").input_value() == per_variant.replace(
        ",", ""
    )
    screenshot("abtest-design")
    page.get_by_role("button", name="Create A/B test").click()
    expect(page.get_by_text("created as a draft")).to_be_visible()

    page.get_by_role("button", name="Start test").click()
    expect(page.get_by_text("Test started.")).to_be_visible()
    enter_results(
        page,
        "conversion",
        {
            "Users (control)": "2412",
            "Conversions (control)": "434",
            "Users (treatment)": "2389",
            "Conversions (treatment)": "502",
        },
    )
    expect(page.locator("#results")).to_contain_text("21.01%")
    enter_results(
        page,
        "revenue",
        {
            "Users (control)": "2412",
            "Sum (control)": "59817.6",
            "Sum of squares (control)": "1701069.23",
            "Users (treatment)": "2389",
            "Sum (treatment)": "62233.45",
            "Sum of squares (treatment)": "1855229.25",
        },
    )
    expect(page.locator("#results")).to_contain_text("26.05")
    page.get_by_role("button", name="Stop test").click()
    expect(page.get_by_text("Test stopped.")).to_be_visible()

    # Stopping analyses the final results: nothing to re-run before deciding.
    row = page.locator("#lift-conversion-treatment")
    expect(row).to_contain_text("+16.78%")
    expect(row.locator("svg.lift-bar rect.ci.good")).to_have_count(1)
    expect(page.locator("#srm-banner")).to_have_count(0)
    screenshot("abtest-analysis")

    page.get_by_label("Ship", exact=True).check()
    page.get_by_label("Rationale").fill(
        "First-visit return (our revisit rate) rose from 18.0% to 21.0%; revenue per guest +5%."
    )
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("Decision recorded.")).to_be_visible()
    expect(page.locator(".decision-box")).to_contain_text("revisit rate")
    assert ABTest.objects.get().status == "decided"
    screenshot("abtest-decided")

    page.goto(f"/o/{org.slug}/projects/{project.slug}/")
    expect(page.locator("#project-abtests")).to_contain_text("Ship")
    screenshot("project-with-abtests")


def test_calculate_on_the_design_page_keeps_the_design(page, org, project, member):
    login(page, member.email)
    design_url = f"/o/{org.slug}/projects/{project.slug}/ab-tests/new/"
    page.goto(design_url)
    page.get_by_label("Name").fill("Calculated in place")
    page.get_by_label("Baseline rate").fill("0.2")
    page.get_by_role("button", name="Calculate").click()
    page.wait_for_timeout(500)
    # The answer arrives in place: the page (and what was typed) stays.
    assert page.url.endswith(design_url)
    assert page.get_by_label("Name").input_value() == "Calculated in place"
    per_variant = page.locator("#plan-per-variant").inner_text()
    page.get_by_role("button", name="Use in this design").click()
    planned = page.get_by_label("Planned users per variant").input_value()
    assert planned == per_variant.replace(",", "")
