"""No page of the demo shows a raw code or an unformatted number: every choice is shown
by its label, every audit entry as a sentence, every number through the `numbers` filters.

The pages are found by following links from the demo dashboard, one page of each kind."""

import io
import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db

SKIP = re.compile(
    r"(/api/|/mlflow|/export\.|/download|/file|/media/|/static/|/admin/|\.csv$|/logout)"
)
MAX_PAGES = 150
# Text inside these elements is the user's own, code or data, not the product's words.
VERBATIM = {"script", "style", "code", "pre", "textarea", "kbd", "samp", "select", "option"}
LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{6,}(?![\w.])")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in VERBATIM:
            self.depth += 1

    def handle_endtag(self, tag) -> None:
        if tag in VERBATIM and self.depth:
            self.depth -= 1

    def handle_data(self, data) -> None:
        if not self.depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def _choice_codes() -> set[str]:
    """Every stored code of every choice field that differs from its label (snake_case)."""
    codes = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "choices", None) or []:
                if isinstance(value, str) and "_" in value:
                    codes.add(value)
    return codes


def _pages(client: Client):
    queue, seen, kinds = ["/o/demo/"], set(), set()
    while queue and len(kinds) < MAX_PAGES:
        url = queue.pop(0)
        parsed = urlparse(url)
        kind = re.sub(r"\d+", "N", parsed.path) + ("?" if parsed.query else "")
        if url in seen or kind in kinds:
            continue
        seen.add(url)
        kinds.add(kind)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        yield url, html
        for href in re.findall(r'href="([^"#]+)', html):
            link = urlparse(href.replace("&amp;", "&"))
            if link.netloc or SKIP.search(link.path):
                continue
            if link.path.startswith("/o/demo/"):
                queue.append(link.path + (f"?{link.query}" if link.query else ""))


def test_the_demo_pages_show_labels_sentences_and_formatted_numbers():
    call_command("load_demo", stdout=io.StringIO())
    client = Client()
    client.force_login(User.objects.get(email="owner@example.com"))
    codes = _choice_codes()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    problems = []
    pages = 0
    for url, html in _pages(client):
        pages += 1
        text = visible_text(html)
        words = set(re.findall(r"[\w.]+", text))
        problems += [f"{url}: code {code!r}" for code in sorted(codes & words)]
        problems += [f"{url}: audit action {a!r}" for a in sorted(actions & words)]
        problems += [f"{url}: number {n}" for n in sorted(set(LONG_FLOAT.findall(text)))]
        problems += [f"{url}: {w!r}" for w in ("probabilitys", "@k ", "@K ") if w in text]
    assert pages > 30, f"only {pages} pages were reached"
    assert not problems, "\n".join(problems)
