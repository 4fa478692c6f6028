"""The business-analysis API under /api/v1/: analyses (with their offerings, data sources,
use cases and interviews nested in the representation), data sources, nested creation of
an analysis' parts, and turning a use case into a project.

Input serializers validate only what the client may set; the organization comes from
`OrgScopedAPIView`, and every related id a client sends (an analysis, data sources) is
looked up inside that organization — another organization's id is a 400 on the field,
exactly like an id that does not exist."""

from collections.abc import Callable
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from accounts.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictModelSerializer,
    StrictPrimaryKeyRelatedField,
)
from mlprojects.analyses import selectors, services
from mlprojects.lifecycle.api.serializers import ProjectSerializer
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, OutputUse, UseCase

# Output


class OfferingSerializer(StrictModelSerializer):
    class Meta:
        model = Offering
        fields = ["id", "name", "value", "created_at", "updated_at"]


def _rating_output() -> StrictIntegerField:
    return StrictIntegerField(read_only=True, allow_null=True, min_value=1, max_value=5)


class DataSourceSerializer(StrictModelSerializer):
    trustworthiness = _rating_output()
    consistency = _rating_output()
    label_quality = _rating_output()
    continuity = _rating_output()
    weakest = serializers.SerializerMethodField(
        help_text="The lowest of the four ratings ({rating, value}), or null if none is set."
    )

    class Meta:
        model = DataSource
        fields = [
            "id",
            "name",
            "analysis",
            "owning_team",
            "description",
            "trustworthiness",
            "consistency",
            "label_quality",
            "continuity",
            "weakest",
            "notes",
            "created_at",
            "updated_at",
        ]

    def get_weakest(self, source: DataSource) -> dict | None:
        weakest = source.weakest
        return {"rating": weakest[0], "value": weakest[1]} if weakest else None


class UseCaseSerializer(StrictModelSerializer):
    data_sources = StrictPrimaryKeyRelatedField(many=True, read_only=True)
    customer_facing = StrictBooleanField(source="is_customer_facing", read_only=True)

    class Meta:
        model = UseCase
        fields = [
            "id",
            "analysis",
            "name",
            "data_sources",
            "prediction",
            "output_use",
            "customer_facing",
            "output_detail",
            "expected_impact",
            "project",
            "created_at",
            "updated_at",
        ]


class InterviewSerializer(StrictModelSerializer):
    class Meta:
        model = Interview
        fields = ["id", "interviewee", "team", "held_on", "learned", "created_at", "updated_at"]


class AnalysisSerializer(StrictModelSerializer):
    offerings = OfferingSerializer(many=True, read_only=True)
    data_sources = DataSourceSerializer(many=True, read_only=True)
    use_cases = UseCaseSerializer(many=True, read_only=True)
    interviews = InterviewSerializer(many=True, read_only=True)

    class Meta:
        model = BusinessAnalysis
        fields = [
            "id",
            "name",
            "slug",
            "how_it_earns",
            "notes",
            "offerings",
            "data_sources",
            "use_cases",
            "interviews",
            "created_at",
            "updated_at",
        ]


# Input


@extend_schema_field(OpenApiTypes.INT)
class OrgRelatedField(StrictPrimaryKeyRelatedField):
    """A primary key looked up only among the request organization's objects."""

    def __init__(self, model, **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.filter(organization=self.context["org"])


class AnalysisInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    how_it_earns = StrictCharField(required=False, allow_blank=True)
    notes = StrictCharField(required=False, allow_blank=True)


class OfferingInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    value = StrictCharField(required=False, allow_blank=True)


def _rating() -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=5, required=False, allow_null=True)


class DataSourceInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    analysis = OrgRelatedField(BusinessAnalysis, required=False, allow_null=True)
    owning_team = StrictCharField(max_length=200, required=False, allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True)
    trustworthiness = _rating()
    consistency = _rating()
    label_quality = _rating()
    continuity = _rating()
    notes = StrictCharField(required=False, allow_blank=True)


class UseCaseInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    data_sources = OrgRelatedField(DataSource, many=True, required=False)
    prediction = StrictCharField()
    output_use = StrictChoiceField(choices=OutputUse.choices)
    output_detail = StrictCharField(required=False, allow_blank=True)
    expected_impact = StrictCharField(required=False, allow_blank=True)


class InterviewInputSerializer(serializers.Serializer):
    interviewee = StrictCharField(max_length=200)
    team = StrictCharField(max_length=200, required=False, allow_blank=True)
    held_on = serializers.DateField()
    learned = StrictCharField()


# Views


class _AnalysisAPIView(OrgScopedAPIView):
    serializer_class = AnalysisSerializer

    def get_queryset(self):
        return self.scope_queryset(
            selectors.analysis_detail_queryset(org=self.org).order_by("name")
        )

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "org": self.org}

    def validated(self, serializer_class, data, partial: bool = False) -> dict:
        serializer = serializer_class(data=data, partial=partial, context={"org": self.org})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AnalysisListView(_AnalysisAPIView):
    @extend_schema(responses=AnalysisSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AnalysisSerializer(page, many=True).data)

    @extend_schema(request=AnalysisInputSerializer, responses={201: AnalysisSerializer})
    def post(self, request: Request) -> Response:
        data = self.validated(AnalysisInputSerializer, request.data)
        analysis = services.analysis_create(org=self.org, user=request.user, **data)
        analysis = self.get_queryset().get(pk=analysis.pk)
        return Response(AnalysisSerializer(analysis).data, status=201)


