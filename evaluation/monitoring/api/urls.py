from django.urls import path

from evaluation.monitoring.api import views

urlpatterns = [
    path(
        "projects/<int:pk>/drift-reports/",
        views.DriftReportCreateView.as_view(),
        name="api-drift-report-create",
    ),
    path(
        "drift-reports/<int:pk>/",
        views.DriftReportDetailView.as_view(),
        name="api-drift-report-detail",
    ),
    path(
        "projects/<int:pk>/deployments/",
        views.DeploymentListView.as_view(),
        name="api-deployment-list",
    ),
    path(
        "projects/<int:pk>/metric-values/",
        views.MetricValueListView.as_view(),
        name="api-metric-value-list",
    ),
    path("projects/<int:pk>/alerts/", views.AlertListView.as_view(), name="api-alert-list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.AlertAcknowledgeView.as_view(),
        name="api-alert-acknowledge",
    ),
    path("projects/<int:pk>/findings/", views.FindingListView.as_view(), name="api-finding-list"),
    path(
        "projects/<int:pk>/findings/<int:finding_id>/decision/",
        views.FindingDecisionView.as_view(),
        name="api-finding-decision",
    ),
    path("alerts/<int:pk>/resolve/", views.AlertResolveView.as_view(), name="api-alert-resolve"),
    path(
        "projects/<int:pk>/predictions/",
        views.PredictionIngestView.as_view(),
        name="api-prediction-ingest",
    ),
    path("projects/<int:pk>/labels/", views.LabelIngestView.as_view(), name="api-label-ingest"),
    path(
        "projects/<int:pk>/monitoring/",
        views.MonitoringWindowListView.as_view(),
        name="api-monitoring-window-list",
    ),
]
