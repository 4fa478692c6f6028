"""Prototype pages: the project's page under /o/<org_slug>/projects/<project_slug>/prototype/,
the organization's allow-list under /o/<org_slug>/prototype-hosts/, and share links under
/share/<token>/ (no organization in the URL: the token is the key)."""

from django.urls import path

from evaluation.prototypes import views

app_name = "prototypes"

urlpatterns = [
    path("", views.prototype_page, name="page"),
    path("try/", views.prototype_try, name="try"),
    path("batch/", views.prototype_batch, name="batch"),
    path("calls/<int:call_id>/feedback/", views.feedback_give, name="feedback"),
    path("settings/", views.prototype_settings, name="settings"),
    path("settings/fields/", views.prototype_schema, name="schema"),
    path("examples/", views.example_save, name="example_save"),
    path("examples/<int:example_id>/delete/", views.example_delete, name="example_delete"),
    path("share-links/", views.share_link_create, name="share_create"),
    path("share-links/<int:link_id>/revoke/", views.share_link_revoke, name="share_revoke"),
]

host_urlpatterns = (
    [
        path("", views.host_list, name="list"),
        path("<int:host_id>/delete/", views.host_delete, name="delete"),
    ],
    "prototype_hosts",
)

share_urlpatterns = ([path("<str:token>/", views.shared_page, name="page")], "prototype_share")
