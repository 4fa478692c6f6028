from django.urls import path

from evaluation.abtests.api import views

urlpatterns = [
    path(
        "projects/<int:project_id>/ab-tests/",
        views.ProjectABTestListView.as_view(),
        name="api-project-abtest-list",
    ),
    path("ab-tests/<int:pk>/", views.ABTestDetailView.as_view(), name="api-abtest-detail"),
    path(
        "ab-tests/<int:pk>/results/", views.ABTestResultsView.as_view(), name="api-abtest-results"
    ),
    path(
        "ab-tests/<int:pk>/uploads/",
        views.ABTestUploadListView.as_view(),
        name="api-abtest-upload-list",
    ),
    path(
        "ab-tests/<int:pk>/uploads/<int:upload_id>/",
        views.ABTestUploadDetailView.as_view(),
        name="api-abtest-upload-detail",
    ),
    path(
        "ab-tests/<int:pk>/analyze/", views.ABTestAnalyzeView.as_view(), name="api-abtest-analyze"
    ),
    path(
        "ab-tests/<int:pk>/analysis/",
        views.ABTestAnalysisView.as_view(),
        name="api-abtest-analysis",
    ),
    path("ab-tests/<int:pk>/start/", views.ABTestStartView.as_view(), name="api-abtest-start"),
    path("ab-tests/<int:pk>/stop/", views.ABTestStopView.as_view(), name="api-abtest-stop"),
    path("ab-tests/<int:pk>/decide/", views.ABTestDecideView.as_view(), name="api-abtest-decide"),
    path(
        "ab-tests/<int:pk>/warehouse/",
        views.ABTestWarehouseView.as_view(),
        name="api-abtest-warehouse",
    ),
    path(
        "ab-tests/<int:pk>/queries/",
        views.ABTestQueriesView.as_view(),
        name="api-abtest-queries",
    ),
    path(
        "ab-tests/<int:pk>/refresh/", views.ABTestRefreshView.as_view(), name="api-abtest-refresh"
    ),
    path(
        "ab-data-sources/", views.ABDataSourceListView.as_view(), name="api-abtest-data-source-list"
    ),
    path("ab-queries/", views.ABQueryListView.as_view(), name="api-abtest-query-list"),
    path(
        "ab-queries/<int:query_id>/",
        views.ABQueryDetailView.as_view(),
        name="api-abtest-query-detail",
    ),
    path(
        "ab-queries/<int:query_id>/versions/",
        views.ABQueryVersionListView.as_view(),
        name="api-abtest-query-version-list",
    ),
    path(
        "ab-queries/<int:query_id>/versions/<int:number>/review/",
        views.ABQueryVersionReviewView.as_view(),
        name="api-abtest-query-version-review",
    ),
    path("sample-size/", views.SampleSizeView.as_view(), name="api-sample-size"),
]
