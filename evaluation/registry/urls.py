"""The Models page of a project, under /o/<org_slug>/projects/<project_slug>/models/."""

from django.urls import path

from evaluation.registry import views

app_name = "registry"

urlpatterns = [path("", views.model_list, name="list")]
