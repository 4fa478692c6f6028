"""Comment bodies: Markdown rendered to HTML, then sanitized with nh3 against an explicit
allow-list, so no script, event handler, `javascript:`/`data:` URL or style ever reaches a
page whatever a user types. `@handle` mentions name members by the part of their email
address before the @."""

import re

import markdown
import nh3

ALLOWED_TAGS = {
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
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9._+-]{0,63})")


def mention_handle(email: str) -> str:
    return email.split("@", 1)[0].lower()


def mentioned_handles(text: str) -> set[str]:
    """The handles mentioned in `text` (lower case; a trailing full stop is not part)."""
    return {m.rstrip(".").lower() for m in MENTION.findall(text)}


def render_markdown(text: str, *, handles: set[str] | None = None) -> str:
    """Safe HTML of a Markdown `text`. Mentions of `handles` (members) are highlighted."""
    html = markdown.markdown(text, extensions=["fenced_code", "sane_lists"])
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        # Only our own class survives on a <span>.
        tag_attribute_values={"span": {"class": {"mention"}}},
        strip_comments=True,
    )
    if handles:

        def mark(match: re.Match) -> str:
            handle = match.group(1).rstrip(".")
            if handle.lower() not in handles:
                return match.group(0)
            rest = match.group(1)[len(handle) :]
            return f'<span class="mention">@{handle}</span>{rest}'

        # Only text between tags is touched, never attribute values or code blocks.
        parts = re.split(r"(<pre>.*?</pre>|<code>.*?</code>|<[^>]+>)", html, flags=re.S)
        html = "".join(p if p.startswith("<") else MENTION.sub(mark, p) for p in parts)
    return html
