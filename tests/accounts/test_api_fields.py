"""The API's strict fields take, in a JSON body, only the JSON type the schema publishes;
a form or a query string (all text) is parsed as DRF parses it. DRF's own date, email,
URL, dict and list fields are already that strict, so they have no strict twin."""

import pytest
from django.http import QueryDict
from rest_framework import serializers

from accounts.api.fields import (
    MAX_ID,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictFloatField,
    StrictIdField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
)
from accounts.models import User

FIELDS = {
    "text": StrictCharField,
    "number": StrictFloatField,
    "count": StrictIntegerField,
    "id": StrictIdField,
    "flag": StrictBooleanField,
    "choice": lambda **kw: StrictChoiceField(choices=["1", "a"], **kw),
    "amount": lambda **kw: StrictDecimalField(max_digits=8, decimal_places=2, **kw),
    "when": serializers.DateTimeField,
    "day": serializers.DateField,
    "email": serializers.EmailField,
    "url": serializers.URLField,
    "mapping": serializers.DictField,
    "items": serializers.ListField,
}


def errors_of(data) -> dict:
    fields = {name: make(required=False) for name, make in FIELDS.items()}
    serializer = type("Body", (serializers.Serializer,), fields)(data=data)
    serializer.is_valid()
    return serializer.errors


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", 0),
        ("text", 12.5),
        ("text", True),
        ("text", ["a"]),
        ("number", "0.5"),
        ("number", True),
        ("number", None),
        ("count", "5"),
        ("count", 5.5),
        ("count", 5.0),
        ("count", True),
        ("id", "5"),
        ("id", 0),
        ("id", MAX_ID + 1),
        ("id", False),
        ("flag", 1),
        ("flag", "true"),
        ("flag", "yes"),
        ("choice", 1),
        ("amount", 60000),
        ("amount", "1e3"),
        ("when", 1764489600),
        ("when", True),
        ("when", ["2026-11-30T08:00:00Z"]),
        ("day", 20261130),
        ("day", False),
        ("email", 5),
        ("url", 5),
        ("mapping", ["a"]),
        ("mapping", "a"),
        ("items", {"a": 1}),
        ("items", "ab"),
        ("items", 5),
    ],
)
def test_a_json_value_of_another_type_is_an_error_on_its_field(field, value):
    assert set(errors_of({field: value})) == {field}


def test_each_field_takes_its_own_json_type():
    body = {
        "text": "0",
        "number": 5,
        "count": 5,
        "id": MAX_ID,
        "flag": False,
        "choice": "1",
        "amount": "60000.50",
        "when": "2026-11-30T08:00:00Z",
        "day": "2026-11-30",
        "email": "a@acme.test",
        "url": "https://acme.test/",
        "mapping": {"a": 1},
        "items": [1, "a"],
    }
    assert errors_of(body) == {}


def test_a_form_is_parsed_as_text():
    form = QueryDict(
        "text=0&number=0.5&count=5&id=5&flag=true&choice=1&amount=1.5&when=2026-11-30T08:00:00Z"
    )
    assert errors_of(form) == {}


def test_a_list_of_ids_takes_json_integers_only():
    class Body(serializers.Serializer):
        users = StrictPrimaryKeyRelatedField(queryset=User.objects.none(), many=True)

    for value in (["1"], [1.0], [True], {"1": 1}, ""):
        serializer = Body(data={"users": value})
        assert not serializer.is_valid()
        assert "users" in serializer.errors
