"""Reads of A/B tests, always narrowed to one organization (or one of its projects)."""

import difflib

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.models import AuditEvent, Organization
from evaluation.models import (
    ABDataSource,
    ABQuery,
    ABQueryVersion,
    ABRawUpload,
    ABResult,
    ABTest,
    ABTestAnalysis,
    ABTestDecision,
)
from mlprojects.models import Metric, MetricKind, Objective, Project
from mlprojects.templatetags.numbers import number, pvalue, signed_pct


def _latest_decision_prefetch() -> Prefetch:
    return Prefetch(
        "decisions",
        queryset=ABTestDecision.objects.select_related("decided_by").order_by("-created_at"),
        to_attr="decision_list",
    )


def abtest_list(*, project: Project) -> QuerySet[ABTest]:
    """The project's tests, newest first, each with `decision_list` (latest first)."""
    return (
        ABTest.objects.filter(project=project)
        .select_related("project")
        .prefetch_related(_latest_decision_prefetch())
    )


PROJECT_SECTION_SIZE = 5


def project_section(*, project: Project) -> dict:
    """The project page's "A/B tests" section: the newest tests and their decisions."""
    return {"abtests": list(abtest_list(project=project)[:PROJECT_SECTION_SIZE])}


def project_audit_events(*, project: Project) -> Q:
    """The audit events of the project's tests (most of them name only the test)."""
    ids = list(ABTest.objects.filter(project=project).values_list("pk", flat=True))
    return Q(action__startswith="abtest.", data__abtest__in=ids)


def audit_event_lines(*, org: Organization, events: list[AuditEvent]) -> dict[int, tuple]:
    """Activity-feed lines of A/B test audit events: `{event id: (text, url)}`, the URL
    empty for a deleted test. One query for the whole batch."""
    ids = {(e.data or {}).get("abtest") for e in events} - {None}
    project_slugs = dict(
        ABTest.objects.filter(project__organization=org, pk__in=ids).values_list(
            "pk", "project__slug"
        )
    )
    lines = {}
    for event in events:
        data = event.data or {}
        pk = data.get("abtest")
        slug = project_slugs.get(pk)
        url = reverse("abtests:detail", args=[org.slug, slug, pk]) if slug else ""
        if event.action == "abtest.decision":
            text = f"decided the A/B test “{event.target}”: {data.get('outcome', '')}"
        else:
            text = f"A/B test “{event.target}”: {event.action.split('.', 1)[1].replace('_', ' ')}"
        lines[event.pk] = (text, url)
    return lines


def abtest_get(*, org: Organization, project: Project | None = None, pk: int) -> ABTest:
    """The test `pk` of `org` (and of `project` when given) with its variants and metrics,
    or 404 — also when it belongs to another organization."""
    scope = {"project": project} if project is not None else {}
    return get_object_or_404(
        ABTest.objects.for_org(org)
        .select_related("project__organization", "created_by", "objective", "business_metric")
        .prefetch_related("variants", "metrics"),
        pk=pk,
        **scope,
    )


def abtest_design(*, abtest: ABTest) -> ABTest:
    """The test with its variants and metrics loaded (one query each)."""
    return (
        ABTest.objects.filter(pk=abtest.pk)
        .select_related("project__organization", "created_by", "objective", "business_metric")
        .prefetch_related("variants", "metrics")
        .get()
    )


def abtest_results_table(*, abtest: ABTest) -> list[dict]:
    """One entry per metric: the metric and its results in variant order (or None)."""
    variants = list(abtest.variants.all())
    rows = ABResult.objects.filter(metric__abtest=abtest)
    by_pair = {(r.metric_id, r.variant_id): r for r in rows}
    return [
        {
            "metric": metric,
            "cells": [{"variant": v, "result": by_pair.get((metric.pk, v.pk))} for v in variants],
            "complete": all((metric.pk, v.pk) in by_pair for v in variants),
        }
        for metric in abtest.metrics.all()
    ]


