"""Every page reachable from the demo dashboard works on a phone (390×844) and on a
laptop (1280×800): nothing scrolls sideways, no element of the navigation or of an action
bar lies outside the viewport, and the browser reports no error.

The pages are found by following the links of the pages themselves, from the dashboard
on, one page of each kind (the same path with other ids is the same template)."""

import io
import re
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
# Not pages: downloads, the API and its docs, exports, the mlflow endpoints, the admin.
SKIP = re.compile(r"(/api/|/mlflow|/export\.|/download|/file|/media/|/static/|/admin/|\.csv$)")
# At most this many kinds of page per viewport keeps the test within a few minutes.
MAX_PAGES = 90

MEASURE = """() => {
  const width = window.innerWidth;
  const outside = [];
  const bars = '.topbar a, .topbar summary, .topbar button, .actions a, .actions button,'
    + ' .actions summary, .page-head a[role=button], .page-head button';
  for (const el of document.querySelectorAll(bars)) {
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -1 || box.right > width + 1) outside.push(el.outerHTML.slice(0, 100));
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, outside};
}"""


def _kind(path: str, query: str) -> str:
    return re.sub(r"\d+", "N", path) + ("?" if query else "")


def crawl(page, viewport: dict, *, label: str) -> list[str]:
    """Visit the demo's pages at `viewport`; return what is wrong, one line per problem."""
    page.set_viewport_size(viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    problems: list[str] = []
    queue, seen, kinds = ["/o/demo/"], set(), set()
    host = urlparse(page.url).netloc
    while queue and len(kinds) < MAX_PAGES:
        url = queue.pop(0)
        parsed = urlparse(url)
        kind = _kind(parsed.path, parsed.query)
        if url in seen or kind in kinds:
            continue
        seen.add(url)
        kinds.add(kind)
        errors.clear()
        response = page.goto(url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        page.wait_for_load_state("networkidle")
        where = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if response.status >= 400:
            problems.append(f"{label} {where}: HTTP {response.status}")
        found = page.evaluate(MEASURE)
        if found["scrollWidth"] > found["width"]:
            problems.append(f"{label} {where}: {found['scrollWidth']} px wide")
            page.screenshot(path=str(SCREENSHOTS / f"too-wide-{label}-{len(problems)}.png"))
        problems += [f"{label} {where}: outside the viewport: {el}" for el in found["outside"]]
        problems += [f"{label} {where}: console: {e}" for e in errors]
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            link = urlparse(href.split("#")[0])
            if link.netloc != host or SKIP.search(link.path):
                continue
            if link.path.startswith(("/o/demo/", "/accounts/")) and "logout" not in link.path:
                queue.append(link.path + (f"?{link.query}" if link.query else ""))
    assert len(kinds) > 30, f"only {len(kinds)} kinds of page were reached"
    return problems


@pytest.fixture
def demo_owner(page):
    """The demo loaded, and its owner (who sees every menu entry) logged in."""
    call_command("load_demo", stdout=io.StringIO())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("mlprojects-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_no_page_scrolls_sideways_on_a_phone_or_a_laptop(demo_owner):
    problems = crawl(demo_owner, PHONE, label="phone") + crawl(demo_owner, LAPTOP, label="laptop")
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_navigation_is_one_menu_with_every_entry(demo_owner, screenshot):
    page = demo_owner
    page.set_viewport_size(PHONE)
    page.goto("/o/demo/projects/restaurant-revenue/")
    members = page.get_by_role("link", name="Members", exact=True)
    expect(members).to_be_hidden()
    screenshot("phone-project-page")
    page.locator(".nav-menu > summary").click()
    for name in (
        "Projects",
        "Analyses",
        "Reviews",
        "Activity",
        "Members",
        "Settings",
        "API tokens",
    ):
        link = page.locator(".topbar").get_by_role("link", name=name, exact=True)
        expect(link).to_be_in_viewport()
    page.locator(".user-menu summary").click()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    screenshot("phone-menu-open")
    page.locator(".user-menu summary").click()  # close the account menu again
    members.click()
    expect(page).to_have_url(re.compile(r"/o/demo/members/$"))


def test_on_a_laptop_the_navigation_is_not_collapsed(demo_owner):
    page = demo_owner
    page.set_viewport_size(LAPTOP)
    page.goto("/o/demo/")
    expect(page.locator(".nav-menu > summary")).to_be_hidden()
    expect(page.locator(".topbar").get_by_role("link", name="API tokens")).to_be_visible()
