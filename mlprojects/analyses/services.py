"""State changes of business analyses (seed §2). Every write is atomic and audited; a
write never links objects of two organizations (a foreign data source or analysis is a
ValidationError naming the field)."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Organization, User
from accounts.services import audit
from mlprojects.lifecycle.services import feasibility_update, project_create, section_update
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, Project, UseCase

# Path segments next to /analyses/<slug>/ that an analysis slug must not shadow.
RESERVED_ANALYSIS_SLUGS = {"new", "data-sources"}

ANALYSIS_FIELDS = ("name", "how_it_earns", "notes")
OFFERING_FIELDS = ("name", "value")
DATA_SOURCE_FIELDS = (
    "name",
    "analysis",
    "owning_team",
    "description",
    "trustworthiness",
    "consistency",
    "label_quality",
    "continuity",
    "notes",
)
USE_CASE_FIELDS = ("name", "prediction", "output_use", "output_detail", "expected_impact")
INTERVIEW_FIELDS = ("interviewee", "team", "held_on", "learned")


def _apply(instance, *, data: dict[str, Any], fields: Iterable[str]) -> list[str]:
    """Set the given `fields` present in `data` and save only those that changed."""
    changed = [f for f in fields if f in data and getattr(instance, f) != data[f]]
    for field in changed:
        setattr(instance, field, data[field])
    if changed:
        instance.save(update_fields=[*changed, "updated_at"])
    return changed


def _check_analysis_of(org: Organization, analysis: BusinessAnalysis | None) -> None:
    if analysis is not None and analysis.organization_id != org.pk:
        raise ValidationError({"analysis": "No such analysis in this organization."})


def _check_data_sources_of(org: Organization, data_sources: Iterable[DataSource]) -> None:
    if any(source.organization_id != org.pk for source in data_sources):
        raise ValidationError({"data_sources": "No such data source in this organization."})


def unique_analysis_slug(*, org: Organization, name: str) -> str:
    base = slugify(name)[:70] or "analysis"
    if base in RESERVED_ANALYSIS_SLUGS:
        base = f"{base}-analysis"
    taken = set(
        BusinessAnalysis.objects.filter(organization=org, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


# Analyses


@transaction.atomic
def analysis_create(
    *, org: Organization, user: User | None, name: str, how_it_earns: str = "", notes: str = ""
) -> BusinessAnalysis:
    analysis = BusinessAnalysis.objects.create(
        organization=org,
        name=name.strip(),
        slug=unique_analysis_slug(org=org, name=name),
        how_it_earns=how_it_earns,
        notes=notes,
        created_by=user,
    )
    audit(org=org, actor=user, action="analysis.created", target=analysis.name)
    return analysis


@transaction.atomic
def analysis_update(
    *, analysis: BusinessAnalysis, user: User | None, data: dict[str, Any]
) -> BusinessAnalysis:
    """Change name and texts. The slug stays, so links to the analysis keep working."""
    if _apply(analysis, data=data, fields=ANALYSIS_FIELDS):
        audit(
            org=analysis.organization, actor=user, action="analysis.updated", target=analysis.name
        )
    return analysis


@transaction.atomic
def analysis_delete(*, analysis: BusinessAnalysis, user: User | None) -> None:
    """Delete the analysis with its offerings, use cases and interviews. Its data sources
    stay in the organization (they exist whether or not someone analyses them)."""
    org, name = analysis.organization, analysis.name
    analysis.delete()
    audit(org=org, actor=user, action="analysis.deleted", target=name)


# Offerings


@transaction.atomic
def offering_create(
    *, analysis: BusinessAnalysis, user: User | None, name: str, value: str = ""
) -> Offering:
    offering = Offering.objects.create(analysis=analysis, name=name.strip(), value=value)
    audit(org=analysis.organization, actor=user, action="offering.created", target=offering.name)
    return offering


@transaction.atomic
def offering_update(*, offering: Offering, user: User | None, data: dict[str, Any]) -> Offering:
    if _apply(offering, data=data, fields=OFFERING_FIELDS):
        org = offering.analysis.organization
        audit(org=org, actor=user, action="offering.updated", target=offering.name)
    return offering


@transaction.atomic
def offering_delete(*, offering: Offering, user: User | None) -> None:
    org = offering.analysis.organization
    offering.delete()
    audit(org=org, actor=user, action="offering.deleted", target=offering.name)


# Data sources


@transaction.atomic
def data_source_create(
    *,
    org: Organization,
    user: User | None,
    name: str,
    analysis: BusinessAnalysis | None = None,
    owning_team: str = "",
    description: str = "",
    trustworthiness: int | None = None,
    consistency: int | None = None,
    label_quality: int | None = None,
    continuity: int | None = None,
    notes: str = "",
) -> DataSource:
    _check_analysis_of(org, analysis)
    source = DataSource.objects.create(
        organization=org,
        analysis=analysis,
        name=name.strip(),
        owning_team=owning_team,
        description=description,
        trustworthiness=trustworthiness,
        consistency=consistency,
        label_quality=label_quality,
        continuity=continuity,
        notes=notes,
    )
    audit(org=org, actor=user, action="data_source.created", target=source.name)
    return source


@transaction.atomic
def data_source_update(
    *, data_source: DataSource, user: User | None, data: dict[str, Any]
) -> DataSource:
    org = data_source.organization
    _check_analysis_of(org, data.get("analysis"))
    if _apply(data_source, data=data, fields=DATA_SOURCE_FIELDS):
        audit(org=org, actor=user, action="data_source.updated", target=data_source.name)
    return data_source


@transaction.atomic
def data_source_delete(*, data_source: DataSource, user: User | None) -> None:
    org = data_source.organization
    data_source.delete()
    audit(org=org, actor=user, action="data_source.deleted", target=data_source.name)


# Use cases


@transaction.atomic
def use_case_create(
    *,
    analysis: BusinessAnalysis,
    user: User | None,
    name: str,
    prediction: str,
    output_use: str,
    output_detail: str = "",
    expected_impact: str = "",
    data_sources: Iterable[DataSource] = (),
) -> UseCase:
    org = analysis.organization
    data_sources = list(data_sources)
    _check_data_sources_of(org, data_sources)
    use_case = UseCase.objects.create(
        analysis=analysis,
        name=name.strip(),
        prediction=prediction,
        output_use=output_use,
        output_detail=output_detail,
        expected_impact=expected_impact,
    )
    use_case.data_sources.set(data_sources)
    audit(org=org, actor=user, action="use_case.created", target=use_case.name)
    return use_case


@transaction.atomic
def use_case_update(*, use_case: UseCase, user: User | None, data: dict[str, Any]) -> UseCase:
    """Change the use case; `data["data_sources"]`, when given, replaces its input data."""
    org = use_case.analysis.organization
    changed = _apply(use_case, data=data, fields=USE_CASE_FIELDS)
    if "data_sources" in data:
        new_sources = list(data["data_sources"])
        _check_data_sources_of(org, new_sources)
        if {s.pk for s in new_sources} != {s.pk for s in use_case.data_sources.all()}:
            use_case.data_sources.set(new_sources)
            changed.append("data_sources")
    if changed:
        audit(org=org, actor=user, action="use_case.updated", target=use_case.name)
    return use_case


@transaction.atomic
def use_case_delete(*, use_case: UseCase, user: User | None) -> None:
    org = use_case.analysis.organization
    use_case.delete()
    audit(org=org, actor=user, action="use_case.deleted", target=use_case.name)


def use_case_project_summary(use_case: UseCase) -> str:
    """The starting summary of a project made from `use_case`: the chain the seed walks,
    from input data through the prediction to how its output is used and the impact."""
    sources = ", ".join(source.name for source in use_case.data_sources.all())
    lines = [
        f"From the business analysis “{use_case.analysis.name}”, use case “{use_case.name}”.",
        f"Input data: {sources or 'not identified yet'}.",
        f"Prediction: {use_case.prediction.strip()}",
        f"Use of the output: {use_case.get_output_use_display()}"
        + (f": {use_case.output_detail.strip()}" if use_case.output_detail.strip() else "."),
    ]
    if use_case.expected_impact.strip():
        lines.append(f"Expected impact: {use_case.expected_impact.strip()}")
    return "\n".join(lines)


def _prefill_steps(*, project: Project, use_case: UseCase, user: User | None) -> None:
    """Carry every field of the use case into the steps where the lecture asks for it, so
    the team does not type it again: its data sources are the phenomenon's available data,
    the prediction is what the project wants to know, the use of the output is what
    success means, the expected impact is what would be good to solve and the business
    value of the feasibility's business case."""
    impact = use_case.expected_impact.strip()
    use = use_case.get_output_use_display()
    if use_case.output_detail.strip():
        use += f": {use_case.output_detail.strip()}"
    section_update(
        project=project,
        user=user,
        section="phenomenon",
        values={"worth_solving": impact, "data_sources": list(use_case.data_sources.all())},
    )
    section_update(
        project=project,
        user=user,
        section="problem",
        values={"what_to_know": use_case.prediction.strip(), "success_means": use},
    )
    if impact:
        feasibility_update(project=project, user=user, values={"business_value": impact})


