"""A team builds a rules baseline with the rule builder: rows of conditions added and
removed in the page, inline errors, the JSON view and back, and the saved “if … then”."""

import pytest
from playwright.sync_api import expect

from mlprojects.lifecycle import services
from mlprojects.models import Baseline
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_a_ranking_rule_baseline_with_the_form(page, org, member, screenshot):
    project = services.project_create(org=org, user=member, name="Dish recommender")
    log_in(page, member.email)
    page.goto(f"/o/{org.slug}/projects/{project.slug}/")
    page.locator("#step-baselines").get_by_role("link", name="+ Add a baseline").click()
    form = page.locator(".editing form").first
    form.get_by_label("Name").fill("Waiter pairings")
    form.get_by_label("Kind").select_option("rules")

    # First rule: a prediction on two conditions; the second condition added in the page.
    form.locator("[name='rule-0-cond-0-feature']").fill("likes_spicy")
    form.locator("[name='rule-0-cond-0-value']").fill("true")
    form.get_by_role("button", name="+ and…").click()
    form.locator("[name='rule-0-cond-1-feature']").fill("age")
    form.locator("[name='rule-0-cond-1-op']").select_option(">=")
    form.locator("[name='rule-0-cond-1-value']").fill("thirty")
    form.locator("[name='rule-0-then']").fill("1")
    expect(form.locator("[name='rule-0-recommend']")).to_be_hidden()

    # Second rule: recommend items (the prediction box gives way to the items box).
    form.get_by_role("button", name="+ Add a rule").click()
    form.locator("[name='rule-1-outcome']").select_option("recommend")
    expect(form.locator("[name='rule-1-then']")).to_be_hidden()
    form.locator("[name='rule-1-cond-0-feature']").fill("liked")
    form.locator("[name='rule-1-cond-0-value']").fill("bibimbap")
    form.locator("[name='rule-1-recommend']").fill("bulgogi, japchae")
    form.get_by_label("Otherwise (default)").fill("0")

    # A third rule added and removed again, in the page.
    form.get_by_role("button", name="+ Add a rule").click()
    expect(form.locator("[data-rule]")).to_have_count(3)
    form.locator("[data-rule]").nth(2).get_by_role("button", name="Remove this rule").click()
    expect(form.locator("[data-rule]")).to_have_count(2)

    # Invalid: "≥ thirty" is refused next to its input, nothing saved.
    form.get_by_role("button", name="Save").click()
    editing = page.locator(".editing")
    expect(editing).to_contain_text("“≥” compares numbers: give a number.")
    assert not Baseline.objects.exists()
    form = page.locator(".editing form").first
    form.locator("[name='rule-0-cond-1-value']").fill("30")

    # The JSON view shows the same rules; back to the form keeps them.
    form.get_by_role("button", name="Edit as JSON").click()
    form = page.locator(".editing form").first
    json_box = form.get_by_role("textbox", name="Rules (JSON)")
    expect(json_box).to_contain_text('"recommend": [')
    expect(json_box).to_contain_text('"value": 30')
    form.get_by_role("button", name="Edit as a form").click()
    form = page.locator(".editing form").first
    expect(form.locator("[name='rule-1-recommend']")).to_have_value("bulgogi, japchae")
    expect(form.locator("[name='rule-1-then']")).to_be_hidden()
    screenshot("rule-builder")

    form.get_by_role("button", name="Save").click()
    expect(page.locator(".editing")).to_have_count(0)
    step = page.locator("#step-baselines")
    expect(step).to_contain_text("if likes_spicy == True and age >= 30 then 1")
    expect(step).to_contain_text("if liked == bibimbap then recommend bulgogi, japchae")
    assert Baseline.objects.get().rules == {
        "rules": [
            {"when": [{"feature": "likes_spicy", "op": "==", "value": True},
                      {"feature": "age", "op": ">=", "value": 30}], "then": 1},
            {"when": [{"feature": "liked", "op": "==", "value": "bibimbap"}],
             "recommend": ["bulgogi", "japchae"]},
        ],
        "default": 0,
    }  # fmt: skip
