"""Readable diffs between two versions of a step (section history, proposal versions):
line by line, and word by word inside a changed line (difflib)."""

import difflib
from collections.abc import Mapping

NO_WORDS: Mapping[str, str] = {}


def _word(key: str, words: Mapping[str, str]) -> str:
    """A key in words: its label when known, else `poor_data` → "Poor data"."""
    return words.get(key) or key.replace("_", " ").capitalize()


def _lines(data, prefix: str = "", words: Mapping[str, str] = NO_WORDS) -> list[str]:
    """A step's snapshot as readable lines (“Objectives › Rank by quality › Kind: Ranking”):
    keys and coded values are shown by their labels in `words`."""
    lines: list[str] = []
    if isinstance(data, dict):
        label = data.get("title") or data.get("name") or data.get("statement")
        for key, value in data.items():
            if key in ("id", "children") or (key == "parent" and label):
                continue
            name = f"{prefix}{_word(key, words)}"
            if isinstance(value, dict | list):
                lines += _lines(value, f"{name} › ", words)
            elif value not in ("", None):
                lines.append(f"{name}: {_value(value, words)}")
        if "children" in data:
            lines += _lines(data["children"], f"{prefix}{label} › ", words)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                label = item.get("title") or item.get("name") or item.get("statement") or ""
                lines += _lines(item, f"{prefix}{str(label)[:40]} › " if label else prefix, words)
            else:
                lines.append(f"{prefix.rstrip(' ›')}: {_value(item, words)}")
    return lines


def _value(value, words: Mapping[str, str]) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # Four significant digits, as the `numbers` filters show numbers on the pages.
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, str) and value in words:
        return words[value]
    return str(value)


def _word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(" "), new.split(" ")
    parts: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b).get_opcodes():
        if op == "equal":
            parts.append(("same", " ".join(a[i1:i2])))
        else:
            if i2 > i1:
                parts.append(("del", " ".join(a[i1:i2])))
            if j2 > j1:
                parts.append(("ins", " ".join(b[j1:j2])))
    return parts


def section_diff(old: dict | None, new: dict, *, words: Mapping[str, str] = NO_WORDS) -> list[dict]:
    """Changed lines between two versions of a step; replaced lines diffed word by word.
    `words` gives the labels of keys and of coded values (choices)."""
    a, b = _lines(old, words=words) if old else [], _lines(new, words=words)
    rows = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            rows += [
                {"op": "change", "parts": _word_diff(x, y)}
                for x, y in zip(a[i1:i2], b[j1:j2], strict=True)
            ]
            continue
        rows += [{"op": "del", "text": x} for x in a[i1:i2]]
        rows += [{"op": "ins", "text": y} for y in b[j1:j2]]
    return rows
