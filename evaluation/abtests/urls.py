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
    path("<int:abtest_id>/queries/", views.abtest_queries, name="queries"),
]

# The organization's warehouse: data sources (admins) and saved queries, under
# /o/<org_slug>/ab-warehouse/.
warehouse_urlpatterns = (
    [
        path("", views.warehouse_home, name="home"),
        path("sources/new/", views.warehouse_source_create, name="source_create"),
        path("sources/<int:source_id>/edit/", views.warehouse_source_edit, name="source_edit"),
        path("sources/<int:source_id>/test/", views.warehouse_source_test, name="source_test"),
        path("queries/new/", views.warehouse_query_create, name="query_create"),
        path("queries/<int:query_id>/", views.warehouse_query, name="query"),
        path(
            "queries/<int:query_id>/versions/",
            views.warehouse_query_version_create,
            name="query_version_create",
        ),
        path(
            "queries/<int:query_id>/versions/<int:number>/review/",
            views.warehouse_query_review,
            name="query_review",
        ),
    ],
    "abtest_warehouse",
)
