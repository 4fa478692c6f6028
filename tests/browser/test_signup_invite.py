"""A new team signs up, invites a colleague, and the colleague joins through the link."""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signup_invite_and_accept(page, screenshot):
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Rita Chef")
    page.get_by_label("Email").fill("rita@bistro.test")
    page.get_by_label("Password").fill("a-long-kitchen-secret")
    page.get_by_label("Organization").fill("Bistro Analytics")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Bistro Analytics")).to_be_visible()
    expect(page.get_by_text("No projects yet")).to_be_visible()
    screenshot("dashboard-empty")

    page.get_by_role("link", name="Members").first.click()
    page.get_by_label("Email").fill("sam@bistro.test")
    page.get_by_label("Role", exact=True).select_option("stakeholder")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to sam@bistro.test")).to_be_visible()
    link = page.locator("#invite-link").inner_text().strip()
    assert "/invitations/" in link
    screenshot("members-invited")

    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.goto(link)
    expect(page.get_by_role("heading", name="Join Bistro Analytics")).to_be_visible()
    page.get_by_label("Your name").fill("Sam Stake")
    page.get_by_label("Password").fill("another-long-secret")
    screenshot("invitation")
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_text("Welcome to Bistro Analytics")).to_be_visible()
    expect(page.locator(".page-head .badge")).to_have_text("Stakeholder")

    membership = Membership.objects.get(user__email="sam@bistro.test")
    assert membership.organization.name == "Bistro Analytics"
    assert membership.role == "stakeholder"
