"""Root URLs: the composition root. One include() per domain; every organization page
lives under /o/<org_slug>/ and the API under /api/v1/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from evaluation.abtests import urls as abtest_urls
from evaluation.prototypes import urls as prototype_urls

# The lifecycle, the business analyses and review share the "mlprojects" namespace.
organization_pages = [
    path("", include("mlprojects.lifecycle.urls")),
    path("analyses/", include("mlprojects.analyses.urls")),
    path("", include("mlprojects.review.urls")),
]
project_prefix = "o/<slug:org_slug>/projects/<slug:project_slug>/"

urlpatterns = [
    path("", include("mlprojects.site.urls")),
    path("", include("accounts.urls")),
    path("o/<slug:org_slug>/", include((organization_pages, "mlprojects"))),
    path(project_prefix + "ab-tests/", include("evaluation.abtests.urls")),
    path("o/<slug:org_slug>/ab-warehouse/", include(abtest_urls.warehouse_urlpatterns)),
    path(project_prefix + "evaluations/", include("evaluation.evaluations.urls")),
    path(project_prefix + "runs/", include("evaluation.runs.urls")),
    path(project_prefix + "monitoring/", include("evaluation.monitoring.urls")),
    path(project_prefix + "prototype/", include("evaluation.prototypes.urls")),
    path("o/<slug:org_slug>/prototype-hosts/", include(prototype_urls.host_urlpatterns)),
    path("share/", include(prototype_urls.share_urlpatterns)),
    path(project_prefix + "models/", include("evaluation.registry.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("mlprojects.lifecycle.api.urls")),
    path("api/v1/", include("mlprojects.review.api.urls")),
    path("api/v1/", include("mlprojects.analyses.api.urls")),
    path("api/v1/", include("evaluation.abtests.api.urls")),
    path("api/v1/", include("evaluation.runs.api.urls")),
    path("api/v1/", include("evaluation.evaluations.api.urls")),
    path("api/v1/", include("evaluation.monitoring.api.urls")),
    path("api/v1/", include("evaluation.prototypes.api.urls")),
    path("mlflow/", include("evaluation.runs.mlflow.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The "split" view serves Swagger UI's start-up script as a file, not inline, so the
    # page works under the Content-Security-Policy (templates/drf_spectacular/).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "mlprojects.site.errors.bad_request"
handler404 = "mlprojects.site.errors.not_found"
handler403 = "mlprojects.site.errors.forbidden"
handler500 = "mlprojects.site.errors.server_error"
