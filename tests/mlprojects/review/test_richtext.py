"""Comment Markdown is rendered, then sanitized: no script, event handler, `javascript:`
or `data:` URL ever survives, whatever the input."""

import re
from html.parser import HTMLParser

import pytest

from mlprojects.review.richtext import mentioned_handles, render_markdown

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<iframe src="https://evil.test"></iframe>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="https://ok.test" onclick="alert(1)">x</a>',
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<object data=javascript:alert(1)>",
    '<span class="mention" onmouseover="alert(1)">@x</span>',
    "<<script>script>alert(1)<</script>/script>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '[x](https://ok.test "title" onmouseover=alert(1))',
    "<!--<script>alert(1)</script>-->",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="javascript:alert(1)">',
]

SAFE_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "span",
}


class Elements(HTMLParser):
    """Every element and attribute of an HTML fragment, as a browser would parse it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("text", XSS_CORPUS)
def test_nothing_executable_survives(text):
    html = render_markdown(text, handles={"x", "sam"})
    for tag, attrs in elements(html):
        assert tag in SAFE_TAGS, html
        assert not any(name.startswith("on") or name == "style" for name in attrs), html
        href = re.sub(r"\s", "", attrs.get("href") or "").lower()
        assert not href or href.startswith(("https:", "http:", "mailto:")), html
        if tag == "span":
            assert attrs == {"class": "mention"}, html
    # Whatever text remains is escaped, so it is shown, never run.
    assert "<script" not in html.lower()


def test_markdown_is_rendered():
    html = render_markdown("**bold** and _it_\n\n- one\n- two\n\n`code`")
    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<li>one</li>" in html
    assert "<code>code</code>" in html


def test_links_get_noopener_noreferrer():
    html = render_markdown("[docs](https://example.org/docs)")
    assert html == ('<p><a href="https://example.org/docs" rel="noopener noreferrer">docs</a></p>')


def test_mentions_of_members_are_highlighted_and_others_are_not():
    html = render_markdown("Ask @sam and @nobody.", handles={"sam"})
    assert '<span class="mention">@sam</span>' in html
    assert "@nobody" in html and 'mention">@nobody' not in html


def test_mentions_inside_code_are_left_alone():
    assert "mention" not in render_markdown("`@sam`", handles={"sam"})


def test_an_email_address_is_not_a_mention():
    assert mentioned_handles("mail sam@example.org or @Rita.") == {"rita"}
