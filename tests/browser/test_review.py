"""A member submits the project for review, the stakeholder requests changes with a
comment, the member edits and resubmits, and the stakeholder reads the diff and approves."""

import pytest
from playwright.sync_api import expect

from mlprojects.models import Proposal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, email: str) -> None:
    # Let the previous page finish (its htmx requests could set a fresh session cookie).
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()


def edit_phenomenon(page, text: str) -> None:
    page.goto("/o/acme/projects/menu-recommender/")
    page.locator("#step-phenomenon").get_by_role("link", name="Edit").first.click()
    form = page.locator(".editing form").first
    form.get_by_label("What is happening").fill(text)
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#step-phenomenon")).to_contain_text(text)


def submit(page, version: int) -> None:
    page.get_by_role("button", name="Proposals", exact=True).click()
    page.get_by_label("Note to reviewers").fill(f"Version {version}, please review.")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("heading", name=f"proposal v{version}")).to_be_visible()


def test_submit_request_changes_resubmit_and_approve(
    page, screenshot, org, project, member, stakeholder
):
    # The member writes and submits v1.
    login(page, member.email)
    edit_phenomenon(page, "Revenue fell three months in a row.")
    submit(page, 1)
    expect(page.locator("#proposal-status")).to_have_text("In review")

    # The stakeholder finds it in the inbox, comments beside the document and asks for
    # changes.
    login(page, stakeholder.email)
    expect(page.locator(".bell-count")).to_have_text("1")
    page.get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name="Menu recommender v1").click()
    comments = page.locator("#comments-phenomenon")
    comments.get_by_label("Comment").fill("Since **when** exactly? @member")
    comments.get_by_role("button", name="Comment").click()
    expect(comments.locator(".comment-body strong")).to_have_text("when")
    expect(comments.locator(".mention")).to_have_text("@member")
    page.get_by_label("Request changes").check()
    page.get_by_label("Comment", exact=True).last.fill("Say since when, please.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#proposal-status")).to_have_text("Changes requested")
    screenshot("review-changes-requested")

    # The member edits and resubmits; v1 is superseded.
    login(page, member.email)
    page.goto("/accounts/notifications/")
    expect(page.get_by_role("button", name="mentioned you")).to_be_visible()
    edit_phenomenon(page, "Revenue fell three months in a row, since March.")
    submit(page, 2)
    assert Proposal.objects.get(version=1).status == "superseded"

    # The stakeholder reads what changed and approves.
    login(page, stakeholder.email)
    page.goto("/o/acme/projects/menu-recommender/proposals/2/")
    page.get_by_role("button", name="Changes since v1").click()
    expect(page.get_by_role("heading", name="v1 → v2")).to_be_visible()
    expect(page.locator(".diff ins").first).to_contain_text("since March.")
    screenshot("review-diff")
    page.get_by_role("link", name="← v2").click()
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#proposal-status")).to_have_text("Approved")
    screenshot("review-approved")
    assert Proposal.objects.get(version=2).status == "approved"
