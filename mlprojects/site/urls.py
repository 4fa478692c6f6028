"""Pages of the site as a whole: the landing redirect and the health endpoints."""

from django.urls import path

from mlprojects.site import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("status/workers", health.worker_status, name="worker_status"),
]
