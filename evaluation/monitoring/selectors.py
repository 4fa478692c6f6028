"""Reads of monitoring: a project's drift reports, deployments and metric series."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from accounts.models import AuditEvent, Organization
from evaluation.drift import NUMERIC, column_distribution, column_partial
from evaluation.monitoring import windows
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
    return Deployment.objects.filter(project=project).select_related(
        "recorded_by", "model_version__registered_model__project__organization"
    )


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


# How many of the newest deployments a proposal freezes as evidence.
EVIDENCE_DEPLOYMENTS = 5


def deployment_evidence(*, project: Project) -> list[dict]:
    """The newest deployments as the proposal's evidence entries
    (`mlprojects.review.evidence`): what runs where, and the registered model version it
    is, linked to its entry on the Models page."""
    entries = []
    for d in deployment_list(project=project)[:EVIDENCE_DEPLOYMENTS]:
        fields = [{"label": "Environment", "value": d.environment}]
        fields.append({"label": "Share of traffic", "value": f"{d.traffic_share:.0%}"})
        if d.model_version:
            fields.append(
                {
                    "label": "Registered model version",
                    "value": f"{d.model_version.registered_model.name} v{d.model_version.version}",
                    "url": d.model_version.get_absolute_url(),
                }
            )
        if d.notes:
            fields.append({"label": "Notes", "value": d.notes})
        entries.append({"title": f"{d.what} — since {d.since:%Y-%m-%d}", "fields": fields})
    return entries


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
        offline = offline_reference(project=project, metric=metric)
        series.append(
            {
                "id": metric.pk,
                "name": metric.name,
                "unit": metric.unit,
                "target": metric.target,
                "threshold": rule.threshold if rule else None,
                "alert_when": rule.alert_when if rule else None,
                "offline": offline["value"] if offline else None,
                "offline_label": offline["label"] if offline else "",
                "points": [{"x": _ms(t), "y": v} for t, v in reversed(points)],
                "alerts": [
                    {"x": _ms(a.breach_started_at or a.created_at), "y": a.value, "label": a.title}
                    for a in Alert.objects.filter(
                        project=project, metric__name=metric.name
                    ).order_by("-created_at")[:CHART_ALERTS]
                ],
            }
        )
    return series


#: Alerts drawn on one chart (the newest ones).
CHART_ALERTS = 50


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def offline_reference(*, project: Project, metric: Metric) -> dict[str, Any] | None:
    """The metric's value in the newest succeeded offline evaluation that measured it (by
    name, so an evaluation of an earlier cycle's copy counts), or None."""
    from evaluation.evaluations.models import Evaluation, EvaluationMetric

    evaluation = (
        Evaluation.objects.filter(
            project=project, status="succeeded", target_metric__name=metric.name
        )
        .exclude(target_metric_key="")
        .order_by("-finished_at", "-id")
        .first()
    )
    if evaluation is None:
        return None
    value = (
        EvaluationMetric.objects.filter(
            evaluation=evaluation, source="model", name=evaluation.target_metric_key
        )
        .values_list("value", flat=True)
        .first()
    )
    if value is None:
        return None
    return {"value": value, "label": f"offline evaluation #{evaluation.pk}"}


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
    alerts = list(alert_list(project=project)[:50])
    series = metric_series(project=project)
    recent = list(window_list(project=project).order_by("-start")[:WINDOW_POINTS])[::-1]
    chart = {
        "series": series,
        "deployments": [{"x": _ms(d.since), "label": d.what} for d in deployments],
        "alerts": [
            {"x": _ms(a.breach_started_at or a.created_at), "label": a.title, "kind": a.kind}
            for a in alerts
        ],
        "windows": window_charts(windows=recent),
    }
    return {
        "deployments": deployments,
        "alerts": alerts,
        "open_alerts": Alert.objects.filter(project=project, status="open").count(),
        "series": series,
        "chart": chart,
        "window_heatmap": window_heatmap(windows=recent),
        "heatmap": drift_heatmap(project=project),
        "drift_reports": list(drift_report_list(project=project)[:20]),
        "windows": window_rows(windows=recent),
    }


