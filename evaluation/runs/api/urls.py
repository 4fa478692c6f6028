from django.urls import path

from evaluation.runs.api import views

urlpatterns = [
    path("projects/<int:pk>/runs/", views.RunListView.as_view(), name="api-project-runs"),
    path(
        "projects/<int:pk>/runs/speed-vs-accuracy/",
        views.SpeedAccuracyView.as_view(),
        name="api-project-speed-vs-accuracy",
    ),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="api-run-detail"),
    path("runs/<int:pk>/log-batch/", views.RunLogBatchView.as_view(), name="api-run-log-batch"),
    path(
        "runs/<int:pk>/metrics/<path:key>/history/",
        views.MetricHistoryView.as_view(),
        name="api-run-metric-history",
    ),
]
