"""Behaviour that templates attach through data attributes and static/js/app.js (the
Content-Security-Policy allows no inline handlers): a confirmation before a destructive
post, and a select that submits its form."""

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from accounts.services import api_token_create
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_revoking_a_token_asks_first_and_cancelling_keeps_it(page, org, owner):
    token, _ = api_token_create(org=org, user=owner, name="gpu box", scope="read")
    log_in(page, owner.email)
    page.goto(f"/o/{org.slug}/tokens/")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert asked == ["Revoke gpu box? Scripts using it will stop working."]
    token.refresh_from_db()
    assert token.is_active

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator(".messages")).to_contain_text("revoked")
    assert not ApiToken.objects.get(pk=token.pk).is_active
