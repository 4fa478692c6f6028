"""The A/B test API: create a test, post per-variant results, queue an analysis, read the
latest analysis; and the sample-size calculator. Input serializers validate the shape;
the services validate the meaning (with the statistics engine's parser) and save."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.base import OrgScopedAPIView
from evaluation.abtests import selectors, services
from evaluation.abtests.models import STATS_DIRECTION
from evaluation.models import (
    ABTest,
    ABTestAnalysis,
    MetricRole,
    MetricType,
    ResultSource,
)
from mlprojects.models import Direction, Project


class InvalidState(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The A/B test's status does not allow this."
    default_code = "invalid_state"


def _call(service, **kwargs) -> Any:
    """Run a service; a refused status change is 409, any other invalid input 400."""
    try:
        return service(**kwargs)
    except services.TransitionError as exc:
        raise InvalidState(" ".join(exc.messages)) from exc
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise exceptions.ValidationError(detail) from exc


# --- input serializers --------------------------------------------------------------------


class VariantInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=60)
    allocation = serializers.FloatField()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DirectionField(serializers.ChoiceField):
    """Which way is good, in the API's words ("increase", "decrease"), read and written as
    the lifecycle's `Direction` that a metric stores."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(STATS_DIRECTION.values()), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        word = super().to_internal_value(data)
        return next(value for value, text in STATS_DIRECTION.items() if text == word)

    def to_representation(self, value: str) -> str:
        return STATS_DIRECTION[value]


class MetricInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=60)
    type = serializers.ChoiceField(choices=MetricType.values)
    role = serializers.ChoiceField(choices=MetricRole.values, default=MetricRole.PRIMARY)
    direction = DirectionField(default=Direction.HIGHER)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ABTestCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    hypothesis = serializers.CharField(required=False, allow_blank=True, default="")
    variants = VariantInputSerializer(many=True)
    metrics = MetricInputSerializer(many=True)
    control = serializers.CharField(max_length=60, required=False)
    planned_users_per_variant = serializers.IntegerField(min_value=1, required=False)
    planned_days = serializers.IntegerField(min_value=1, required=False)
    objective = serializers.IntegerField(
        required=False, allow_null=True, help_text="Id of an objective of the project."
    )
    business_metric = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of a business metric of the project, the one the decision is argued on.",
    )


class ResultsInputSerializer(serializers.Serializer):
    metric = serializers.CharField(max_length=60)
    variants = serializers.DictField(
        child=serializers.DictField(),
        help_text='{"<variant>": {"users", "conversions"}} for a binomial metric, '
        '{"<variant>": {"users", "sum", "sum_squares"}} for a continuous one.',
    )


class PriorSerializer(serializers.Serializer):
    mean = serializers.FloatField(default=0.0)
    variance = serializers.FloatField()


class AnalysisOptionsSerializer(serializers.Serializer):
    alpha = serializers.FloatField(default=0.05)
    correction = serializers.ChoiceField(choices=services.CORRECTIONS, default="none")
    cuped = serializers.BooleanField(default=False)
    prior = PriorSerializer(required=False, allow_null=True, default=None)


class SampleSizeQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["binomial", "continuous"], required=False)
    baseline = serializers.FloatField(required=False)
    mean = serializers.FloatField(required=False)
    sd = serializers.FloatField(required=False)
    mde = serializers.FloatField()
    relative = serializers.BooleanField(default=True)
    alpha = serializers.FloatField(default=0.05)
    power = serializers.FloatField(default=0.8)
    variants = serializers.IntegerField(default=2)
    daily_users = serializers.FloatField(required=False)

    def validate(self, data: dict) -> dict:
        if "type" not in data:
            data["type"] = "continuous" if "sd" in data else "binomial"
        if data["type"] == "binomial" and "baseline" not in data:
            raise serializers.ValidationError({"baseline": ["The baseline rate is required."]})
        if data["type"] == "continuous" and "sd" not in data:
            raise serializers.ValidationError({"sd": ["The standard deviation is required."]})
        return data


# --- output serializers -------------------------------------------------------------------


def abtest_data(abtest: ABTest) -> dict[str, Any]:
    """The test as the API shows it (variants, metrics and results prefetched)."""
    variants = list(abtest.variants.all())
    metrics = list(abtest.metrics.all())
    results: dict[str, dict[str, dict]] = {}
    variant_keys = {v.pk: v.key for v in variants}
    for metric in metrics:
        for row in metric.results.all():
            results.setdefault(metric.key, {})[variant_keys[row.variant_id]] = row.as_stats()
    decision = next(iter(abtest.decisions.all()), None)
    return {
        "id": abtest.pk,
        "project": abtest.project_id,
        "name": abtest.name,
        "hypothesis": abtest.hypothesis,
        "objective": abtest.objective_id,
        "business_metric": abtest.business_metric_id,
        "status": abtest.status,
        "control": next((v.key for v in variants if v.is_control), None),
        "variants": [
            {"key": v.key, "allocation": v.allocation, "description": v.description}
            for v in variants
        ],
        "metrics": [{**m.as_stats(), "description": m.description} for m in metrics],
        "results": results,
        "planned_users_per_variant": abtest.planned_users_per_variant,
        "planned_days": abtest.planned_days,
        "started_at": abtest.started_at,
        "stopped_at": abtest.stopped_at,
        "created_at": abtest.created_at,
        "updated_at": abtest.updated_at,
        "decision": None
        if decision is None
        else {
            "outcome": decision.outcome,
            "rationale": decision.rationale,
            "analysis_version": decision.analysis.version,
            "created_at": decision.created_at,
        },
    }


