"""Every role reads analyses; only roles with `edit` change them (403 otherwise)."""

import pytest

from accounts.permissions import Perm, Role, role_can
from mlprojects.models import BusinessAnalysis, Offering, Project

from .factories import DataSourceFactory, InterviewFactory, OfferingFactory, UseCaseFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def parts(analysis):
    source = DataSourceFactory(analysis=analysis)
    use_case = UseCaseFactory(analysis=analysis)
    use_case.data_sources.add(source)
    return {
        "offering": OfferingFactory(analysis=analysis),
        "data_source": source,
        "use_case": use_case,
        "interview": InterviewFactory(analysis=analysis),
    }


def read_urls(parts):
    return [
        "/o/acme/analyses/",
        "/o/acme/analyses/data-sources/",
        "/o/acme/analyses/uber/",
        f"/o/acme/analyses/uber/offerings/{parts['offering'].pk}/",
        f"/o/acme/analyses/uber/use-cases/{parts['use_case'].pk}/",
        f"/o/acme/analyses/uber/interviews/{parts['interview'].pk}/",
        f"/o/acme/analyses/data-sources/{parts['data_source'].pk}/",
    ]


def edit_urls(parts):
    offering, use_case = parts["offering"].pk, parts["use_case"].pk
    interview, source = parts["interview"].pk, parts["data_source"].pk
    return [
        "/o/acme/analyses/new/",
        "/o/acme/analyses/uber/edit/",
        "/o/acme/analyses/uber/offerings/new/",
        f"/o/acme/analyses/uber/offerings/{offering}/edit/",
        "/o/acme/analyses/uber/use-cases/new/",
        f"/o/acme/analyses/uber/use-cases/{use_case}/edit/",
        "/o/acme/analyses/uber/interviews/new/",
        f"/o/acme/analyses/uber/interviews/{interview}/edit/",
        "/o/acme/analyses/data-sources/new/",
        f"/o/acme/analyses/data-sources/{source}/edit/",
    ]


def write_only_urls(parts):
    return [
        f"/o/acme/analyses/uber/offerings/{parts['offering'].pk}/delete/",
        f"/o/acme/analyses/uber/use-cases/{parts['use_case'].pk}/project/",
        f"/o/acme/analyses/uber/use-cases/{parts['use_case'].pk}/delete/",
        f"/o/acme/analyses/uber/interviews/{parts['interview'].pk}/delete/",
        f"/o/acme/analyses/data-sources/{parts['data_source'].pk}/delete/",
        "/o/acme/analyses/uber/delete/",
    ]


@pytest.mark.parametrize("role", Role.values)
def test_every_role_reads_analyses(role, parts, user_with_role, client_for):
    client = client_for(user_with_role(role))
    for url in read_urls(parts):
        response = client.get(url, **HTMX) if url.count("/") > 5 else client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("role", Role.values)
def test_edit_forms_need_edit(role, parts, user_with_role, client_for):
    client = client_for(user_with_role(role))
    expected = 200 if role_can(role, Perm.EDIT) else 403
    for url in edit_urls(parts):
        assert client.get(url, **HTMX).status_code == expected, url


@pytest.mark.parametrize("role", Role.values)
def test_writes_need_edit(role, parts, user_with_role, client_for):
    client = client_for(user_with_role(role))
    may_edit = role_can(role, Perm.EDIT)
    for url in write_only_urls(parts):
        response = client.post(url)
        assert response.status_code == (302 if may_edit else 403), url
    assert BusinessAnalysis.objects.exists() != may_edit
    assert Project.objects.exists() == may_edit


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.VIEWER])
def test_a_refused_write_changes_nothing(role, parts, user_with_role, client_for):
    client = client_for(user_with_role(role))
    response = client.post("/o/acme/analyses/uber/offerings/new/", {"name": "Freight"}, **HTMX)
    assert response.status_code == 403
    assert not Offering.objects.filter(name="Freight").exists()


@pytest.mark.parametrize("role", Role.values)
def test_the_document_shows_edit_controls_only_to_editors(role, parts, user_with_role, client_for):
    text = client_for(user_with_role(role)).get("/o/acme/analyses/uber/").text
    assert ("+ Add an offering" in text) == role_can(role, Perm.EDIT)
    assert ("Turn into a project" in text) == role_can(role, Perm.EDIT)


@pytest.mark.parametrize("role", Role.values)
def test_api_writes_need_edit(role, analysis, user_with_role, client_for):
    client = client_for(user_with_role(role))
    response = client.post(
        f"/api/v1/analyses/{analysis.pk}/offerings/",
        {"name": "Freight"},
        content_type="application/json",
        HTTP_X_ORGANIZATION="acme",
    )
    assert response.status_code == (201 if role_can(role, Perm.EDIT) else 403)
    assert client.get("/api/v1/analyses/", HTTP_X_ORGANIZATION="acme").status_code == 200
