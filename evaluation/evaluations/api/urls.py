from django.urls import path

from evaluation.evaluations.api import views

urlpatterns = [
    path(
        "projects/<int:pk>/evaluations/",
        views.EvaluationListView.as_view(),
        name="api-evaluation-list",
    ),
    path(
        "evaluations/<int:pk>/", views.EvaluationDetailView.as_view(), name="api-evaluation-detail"
    ),
    path(
        "evaluations/<int:pk>/file/", views.EvaluationFileView.as_view(), name="api-evaluation-file"
    ),
]