def abtest_latest_analysis(*, abtest: ABTest) -> ABTestAnalysis | None:
    return abtest.analyses.order_by("-version").first()


def abtest_analysis_get(*, abtest: ABTest, pk: int) -> ABTestAnalysis:
    return get_object_or_404(ABTestAnalysis, abtest=abtest, pk=pk)


def abtest_upload_get(*, abtest: ABTest, pk: int) -> ABRawUpload:
    return get_object_or_404(ABRawUpload, abtest=abtest, pk=pk)


def abtest_active_upload(*, abtest: ABTest) -> ABRawUpload | None:
    """The latest raw upload, if it is still being aggregated or it is the last word."""
    return abtest.raw_uploads.order_by("-created_at", "-id").first()


def abtest_link_choices(*, project: Project, abtest: ABTest | None = None) -> dict:
    """The objectives and business metrics a test's design can link to: the project's
    current cycle's, plus the ones the test already links to (an earlier cycle's)."""
    objectives = list(Objective.objects.filter(cycle__project=project, cycle__number=project.cycle))
    metrics = list(
        Metric.objects.filter(
            cycle__project=project, cycle__number=project.cycle, kind=MetricKind.BUSINESS
        )
    )
    if abtest is not None and abtest.objective and abtest.objective not in objectives:
        objectives.append(abtest.objective)
    if abtest is not None and abtest.business_metric and abtest.business_metric not in metrics:
        metrics.append(abtest.business_metric)
    return {"objectives": objectives, "business_metrics": metrics}


def _metric_summary(metric: Metric | None) -> dict | None:
    if metric is None:
        return None
    return {
        "id": metric.pk,
        "name": metric.name,
        "unit": metric.unit,
        "target": metric.target,
        "current": metric.current,
    }


def abtest_decisions_for_project(*, project: Project) -> list[dict]:
    """Each decided test of the project with its latest decision, for the proposal: name,
    hypothesis, the objective and business metric it is linked to, outcome, rationale, who
    and when, and the primary metric's lift with its interval from the analysis the
    decision was based on."""
    decisions = (
        ABTestDecision.objects.filter(abtest__project=project)
        .select_related("abtest__objective", "abtest__business_metric", "analysis", "decided_by")
        .prefetch_related("abtest__metrics")
        .order_by("abtest_id", "-created_at", "-id")
    )
    latest: dict[int, ABTestDecision] = {}
    for decision in decisions:
        latest.setdefault(decision.abtest_id, decision)
    entries = []
    for decision in sorted(latest.values(), key=lambda d: d.created_at, reverse=True):
        abtest = decision.abtest
        primary = next((m for m in abtest.metrics.all() if m.role == "primary"), None)
        result = decision.analysis.result or {}
        primary_results = result.get("metrics", {}).get(primary.key, {}) if primary else {}
        entries.append(
            {
                "abtest_id": abtest.pk,
                "name": abtest.name,
                "hypothesis": abtest.hypothesis,
                "objective": None
                if abtest.objective is None
                else {"id": abtest.objective.pk, "title": abtest.objective.title},
                "business_metric": _metric_summary(abtest.business_metric),
                "outcome": decision.outcome,
                "outcome_label": decision.get_outcome_display(),
                "rationale": decision.rationale,
                "decided_by": decision.decided_by.display_name if decision.decided_by else None,
                "decided_at": decision.created_at,
                "analysis_version": decision.analysis.version,
                "measured_value": decision.measured_value,
                "previous_value": decision.previous_value,
                "primary_metric": primary.key if primary else None,
                "primary_metric_label": (primary.description or primary.key) if primary else None,
                "primary_results": {
                    variant: {k: r.get(k) for k in ("lift", "ci_low", "ci_high", "p_value")}
                    for variant, r in primary_results.items()
                },
            }
        )
    return entries


