"""The prototype's input fields: a list of `{"name", "type", "choices"}`, built from a JSON
schema, from the columns of an example file, or from any other list of typed columns
(an MLflow model signature's inputs map onto it the same way). Plain functions; no Django.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd

NUMBER, INTEGER, BOOLEAN, CATEGORY, TEXT, DATE = (
    "number", "integer", "boolean", "category", "text", "date",
)  # fmt: skip
TYPES = (NUMBER, INTEGER, BOOLEAN, CATEGORY, TEXT, DATE)
#: A text column of an example file with at most this many distinct values is a category.
MAX_CATEGORIES = 30
MAX_FIELDS = 60
NAME = re.compile(r"^[\w .\-/]{1,100}$")


class SchemaError(ValueError):
    """The schema can't be used; the message says which part."""


def build_fields(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate `[{name, type, choices?}]` and return it in its stored form."""
    if not isinstance(columns, list) or not columns:
        raise SchemaError("The input needs at least one field.")
    if len(columns) > MAX_FIELDS:
        raise SchemaError(f"At most {MAX_FIELDS} input fields.")
    fields, seen = [], set()
    for i, column in enumerate(columns, start=1):
        if not isinstance(column, dict):
            raise SchemaError(f"Field {i} must be an object with a name and a type.")
        name = str(column.get("name", "")).strip()
        if not NAME.match(name):
            raise SchemaError(f"Field {i}: the name {name!r} is empty or has odd characters.")
        if name in seen:
            raise SchemaError(f"Field {name!r} appears twice.")
        seen.add(name)
        kind = column.get("type", TEXT)
        if kind not in TYPES:
            raise SchemaError(f"Field {name!r}: type {kind!r} is not one of {', '.join(TYPES)}.")
        field: dict[str, Any] = {"name": name, "type": kind}
        choices = column.get("choices") or []
        if kind == CATEGORY:
            if not isinstance(choices, list) or not choices:
                raise SchemaError(f"Field {name!r}: a category needs its choices.")
            field["choices"] = [str(c) for c in dict.fromkeys(choices)]
        fields.append(field)
    return fields


_JSON_TYPES = {"number": NUMBER, "integer": INTEGER, "boolean": BOOLEAN, "string": TEXT}
# MLflow's column types (`mlflow.types.DataType`) in the same vocabulary.
MLFLOW_TYPES = {
    "double": NUMBER, "float": NUMBER, "long": INTEGER, "integer": INTEGER,
    "boolean": BOOLEAN, "string": TEXT, "datetime": DATE,
}  # fmt: skip


def fields_from_json_schema(schema: Any) -> list[dict[str, Any]]:
    """`{"type": "object", "properties": {name: {"type", "enum", "format"}}}` → fields."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise SchemaError('A JSON schema with "properties" is expected.')
    columns = []
    for name, spec in schema["properties"].items():
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("type")
        if isinstance(kind, list):  # ["number", "null"]
            kind = next((k for k in kind if k != "null"), "string")
        if "enum" in spec:
            columns.append({"name": name, "type": CATEGORY, "choices": spec["enum"]})
        elif kind == "string" and spec.get("format") in ("date", "date-time"):
            columns.append({"name": name, "type": DATE})
        elif kind in _JSON_TYPES:
            columns.append({"name": name, "type": _JSON_TYPES[kind]})
        else:
            raise SchemaError(f"Property {name!r}: type {kind!r} can't be typed into a form.")
    return build_fields(columns)


def fields_from_signature(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An MLflow signature's column inputs (`[{"name", "type"}]`) → fields."""
    columns = []
    for column in inputs:
        kind = MLFLOW_TYPES.get(str(column.get("type")))
        if kind is None:
            raise SchemaError(
                f"Input {column.get('name')!r}: type {column.get('type')!r} isn't a column type."
            )
        columns.append({"name": column.get("name"), "type": kind})
    return build_fields(columns)


def fields_from_example(content: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fields typed from an example CSV's columns, and its first rows as example inputs:
    numbers stay numbers, true/false columns are booleans, ISO dates are dates, text with
    few distinct values is a category (its values are the choices), other text is text."""
    try:
        frame = pd.read_csv(io.BytesIO(content), nrows=5000)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SchemaError(f"The example file is not a readable CSV: {exc}") from None
    if frame.empty or not len(frame.columns):
        raise SchemaError("The example file has no rows.")
    columns = []
    for name in frame.columns:
        series = frame[name].dropna()
        if series.dtype.kind == "b":
            columns.append({"name": str(name), "type": BOOLEAN})
        elif series.dtype.kind in "iu":
            columns.append({"name": str(name), "type": INTEGER})
        elif series.dtype.kind == "f":
            columns.append({"name": str(name), "type": NUMBER})
        elif _looks_like_dates(series):
            columns.append({"name": str(name), "type": DATE})
        else:
            values = sorted({str(v) for v in series})
            if 0 < len(values) <= MAX_CATEGORIES and len(values) < max(len(series), 2):
                columns.append({"name": str(name), "type": CATEGORY, "choices": values})
            else:
                columns.append({"name": str(name), "type": TEXT})
    fields = build_fields(columns)
    examples = [coerce_row(fields, row) for row in frame.head(3).to_dict("records")]
    return fields, examples


def _looks_like_dates(series: pd.Series) -> bool:
    text = series.astype(str)
    return bool(len(text)) and bool(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all())


def coerce_row(fields: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """A row typed as the fields say (missing or empty values are None): what is sent to
    the model and to the rules. Raises `SchemaError` naming the field for a bad value."""
    row = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        value = values.get(name)
        if value is None or (isinstance(value, float) and value != value) or value == "":
            row[name] = False if kind == BOOLEAN else None
            continue
        try:
            if kind == NUMBER:
                row[name] = float(value)
            elif kind == INTEGER:
                number = float(value)
                if number != int(number):
                    raise ValueError
                row[name] = int(number)
            elif kind == BOOLEAN:
                row[name] = value if isinstance(value, bool) else str(value).strip().lower() in (
                    "1", "true", "yes", "on",
                )  # fmt: skip
            elif kind == CATEGORY:
                if str(value) not in field["choices"]:
                    raise ValueError
                row[name] = str(value)
            elif kind == DATE:
                row[name] = pd.Timestamp(str(value)).date().isoformat()
            else:
                row[name] = str(value)
        except (ValueError, TypeError):
            raise SchemaError(f"{name}: {value!r} is not a valid {kind}.") from None
    return row
