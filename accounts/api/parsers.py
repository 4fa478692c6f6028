"""JSON request bodies with a nesting cap: a body nested deeper than API_MAX_JSON_DEPTH
(arrays and objects inside each other) is refused with 400 before any serializer, JSON
field or database driver walks it recursively. Used by every /api/v1/ view (DRF's parser)
and by /mlflow (`loads_limited`)."""

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JSONTooDeep(ValueError):
    pass


def _too_deep() -> str:
    return (
        f"The JSON body nests deeper than {settings.API_MAX_JSON_DEPTH} levels "
        "(the API_MAX_JSON_DEPTH setting)."
    )


def depth_problem(data) -> str | None:
    """Why `data` (a decoded JSON value) nests too deep, else None. Walks iteratively, so
    it cannot itself run out of stack."""
    limit = settings.API_MAX_JSON_DEPTH
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return _too_deep()
        stack.extend((child, depth + 1) for child in children)
    return None


def unstorable_text(data) -> bool:
    """Whether a string anywhere in `data` (a key or a value) holds a NUL character or a
    lone surrogate (`"\\ud800"`), which PostgreSQL cannot store in text or JSON."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or not _encodable(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads_limited(raw: bytes | str, **kwargs):
    """`json.loads` that raises ValueError (JSONTooDeep for depth) on a body nested deeper
    than API_MAX_JSON_DEPTH, including one too deep for the decoder itself."""
    try:
        data = json.loads(raw, **kwargs)
    except RecursionError:
        raise JSONTooDeep(_too_deep()) from None
    problem = depth_problem(data)
    if problem:
        raise JSONTooDeep(problem)
    return data


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser (strict: no NaN or Infinity) with the nesting cap; a NUL
    character or a lone surrogate in any string is refused too."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read().decode(encoding)
        except UnicodeDecodeError:
            raise exceptions.ParseError(f"The JSON body is not valid {encoding}.") from None
        try:
            data = loads_limited(raw, parse_constant=_reject_constant)
        except JSONTooDeep as exc:
            raise exceptions.ParseError(str(exc), code="too_deep") from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if unstorable_text(data):
            raise exceptions.ParseError(
                "The JSON body has a NUL character (\\u0000) or a lone surrogate in a string.",
                code="invalid_text",
            )
        return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON.")
