"""Input serializers validate the shape of a request; the services check the rest and save.
Output serializers are separate and list their fields explicitly."""

from rest_framework import serializers

from ..models import Run, RunStatus
from ..services.runs import (
    MAX_BATCH_METRICS,
    MAX_BATCH_PARAMS,
    MAX_BATCH_TAGS,
    MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)


class ScalarStringField(serializers.CharField):
    """A string; numbers and booleans are accepted and stored as their text, as MLflow
    stores params and tags (`{"lr": 0.01}` is the param "0.01")."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            data = "true" if data else "false"
        elif isinstance(data, int | float):
            data = repr(data)
        return super().to_internal_value(data)


def _key_values(max_length: int) -> serializers.DictField:
    # How many keys are allowed is checked by the service (MAX_BATCH_PARAMS/TAGS).
    return serializers.DictField(
        child=ScalarStringField(allow_blank=True, trim_whitespace=False, max_length=max_length),
        required=False,
        default=dict,
    )


class RunCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")
    params = _key_values(MAX_PARAM_VALUE_LENGTH)
    tags = _key_values(MAX_TAG_VALUE_LENGTH)


class RunUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    name = serializers.CharField(max_length=250, required=False)


class MetricInSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=MAX_KEY_LENGTH)
    value = serializers.FloatField()
    step = serializers.IntegerField(required=False, default=0)
    timestamp = serializers.IntegerField(
        required=False, default=None, allow_null=True, help_text="Milliseconds since the epoch."
    )

    def validate_value(self, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise serializers.ValidationError("A finite number is required (not NaN or ±inf).")
        return value


class KeyValueSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=MAX_KEY_LENGTH)
    value = ScalarStringField(allow_blank=True, trim_whitespace=False, max_length=8000)


class LogBatchSerializer(serializers.Serializer):
    metrics = serializers.ListField(
        child=MetricInSerializer(), required=False, max_length=MAX_BATCH_METRICS
    )
    params = serializers.ListField(
        child=KeyValueSerializer(), required=False, max_length=MAX_BATCH_PARAMS
    )
    tags = serializers.ListField(
        child=KeyValueSerializer(), required=False, max_length=MAX_BATCH_TAGS
    )


class LatestMetricSerializer(serializers.Serializer):
    value = serializers.FloatField()
    step = serializers.IntegerField()
    timestamp = serializers.IntegerField()


class RunSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    metrics = serializers.DictField(
        source="latest_metrics",
        child=LatestMetricSerializer(),
        read_only=True,
        help_text="The latest value of each metric (highest step, then latest timestamp).",
    )
    params = serializers.DictField(child=serializers.CharField(), read_only=True)
    tags = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "project",
            "name",
            "status",
            "role",
            "created_by",
            "started_at",
            "ended_at",
            "params",
            "tags",
            "metrics",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RunPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    results = RunSerializer(many=True)


class MetricPointSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    value = serializers.FloatField()
    timestamp = serializers.IntegerField()


class MetricHistorySerializer(serializers.Serializer):
    key = serializers.CharField()
    history = MetricPointSerializer(many=True)
