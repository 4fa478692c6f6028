"""A project's A/B tests, under /o/<org_slug>/projects/<project_slug>/ab-tests/."""

from django.urls import path

from evaluation.abtests import views

app_name = "abtests"

urlpatterns = [
    path("", views.abtest_list, name="list"),
    path("new/", views.abtest_create, name="create"),
    path("sample-size/", views.sample_size, name="sample_size"),
    path("<int:abtest_id>/", views.abtest_detail, name="detail"),
    path("<int:abtest_id>/edit/", views.abtest_edit, name="edit"),
    path("<int:abtest_id>/status/", views.abtest_transition, name="transition"),
    path("<int:abtest_id>/rename/", views.abtest_rename, name="rename"),
    path("<int:abtest_id>/delete/", views.abtest_delete, name="delete"),
    path("<int:abtest_id>/results/", views.abtest_results, name="results"),
    path("<int:abtest_id>/results/csv/", views.abtest_results_csv, name="results_csv"),
    path("<int:abtest_id>/uploads/", views.abtest_upload, name="upload"),
    path(
        "<int:abtest_id>/uploads/<int:upload_id>/",
        views.abtest_upload_status,
        name="upload_status",
    ),
    path("<int:abtest_id>/analyze/", views.abtest_analyze, name="analyze"),
    path(
        "<int:abtest_id>/analyses/<int:analysis_id>/",
        views.abtest_analysis,
        name="analysis",
    ),
    path("<int:abtest_id>/decide/", views.abtest_decide, name="decide"),
    path("<int:abtest_id>/refresh/", views.abtest_refresh, name="refresh"),
]
