"""Fields shared by the API's input serializers.

DRF's fields coerce: `CharField` turns a number into its text, `IntegerField` and
`FloatField` parse strings ("5"), `BooleanField` takes "yes" and 1, `ChoiceField` matches
`str(value)`, a many-related field iterates a JSON object's keys. A JSON body the schema
calls invalid would then be accepted. The strict fields here accept, in a JSON body, only
the JSON type the schema publishes for them (a 400 otherwise). Forms and query strings,
where every value is text, are still parsed as DRF does.

Serializers declare these rather than DRF's own. DRF's `DateField`, `DateTimeField`,
`EmailField`, `URLField`, `DictField`, `ListField` and `FileField` need no strict twin: they
parse only text (or take only an object, a list, a file), so another JSON type is a 400
already; what a dict or a list holds is checked by its child or by the service."""

import re
from collections.abc import Mapping

from django.db import models
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.relations import MANY_RELATION_KWARGS, ManyRelatedField

# The largest primary key (a 64-bit signed integer): a larger id names nothing, and the
# database could not even compare it in an `IN (…)`.
MAX_ID = 2**63 - 1


def from_json(field: serializers.Field) -> bool:
    """Whether the value came from a JSON body rather than a form or a query string."""
    return not isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    """A string field that accepts JSON strings only (`{"name": 0}` is a 400, not the name
    "0")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer field that accepts JSON integers only (not "5", 5.0 or true)."""

    def to_internal_value(self, data):
        if from_json(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIdField(StrictIntegerField):
    """The id of a row: a JSON integer from 1 to `MAX_ID` (a larger one names nothing, and
    the database could not even compare it)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class StrictFloatField(serializers.FloatField):
    """A number field that accepts JSON numbers only (not "0.5" or true)."""

    def to_internal_value(self, data):
        if from_json(self) and (isinstance(data, bool) or not isinstance(data, int | float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A boolean field that accepts JSON true and false only (not 1, "yes" or "true")."""

    def to_internal_value(self, data):
        if from_json(self) and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """A choice field whose JSON value must be one of the choices itself (a string), not a
    number whose text is one."""

    def to_internal_value(self, data):
        if from_json(self) and not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A decimal field that accepts what its schema publishes (with the default
    COERCE_DECIMAL_TO_STRING): a string of digits with an optional sign and fraction."""

    NUMBER = re.compile(r"-?\d*(?:\.\d*)?")

    def to_internal_value(self, data):
        if from_json(self) and (not isinstance(data, str) or not self.NUMBER.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictManyRelatedField(ManyRelatedField):
    """A list of ids that must be a JSON array (DRF iterates an object's keys)."""

    def to_internal_value(self, data):
        if from_json(self) and not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by id that must be a JSON integer (DRF looks up "5" and 5.0 too, and
    takes "" for null)."""

    def run_validation(self, data=empty):
        if data == "" and from_json(self):
            self.fail("incorrect_type", data_type="str")
        return super().run_validation(data)

    def to_internal_value(self, data):
        # Here rather than in `run_validation`, which a list of ids does not call per item.
        if from_json(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    @classmethod
    def many_init(cls, *args, **kwargs):
        # DRF's own, with the strict list around the strict child.
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        for key in kwargs:
            if key in MANY_RELATION_KWARGS:
                list_kwargs[key] = kwargs[key]
        return StrictManyRelatedField(**list_kwargs)


class WholeItemsField(serializers.ListField):
    """A list whose items replace the stored ones, each validated whole by `item_class`
    (its required fields required) even inside a PATCH: DRF would let a partial body
    leave out the required fields of nested items, which the schema requires."""

    def __init__(self, item_class: type[serializers.Serializer], **kwargs):
        self.item_class = item_class
        super().__init__(child=item_class(), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str | Mapping) or not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        items, errors = [], {}
        for index, item in enumerate(data):
            serializer = self.item_class(data=item, context=self.context)
            if serializer.is_valid():
                items.append(serializer.validated_data)
            else:
                errors[index] = serializer.errors
        if errors:
            raise serializers.ValidationError(errors)
        return items


class StrictModelSerializer(serializers.ModelSerializer):
    """A `ModelSerializer` whose fields built from the model's columns are the strict
    fields above, so model-backed input serializers are as strict as declared ones."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.FloatField: StrictFloatField,
        models.BooleanField: StrictBooleanField,
        models.DecimalField: StrictDecimalField,
    }
    serializer_choice_field = StrictChoiceField
    serializer_related_field = StrictPrimaryKeyRelatedField


class QuerySerializer(serializers.Serializer):
    """Validates a query string. DRF reads an empty optional parameter (`?status=`) as one
    left out, but the schema calls "" invalid for a choice, a number or a date: here it is
    a 400 naming the parameter, unless the field allows blank."""

    def to_internal_value(self, data):
        errors = {
            name: ["Give a value, or leave the parameter out."]
            for name, field in self.fields.items()
            if data.get(name) == "" and not getattr(field, "allow_blank", False)
        }
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
