"""Fields shared by the API's input serializers."""

from django.db import models
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string field that accepts JSON strings only. DRF's `CharField` turns a number into
    its text (`{"name": 0}` would save the name "0"), so a body the schema calls invalid
    would be accepted; here any non-string is a 400 ("Not a valid string.")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """A `ModelSerializer` whose fields built from the model's text columns are
    `StrictCharField`s, so model-backed input serializers are as strict as declared ones."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }
