"""Two people edit the same section in two browsers: the second save shows both texts,
the merged text is saved, and nothing is lost."""

import pytest
from playwright.sync_api import expect

from mlprojects.models import Phenomenon, SectionVersion
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_editor(page, email: str):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.goto("/o/acme/projects/menu-recommender/")
    page.locator("#step-phenomenon").get_by_role("link", name="Edit").first.click()
    form = page.locator(".editing form").first
    expect(form).to_be_visible()
    return form


def test_the_second_save_shows_both_texts_for_merging(
    page, browser, live_server, org, project, member, admin
):
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    bob_page = other.new_page()
    try:
        alice = open_editor(page, member.email)
        bob = open_editor(bob_page, admin.email)

        alice.get_by_label("What is happening").fill("Revenue fell since March.")
        alice.get_by_role("button", name="Save").click()
        expect(page.locator("#step-phenomenon")).to_contain_text("Revenue fell since March.")

        bob.get_by_label("What is happening").fill("Guests dropped.")
        bob.get_by_role("button", name="Save").click()
        conflict = bob_page.locator(".conflict")
        expect(conflict).to_contain_text("Someone else saved this section")
        expect(conflict.locator("td.theirs")).to_have_text("Revenue fell since March.")
        expect(conflict.locator("td.yours")).to_have_text("Guests dropped.")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        bob_page.locator(".editing").screenshot(path=str(SCREENSHOTS / "conflict-form.png"))

        merged = bob_page.locator(".editing form").first
        merged.get_by_label("What is happening").fill("Revenue fell since March; guests dropped.")
        merged.get_by_role("button", name="Save").click()
        expect(bob_page.locator("#step-phenomenon")).to_contain_text(
            "Revenue fell since March; guests dropped."
        )
    finally:
        other.close()
    assert Phenomenon.objects.get().what == "Revenue fell since March; guests dropped."
    history = SectionVersion.objects.filter(step="phenomenon").order_by("number")
    assert [v.data["what"] for v in history] == [
        "Revenue fell since March.",
        "Revenue fell since March; guests dropped.",
    ]
