"""A member reads the Uber analysis and edits it in place: htmx swaps the form in,
shows errors inline, appends the saved item, and moves a use case between groups."""

import pytest
from playwright.sync_api import expect

from accounts.permissions import Role
from mlprojects.analyses.demo import load_uber_analysis
from mlprojects.models import Offering, Project
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_edits_the_uber_analysis_in_place(page, screenshot):
    org = OrganizationFactory(name="Acme", slug="acme")
    MembershipFactory(organization=org, role=Role.MEMBER, user=UserFactory(email="m@acme.test"))
    load_uber_analysis(org)

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("m@acme.test")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Analyses").click()
    page.get_by_role("link", name="Uber").click()
    expect(page.get_by_role("heading", name="Uber", exact=True)).to_be_visible()
    screenshot("analysis-document")

    page.get_by_role("link", name="+ Add an offering").click()
    form = page.locator("#offering-new form")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".field-error")).to_have_text("This field is required.")
    form.get_by_label("Product or service").fill("Freight")
    form.get_by_label("Value to customers").fill("Loads matched to carriers.")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#offerings .item", has_text="Freight")).to_be_visible()
    expect(page.locator("#offering-new form")).to_have_count(0)
    assert Offering.objects.filter(name="Freight").exists()

    surge = page.locator("#use-cases-customer .item", has_text="Surge pricing")
    surge.get_by_role("link", name="Edit").click()
    edit = page.locator("#use-cases-customer form.item-form")
    edit.get_by_label("How the output is used").select_option("automation")
    screenshot("use-case-edit")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("#use-cases-internal .item", has_text="Surge pricing")).to_be_visible()
    expect(page.locator("#use-cases-customer .item", has_text="Surge pricing")).to_have_count(0)

    fraud = page.locator("#use-cases-internal .item", has_text="Fraud detection")
    fraud.get_by_role("button", name="Turn into a project →").click()
    expect(page.get_by_role("heading", name="Fraud detection on payments")).to_be_visible()
    assert Project.objects.filter(organization=org).count() == 1
