"""Reads of monitoring: a project's drift reports, deployments and metric series."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from evaluation.monitoring.models import Deployment, DriftReport, MetricValue
from mlprojects.models import Project


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
    """What the project page's deployment panel shows: the deployment timeline."""
    deployments = list(deployment_list(project=project)[:20])
    return {"deployments": deployments}
