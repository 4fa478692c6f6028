"""Monitoring over the API: drift reports (submit two files, 202; poll the report),
deployments (list, record), and metric values measured in production (send, read)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from accounts.api.parsers import DepthLimitedJSONParser
from accounts.api.schema import ListSchema
from evaluation.monitoring import selectors, services
from evaluation.monitoring.api.serializers import (
    AlertListSerializer,
    AlertQuerySerializer,
    AlertSerializer,
    DeploymentInputSerializer,
    DeploymentListSerializer,
    DeploymentSerializer,
    DriftReportInputSerializer,
    DriftReportSerializer,
    FindingDecisionInputSerializer,
    FindingInputSerializer,
    FindingListSerializer,
    FindingSerializer,
    IngestedSerializer,
    LabelRowsInputSerializer,
    MetricValueListSerializer,
    MetricValueQuerySerializer,
    MetricValuesInputSerializer,
    MetricValuesRecordedSerializer,
    PredictionRowsInputSerializer,
    WindowListSerializer,
    WindowSerializer,
)
from evaluation.monitoring.models import Alert, DriftReport, MonitoringWindow
from evaluation.uploads import UploadTooLarge, limit_upload_size
from mlprojects.lifecycle.services import finding_decide
from mlprojects.models import Finding, Project
from mlprojects.site.limits import body_limit


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The file is too large."


class ProjectScopedView(OrgScopedAPIView):
    # The project in the URL (`pk`), looked up in the caller's organization only.
    org_filter = "organization"

    def get_queryset(self):
        return self.scope_queryset(Project.objects.all())

    def get_project(self) -> Project:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


@body_limit("MONITORING_MAX_UPLOAD_BYTES")
class DriftReportCreateView(ProjectScopedView):
    """POST (multipart): `reference` and `current` files (CSV, gzip CSV or Parquet) and
    optionally `columns` (a JSON list) → 202 with the queued report; a worker computes
    the drift of every column with Evidently's default method for its type and size."""

    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DriftReportSerializer

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body, so an oversize file is refused while streaming.
        limit_upload_size(request, settings.MONITORING_MAX_UPLOAD_BYTES)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        # A session's CSRF check reads the body: an oversize file can surface here.
        try:
            super().initial(request, *args, **kwargs)
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None

    @extend_schema(request=DriftReportInputSerializer, responses={202: DriftReportSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        try:
            serializer = DriftReportInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            values = serializer.validated_data
            report = services.drift_report_create(
                project=project,
                user=request.user,
                reference=values["reference"],
                current=values["current"],
                columns=values.get("columns"),
            )
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except ValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(DriftReportSerializer(report).data, status=202)


class DriftReportDetailView(OrgScopedAPIView):
    """GET: the report's status (queued, running, succeeded, failed) and, once it
    succeeded, the drift of each column and the share of drifted columns."""

    serializer_class = DriftReportSerializer
    org_filter = "project__organization"

    def get_queryset(self):
        return self.scope_queryset(DriftReport.objects.all())

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)


class DeploymentListView(ProjectScopedView):
    """GET: the project's deployments, newest first. POST: record one (what, environment,
    since, traffic share) - a release pipeline calls it when it ships."""

    serializer_class = DeploymentSerializer
    schema = ListSchema()

    @extend_schema(responses=DeploymentListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        deployments = selectors.deployment_list(project=self.get_project())
        context = {"request": request}
        return Response(
            {"results": DeploymentSerializer(deployments, many=True, context=context).data}
        )

    @extend_schema(request=DeploymentInputSerializer, responses={201: DeploymentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        serializer = DeploymentInputSerializer(data=request.data, context={"project": project})
        serializer.is_valid(raise_exception=True)
        deployment = services.deployment_create(
            project=project, user=request.user, **serializer.validated_data
        )
        data = DeploymentSerializer(deployment, context={"request": request}).data
        return Response(data, status=201)


class MetricValueListView(ProjectScopedView):
    """POST {"values": [{"metric", "timestamp", "value", "segment"?}]}: store values of the
    project's metrics; a (metric, timestamp, segment) sent again replaces its value.
    GET ?metric=&from=&to=&segment=: the values in time order."""

    parser_classes = [DepthLimitedJSONParser]
    serializer_class = MetricValueListSerializer
    schema = ListSchema()

    @extend_schema(parameters=[MetricValueQuerySerializer], responses=MetricValueListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        query = MetricValueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        values = selectors.metric_value_list(
            project=project,
            metric=params.get("metric"),
            start=params.get("from"),
            end=params.get("to"),
            segment=params.get("segment"),
        )
        return Response({"results": MetricValueListSerializer({"results": values}).data["results"]})

    @extend_schema(
        request=MetricValuesInputSerializer, responses={200: MetricValuesRecordedSerializer}
    )
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        serializer = MetricValuesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        counts = services.metric_values_record(
            project=project, user=request.user, values=serializer.validated_data["values"]
        )
        return Response(counts)


class AlertListView(ProjectScopedView):
    """GET ?status=open|acknowledged|resolved: the project's alerts, newest first."""

    serializer_class = AlertSerializer
    schema = ListSchema()

    @extend_schema(parameters=[AlertQuerySerializer], responses=AlertListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        query = AlertQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        alerts = selectors.alert_list(project=project, status=query.validated_data.get("status"))
        return Response({"results": AlertSerializer(alerts, many=True).data})


class AlertActionView(OrgScopedAPIView):
    # POST moves the alert on; asking twice changes nothing. A resolved alert cannot be
    # acknowledged (400).
    serializer_class = AlertSerializer
    org_filter = "project__organization"
    action = ""

    def get_queryset(self):
        return self.scope_queryset(Alert.objects.all())

    @extend_schema(request=None, responses={200: AlertSerializer})
    def post(self, request: Request, pk: int) -> Response:
        alert = self.get_object()
        service = {
            "acknowledge": services.alert_acknowledge,
            "resolve": services.alert_resolve,
        }[self.action]
        try:
            alert = service(alert=alert, user=request.user)
        except ValidationError as exc:
            raise exceptions.ValidationError({"status": exc.messages}) from None
        return Response(AlertSerializer(alert).data)


class AlertAcknowledgeView(AlertActionView):
    """POST: someone looks into the alert (open → acknowledged; who and when recorded)."""

    action = "acknowledge"


class AlertResolveView(AlertActionView):
    """POST: the alert is dealt with (open or acknowledged → resolved; who and when)."""

    action = "resolve"


class FindingListView(ProjectScopedView):
    """GET: the step-9 findings of every cycle of the project. POST: record one - what was
    seen, a link to the evidence, the suspected cause - from an alert, a drift cell
    (`window` and `column`), a worst slice (`window`, `slice_column`, `slice_value`) or a
    description alone. Each needs a decision (…/findings/{id}/decision/) before the cycle
    is ready; starting the next cycle turns each one to carry into a hypothesis."""

    serializer_class = FindingSerializer
    schema = ListSchema()

    @extend_schema(responses=FindingListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        findings = Finding.objects.filter(cycle__project=project).select_related(
            "cycle", "decided_by"
        )
        return Response({"results": FindingSerializer(findings, many=True).data})

    @extend_schema(request=FindingInputSerializer, responses={201: FindingSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        serializer = FindingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        alert = window = None
        if "alert" in values:
            alert = Alert.objects.filter(project=project, pk=values.pop("alert")).first()
            if alert is None:
                raise exceptions.ValidationError({"alert": ["Not an alert of this project."]})
        if "window" in values:
            window = MonitoringWindow.objects.filter(
                project=project, pk=values.pop("window")
            ).first()
            if window is None:
                raise exceptions.ValidationError({"window": ["Not a window of this project."]})
        try:
            finding = services.finding_record(
                project=project, user=request.user, alert=alert, window=window, **values
            )
        except ValidationError as exc:
            raise exceptions.ValidationError(_errors(exc)) from None
        return Response(FindingSerializer(finding).data, status=201)


def _errors(exc: ValidationError) -> dict | list:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


class FindingDecisionView(ProjectScopedView):
    """POST: decide what happens to a finding of the current cycle - `carry` it into the
    next cycle, `wont_fix` (with a `reason`), or `reopen` it. Findings of earlier cycles
    are read-only (400)."""

    serializer_class = FindingSerializer

    @extend_schema(request=FindingDecisionInputSerializer, responses={200: FindingSerializer})
    def post(self, request: Request, pk: int, finding_id: int) -> Response:
        project = self.get_project()
        finding = get_object_or_404(Finding, cycle__project=project, pk=finding_id)
        serializer = FindingDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            finding = finding_decide(
                project=project,
                user=request.user,
                finding=finding,
                decision=serializer.validated_data["decision"],
                reason=serializer.validated_data.get("reason", ""),
            )
        except ValidationError as exc:
            raise exceptions.ValidationError(_errors(exc)) from None
        return Response(FindingSerializer(finding).data)


@body_limit("MONITORING_MAX_UPLOAD_BYTES")
class RowsIngestView(ProjectScopedView):
    # JSON {"rows": [...]} (at most 10,000 rows, a body of at most
    # DATA_UPLOAD_MAX_MEMORY_SIZE) or a multipart `file` (streamed, at most
    # MONITORING_MAX_UPLOAD_BYTES) → 202; the windows they touch are recomputed by a worker.
    parser_classes = [DepthLimitedJSONParser, MultiPartParser, FormParser]
    serializer_class = IngestedSerializer
    service = staticmethod(services.predictions_ingest)

    def initialize_request(self, request, *args, **kwargs):
        limit_upload_size(request, settings.MONITORING_MAX_UPLOAD_BYTES)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        try:
            super().initial(request, *args, **kwargs)
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        if not request.content_type.startswith("multipart/"):
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise PayloadTooLarge(
                    "The JSON body is too large: send at most 10,000 rows a call, or a file."
                )

    def ingest(self, request: Request, input_serializer) -> Response:
        project = self.get_project()
        try:
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            values = serializer.validated_data
            if ("rows" in values) == ("file" in values):
                raise exceptions.ValidationError(
                    {"rows": ["Send either JSON rows or a multipart file."]}
                )
            counts = self.service(
                project=project,
                user=request.user,
                rows=values.get("rows"),
                upload=values.get("file"),
            )
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except ValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        return Response(IngestedSerializer(counts).data, status=202)


class PredictionIngestView(RowsIngestView):
    """POST production predictions: JSON {"rows": [...]} or a multipart CSV/Parquet `file`.
    Rows are stored by day; a prediction_id sent again replaces the earlier row."""

    @extend_schema(
        request={
            "application/json": PredictionRowsInputSerializer,
            "multipart/form-data": PredictionRowsInputSerializer,
        },
        responses={202: IngestedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self.ingest(request, PredictionRowsInputSerializer)


class LabelIngestView(RowsIngestView):
    """POST labels of earlier predictions, however late: JSON {"rows": [{prediction_id,
    label}]} or a multipart `file`. The windows of the labelled predictions are recomputed."""

    service = staticmethod(services.labels_ingest)

    @extend_schema(
        request={
            "application/json": LabelRowsInputSerializer,
            "multipart/form-data": LabelRowsInputSerializer,
        },
        responses={202: IngestedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        return self.ingest(request, LabelRowsInputSerializer)


class MonitoringWindowListView(ProjectScopedView):
    """GET: the project's monitoring windows in time order with their computed results."""

    serializer_class = WindowListSerializer

    @extend_schema(responses=WindowListSerializer)
    def get(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        found = selectors.window_list(project=project)
        return Response(
            {
                "size": selectors.window_size(project=project),
                "results": WindowSerializer(found, many=True).data,
            }
        )
