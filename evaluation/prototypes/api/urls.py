from django.urls import path

from evaluation.prototypes.api import views

urlpatterns = [
    path(
        "projects/<int:pk>/prototype/predict/",
        views.PrototypePredictView.as_view(),
        name="api-prototype-predict",
    ),
    path(
        "projects/<int:pk>/prototype/feedback/",
        views.PrototypeFeedbackView.as_view(),
        name="api-prototype-feedback",
    ),
]
