"""Input serializers validate the shape of a request; the services check the rest and save.
Output serializers are separate and list their fields explicitly."""

import math
import sys

from rest_framework import serializers

from accounts.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictFloatField,
    StrictIdField,
    StrictIntegerField,
    StrictModelSerializer,
)
from evaluation.models import Run, RunStatus
from evaluation.runs.models import from_json_number
from evaluation.runs.services import (
    MAX_BATCH_METRICS,
    MAX_BATCH_PARAMS,
    MAX_BATCH_TAGS,
    MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)


class ScalarStringField(StrictCharField):
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


def _objective_field() -> StrictIdField:
    # Whether the id is an objective of the run's project is checked by the service.
    return StrictIdField(
        required=False,
        allow_null=True,
        help_text="Id of an objective of the project's lifecycle (null unlinks).",
    )


class RunCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=250, required=False, allow_blank=True, default="")
    params = _key_values(MAX_PARAM_VALUE_LENGTH)
    tags = _key_values(MAX_TAG_VALUE_LENGTH)
    objective = _objective_field()


class RunUpdateSerializer(serializers.Serializer):
    status = StrictChoiceField(choices=RunStatus.choices, required=False)
    name = StrictCharField(max_length=250, required=False)
    objective = _objective_field()


class MetricInSerializer(serializers.Serializer):
    key = StrictCharField(max_length=MAX_KEY_LENGTH)
    value = StrictFloatField()
    step = StrictIntegerField(required=False, default=0)
    timestamp = StrictIntegerField(
        required=False, default=None, allow_null=True, help_text="Milliseconds since the epoch."
    )


class MetricListField(serializers.ListField):
    """A list of `MetricInSerializer` items, validated in plain Python: a nested serializer
    per item cost ~0.15 ms, most of the time of a 1,000-metric log-batch. The child stays
    for the OpenAPI schema; errors keep DRF's shape ({index: {field: [message]}})."""

    def __init__(self, **kwargs):
        super().__init__(child=MetricInSerializer(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        points, errors = [], {}
        for index, item in enumerate(data):
            point, item_errors = _metric(item)
            if item_errors:
                errors[index] = item_errors
            points.append(point)
        if errors:
            raise serializers.ValidationError(errors)
        return points


def _integer(value, field: str, errors: dict) -> int | None:
    # A JSON integer only, as `StrictIntegerField` (not "5", 5.0 or true).
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = ["A valid integer is required."]
        return None
    return value


def _metric(item) -> tuple[dict | None, dict]:
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Expected an object with key and value."]}
    errors: dict = {}
    key = item.get("key")
    if not isinstance(key, str) or not key.strip():
        errors["key"] = ["This field is required."]
    elif len(key) > MAX_KEY_LENGTH:
        errors["key"] = [f"Ensure this field has no more than {MAX_KEY_LENGTH} characters."]
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors["value"] = ["A valid number is required."]
    elif isinstance(value, int) and abs(value) > sys.float_info.max:
        errors["value"] = ["Integer value too large to convert to float"]  # as DRF's
    elif not math.isfinite(value):
        errors["value"] = ["A finite number is required (not NaN or ±inf)."]
    step = _integer(item.get("step", 0), "step", errors)
    timestamp = item.get("timestamp")
    if timestamp is not None:
        timestamp = _integer(timestamp, "timestamp", errors)
    if errors:
        return None, errors
    return {"key": key, "value": float(value), "step": step, "timestamp": timestamp}, {}


class KeyValueSerializer(serializers.Serializer):
    key = StrictCharField(max_length=MAX_KEY_LENGTH)
    value = ScalarStringField(allow_blank=True, trim_whitespace=False, max_length=8000)


class LogBatchSerializer(serializers.Serializer):
    metrics = MetricListField(required=False, max_length=MAX_BATCH_METRICS)
    params = serializers.ListField(
        child=KeyValueSerializer(), required=False, max_length=MAX_BATCH_PARAMS
    )
    tags = serializers.ListField(
        child=KeyValueSerializer(), required=False, max_length=MAX_BATCH_TAGS
    )


class FiniteFloatField(StrictFloatField):
    """A metric value in strict JSON: NaN and ±inf (which the mlflow client can log) are
    null. Latest values come as stored in `Run.latest_metrics` (±inf as ±MAX_FLOAT)."""

    def to_representation(self, value):
        value = from_json_number(value)  # a NaN of the history (NULL) is None too
        return value if math.isfinite(value) else None


class LatestMetricSerializer(serializers.Serializer):
    value = FiniteFloatField(allow_null=True)
    step = StrictIntegerField()
    timestamp = StrictIntegerField()


class RunSerializer(StrictModelSerializer):
    project = StrictIntegerField(source="project_id", read_only=True)
    objective = StrictIntegerField(source="objective_id", read_only=True, allow_null=True)
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    metrics = serializers.DictField(
        source="latest_metrics",
        child=LatestMetricSerializer(),
        read_only=True,
        help_text="The latest value of each metric (highest step, then latest timestamp).",
    )
    params = serializers.DictField(child=StrictCharField(), read_only=True)
    tags = serializers.DictField(child=StrictCharField(), read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "project",
            "name",
            "status",
            "role",
            "objective",
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
    step = StrictIntegerField()
    value = FiniteFloatField(allow_null=True)
    timestamp = StrictIntegerField()


class MetricHistorySerializer(serializers.Serializer):
    key = StrictCharField()
    history = MetricPointSerializer(many=True)


class SpeedAccuracyRowSerializer(serializers.Serializer):
    run_id = StrictIntegerField()
    run_name = StrictCharField()
    role = StrictCharField(allow_blank=True, help_text="baseline, candidate or empty")
    quality = StrictFloatField()
    latency = StrictFloatField(allow_null=True)
    pareto = StrictBooleanField(
        allow_null=True, help_text="Not beaten on both by another run; null without a latency."
    )


class SpeedAccuracySerializer(serializers.Serializer):
    """The project's runs side by side on one quality and one latency metric."""

    quality_key = StrictCharField(allow_blank=True)
    quality_lower_is_better = StrictBooleanField()
    latency_key = StrictCharField(allow_blank=True)
    quality_keys = serializers.ListField(child=StrictCharField())
    latency_keys = serializers.ListField(child=StrictCharField())
    rows = SpeedAccuracyRowSerializer(many=True)
