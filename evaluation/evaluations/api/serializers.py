"""Serializers of the evaluations API: the upload's input, and an evaluation as a
summary (lists) or in detail with its results."""

from rest_framework import serializers

from accounts.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIdField,
    StrictIntegerField,
    StrictModelSerializer,
)
from evaluation.models import Evaluation, EvaluationTask

RESULT_KEYS = (
    "metrics",
    "baselines",
    "thresholds",
    "curves",
    "slices",
    "tradeoff",
    "warnings",
    "info",
)


class DefaultTrueField(StrictBooleanField):
    """A boolean that is true when left out, also in a multipart form (where DRF would
    read a missing checkbox as false)."""

    default_empty_html = serializers.empty


class EvaluationInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    task = StrictChoiceField(choices=EvaluationTask.choices)
    columns = serializers.JSONField(binary=True)
    options = serializers.JSONField(binary=True, required=False)
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    target_metric = StrictIdField(
        required=False,
        allow_null=True,
        help_text="Id of a model metric of the project's current cycle; on success its "
        "current value is set from `target_metric_key`.",
    )
    target_metric_key = StrictCharField(
        max_length=60,
        required=False,
        allow_blank=True,
        help_text="The engine metric to take (e.g. recall); default: the task's main metric.",
    )
    project_rule_baselines = DefaultTrueField(
        required=False,
        default=True,
        help_text="Also evaluate the project's rule baselines (those whose features are "
        "not columns of the file are skipped and listed in `skipped_rule_baselines`).",
    )


class EvaluationSummarySerializer(StrictModelSerializer):
    project = StrictIntegerField(source="project_id", read_only=True)
    target_metric = StrictIntegerField(source="target_metric_id", read_only=True, allow_null=True)
    file = serializers.SerializerMethodField()
    error = StrictCharField(read_only=True, allow_null=True, help_text="null unless failed")

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "project",
            "name",
            "task",
            "status",
            "progress",
            "rows_read",
            "error",
            "file",
            "attempts",
            "target_metric",
            "target_metric_key",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_file(self, evaluation: Evaluation) -> dict:
        return {
            "name": evaluation.original_filename,
            "format": evaluation.file_format,
            "size": evaluation.file_size,
        }

    def to_representation(self, evaluation: Evaluation) -> dict:
        data = super().to_representation(evaluation)
        data["error"] = evaluation.error or None
        return data


class EvaluationDetailSerializer(EvaluationSummarySerializer):
    class Meta(EvaluationSummarySerializer.Meta):
        fields = [*EvaluationSummarySerializer.Meta.fields, "columns", "options", "rule_baselines"]

    def to_representation(self, evaluation: Evaluation) -> dict:
        data = super().to_representation(evaluation)
        result = evaluation.result or {}
        for key in RESULT_KEYS:
            data[key] = result.get(key)
        return data