#: Windows drawn on the monitoring page's charts and heat map (the newest ones).
WINDOW_POINTS = 60
#: Performance metrics charted as estimated (CBPE) against realized, in this order.
PERFORMANCE_METRICS = {"recall": "Recall", "precision": "Precision", "roc_auc": "ROC AUC"}
#: Features drawn in the attribution chart (those with the largest mean value).
ATTRIBUTION_FEATURES = 8


def window_charts(*, windows: list[MonitoringWindow]) -> dict[str, Any]:
    """The per-window chart data: volume and labelled rows; for each performance metric
    the realized value (labelled rows) and the CBPE estimate; and per feature the mean
    |attribution| — or, when no attribution columns were logged, the model-agnostic
    association with the score (`attribution_kind` says which)."""
    volume: list[dict[str, Any]] = []
    performance = {key: {"realized": [], "estimated": []} for key in PERFORMANCE_METRICS}
    attribution: dict[str, list[dict[str, Any]]] = {}
    association: dict[str, list[dict[str, Any]]] = {}
    for w in windows:
        result, x = w.result or {}, _ms(w.start)
        volume.append({"x": x, "rows": w.rows, "labelled": w.labelled_rows})
        for key, lines in performance.items():
            realized = _metric(result.get("performance"), key, True)
            estimated = _metric(result.get("estimated_performance"), key, False)
            if realized is not None:
                lines["realized"].append({"x": x, "y": realized})
            if estimated is not None:
                lines["estimated"].append({"x": x, "y": estimated})
        for target, values in (
            (attribution, result.get("attribution")),
            (association, result.get("association")),
        ):
            for feature, value in (values or {}).items():
                if value is not None:
                    target.setdefault(feature, []).append({"x": x, "y": value})
    kind, features = ("attribution", attribution) if attribution else ("association", association)
    top = sorted(features, key=lambda f: -sum(p["y"] for p in features[f]) / len(features[f]))
    return {
        "size": windows[0].size if windows else WindowSize.DAY,
        "volume": volume,
        "performance": [
            {"key": key, "name": PERFORMANCE_METRICS[key], **lines}
            for key, lines in performance.items()
            if lines["realized"] or lines["estimated"]
        ],
        "attribution_kind": kind,
        "attribution": [{"feature": f, "points": features[f]} for f in top[:ATTRIBUTION_FEATURES]],
    }


def _psi_level(psi: float | None) -> int:
    """0–3 for the heat map's shade: PSI under 0.1 is stable, 0.1–0.25 moderate, above
    0.25 a major shift (the usual reading of PSI), 3 for above 1."""
    if psi is None:
        return 0
    return sum(psi >= bound for bound in (0.1, 0.25, 1.0))


def window_heatmap(*, windows: list[MonitoringWindow]) -> dict[str, Any]:
    """Features (and the score) × monitoring windows from the windows' own drift results:
    each cell the column's statistic against the reference window, whether it drifted,
    and a shade by its PSI."""
    columns: list[str] = []
    drifts = []
    for w in windows:
        drift = (w.result or {}).get("drift") or {}
        by_column = {c["column"]: c for c in drift.get("columns", [])}
        for name in by_column:
            if name not in columns:
                columns.append(name)
        drifts.append(by_column)
    rows = []
    for name in columns:
        cells = []
        for w, by_column in zip(windows, drifts, strict=True):
            cell = by_column.get(name)
            cells.append(
                {"window": w, **cell, "level": _psi_level(cell.get("psi"))} if cell else None
            )
        rows.append({"column": name, "cells": cells})
    shown = [w for w, by_column in zip(windows, drifts, strict=True) if by_column]
    keep = [i for i, by_column in enumerate(drifts) if by_column]
    for row in rows:
        row["cells"] = [row["cells"][i] for i in keep]
    return {"windows": shown, "rows": rows}


def _metric(block: dict | None, name: str, nested: bool) -> float | None:
    if not block:
        return None
    return (block.get("metrics") or {}).get(name) if nested else block.get(name)


def window_rows(*, windows: list[MonitoringWindow]) -> dict[str, Any]:
    """The windows' table rows: estimated against realized performance, drifted columns,
    and the worst slices of the newest labelled window."""
    found = windows
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


#: Values of a categorical column drawn in a drill-down; the rarer ones are summed as one.
DISTRIBUTION_VALUES = 25
#: The most bins of a numeric drill-down histogram.
DISTRIBUTION_BINS = 40
OTHER_VALUES = "(other values)"


