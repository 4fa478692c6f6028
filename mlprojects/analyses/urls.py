"""Business analyses, under /o/<org_slug>/analyses/ (included by mlprojects.urls in the
"mlprojects" namespace). Data sources belong to the organization, so their URLs are not
nested under an analysis; the other parts are."""

from django.urls import path

from mlprojects.analyses import views

urlpatterns = [
    path("", views.analysis_list, name="analysis_list"),
    path("new/", views.analysis_create, name="analysis_create"),
    # Before <analysis_slug>/ (the analysis slugs "new" and "data-sources" are reserved).
    path("data-sources/", views.data_source_list, name="data_source_list"),
    path("data-sources/new/", views.data_source_create, name="data_source_create"),
    path(
        "data-sources/<int:data_source_id>/",
        views.data_source_detail,
        name="data_source_detail",
    ),
    path(
        "data-sources/<int:data_source_id>/edit/", views.data_source_edit, name="data_source_edit"
    ),
    path(
        "data-sources/<int:data_source_id>/delete/",
        views.data_source_delete,
        name="data_source_delete",
    ),
    path("<slug:analysis_slug>/", views.analysis_detail, name="analysis_detail"),
    path("<slug:analysis_slug>/edit/", views.analysis_edit, name="analysis_edit"),
    path("<slug:analysis_slug>/delete/", views.analysis_delete, name="analysis_delete"),
    path("<slug:analysis_slug>/offerings/new/", views.offering_create, name="offering_create"),
    path(
        "<slug:analysis_slug>/offerings/<int:offering_id>/",
        views.offering_detail,
        name="offering_detail",
    ),
    path(
        "<slug:analysis_slug>/offerings/<int:offering_id>/edit/",
        views.offering_edit,
        name="offering_edit",
    ),
    path(
        "<slug:analysis_slug>/offerings/<int:offering_id>/delete/",
        views.offering_delete,
        name="offering_delete",
    ),
    path("<slug:analysis_slug>/use-cases/new/", views.use_case_create, name="use_case_create"),
    path(
        "<slug:analysis_slug>/use-cases/<int:use_case_id>/",
        views.use_case_detail,
        name="use_case_detail",
    ),
    path(
        "<slug:analysis_slug>/use-cases/<int:use_case_id>/edit/",
        views.use_case_edit,
        name="use_case_edit",
    ),
    path(
        "<slug:analysis_slug>/use-cases/<int:use_case_id>/delete/",
        views.use_case_delete,
        name="use_case_delete",
    ),
    path(
        "<slug:analysis_slug>/use-cases/<int:use_case_id>/project/",
        views.use_case_create_project,
        name="use_case_create_project",
    ),
    path("<slug:analysis_slug>/interviews/new/", views.interview_create, name="interview_create"),
    path(
        "<slug:analysis_slug>/interviews/<int:interview_id>/",
        views.interview_detail,
        name="interview_detail",
    ),
    path(
        "<slug:analysis_slug>/interviews/<int:interview_id>/edit/",
        views.interview_edit,
        name="interview_edit",
    ),
    path(
        "<slug:analysis_slug>/interviews/<int:interview_id>/delete/",
        views.interview_delete,
        name="interview_delete",
    ),
]
