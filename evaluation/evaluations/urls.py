"""Evaluation pages, under /o/<org_slug>/projects/<project_slug>/evaluations/."""

from django.urls import path

from evaluation.evaluations import views

app_name = "evaluations"

urlpatterns = [
    path("", views.evaluation_list, name="list"),
    path("new/", views.evaluation_upload, name="upload"),
    path("compare/", views.evaluation_compare, name="compare"),
    path("<int:evaluation_id>/", views.evaluation_detail, name="detail"),
    path("<int:evaluation_id>/columns/", views.evaluation_configure, name="configure"),
    path("<int:evaluation_id>/file/", views.evaluation_download, name="download"),
    path("<int:evaluation_id>/rename/", views.evaluation_rename, name="rename"),
    path("<int:evaluation_id>/delete/", views.evaluation_delete, name="delete"),
    path("<int:evaluation_id>/retry/", views.evaluation_retry, name="retry"),
    path("drafts/delete/", views.evaluation_drafts_delete, name="drafts_delete"),
]