def window_get(*, project: Project, window_id: int) -> MonitoringWindow | None:
    return MonitoringWindow.objects.filter(project=project, pk=window_id).first()


def _window_column(project: Project, window: MonitoringWindow, column: str) -> pd.Series:
    """One column of the window's rows, read from its day partition (that column and the
    timestamps only, so memory is bounded by one day's column)."""
    day = window.start.astimezone(UTC).date()
    frame = windows.read_partition(project, day, columns=["timestamp", column])
    if frame.empty or column not in frame:
        return pd.Series([], dtype=float)
    stamps = frame["timestamp"]
    inside = (stamps >= pd.Timestamp(window.start)) & (stamps < pd.Timestamp(window.end))
    return frame.loc[inside, column].reset_index(drop=True)


def window_distribution(
    *, project: Project, window: MonitoringWindow, column: str
) -> dict[str, Any] | None:
    """The drill-down of a heat-map cell: the column's distribution in the reference
    window and in this window (shared histogram bins for a numeric column, counts per
    value for a categorical one), with the window's drift verdict. None when the window
    has no drift result for the column."""
    drift = ((window.result or {}).get("drift") or {}).get("columns", [])
    verdict = next((c for c in drift if c["column"] == column), None)
    if verdict is None:
        return None
    reference = window_list(project=project).filter(is_reference=True).order_by("start").first()
    if reference is None:
        return None
    kind = verdict["type"]
    ref_partial, cur_partial = (
        column_partial(_window_column(project, w, column), column_type=kind)
        for w in (reference, window)
    )
    if kind == NUMERIC:
        chart = column_distribution(ref_partial, cur_partial, bins=_edges(ref_partial, cur_partial))
        edges = chart["edges"]
        chart["labels"] = [
            f"{lo:.4g} – {hi:.4g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
    else:
        chart = column_distribution(ref_partial, cur_partial)
        chart["labels"] = [str(v) for v in chart.pop("values")]
        if len(chart["labels"]) > DISTRIBUTION_VALUES:
            chart = _top_values(chart)
    return {
        "column": column,
        "type": kind,
        "rows": list(
            zip(chart["labels"], chart["reference_share"], chart["current_share"], strict=True)
        ),
        "verdict": verdict,
        "window": window,
        "reference": reference,
        "chart": {
            "labels": chart["labels"],
            "reference": chart["reference_share"],
            "current": chart["current_share"],
            "reference_rows": ref_partial.rows,
            "current_rows": cur_partial.rows,
        },
    }


def _edges(reference: Any, current: Any) -> Any:
    """Histogram edges both sides share: Doane's rule as Evidently draws it (at most
    DISTRIBUTION_BINS bins) — unless long tails would squeeze the bulk of the rows into a
    few bins; then equal bins between the 1st and 99th percentile, and each tail as one."""
    combined = np.sort(np.concatenate([reference.values, current.values]))
    if combined.size < 2 or combined[0] == combined[-1]:
        return None
    low, high = np.quantile(combined, [0.01, 0.99])
    if high - low >= (combined[-1] - combined[0]) / 2 or low == high:
        edges = np.histogram_bin_edges(combined, bins="doane")
        return edges if edges.size - 1 <= DISTRIBUTION_BINS else DISTRIBUTION_BINS
    inner = np.linspace(low, high, DISTRIBUTION_BINS - 1)
    return np.unique(np.concatenate([[combined[0]], inner, [combined[-1]]]))


def _top_values(chart: dict[str, Any]) -> dict[str, Any]:
    """The most frequent values (both sides together) and the rest summed as one bar."""
    keep = DISTRIBUTION_VALUES - 1
    totals = [r + c for r, c in zip(chart["reference"], chart["current"], strict=True)]
    order = sorted(range(len(totals)), key=lambda i: -totals[i])
    top, rest = sorted(order[:keep]), order[keep:]
    out = {"labels": [chart["labels"][i] for i in top] + [OTHER_VALUES]}
    for side in ("reference_share", "current_share"):
        out[side] = [chart[side][i] for i in top] + [sum(chart[side][i] for i in rest)]
    return out


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
