from django.urls import include, path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("projects/", views.ProjectListView.as_view(), name="api-project-list"),
    path("projects/<int:pk>/", views.ProjectDetailView.as_view(), name="api-project-detail"),
    path("", include("mlprojects.api.urls_analyses")),
]
