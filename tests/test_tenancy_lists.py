"""Lists scoped to the caller's organization never include another organization's rows."""

from django.urls import reverse


def test_dashboard_lists_only_own_projects(org, member, project, other_project, client_for):
    response = client_for(member).get(reverse("mlprojects:dashboard", args=[org.slug]))
    assert project.name in response.text
    assert other_project.name not in response.text


def test_api_project_list_returns_only_own_projects(member, project, other_project, client_for):
    response = client_for(member).get("/api/v1/projects/")
    assert response.status_code == 200
    names = [p["name"] for p in response.json()["results"]]
    assert names == [project.name]


def test_api_ignores_organization_header_of_a_foreign_org(
    member, project, other_project, other_org, client_for
):
    response = client_for(member).get("/api/v1/projects/", HTTP_X_ORGANIZATION=other_org.slug)
    assert response.status_code == 404


def test_api_saved_query_list_returns_only_own_queries(
    org, member, admin, other_warehouse_query, client_for
):
    from evaluation.abtests import services

    source = services.data_source_create(org=org, user=admin, name="dwh", url="postgresql://r@h/d")
    services.query_create(
        org=org, user=member, data_source=source, name="Ours", kind="exposure", sql="SELECT 1"
    )
    response = client_for(member).get("/api/v1/ab-queries/")
    assert response.status_code == 200
    assert [q["name"] for q in response.json()["results"]] == ["Ours"]
