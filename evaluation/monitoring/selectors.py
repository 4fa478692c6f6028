"""Reads of monitoring: a project's drift reports, deployments and metric series."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from accounts.models import AuditEvent, Organization
from evaluation.monitoring.models import (
    Alert,
    AlertStatus,
    Deployment,
    DriftReport,
    MetricValue,
    MonitoringWindow,
    MonitorSettings,
    WindowSize,
)
from mlprojects.models import Metric, PerformanceRequirements, Project, WatchedMetric


def drift_report_list(*, project: Project) -> QuerySet[DriftReport]:
    return DriftReport.objects.filter(project=project).defer("result")


def deployment_list(*, project: Project) -> QuerySet[Deployment]:
    """Newest first, with who recorded each."""
    return Deployment.objects.filter(project=project).select_related("recorded_by")


def metric_value_list(
    *,
    project: Project,
    metric: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str | None = None,
) -> QuerySet[MetricValue]:
    """A project's metric values in time order, narrowed to one metric, a time range
    (`start` ≤ timestamp ≤ `end`) and a segment when given."""
    values = MetricValue.objects.filter(project=project)
    if metric is not None:
        values = values.filter(metric_id=metric)
    if start is not None:
        values = values.filter(timestamp__gte=start)
    if end is not None:
        values = values.filter(timestamp__lte=end)
    if segment is not None:
        values = values.filter(segment=segment)
    return values.order_by("metric_id", "timestamp", "segment")


def project_section(*, project: Project) -> dict:
    """What the project page's step-8 panel shows: the deployment timeline and how many
    alerts are open."""
    return {
        "deployments": list(deployment_list(project=project)[:10]),
        "open_alerts": Alert.objects.filter(project=project, status="open").count(),
    }


def alert_list(*, project: Project, status: str | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(project=project).select_related(
        "metric", "acknowledged_by", "resolved_by", "drift_report"
    )
    return alerts.filter(status=status) if status else alerts


#: Values per series drawn on the monitoring page (the newest ones).
CHART_POINTS = 400


def metric_series(*, project: Project) -> list[dict[str, Any]]:
    """One series per metric of the current cycle that has production values: its points
    (newest CHART_POINTS, overall traffic), target, and watched threshold if any."""
    metrics = Metric.objects.filter(cycle__project=project, cycle__number=project.cycle)
    watched = {
        w.metric_id: w
        for w in WatchedMetric.objects.filter(cycle__project=project, cycle__number=project.cycle)
    }
    series = []
    for metric in metrics.order_by("id"):
        points = list(
            MetricValue.objects.filter(metric=metric, segment="")
            .order_by("-timestamp")
            .values_list("timestamp", "value")[:CHART_POINTS]
        )
        if not points:
            continue
        rule = watched.get(metric.pk)
        series.append(
            {
                "id": metric.pk,
                "name": metric.name,
                "unit": metric.unit,
                "target": metric.target,
                "threshold": rule.threshold if rule else None,
                "alert_when": rule.alert_when if rule else None,
                "points": [{"x": int(t.timestamp() * 1000), "y": v} for t, v in reversed(points)],
            }
        )
    return series


def drift_heatmap(*, project: Project, reports: int = 12) -> dict[str, Any]:
    """Columns × the newest succeeded drift reports (oldest first): each cell the column's
    statistic and whether it drifted."""
    done = list(
        DriftReport.objects.filter(project=project, status="succeeded").order_by("-created_at")[
            :reports
        ]
    )[::-1]
    columns: list[str] = []
    for report in done:
        for c in report.result["columns"]:
            if c["column"] not in columns:
                columns.append(c["column"])
    rows = []
    for name in columns:
        cells = []
        for report in done:
            cell = next((c for c in report.result["columns"] if c["column"] == name), None)
            cells.append(cell)
        rows.append({"column": name, "cells": cells})
    return {"reports": done, "rows": rows}


def monitoring_overview(*, project: Project) -> dict[str, Any]:
    """Everything the monitoring page shows."""
    deployments = list(deployment_list(project=project)[:50])
    series = metric_series(project=project)
    chart = {
        "series": series,
        "deployments": [
            {"x": int(d.since.timestamp() * 1000), "label": d.what} for d in deployments
        ],
    }
    return {
        "deployments": deployments,
        "alerts": list(alert_list(project=project)[:50]),
        "open_alerts": Alert.objects.filter(project=project, status="open").count(),
        "series": series,
        "chart": chart,
        "heatmap": drift_heatmap(project=project),
        "drift_reports": list(drift_report_list(project=project)[:20]),
        "windows": window_rows(project=project),
    }


def _metric(block: dict | None, name: str, nested: bool) -> float | None:
    if not block:
        return None
    return (block.get("metrics") or {}).get(name) if nested else block.get(name)


def window_rows(*, project: Project, limit: int = 60) -> dict[str, Any]:
    """The newest windows for the page: estimated against realized performance, drifted
    columns, and the worst slices of the newest labelled window."""
    found = list(window_list(project=project).order_by("-start")[:limit])[::-1]
    rows = []
    for w in found:
        result = w.result or {}
        drift = result.get("drift") or {}
        rows.append(
            {
                "window": w,
                "coverage": result.get("label_coverage"),
                "realized_recall": _metric(result.get("performance"), "recall", True),
                "realized_auc": _metric(result.get("performance"), "roc_auc", True),
                "estimated_recall": _metric(result.get("estimated_performance"), "recall", False),
                "estimated_auc": _metric(result.get("estimated_performance"), "roc_auc", False),
                "drifted": [c["column"] for c in drift.get("columns", []) if c.get("drifted")],
                "score_mean": (result.get("score") or {}).get("mean"),
            }
        )
    labelled = [w for w in found if (w.result or {}).get("worst_slices")]
    return {
        "rows": rows,
        "slices_window": labelled[-1] if labelled else None,
        "slices": labelled[-1].result["worst_slices"] if labelled else [],
    }


# -- the activity feed ------------------------------------------------------------------------

ACTIVITY_TEXT = {
    "monitoring.deployment_recorded": "recorded the deployment of “{target}”",
    "monitoring.alert_opened": "alert: {target}",
    "monitoring.alert_acknowledged": "acknowledged the alert “{target}”",
    "monitoring.alert_resolved": "resolved the alert “{target}”",
    "monitoring.drift_report_submitted": "submitted {target}",
    "monitoring.drift_report_succeeded": "{target} is ready",
    "monitoring.drift_report_failed": "{target} failed",
    "monitoring.metric_values_recorded": "sent {target}",
}


def project_audit_events(*, project: Project) -> Q:
    """The monitoring events of a project (each names its project)."""
    return Q(action__startswith="monitoring.", data__project=project.pk)


def audit_event_lines(*, org: Organization, events: list[AuditEvent]) -> dict[int, tuple]:
    """Activity-feed lines of monitoring events: `{event id: (text, url)}`; the URL is the
    project's monitoring page. One query for the whole batch."""
    ids = {(e.data or {}).get("project") for e in events} - {None}
    slugs = dict(Project.objects.filter(organization=org, pk__in=ids).values_list("pk", "slug"))
    lines = {}
    for event in events:
        slug = slugs.get((event.data or {}).get("project"))
        url = reverse("monitoring:page", args=[org.slug, slug]) if slug else ""
        template = ACTIVITY_TEXT.get(event.action, "{target}")
        lines[event.pk] = (template.format(target=event.target), url)
    return lines


