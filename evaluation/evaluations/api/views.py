"""Evaluations over the API: submit a predictions file with its column mapping (202, the
worker computes it), then poll the evaluation for its status and results."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from evaluation.evaluations import services
from evaluation.evaluations.api.serializers import (
    EvaluationDetailSerializer,
    EvaluationInputSerializer,
    EvaluationSummarySerializer,
)
from evaluation.models import Evaluation
from evaluation.uploads import UploadTooLarge, limit_upload_size
from mlprojects.models import Project
from mlprojects.site.limits import body_limit
from mlprojects.site.storage import open_stored


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The file is too large."


@body_limit("EVALUATION_MAX_UPLOAD_BYTES")
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
        limit_upload_size(
            request, settings.EVALUATION_MAX_UPLOAD_BYTES, "EVALUATION_MAX_UPLOAD_BYTES"
        )
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
        return Response(self.get_serializer(evaluation).data)


class EvaluationFileView(OrgScopedAPIView):
    """GET: the uploaded predictions file, streamed from storage (never a public URL)."""

    org_filter = "project__organization"

    def get_queryset(self):
        return self.scope_queryset(Evaluation.objects.only("pk", "file", "original_filename"))

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        description="The evaluation's uploaded file, as it was uploaded.",
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        evaluation = self.get_object()
        try:
            fh = open_stored(evaluation.file.name)
        except FileNotFoundError:
            raise exceptions.NotFound("The file of this evaluation is no longer stored.") from None
        return FileResponse(fh, as_attachment=True, filename=evaluation.original_filename)
