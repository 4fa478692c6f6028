"""Readable diffs between two versions of a step (section history, proposal versions):
line by line, and word by word inside a changed line (difflib)."""

import difflib


def _lines(data, prefix: str = "") -> list[str]:
    """A step's snapshot as readable lines (“objectives › Rank by quality › kind: rank”)."""
    lines: list[str] = []
    if isinstance(data, dict):
        label = data.get("title") or data.get("name") or data.get("statement")
        for key, value in data.items():
            if key in ("id", "children") or (key == "parent" and label):
                continue
            name = f"{prefix}{key}"
            if isinstance(value, dict | list):
                lines += _lines(value, f"{name} › ")
            elif value not in ("", None):
                lines.append(f"{name}: {value}")
        if "children" in data:
            lines += _lines(data["children"], f"{prefix}{label} › ")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                label = item.get("title") or item.get("name") or item.get("statement") or ""
                lines += _lines(item, f"{prefix}{str(label)[:40]} › " if label else prefix)
            else:
                lines.append(f"{prefix.rstrip(' ›')}: {item}")
    return lines


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


def section_diff(old: dict | None, new: dict) -> list[dict]:
    """Changed lines between two versions of a step; replaced lines diffed word by word."""
    a, b = _lines(old) if old else [], _lines(new)
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
