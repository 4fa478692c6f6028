from django.urls import path

from mlprojects.review.api import views

PROJECT = "projects/<int:project_id>/"

urlpatterns = [
    path(PROJECT + "proposals/", views.ProposalListView.as_view(), name="api-project-proposals"),
    path(
        PROJECT + "proposals/<int:version>/",
        views.ProposalDetailView.as_view(),
        name="api-project-proposal",
    ),
    path(
        PROJECT + "proposals/<int:version>/reviews/",
        views.ProposalReviewView.as_view(),
        name="api-project-proposal-reviews",
    ),
    path(
        PROJECT + "sections/<slug:section>/comments/",
        views.SectionCommentsView.as_view(),
        name="api-project-section-comments",
    ),
]
