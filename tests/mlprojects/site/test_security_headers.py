"""Browser-facing security headers: a strict Content-Security-Policy (so no template may
hold an inline script, event handler or style attribute), Permissions-Policy, and the
referrer and content-type headers."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
HTMX_ON = re.compile(r"\shx-on[:-]", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


def offending_lines(pattern: re.Pattern) -> list[str]:
    found = []
    for path in template_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()[:120]}")
    return found


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_the_template_scan_sees_the_templates():
    assert len(template_files()) > 50


def test_no_template_has_an_inline_script():
    assert offending_lines(INLINE_SCRIPT) == []


def test_no_template_has_an_inline_event_handler():
    assert offending_lines(EVENT_HANDLER) + offending_lines(HTMX_ON) == []


def test_no_template_has_a_style_attribute():
    assert offending_lines(STYLE_ATTRIBUTE) == []


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/", "/api/docs/"])
def test_pages_carry_a_strict_content_security_policy(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_signed_in_pages_carry_the_policy_too(client_for, member, org):
    response = client_for(member).get(f"/o/{org.slug}/")
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]


def test_htmx_is_told_not_to_eval_or_inject_styles(client, db):
    page = client.get("/accounts/login/").text
    assert '"includeIndicatorStyles": false' in page
    assert '"allowEval": false' in page


def test_the_api_docs_load_their_start_up_script_from_a_file(client, db):
    page = client.get("/api/docs/").text
    assert INLINE_SCRIPT.search(page) is None
    assert "<style" not in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.text


def test_every_response_sets_the_browser_security_headers(client, db):
    response = client.get("/accounts/login/")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy
    assert "clipboard-write=(self)" in policy


def test_api_answers_carry_the_headers_as_well(client, db):
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert "Content-Security-Policy" in response
    assert "Permissions-Policy" in response