def analysis_data(analysis: ABTestAnalysis) -> dict[str, Any]:
    result = analysis.result or {}
    return {
        "id": analysis.pk,
        "abtest": analysis.abtest_id,
        "version": analysis.version,
        "status": analysis.status,
        "error": analysis.error,
        "options": analysis.options,
        "srm_p_value": result.get("srm_p_value"),
        "srm_warning": result.get("srm_warning"),
        "metrics": result.get("metrics", {}),
        "warnings": result.get("warnings", []),
        "created_at": analysis.created_at,
        "finished_at": analysis.finished_at,
    }


def _abtests():
    return ABTest.objects.select_related("project").prefetch_related(
        "variants", "metrics__results", "decisions__analysis"
    )


# --- views --------------------------------------------------------------------------------


class ProjectABTestListView(OrgScopedAPIView):
    """A project's A/B tests; POST designs a new one (a draft)."""

    org_filter = "project__organization"
    serializer_class = ABTestCreateSerializer

    def get_queryset(self):
        return self.scope_queryset(_abtests())

    def _project(self, project_id: int) -> Project:
        return get_object_or_404(Project.objects.filter(organization=self.org), pk=project_id)

    def get(self, request: Request, project_id: int) -> Response:
        project = self._project(project_id)
        abtests = self.get_queryset().filter(project=project)
        return Response({"results": [abtest_data(t) for t in abtests]})

    def post(self, request: Request, project_id: int) -> Response:
        project = self._project(project_id)
        serializer = ABTestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        abtest = _call(
            services.abtest_create, project=project, user=request.user, **serializer.validated_data
        )
        return Response(abtest_data(self.get_queryset().get(pk=abtest.pk)), status=201)


class ABTestView(OrgScopedAPIView):
    org_filter = "project__organization"

    def get_queryset(self):
        return self.scope_queryset(_abtests())

    def get_abtest(self, pk: int) -> ABTest:
        return get_object_or_404(self.get_queryset(), pk=pk)


class ABTestDetailView(ABTestView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(abtest_data(self.get_abtest(pk)))


class ABTestResultsView(ABTestView):
    """Replace one metric's per-variant aggregates (every variant, control included)."""

    serializer_class = ResultsInputSerializer

    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = ResultsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        metric = serializer.validated_data["metric"]
        _call(
            services.abtest_results_set,
            abtest=abtest,
            user=request.user,
            results={metric: serializer.validated_data["variants"]},
            source=ResultSource.API,
        )
        data = abtest_data(self.get_abtest(pk))
        return Response(
            {"metric": metric, "variants": data["results"][metric], "status": data["status"]},
            status=201,
        )


class ABTestAnalyzeView(ABTestView):
    """Queue a new analysis version (202); the worker fills it in."""

    serializer_class = AnalysisOptionsSerializer

    def post(self, request: Request, pk: int) -> Response:
        abtest = self.get_abtest(pk)
        serializer = AnalysisOptionsSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        analysis = _call(
            services.abtest_analysis_request,
            abtest=abtest,
            user=request.user,
            options=dict(serializer.validated_data),
        )
        analysis.refresh_from_db()
        return Response(analysis_data(analysis), status=202)


class ABTestAnalysisView(ABTestView):
    """The latest analysis version (queued, running, succeeded or failed)."""

    def get(self, request: Request, pk: int) -> Response:
        analysis = selectors.abtest_latest_analysis(abtest=self.get_abtest(pk))
        if analysis is None:
            raise exceptions.NotFound("This A/B test has not been analysed yet.")
        return Response(analysis_data(analysis))


class SampleSizeView(APIView):
    """Users per variant (and in total, and days) to detect the minimum effect: binomial
    with `baseline`, continuous with `mean` and `sd`; `relative=false` for an absolute MDE."""

    @extend_schema(parameters=[SampleSizeQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        query = SampleSizeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        try:
            plan = services.sample_size_plan(
                metric_type=data["type"],
                baseline=data.get("baseline"),
                mean=data.get("mean"),
                sd=data.get("sd"),
                mde=data["mde"],
                mde_type="relative" if data["relative"] else "absolute",
                alpha=data["alpha"],
                power=data["power"],
                variants=data["variants"],
                daily_users=data.get("daily_users"),
            )
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"non_field_errors": exc.messages}) from exc
        return Response(plan)
