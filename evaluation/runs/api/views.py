"""/api/v1/ endpoints of runs. Every view is an `OrgScopedAPIView`: objects are looked up
through the caller's organization (404 otherwise), reads need `read`, writes `edit`, and a
token's scope applies on top; POSTs honour `Idempotency-Key`."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from evaluation.models import Run, RunStatus
from evaluation.runs import selectors, services
from evaluation.runs.api.serializers import (
    LogBatchSerializer,
    MetricHistorySerializer,
    RunCreateSerializer,
    RunPageSerializer,
    RunSerializer,
    RunUpdateSerializer,
    SpeedAccuracySerializer,
)
from mlprojects.models import Project

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Repeat the same key and body to get the first response back without a "
    "second write; the same key with another body answers 422.",
)


def _float_param(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise exceptions.ValidationError({name: ["A number is required."]}) from exc


def _tag_params(request: Request) -> list[tuple[str, str]]:
    tags = []
    for raw in request.query_params.getlist("tag"):
        key, sep, value = raw.partition(":")
        if not sep or not key:
            raise exceptions.ValidationError({"tag": ["Use tag=key:value."]})
        tags.append((key, value))
    return tags


class RunListView(OrgScopedAPIView):
    """The runs of a project: list (filtered, ordered, cursor-paginated) and create."""

    org_filter = "organization"
    serializer_class = RunSerializer

    def get_queryset(self):
        return self.scope_queryset(Project.objects.all())

    def get_project(self) -> Project:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=RunStatus.values),
            OpenApiParameter("tag", OpenApiTypes.STR, many=True, description="key:value"),
            OpenApiParameter("metric", OpenApiTypes.STR, description="only runs with it"),
            OpenApiParameter("min", OpenApiTypes.NUMBER, description="metric ≥ min"),
            OpenApiParameter("max", OpenApiTypes.NUMBER, description="metric ≤ max"),
            OpenApiParameter(
                "order_by",
                OpenApiTypes.STR,
                description="started_at, name or metric.<key>; prefix - for descending "
                "(default -started_at). Runs without the metric come last.",
            ),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses=RunPageSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        status = request.query_params.get("status", "")
        if status and status not in RunStatus.values:
            raise exceptions.ValidationError({"status": [f"Choose one of {RunStatus.values}."]})
        metric = request.query_params.get("metric", "")
        metric_min, metric_max = _float_param(request, "min"), _float_param(request, "max")
        if (metric_min is not None or metric_max is not None) and not metric:
            raise exceptions.ValidationError({"metric": ["min/max need metric=<key>."]})
        try:
            size = min(int(request.query_params.get("page_size", PAGE_SIZE)), MAX_PAGE_SIZE)
            order = selectors.RunOrder.parse(request.query_params.get("order_by", ""))
            runs = selectors.run_list(
                project=project,
                status=status,
                tags=_tag_params(request),
                metric=metric,
                metric_min=metric_min,
                metric_max=metric_max,
                order=order,
            )
            page, next_cursor = selectors.run_page(
                runs, order=order, cursor=request.query_params.get("cursor", ""), size=size
            )
        except (selectors.InvalidQuery, ValueError) as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from exc
        next_url = None
        if next_cursor:
            query = request.query_params.copy()
            query["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"next": next_url, "results": RunSerializer(page, many=True).data})

    @extend_schema(
        request=RunCreateSerializer, responses={201: RunSerializer}, parameters=[IDEMPOTENCY_KEY]
    )
    def post(self, request: Request, pk: int) -> Response:
        project = self.get_project()
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.run_create(project=project, user=request.user, **serializer.validated_data)
        return Response(RunSerializer(run).data, status=201)


class RunObjectMixin:
    org_filter = "project__organization"
    serializer_class = RunSerializer

    def get_queryset(self):
        return self.scope_queryset(Run.objects.select_related("project", "created_by"))

    def get_run(self) -> Run:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class RunDetailView(RunObjectMixin, OrgScopedAPIView):
    """A run with its params, tags and the latest value of each metric; PATCH its status."""

    @extend_schema(responses=RunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(RunSerializer(self.get_run()).data)

    @extend_schema(request=RunUpdateSerializer, responses=RunSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        run = self.get_run()
        serializer = RunUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.run_update(run=run, **serializer.validated_data)
        return Response(RunSerializer(run).data)


class RunLogBatchView(RunObjectMixin, OrgScopedAPIView):
    """Log up to 1,000 metric values plus params and tags in one request, written in one
    transaction with one bulk insert. Nothing is written if any item is invalid."""

    @extend_schema(
        request=LogBatchSerializer, responses=RunSerializer, parameters=[IDEMPOTENCY_KEY]
    )
    def post(self, request: Request, pk: int) -> Response:
        run = self.get_run()
        serializer = LogBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.run_log_batch(
            run=run,
            metrics=[services.MetricPoint(**m) for m in data.get("metrics", [])],
            params={p["key"]: p["value"] for p in data.get("params", [])},
            tags={t["key"]: t["value"] for t in data.get("tags", [])},
        )
        return Response(RunSerializer(run).data)


class MetricHistoryView(RunObjectMixin, OrgScopedAPIView):
    """Every logged value of one metric of a run, by step."""

    @extend_schema(responses=MetricHistorySerializer)
    def get(self, request: Request, pk: int, key: str) -> Response:
        run = self.get_run()
        history = selectors.metric_history(run=run, key=key).values("step", "value", "timestamp")
        return Response(MetricHistorySerializer({"key": key, "history": history}).data)


class SpeedAccuracyView(OrgScopedAPIView):
    """The project's runs side by side on one quality metric and one latency metric (seed
    §1.4.3: "fast with accuracy 0.95, or slower with 0.93?"). `quality` and `latency` name
    run metric keys; they default to the key of the current cycle's first model metric and
    the first latency-like key (`latency_ms`, `inference_time`, …) the runs logged."""

    org_filter = "organization"
    serializer_class = SpeedAccuracySerializer

    def get_queryset(self):
        return self.scope_queryset(Project.objects.all())

    @extend_schema(
        parameters=[
            OpenApiParameter("quality", OpenApiTypes.STR, description="a run metric key"),
            OpenApiParameter("latency", OpenApiTypes.STR, description="a run metric key"),
        ],
        responses=SpeedAccuracySerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        project = get_object_or_404(self.get_queryset(), pk=pk)
        keys = {}
        for name in ("quality", "latency"):
            value = request.query_params.get(name, "")
            if len(value) > 250:
                raise exceptions.ValidationError(
                    {name: ["A metric key has at most 250 characters."]}
                )
            keys[f"{name}_key"] = value
        data = selectors.speed_vs_accuracy(project=project, **keys)
        return Response(SpeedAccuracySerializer(data).data)
