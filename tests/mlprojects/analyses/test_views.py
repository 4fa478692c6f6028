"""The analysis pages, and in-place editing of each part with and without htmx."""

import pytest

from mlprojects.models import BusinessAnalysis, DataSource, Offering, OutputUse, Project, UseCase

from .factories import DataSourceFactory, InterviewFactory, OfferingFactory, UseCaseFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client(member, client_for):
    return client_for(member)


@pytest.fixture
def filled(analysis):
    """An analysis with one of each part."""
    trips = DataSourceFactory(analysis=analysis, name="Trip logs", label_quality=2)
    OfferingFactory(analysis=analysis, name="Rides", value="A car in minutes.")
    eta = UseCaseFactory(analysis=analysis, name="ETA shown to riders", output_use="ranking")
    eta.data_sources.add(trips)
    UseCaseFactory(analysis=analysis, name="Fraud detection", output_use=OutputUse.AUTOMATION)
    InterviewFactory(analysis=analysis, interviewee="Marco", learned="Labels lag 90 days.")
    return analysis


# Pages


def test_the_list_shows_the_organizations_analyses(client, filled):
    response = client.get("/o/acme/analyses/")
    assert response.status_code == 200
    assert "Uber" in response.text
    assert "1 offering" in response.text


def test_the_list_offers_a_first_analysis_when_there_is_none(client, org):
    response = client.get("/o/acme/analyses/")
    assert "No business analyses yet" in response.text


def test_creating_an_analysis_opens_it(client, org):
    response = client.post("/o/acme/analyses/new/", {"name": "Uber", "how_it_earns": "Fees"})
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/analyses/uber/"
    assert BusinessAnalysis.objects.get(organization=org).how_it_earns == "Fees"


def test_an_analysis_without_a_name_is_refused_inline(client, org):
    response = client.post("/o/acme/analyses/new/", {"name": ""})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert not BusinessAnalysis.objects.exists()


def test_the_document_shows_every_part(client, filled):
    response = client.get("/o/acme/analyses/uber/")
    assert response.status_code == 200
    for text in ("Rides", "A car in minutes.", "Trip logs", "Marco", "Labels lag 90 days."):
        assert text in response.text


def test_the_document_groups_use_cases_by_how_the_output_is_used(client, filled):
    text = client.get("/o/acme/analyses/uber/").text
    customer = text.index('id="use-cases-customer"')
    internal = text.index('id="use-cases-internal"')
    assert customer < text.index("ETA shown to riders") < internal
    assert internal < text.index("Fraud detection")


def test_the_document_flags_the_weakest_rating_of_a_source(client, filled):
    assert "Weakest: labels 2/5" in client.get("/o/acme/analyses/uber/").text


def test_the_document_takes_a_fixed_number_of_queries(
    client, filled, django_assert_max_num_queries
):
    for _ in range(5):
        UseCaseFactory(analysis=filled).data_sources.add(DataSourceFactory(analysis=filled))
    with django_assert_max_num_queries(14):
        client.get("/o/acme/analyses/uber/")


def test_the_data_source_list_flags_the_weakest_rating(client, filled):
    DataSourceFactory(analysis=filled, name="Payments", label_quality=5)
    response = client.get("/o/acme/analyses/data-sources/")
    assert response.status_code == 200
    assert "Weakest: labels 2/5" in response.text
    assert "1 with a weak spot" in response.text


def test_an_unknown_analysis_is_404(client, org):
    assert client.get("/o/acme/analyses/nope/").status_code == 404


# Adding a part


def test_the_add_form_is_a_fragment_for_htmx(client, analysis):
    response = client.get("/o/acme/analyses/uber/offerings/new/", **HTMX)
    assert response.status_code == 200
    assert 'hx-post="/o/acme/analyses/uber/offerings/new/"' in response.text
    assert "<html" not in response.text


def test_the_add_form_is_a_page_without_htmx(client, analysis):
    response = client.get("/o/acme/analyses/uber/offerings/new/")
    assert response.status_code == 200
    assert "<html" in response.text
    assert 'action="/o/acme/analyses/uber/offerings/new/"' in response.text


def test_an_added_part_is_appended_to_its_list_for_htmx(client, analysis):
    response = client.post(
        "/o/acme/analyses/uber/offerings/new/", {"name": "Uber Eats", "value": "Food"}, **HTMX
    )
    assert response.status_code == 200
    assert 'hx-swap-oob="beforeend:#offerings"' in response.text
    assert "Uber Eats" in response.text
    assert Offering.objects.get(analysis=analysis).name == "Uber Eats"


