"""A stakeholder on a phone (390 px) tries the prototype: fills the form, reads the model's
ranking next to the waiter rules' answer, leaves feedback; a share link opens it read-only
for someone outside the organization."""

import pytest
from playwright.sync_api import expect

from evaluation.prototypes import services
from evaluation.prototypes.models import PrototypeFeedback
from mlprojects.lifecycle.selectors import cycle_get
from mlprojects.models import Baseline
from tests.browser.conftest import log_in
from tests.evaluation.prototypes.conftest import FIELDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
# A ranking baseline recommends items ("if likes spicy, recommend kimchi jjigae").
WAITER_RULES = {
    "rules": [
        {
            "when": [{"feature": "likes_spicy", "op": "==", "value": True}],
            "recommend": ["kimchi_jjigae", "tteokbokki"],
        },
        {
            "when": [{"feature": "diet", "op": "in", "value": ["vegetarian", "vegan"]}],
            "recommend": ["bibimbap"],
        },
    ],
    "default": 0,
}


@pytest.fixture
def recommender(project, member):
    Baseline.objects.create(
        cycle=cycle_get(project=project), name="Waiter rules", kind="rules", rules=WAITER_RULES
    )
    endpoint = services.endpoint_save(
        project=project,
        user=member,
        values={
            "url": "builtin://restaurant-recommender",
            "protocol": "json",
            "input_field": "guest",
            "output_kind": "ranking",
            "top_k": 3,
        },
    )
    return services.endpoint_set_fields(endpoint=endpoint, fields=FIELDS)


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_stakeholder_tries_the_prototype_on_a_phone_and_leaves_feedback(
    page, screenshot, recommender, stakeholder
):
    page.set_viewport_size(PHONE)
    log_in(page, stakeholder.email)
    page.goto("/o/acme/projects/menu-recommender/prototype/")
    page.get_by_label("Favourite dishes").fill("tteokbokki")
    page.get_by_label("Likes spicy").check()
    page.get_by_label("Diet").select_option("none")
    page.get_by_role("button", name="Ask the model").click()
    model = page.locator("#model-answer")
    expect(model.locator("ol.proto-ranking li")).to_have_count(3)
    expect(model).to_contain_text("kimchi_jjigae")
    expect(page.locator("#baseline-answer")).to_contain_text("kimchi_jjigae")
    expect(model).to_contain_text("Answered in")
    _fits_the_phone(page)
    page.get_by_label("👍 Good answer").check()
    page.get_by_label("Comment (optional)").fill("Spicy guests get spicy dishes: good.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#feedback-box")).to_contain_text("Thank you")
    # The list below shows it at once, with the ranking of the rules as a list too.
    expect(page.locator("#prototype-feedback")).to_contain_text("Spicy guests get spicy dishes")
    expect(page.locator("#baseline-answer ol.proto-ranking li").first).to_have_text("kimchi_jjigae")
    screenshot("prototype-phone")
    feedback = PrototypeFeedback.objects.get()
    assert (feedback.user, feedback.verdict) == (stakeholder, "up")
    assert feedback.call.inputs["favourite_dishes"] == "tteokbokki"


def test_a_share_link_opens_the_prototype_for_an_outsider_on_a_phone(
    browser, live_server, page, screenshot, recommender, member
):
    page.set_viewport_size(PHONE)
    log_in(page, member.email)
    page.goto("/o/acme/projects/menu-recommender/prototype/settings/")
    page.get_by_label("Label").fill("Head chef's friend")
    page.get_by_role("button", name="Create a share link").click()
    url = page.locator("#new-share-link").inner_text()
    outsider = browser.new_context(viewport=PHONE)
    guest = outsider.new_page()
    try:
        guest.goto(url)
        expect(guest.get_by_text("read-only")).to_be_visible()
        guest.get_by_label("Favourite dishes").fill("bulgogi")
        guest.get_by_role("button", name="Ask the model").click()
        expect(guest.locator("#model-answer")).to_contain_text("galbi")
        expect(guest.get_by_text("Was this a good answer?")).to_have_count(0)
        _fits_the_phone(guest)
        guest.screenshot(path=str(screenshot("prototype-settings").parent / "prototype-shared.png"))
    finally:
        outsider.close()
    # Revoked, the link stops working at once.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Share link revoked")).to_be_visible()
    check = browser.new_context()
    try:
        response = check.new_page().goto(url)
        assert response.status == 404
    finally:
        check.close()
