"""Pages of the site as a whole: the landing redirect and the health check."""

from django.urls import path

from mlprojects.site import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
]
