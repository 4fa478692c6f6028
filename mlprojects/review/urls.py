"""Collaborative review under /o/<org_slug>/ (included by mlprojects.urls in the
"mlprojects" namespace): comments, proposals, the review inbox and activity feeds."""

from django.urls import path

from mlprojects.review import views

PROJECT = "projects/<slug:project_slug>/"
PROPOSAL = PROJECT + "proposals/<int:version>/"

urlpatterns = [
    path("reviews/", views.my_reviews, name="my_reviews"),
    path("activity/", views.org_activity, name="org_activity"),
    path("mentions/", views.mention_search, name="mention_search"),
    path("comments/<int:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("comments/<int:comment_id>/resolve/", views.comment_resolve, name="comment_resolve"),
    path(
        "analyses/<slug:analysis_slug>/comments/",
        views.analysis_comments,
        name="analysis_comments",
    ),
    path(PROJECT + "comments/<slug:section>/", views.comment_list, name="comment_list"),
    path(PROJECT + "comments/<slug:section>/new/", views.comment_create, name="comment_create"),
    path(PROJECT + "activity/", views.project_activity, name="project_activity"),
    path(PROJECT + "proposals/", views.proposal_list, name="proposal_list"),
    path(PROJECT + "proposals/submit/", views.proposal_submit, name="proposal_submit"),
    path(PROPOSAL, views.proposal_detail, name="proposal_detail"),
    path(PROPOSAL + "decide/", views.proposal_decide, name="proposal_decide"),
    path(PROPOSAL + "withdraw/", views.proposal_withdraw, name="proposal_withdraw"),
    path(PROPOSAL + "diff/", views.proposal_diff, name="proposal_diff"),
    path(PROPOSAL + "export.md", views.proposal_export_markdown, name="proposal_export_markdown"),
    path(PROPOSAL + "export.html", views.proposal_export_html, name="proposal_export_html"),
]
