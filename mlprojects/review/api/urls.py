from django.urls import path

from mlprojects.review.api import views

P = "projects/<int:project_id>/"

urlpatterns = [
    path(P + "proposals/", views.ProposalListView.as_view(), name="api-project-proposals"),
    path(
        P + "proposals/<int:version>/",
        views.ProposalDetailView.as_view(),
        name="api-project-proposal",
    ),
    path(
        P + "proposals/<int:version>/reviews/",
        views.ProposalReviewView.as_view(),
        name="api-project-proposal-reviews",
    ),
    path(
        P + "sections/<slug:section>/comments/",
        views.SectionCommentsView.as_view(),
        name="api-project-section-comments",
    ),
]
