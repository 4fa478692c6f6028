"""Reads of business analyses, always narrowed to one organization: an object of another
organization is 404, the same answer as one that does not exist."""

from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, UseCase


def analysis_list(*, org: Organization) -> QuerySet[BusinessAnalysis]:
    return BusinessAnalysis.objects.filter(organization=org).annotate(
        offering_count=Count("offerings", distinct=True),
        data_source_count=Count("data_sources", distinct=True),
        use_case_count=Count("use_cases", distinct=True),
        interview_count=Count("interviews", distinct=True),
    )


def analysis_get(*, org: Organization, slug: str) -> BusinessAnalysis:
    return get_object_or_404(BusinessAnalysis, organization=org, slug=slug)


def analysis_detail_queryset(*, org: Organization) -> QuerySet[BusinessAnalysis]:
    """Analyses with everything their document shows, in a fixed number of queries."""
    return BusinessAnalysis.objects.filter(organization=org).prefetch_related(
        "offerings",
        "data_sources",
        "interviews",
        Prefetch(
            "use_cases",
            queryset=UseCase.objects.select_related("project").prefetch_related("data_sources"),
        ),
    )


def analysis_detail(*, org: Organization, slug: str) -> BusinessAnalysis:
    return get_object_or_404(analysis_detail_queryset(org=org), slug=slug)


def data_source_list(*, org: Organization) -> QuerySet[DataSource]:
    return (
        DataSource.objects.filter(organization=org)
        .select_related("analysis")
        .annotate(use_case_count=Count("use_cases"))
    )


def data_source_get(*, org: Organization, pk: int) -> DataSource:
    return get_object_or_404(DataSource.objects.select_related("analysis"), organization=org, pk=pk)


def offering_get(*, analysis: BusinessAnalysis, pk: int) -> Offering:
    return get_object_or_404(Offering, analysis=analysis, pk=pk)


def use_case_get(*, analysis: BusinessAnalysis, pk: int) -> UseCase:
    return get_object_or_404(
        UseCase.objects.select_related("project").prefetch_related("data_sources"),
        analysis=analysis,
        pk=pk,
    )


def interview_get(*, analysis: BusinessAnalysis, pk: int) -> Interview:
    return get_object_or_404(Interview, analysis=analysis, pk=pk)
