"""Root URLs: the composition root that includes every app's web and API routes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .health import healthz

lifecycle_urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<slug:project_slug>/", views.project_detail, name="project_detail"),
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
    path("analyses/", include("mlprojects.urls_analyses")),
    path("", include("mlprojects.urls_review")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("o/<slug:org_slug>/", include((lifecycle_urlpatterns, "mlprojects"))),
    path(
        "o/<slug:org_slug>/projects/<slug:project_slug>/ab-tests/",
        include("evaluation.urls_abtests"),
    ),
    path(
        "o/<slug:org_slug>/projects/<slug:project_slug>/evaluations/",
        include("evaluation.urls_evaluations"),
    ),
    path("o/<slug:org_slug>/projects/<slug:project_slug>/runs/", include("evaluation.urls")),
    path("api/v1/", include("mlprojects.api.urls")),
    path("api/v1/", include("evaluation.api.urls_abtests")),
    path("api/v1/", include("evaluation.api.urls")),
    path("api/v1/", include("evaluation.api.urls_evaluations")),
    path("mlflow/", include("evaluation.mlflow.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler404 = "mlprojects.errors.not_found"
handler403 = "mlprojects.errors.forbidden"
handler500 = "mlprojects.errors.server_error"
