"""Monitoring pages, under /o/<org_slug>/projects/<project_slug>/monitoring/."""

from django.urls import path

from evaluation.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.monitoring_page, name="page"),
    path(
        "windows/<int:window_id>/distribution/",
        views.window_distribution,
        name="window_distribution",
    ),
    path("deployments/new/", views.deployment_create, name="deployment_create"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("alerts/<int:alert_id>/finding/", views.alert_record_finding, name="alert_finding"),
    path("alert-rules/", views.alert_rules, name="alert_rules"),
    path("windows/<int:window_id>/finding/", views.window_record_finding, name="window_finding"),
]