@transaction.atomic
def use_case_create_project(*, use_case: UseCase, user: User | None) -> tuple[Project, bool]:
    """Start a project from the use case, prefilled from it, and link the two. Idempotent:
    a use case already linked returns its project (`created` False). The row lock makes
    two simultaneous clicks wait for each other instead of both creating a project."""
    locked = UseCase.objects.select_for_update().get(pk=use_case.pk)
    if locked.project_id is not None:
        return Project.objects.get(pk=locked.project_id), False
    org = use_case.analysis.organization
    project = project_create(
        org=org, user=user, name=locked.name, summary=use_case_project_summary(use_case)
    )
    _prefill_steps(project=project, use_case=locked, user=user)
    locked.project = project
    locked.save(update_fields=["project", "updated_at"])
    use_case.project = project
    audit(
        org=org,
        actor=user,
        action="use_case.project_created",
        target=use_case.name,
        data={"project": project.pk},
    )
    return project, True


# Interviews


@transaction.atomic
def interview_create(
    *,
    analysis: BusinessAnalysis,
    user: User | None,
    interviewee: str,
    held_on: date,
    learned: str,
    team: str = "",
) -> Interview:
    interview = Interview.objects.create(
        analysis=analysis,
        interviewee=interviewee.strip(),
        team=team,
        held_on=held_on,
        learned=learned,
    )
    org = analysis.organization
    audit(org=org, actor=user, action="interview.created", target=str(interview))
    return interview


@transaction.atomic
def interview_update(*, interview: Interview, user: User | None, data: dict[str, Any]) -> Interview:
    if _apply(interview, data=data, fields=INTERVIEW_FIELDS):
        org = interview.analysis.organization
        audit(org=org, actor=user, action="interview.updated", target=str(interview))
    return interview


@transaction.atomic
def interview_delete(*, interview: Interview, user: User | None) -> None:
    org = interview.analysis.organization
    interview.delete()
    audit(org=org, actor=user, action="interview.deleted", target=str(interview))
