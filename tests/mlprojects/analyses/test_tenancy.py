"""One organization never sees or links another's analyses (beyond the URL sweep in
tests/test_tenancy.py): a foreign part under one's own analysis is 404, and lists hold
only the organization's rows."""

import pytest

from .factories import DataSourceFactory, InterviewFactory, OfferingFactory, UseCaseFactory

PARTS = {
    "offerings": OfferingFactory,
    "use-cases": UseCaseFactory,
    "interviews": InterviewFactory,
}


@pytest.mark.parametrize("segment", PARTS)
@pytest.mark.parametrize("action", ["", "edit/", "delete/"])
def test_a_part_of_another_analysis_is_404_under_this_one(
    segment, action, org, analysis, owner, member, client_for
):
    """Both analyses are the caller's own: the part is looked up in the analysis of the URL."""
    from .factories import BusinessAnalysisFactory

    sibling = BusinessAnalysisFactory(organization=org, slug="lyft")
    part = PARTS[segment](analysis=sibling)
    url = f"/o/acme/analyses/uber/{segment}/{part.pk}/{action}"
    response = client_for(owner).post(url) if action == "delete/" else client_for(owner).get(url)
    assert response.status_code == 404


def test_a_foreign_data_source_is_404(org, owner, other_data_source, client_for):
    url = f"/o/acme/analyses/data-sources/{other_data_source.pk}/edit/"
    assert client_for(owner).get(url).status_code == 404


def test_the_add_data_source_form_never_offers_a_foreign_analysis(
    owner, analysis, other_analysis, client_for
):
    response = client_for(owner).get("/o/acme/analyses/data-sources/new/")
    assert "Uber" in response.text
    assert other_analysis.name not in response.text


def test_preselecting_a_foreign_analysis_is_404(owner, analysis, other_analysis, client_for):
    url = f"/o/acme/analyses/data-sources/new/?analysis={other_analysis.slug}"
    assert client_for(owner).get(url).status_code == 404


def test_the_use_case_form_offers_only_own_data_sources(
    owner, analysis, other_data_source, client_for
):
    DataSourceFactory(analysis=analysis, name="Trip logs")
    response = client_for(owner).get("/o/acme/analyses/uber/use-cases/new/")
    assert "Trip logs" in response.text
    assert other_data_source.name not in response.text


def test_lists_show_only_own_rows(member, analysis, other_analysis, other_data_source, client_for):
    DataSourceFactory(analysis=analysis, name="Trip logs")
    client = client_for(member)
    assert other_analysis.name not in client.get("/o/acme/analyses/").text
    assert other_data_source.name not in client.get("/o/acme/analyses/data-sources/").text


def test_api_lists_return_only_own_rows(
    member, analysis, other_analysis, other_data_source, client_for
):
    DataSourceFactory(analysis=analysis, name="Trip logs")
    client = client_for(member)
    analyses = client.get("/api/v1/analyses/", HTTP_X_ORGANIZATION="acme").json()["results"]
    sources = client.get("/api/v1/data-sources/", HTTP_X_ORGANIZATION="acme").json()["results"]
    assert [a["name"] for a in analyses] == ["Uber"]
    assert [s["name"] for s in sources] == ["Trip logs"]
