"""A team builds the restaurant project from an empty organization through all nine
steps of the lifecycle, editing each section in place, and reads its readiness."""

import pytest
from playwright.sync_api import expect

from mlprojects.models import Project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_form(page, step: str, link: str, within: str = "", exact: bool = False):
    scope = page.locator(f"#step-{step} {within}".strip())
    scope.get_by_role("link", name=link, exact=exact).first.click()
    form = page.locator(".editing form").first
    expect(form).to_be_visible()
    return form


def save(page, form, step: str, expect_text: str):
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".editing")).to_have_count(0)
    expect(page.locator(f"#step-{step}")).to_contain_text(expect_text)


def test_build_the_restaurant_project_through_nine_steps(page, screenshot):
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Rita Chef")
    page.get_by_label("Email").fill("rita@bistro.test")
    page.get_by_label("Password").fill("a-long-kitchen-secret")
    page.get_by_label("Organization").fill("Bistro Analytics")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Start a project").click()
    page.get_by_label("Name").fill("Restaurant revenue decline")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Restaurant revenue decline")).to_be_visible()
    expect(page.locator("#readiness")).to_contain_text("0%")
    screenshot("lifecycle-empty")

    # 1. Phenomenon
    form = open_form(page, "phenomenon", "Edit")
    form.get_by_label("What is happening").fill("Revenue fell three months in a row.")
    form.get_by_label("Since when").fill("March")
    save(page, form, "phenomenon", "Revenue fell three months in a row.")
    form = open_form(page, "phenomenon", "+ Add a hypothesis")
    form.get_by_label("Statement").fill("First-time guests drop more than regulars.")
    save(page, form, "phenomenon", "First-time guests drop more than regulars.")
    expect(page.locator("#step-phenomenon .step-meta")).to_contain_text("complete")

    # 2. Problem definition: statement, tree, solution
    form = open_form(page, "problem_definition", "Edit")
    form.get_by_label("Problem statement").fill("The menu is too large and poorly described.")
    form.get_by_label("What ships now").fill("Rule-based descriptions")
    form.get_by_label("What is built in parallel").fill("A taste-based recommender")
    save(page, form, "problem_definition", "A taste-based recommender")
    form = open_form(page, "problem_definition", "+ Add a top-level problem")
    form.get_by_label("Title").fill("First-time guests dropped")
    save(page, form, "problem_definition", "First-time guests dropped")
    form = open_form(page, "problem_definition", "+ cause")
    form.get_by_label("Title").fill("Dish descriptions are too thin")
    save(page, form, "problem_definition", "Dish descriptions are too thin")
    # The cause's own "+ solution" (the problem node has "+ solution to the problem itself").
    form = open_form(page, "problem_definition", "+ solution", exact=True)
    form.get_by_label("Title").fill("If you like X, try Y")
    form.get_by_label("Kind").select_option("rule_based")
    save(page, form, "problem_definition", "If you like X, try Y")

    # 3. Feasibility, with the verdict recomputed live while answering
    form = open_form(page, "feasibility", "Answer")
    for key in ("pattern", "objective", "complexity", "repetition"):
        form.locator(f'input[name="{key}"][value="yes"]').check()
    form.locator('input[name="data"][value="no"]').check()
    expect(page.locator("#verdict-preview")).to_contain_text("Rules first")
    screenshot("lifecycle-feasibility-live")
    form.locator('input[name="data"][value="yes"]').check()
    expect(page.locator("#verdict-preview")).to_contain_text("ML fits")
    save(page, form, "feasibility", "Verdict: ML fits")

    # 4. Goal, objective, metric tree
    form = open_form(page, "goals", "Edit")
    form.get_by_label("Goal").fill("Bring first-time guests back.")
    save(page, form, "goals", "Bring first-time guests back.")
    form = open_form(page, "goals", "+ Add an objective")
    form.get_by_label("Title").fill("Recommend dishes")
    form.get_by_label("Kind").select_option("rank")
    form.get_by_label("Label scenario").select_option("proxy")
    save(page, form, "goals", "Next: Define the proxy")
    form = open_form(page, "goals", "+ Add a metric")
    form.get_by_label("Name").fill("Second-visit rate")
    form.get_by_label("Kind").select_option("business")
    save(page, form, "goals", "Second-visit rate")
    form = open_form(page, "goals", "+ Add a metric")
    form.get_by_label("Name").fill("NDCG@5")
    form.get_by_label("Objective").select_option(label="Recommend dishes")
    form.get_by_label("Moves business metric").select_option(label="Second-visit rate")
    save(page, form, "goals", "NDCG@5")

    # 5. Constraints and performance
    form = open_form(page, "constraints", "+ Add a constraint or risk")
    form.get_by_label("Kind").select_option("privacy")
    form.get_by_label("Description").fill("Loyalty cards link orders to people.")
    form.get_by_label("Mitigation").fill("Pseudonymous ids only.")
    save(page, form, "constraints", "Loyalty cards link orders to people.")
    form = open_form(page, "constraints", "Edit", within=".plan")
    form.get_by_label("Baseline to beat").fill("The most popular dish")
    save(page, form, "constraints", "The most popular dish")

    # 6. A rules baseline: invalid rules are refused inline, valid ones are kept
    form = open_form(page, "baselines", "+ Add a baseline")
    form.get_by_label("Name").fill("Waiter rules")
    form.get_by_label("Kind").select_option("rules")
    form.get_by_role("button", name="Edit as JSON").click()
    form = page.locator(".editing form").first
    form.get_by_role("textbox", name="Rules (JSON)").fill('{"rules": [], "default": "bulgogi"}')
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".editing")).to_contain_text("“rules” must be a non-empty list.")
    form = page.locator(".editing form").first
    form.get_by_role("textbox", name="Rules (JSON)").fill(
        '{"rules": [{"when": [{"feature": "likes_spicy", "op": "==", "value": true}],'
        ' "then": "kimchi_jjigae"}], "default": "bulgogi"}'
    )
    save(page, form, "baselines", "if likes_spicy == True then kimchi_jjigae")

    # 7.–9.
    form = open_form(page, "evaluation", "Edit")
    form.get_by_label("Plan").fill("A/B test for four weeks on the second-visit rate.")
    form.get_by_label("Second-visit rate").check()
    save(page, form, "evaluation", "A/B test for four weeks")
    form = open_form(page, "deployment", "+ Watch a metric")
    form.get_by_label("Metric").select_option(label="Second-visit rate")
    form.get_by_label("Alert threshold").fill("20")
    save(page, form, "deployment", "alert when it falls below")
    form = open_form(page, "further_analysis", "Edit")
    form.get_by_label("Findings").fill("Lunch guests ignore suggestions.")
    save(page, form, "further_analysis", "Lunch guests ignore suggestions.")

    expect(page.locator("#readiness")).to_contain_text("100%")
    expect(page.locator("#readiness")).to_contain_text("Every check passes")
    expect(page.locator("#rail .dot.done")).to_have_count(9)
    screenshot("lifecycle-complete")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("lifecycle-complete-narrow")

    project = Project.objects.get(name="Restaurant revenue decline")
    assert project.readiness_score == 100
    assert project.verdict == "ml_fits"
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("link", name="Projects").first.click()
    expect(page.locator("#project-list")).to_contain_text("100%")
    expect(page.locator("#project-list")).to_contain_text("ML fits")
    screenshot("lifecycle-dashboard")
