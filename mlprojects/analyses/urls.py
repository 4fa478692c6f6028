"""Business analyses, under /o/<org_slug>/analyses/ (included by mlprojects.urls in the
"mlprojects" namespace). Data sources belong to the organization, so their URLs are not
nested under an analysis; the other parts are."""

from django.urls import URLPattern, path

from mlprojects.analyses import views


def item_urls(kind: str, prefix: str) -> list[URLPattern]:
    """The URLs of one kind of part (`views.ITEMS`): `<kind>_create`, `_detail`, `_edit` and
    `_delete`, all served by the registry's views."""
    item = f"{prefix}<int:{kind}_id>/"
    extra = {"kind": kind}
    return [
        path(f"{prefix}new/", views.item_create, extra, name=f"{kind}_create"),
        path(item, views.item_detail, extra, name=f"{kind}_detail"),
        path(f"{item}edit/", views.item_edit, extra, name=f"{kind}_edit"),
        path(f"{item}delete/", views.item_delete, extra, name=f"{kind}_delete"),
    ]


urlpatterns = [
    path("", views.analysis_list, name="analysis_list"),
    path("new/", views.analysis_create, name="analysis_create"),
    # Before <analysis_slug>/ (the analysis slugs "new" and "data-sources" are reserved).
    path("data-sources/", views.data_source_list, name="data_source_list"),
    *item_urls("data_source", "data-sources/"),
    path("<slug:analysis_slug>/", views.analysis_detail, name="analysis_detail"),
    path("<slug:analysis_slug>/edit/", views.analysis_edit, name="analysis_edit"),
    path("<slug:analysis_slug>/delete/", views.analysis_delete, name="analysis_delete"),
    *item_urls("offering", "<slug:analysis_slug>/offerings/"),
    *item_urls("use_case", "<slug:analysis_slug>/use-cases/"),
    path(
        "<slug:analysis_slug>/use-cases/<int:use_case_id>/project/",
        views.use_case_create_project,
        name="use_case_create_project",
    ),
    *item_urls("interview", "<slug:analysis_slug>/interviews/"),
]