def test_an_added_part_redirects_to_its_section_without_htmx(client, analysis):
    response = client.post("/o/acme/analyses/uber/offerings/new/", {"name": "Uber Eats"})
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/analyses/uber/#offerings"


def test_invalid_input_re_renders_the_form_fragment_with_errors(client, analysis):
    response = client.post("/o/acme/analyses/uber/offerings/new/", {"name": ""}, **HTMX)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert "This field is required." in response.text
    assert "<html" not in response.text
    assert not Offering.objects.exists()


def test_invalid_input_re_renders_the_page_without_htmx(client, analysis):
    response = client.post("/o/acme/analyses/uber/interviews/new/", {"interviewee": "Marco"})
    assert response.status_code == 200
    assert "<html" in response.text
    assert 'aria-invalid="true"' in response.text


def test_a_customer_facing_use_case_joins_the_customer_group(client, analysis):
    source = DataSourceFactory(analysis=analysis)
    data = {
        "name": "Eats recommendations",
        "data_sources": [source.pk],
        "prediction": "Restaurants an eater will order from.",
        "output_use": "recommendation",
    }
    response = client.post("/o/acme/analyses/uber/use-cases/new/", data, **HTMX)
    assert 'hx-swap-oob="beforeend:#use-cases-customer"' in response.text
    assert list(UseCase.objects.get().data_sources.all()) == [source]


def test_the_internal_add_button_preselects_automation(client, analysis):
    response = client.get("/o/acme/analyses/uber/use-cases/new/?output_use=automation", **HTMX)
    assert '<option value="automation" selected>' in response.text


def test_a_use_case_refuses_another_organizations_data_source(client, analysis, other_data_source):
    data = {
        "name": "Leak",
        "data_sources": [other_data_source.pk],
        "prediction": "x",
        "output_use": "filter",
    }
    response = client.post("/o/acme/analyses/uber/use-cases/new/", data, **HTMX)
    assert response.status_code == 200
    assert "is not one of the available choices" in response.text
    assert not UseCase.objects.exists()


def test_a_data_source_added_on_an_analysis_belongs_to_it(client, org, analysis):
    response = client.get("/o/acme/analyses/data-sources/new/?analysis=uber", **HTMX)
    assert f'<option value="{analysis.pk}" selected>' in response.text
    data = {"name": "GPS traces", "analysis": analysis.pk, "trustworthiness": "4"}
    response = client.post("/o/acme/analyses/data-sources/new/?analysis=uber", data, **HTMX)
    assert 'hx-swap-oob="beforeend:#data-sources"' in response.text
    source = DataSource.objects.get(organization=org)
    assert (source.analysis, source.trustworthiness, source.consistency) == (analysis, 4, None)


def test_a_rating_outside_1_to_5_is_refused(client, analysis):
    data = {"name": "GPS", "analysis": analysis.pk, "continuity": "9"}
    response = client.post("/o/acme/analyses/data-sources/new/", data, **HTMX)
    assert "Select a valid choice" in response.text
    assert not DataSource.objects.exists()


def test_an_organization_wide_data_source_returns_to_the_list(client, org):
    response = client.post("/o/acme/analyses/data-sources/new/", {"name": "Payments"})
    assert response["Location"] == "/o/acme/analyses/data-sources/"
    assert DataSource.objects.get(organization=org).analysis is None


# Editing and deleting a part


def test_the_edit_form_starts_from_the_saved_values(client, analysis):
    offering = OfferingFactory(analysis=analysis, name="Rides")
    response = client.get(f"/o/acme/analyses/uber/offerings/{offering.pk}/edit/", **HTMX)
    assert 'value="Rides"' in response.text
    assert f'hx-get="/o/acme/analyses/uber/offerings/{offering.pk}/"' in response.text


def test_a_saved_edit_swaps_the_item_back_for_htmx(client, analysis):
    offering = OfferingFactory(analysis=analysis, name="Rides")
    url = f"/o/acme/analyses/uber/offerings/{offering.pk}/edit/"
    response = client.post(url, {"name": "Rides & Reserve", "value": "Book ahead"}, **HTMX)
    assert response.status_code == 200
    assert f'id="offering-{offering.pk}"' in response.text
    assert "hx-swap-oob" not in response.text
    offering.refresh_from_db()
    assert (offering.name, offering.value) == ("Rides & Reserve", "Book ahead")


