from django.urls import path

from mlprojects.analyses.api import views

urlpatterns = [
    path("analyses/", views.AnalysisListView.as_view(), name="api-analysis-list"),
    path("analyses/<int:pk>/", views.AnalysisDetailView.as_view(), name="api-analysis-detail"),
    path(
        "analyses/<int:analysis_id>/offerings/",
        views.AnalysisOfferingsView.as_view(),
        name="api-analysis-offerings",
    ),
    path(
        "analyses/<int:analysis_id>/use-cases/",
        views.AnalysisUseCasesView.as_view(),
        name="api-analysis-use-cases",
    ),
    path(
        "analyses/<int:analysis_id>/interviews/",
        views.AnalysisInterviewsView.as_view(),
        name="api-analysis-interviews",
    ),
    path("data-sources/", views.DataSourceListView.as_view(), name="api-data-source-list"),
    path(
        "data-sources/<int:pk>/",
        views.DataSourceDetailView.as_view(),
        name="api-data-source-detail",
    ),
    path(
        "use-cases/<int:use_case_id>/create-project/",
        views.UseCaseCreateProjectView.as_view(),
        name="api-use-case-create-project",
    ),
]