def window_list(*, project: Project) -> QuerySet[MonitoringWindow]:
    """The project's monitoring windows of its current size, in time order."""
    return MonitoringWindow.objects.filter(project=project, size=window_size(project=project))


def window_size(*, project: Project) -> str:
    settings = MonitorSettings.objects.filter(project=project).first()
    return settings.window if settings else WindowSize.DAY


def performance_requirement(*, project: Project) -> tuple[str, float] | None:
    """Step 5's minimum performance in production of the current cycle: (metric, minimum)
    with a metric CBPE estimates, or None when step 5 sets none."""
    performance = PerformanceRequirements.objects.filter(
        cycle__project=project, cycle__number=project.cycle
    ).first()
    if performance is None or not performance.required_metric:
        return None
    if performance.required_minimum is None:
        return None
    return performance.required_metric, performance.required_minimum


def projects_with_open_alerts(*, org: Organization) -> dict[str, Any]:
    """For the dashboard: the organization's projects with open alerts (open or
    acknowledged, not resolved), most open first, with their counts. One query."""
    rows = (
        Alert.objects.filter(project__organization=org)
        .exclude(status=AlertStatus.RESOLVED)
        .values("project_id", "project__name", "project__slug")
        .annotate(
            open=Count("pk", filter=Q(status=AlertStatus.OPEN)),
            acknowledged=Count("pk", filter=Q(status=AlertStatus.ACKNOWLEDGED)),
        )
        .order_by("-open", "-acknowledged", "project__name")
    )
    return {
        "alerting_projects": [
            {
                "name": row["project__name"],
                "url": reverse("monitoring:page", args=[org.slug, row["project__slug"]]),
                "open": row["open"],
                "acknowledged": row["acknowledged"],
            }
            for row in rows
        ]
    }