def abtest_evidence(*, project: Project) -> list[dict]:
    """Each decided A/B test of the project as proposal evidence: what it tested, what
    it serves, the decision and its rationale, and the primary metric's lift."""
    entries = []
    for entry in abtest_decisions_for_project(project=project):
        who = entry["decided_by"] or "a former member"
        fields = [
            {"label": "Hypothesis", "value": entry["hypothesis"]},
            {"label": "Decision", "value": entry["outcome_label"]},
            {"label": "Rationale", "value": entry["rationale"]},
            {
                "label": "Decided",
                "value": f"{entry['decided_at']:%Y-%m-%d} by {who}"
                f" (analysis v{entry['analysis_version']})",
            },
        ]
        if entry["objective"]:
            fields.append({"label": "Serves objective", "value": entry["objective"]["title"]})
        if entry["business_metric"]:
            fields.append({"label": "Business metric", "value": entry["business_metric"]["name"]})
        if entry["measured_value"] is not None:
            fields.append({"label": "Measured impact", "value": measured_impact(entry)})
        for variant, r in entry["primary_results"].items():
            if r.get("lift") is None:
                continue
            text = f"{signed_pct(r['lift'])}"
            if r.get("ci_low") is not None and r.get("ci_high") is not None:
                text += f" (95% CI {signed_pct(r['ci_low'])} to {signed_pct(r['ci_high'])})"
            if r.get("p_value") is not None:
                text += f", p = {pvalue(r['p_value'])}"
            fields.append(
                {"label": f"{entry['primary_metric_label']}: {variant} vs control", "value": text}
            )
        entries.append({"title": entry["name"], "fields": fields})
    return entries


# --- warehouse -------------------------------------------------------------------------------


def data_source_list(*, org: Organization) -> QuerySet[ABDataSource]:
    return ABDataSource.objects.for_org(org)


def data_source_get(*, org: Organization, pk: int) -> ABDataSource:
    return get_object_or_404(ABDataSource.objects.for_org(org), pk=pk)


def query_list(*, org: Organization) -> QuerySet[ABQuery]:
    """The organization's saved queries, each with `version_list` (newest first)."""
    return (
        ABQuery.objects.for_org(org)
        .select_related("data_source")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ABQueryVersion.objects.select_related("author", "reviewed_by").order_by(
                    "-number"
                ),
                to_attr="version_list",
            )
        )
    )


def query_get(*, org: Organization, pk: int) -> ABQuery:
    return get_object_or_404(query_list(org=org), pk=pk)


def query_version_get(*, query: ABQuery, number: int) -> ABQueryVersion:
    return get_object_or_404(ABQueryVersion.objects.filter(query=query), number=number)


def query_history(*, query: ABQuery) -> list[dict]:
    """The versions of a query, newest first, each with its unified diff against the
    version before it (lines tagged add/remove/context for the page)."""
    versions = list(query.versions.select_related("author", "reviewed_by").order_by("number"))
    history = []
    previous = None
    for version in versions:
        history.append({"version": version, "diff": _diff(previous, version)})
        previous = version
    return history[::-1]


def _text(version: ABQueryVersion | None) -> list[str]:
    if version is None:
        return []
    text = version.sql
    if version.denominator_sql:
        text += "\n-- denominator\n" + version.denominator_sql
    return text.splitlines()


def _diff(before: ABQueryVersion | None, after: ABQueryVersion) -> list[tuple[str, str]]:
    if before is None:
        return []
    lines = difflib.unified_diff(
        _text(before), _text(after), f"v{before.number}", f"v{after.number}", lineterm=""
    )
    kinds = {"+": "add", "-": "remove", "@": "hunk"}
    return [(kinds.get(line[:1], "context"), line) for line in lines]


def measured_impact(entry: dict) -> str:
    """“Second-visit rate 24 → 27 %”: the business metric before and as measured."""
    metric = entry["business_metric"] or {}
    unit = f" {metric['unit']}" if metric.get("unit") else ""
    before = entry["previous_value"]
    change = f"{number(before)} → " if before is not None else ""
    return (
        f"{metric.get('name', 'Business metric')} {change}{number(entry['measured_value'])}{unit}"
    )
