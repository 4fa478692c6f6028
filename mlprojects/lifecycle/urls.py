"""Projects and their lifecycle steps, under /o/<org_slug>/ (namespace "mlprojects")."""

from django.urls import path

from mlprojects.lifecycle import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<slug:project_slug>/", views.project_detail, name="project_detail"),
    path("projects/<slug:project_slug>/edit/", views.project_edit, name="project_edit"),
    path("projects/<slug:project_slug>/delete/", views.project_delete, name="project_delete"),
    path("projects/<slug:project_slug>/steps/<slug:step>/", views.step_detail, name="step_detail"),
    path(
        "projects/<slug:project_slug>/steps/<slug:step>/history/",
        views.section_history,
        name="section_history",
    ),
    path(
        "projects/<slug:project_slug>/sections/<slug:section>/",
        views.section_edit,
        name="section_edit",
    ),
    path(
        "projects/<slug:project_slug>/feasibility/preview/",
        views.feasibility_preview,
        name="feasibility_preview",
    ),
    path(
        "projects/<slug:project_slug>/items/<slug:kind>/new/",
        views.item_create,
        name="item_create",
    ),
    path(
        "projects/<slug:project_slug>/items/<slug:kind>/<int:item_id>/",
        views.item_edit,
        name="item_edit",
    ),
    path(
        "projects/<slug:project_slug>/items/<slug:kind>/<int:item_id>/delete/",
        views.item_delete,
        name="item_delete",
    ),
    path("projects/<slug:project_slug>/next-cycle/", views.next_cycle, name="next_cycle"),
    path(
        "projects/<slug:project_slug>/findings/<int:finding_id>/decision/",
        views.finding_decision,
        name="finding_decision",
    ),
]