class AnalysisDetailView(_AnalysisAPIView):
    @extend_schema(responses=AnalysisSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(AnalysisSerializer(self.get_object()).data)

    @extend_schema(request=AnalysisInputSerializer, responses=AnalysisSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        analysis = self.get_object()
        data = self.validated(AnalysisInputSerializer, request.data, partial=True)
        services.analysis_update(analysis=analysis, user=request.user, data=data)
        return Response(AnalysisSerializer(self.get_object()).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.analysis_delete(analysis=self.get_object(), user=request.user)
        return Response(status=204)


def parts_schema(input_serializer, output_serializer):
    """GET answers a list of parts, POST the new part with 201."""
    return extend_schema_view(
        get=extend_schema(responses=output_serializer(many=True)),
        post=extend_schema(request=input_serializer, responses={201: output_serializer}),
    )


class _AnalysisPartsView(_AnalysisAPIView):
    """GET lists, POST adds one part of the analysis `analysis_id`."""

    lookup_url_kwarg = "analysis_id"
    pagination_class = None  # every part, in one list
    related_name: str
    output_serializer: type[serializers.Serializer]
    input_serializer: type[serializers.Serializer]
    create_service: Callable[..., Any]  # (analysis=, user=, **validated_data)

    def get_queryset(self):
        return self.scope_queryset(BusinessAnalysis.objects.all())

    def get(self, request: Request, analysis_id: int) -> Response:
        items = getattr(self.get_object(), self.related_name).all()
        return Response(self.output_serializer(items, many=True).data)

    def post(self, request: Request, analysis_id: int) -> Response:
        analysis = self.get_object()
        data = self.validated(self.input_serializer, request.data)
        item = self.create_service(analysis=analysis, user=request.user, **data)
        return Response(self.output_serializer(item).data, status=201)


@parts_schema(OfferingInputSerializer, OfferingSerializer)
class AnalysisOfferingsView(_AnalysisPartsView):
    related_name = "offerings"
    output_serializer = OfferingSerializer
    input_serializer = OfferingInputSerializer
    create_service = staticmethod(services.offering_create)


@parts_schema(UseCaseInputSerializer, UseCaseSerializer)
class AnalysisUseCasesView(_AnalysisPartsView):
    related_name = "use_cases"
    output_serializer = UseCaseSerializer
    input_serializer = UseCaseInputSerializer
    create_service = staticmethod(services.use_case_create)


@parts_schema(InterviewInputSerializer, InterviewSerializer)
class AnalysisInterviewsView(_AnalysisPartsView):
    related_name = "interviews"
    output_serializer = InterviewSerializer
    input_serializer = InterviewInputSerializer
    create_service = staticmethod(services.interview_create)


class _DataSourceAPIView(_AnalysisAPIView):
    serializer_class = DataSourceSerializer

    def get_queryset(self):
        return self.scope_queryset(DataSource.objects.all())


class DataSourceListView(_DataSourceAPIView):
    @extend_schema(responses=DataSourceSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DataSourceSerializer(page, many=True).data)

    @extend_schema(request=DataSourceInputSerializer, responses={201: DataSourceSerializer})
    def post(self, request: Request) -> Response:
        data = self.validated(DataSourceInputSerializer, request.data)
        source = services.data_source_create(org=self.org, user=request.user, **data)
        return Response(DataSourceSerializer(source).data, status=201)


class DataSourceDetailView(_DataSourceAPIView):
    @extend_schema(responses=DataSourceSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(DataSourceSerializer(self.get_object()).data)

    @extend_schema(request=DataSourceInputSerializer, responses=DataSourceSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        source = self.get_object()
        data = self.validated(DataSourceInputSerializer, request.data, partial=True)
        services.data_source_update(data_source=source, user=request.user, data=data)
        return Response(DataSourceSerializer(source).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.data_source_delete(data_source=self.get_object(), user=request.user)
        return Response(status=204)


class UseCaseCreateProjectView(OrgScopedAPIView):
    """Turn the use case into a project prefilled from it: 201 with the new project, or
    200 with the project it already has (calling twice makes one project)."""

    serializer_class = ProjectSerializer
    org_filter = "analysis__organization"

    def get_queryset(self):
        return self.scope_queryset(UseCase.objects.select_related("analysis__organization"))

    @extend_schema(request=None, responses={200: ProjectSerializer, 201: ProjectSerializer})
    def post(self, request: Request, use_case_id: int) -> Response:
        use_case = get_object_or_404(self.get_queryset(), pk=use_case_id)
        project, created = services.use_case_create_project(use_case=use_case, user=request.user)
        return Response(ProjectSerializer(project).data, status=201 if created else 200)