def test_a_saved_edit_redirects_without_htmx(client, analysis):
    interview = InterviewFactory(analysis=analysis)
    url = f"/o/acme/analyses/uber/interviews/{interview.pk}/edit/"
    data = {"interviewee": "Lena", "team": "Onboarding", "held_on": "2026-10-02", "learned": "x"}
    response = client.post(url, data)
    assert response["Location"] == "/o/acme/analyses/uber/#interviews"
    interview.refresh_from_db()
    assert interview.interviewee == "Lena"


def test_an_invalid_edit_changes_nothing(client, analysis):
    offering = OfferingFactory(analysis=analysis, name="Rides")
    url = f"/o/acme/analyses/uber/offerings/{offering.pk}/edit/"
    response = client.post(url, {"name": ""}, **HTMX)
    assert 'aria-invalid="true"' in response.text
    offering.refresh_from_db()
    assert offering.name == "Rides"


def test_a_use_case_turned_internal_moves_to_the_internal_group(client, analysis):
    use_case = UseCaseFactory(analysis=analysis, output_use="ranking")
    url = f"/o/acme/analyses/uber/use-cases/{use_case.pk}/edit/"
    data = {"name": use_case.name, "prediction": "x", "output_use": "automation"}
    response = client.post(url, data, **HTMX)
    assert 'hx-swap-oob="beforeend:#use-cases-internal"' in response.text


def test_cancel_returns_the_item_fragment(client, analysis):
    offering = OfferingFactory(analysis=analysis, name="Rides")
    response = client.get(f"/o/acme/analyses/uber/offerings/{offering.pk}/", **HTMX)
    assert f'id="offering-{offering.pk}"' in response.text
    assert "<html" not in response.text


def test_the_item_url_without_htmx_goes_to_the_item_on_the_page(client, analysis):
    offering = OfferingFactory(analysis=analysis)
    response = client.get(f"/o/acme/analyses/uber/offerings/{offering.pk}/")
    assert response["Location"] == "/o/acme/analyses/uber/#offerings"


def test_deleting_a_part_with_htmx_answers_empty(client, analysis):
    offering = OfferingFactory(analysis=analysis)
    response = client.post(f"/o/acme/analyses/uber/offerings/{offering.pk}/delete/", **HTMX)
    assert (response.status_code, response.content) == (200, b"")
    assert not Offering.objects.exists()


def test_deleting_a_part_without_htmx_redirects(client, analysis):
    source = DataSourceFactory(analysis=analysis)
    response = client.post(f"/o/acme/analyses/data-sources/{source.pk}/delete/")
    assert response["Location"] == "/o/acme/analyses/uber/#data-sources"
    assert not DataSource.objects.exists()


def test_delete_needs_post(client, analysis):
    offering = OfferingFactory(analysis=analysis)
    response = client.get(f"/o/acme/analyses/uber/offerings/{offering.pk}/delete/")
    assert response.status_code == 405


def test_editing_and_deleting_the_analysis(client, analysis):
    response = client.post("/o/acme/analyses/uber/edit/", {"name": "Uber Inc."})
    assert response["Location"] == "/o/acme/analyses/uber/"
    response = client.post("/o/acme/analyses/uber/delete/")
    assert response["Location"] == "/o/acme/analyses/"
    assert not BusinessAnalysis.objects.exists()


# Use case → project


def test_turning_a_use_case_into_a_project_opens_it(client, org, analysis):
    use_case = UseCaseFactory(analysis=analysis, name="ETA prediction")
    response = client.post(f"/o/acme/analyses/uber/use-cases/{use_case.pk}/project/")
    project = Project.objects.get(organization=org)
    assert response["Location"] == f"/o/acme/projects/{project.slug}/"
    assert project.name == "ETA prediction"


def test_turning_a_use_case_into_a_project_twice_opens_the_same_project(client, org, analysis):
    use_case = UseCaseFactory(analysis=analysis)
    url = f"/o/acme/analyses/uber/use-cases/{use_case.pk}/project/"
    first = client.post(url)["Location"]
    second = client.post(url)["Location"]
    assert first == second
    assert Project.objects.filter(organization=org).count() == 1


def test_a_linked_use_case_links_to_its_project_instead_of_the_button(client, analysis):
    use_case = UseCaseFactory(analysis=analysis, name="ETA prediction")
    client.post(f"/o/acme/analyses/uber/use-cases/{use_case.pk}/project/")
    text = client.get("/o/acme/analyses/uber/").text
    assert "Project: ETA prediction →" in text
    assert "Turn into a project" not in text
