"""Runs pages of a project, under /o/<org_slug>/projects/<project_slug>/runs/."""

from django.urls import path

from evaluation.runs import views

app_name = "runs"

urlpatterns = [
    path("", views.run_list, name="list"),
    path("compare/", views.run_compare, name="compare"),
    path("<int:run_id>/", views.run_detail, name="detail"),
    path("<int:run_id>/role/", views.run_set_role, name="role"),
    path("<int:run_id>/objective/", views.run_set_objective, name="objective"),
    path("<int:run_id>/artifacts/<path:path>", views.run_artifact, name="artifact"),
]
