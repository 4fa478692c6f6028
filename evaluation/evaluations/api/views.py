"""Evaluations over the API: submit a predictions file with its column mapping (202, the
worker computes it), then poll the evaluation for its status and results."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, mixins, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from evaluation.evaluations import services
from evaluation.models import Evaluation, EvaluationTask
from evaluation.uploads import UploadTooLarge, limit_upload_size
from mlprojects.models import Project

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


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The file is too large."


class DefaultTrueField(serializers.BooleanField):
    """A boolean that is true when left out, also in a multipart form (where DRF would
    read a missing checkbox as false)."""

    default_empty_html = serializers.empty


class EvaluationInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    task = serializers.ChoiceField(choices=EvaluationTask.choices)
    columns = serializers.JSONField(binary=True)
    options = serializers.JSONField(binary=True, required=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    target_metric = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of a model metric of the project's current cycle; on success its "
        "current value is set from `target_metric_key`.",
    )
    target_metric_key = serializers.CharField(
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


class EvaluationSummarySerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id", read_only=True)
    target_metric = serializers.IntegerField(
        source="target_metric_id", read_only=True, allow_null=True
    )
    file = serializers.SerializerMethodField()

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


class EvaluationListView(mixins.ListModelMixin, OrgScopedAPIView):
    """GET: the project's evaluations (newest first). POST (multipart): `file`, `task`,
    `columns` and `options` as JSON, optionally `target_metric` (+ `target_metric_key`)
    and `project_rule_baselines=false` → 202 {"id", "status": "queued", "rule_baselines",
    "skipped_rule_baselines"}."""

    serializer_class = EvaluationSummarySerializer
    parser_classes = [MultiPartParser, FormParser]
    org_filter = "project__organization"

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body, so an oversize file is refused while streaming.
        limit_upload_size(request, settings.EVALUATION_MAX_UPLOAD_BYTES)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        # A session's CSRF check reads the body: an oversize file can surface here.
        try:
            super().initial(request, *args, **kwargs)
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None

    def get_project(self) -> Project:
        return get_object_or_404(
            Project.objects.filter(organization=self.org), pk=self.kwargs["pk"]
        )

    def get_queryset(self):
        return self.scope_queryset(
            Evaluation.objects.filter(project=self.get_project()).defer(
                "result", "columns", "options", "rule_baselines"
            )
        )

    def get(self, request: Request, pk: int) -> Response:
        services.evaluations_fail_stuck(project=self.get_project())
        return self.list(request)

    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        try:
            data = request.data
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        serializer = EvaluationInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            evaluation = services.evaluation_create(
                project=project,
                user=request.user,
                upload=values["file"],
                task=values["task"],
                columns=values["columns"],
                options=values.get("options") or {},
                name=values.get("name", ""),
                project_rules=values["project_rule_baselines"],
                target_metric=values.get("target_metric"),
                target_metric_key=values.get("target_metric_key", ""),
            )
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except ValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(
            {
                "id": evaluation.pk,
                "status": evaluation.status,
                "rule_baselines": [spec["name"] for spec in evaluation.rule_baselines],
                "skipped_rule_baselines": evaluation.skipped_rule_baselines,
            },
            status=202,
        )


class EvaluationDetailView(OrgScopedAPIView):
    """GET: status, progress, error, and - once succeeded - the results."""

    serializer_class = EvaluationDetailSerializer
    org_filter = "project__organization"

    def get_queryset(self):
        return self.scope_queryset(Evaluation.objects.all())

    def get(self, request: Request, pk: int) -> Response:
        evaluation = self.get_object()
        if evaluation.is_pending:
            services.evaluations_fail_stuck(project=evaluation.project)
            evaluation.refresh_from_db()
        return Response(self.get_serializer(evaluation).data)
