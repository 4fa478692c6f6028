"""Services of business analyses: they save, audit, and never link two organizations."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.models import AuditEvent
from mlprojects.analyses import services
from mlprojects.models import DataSource, OutputUse, Project, UseCase

from .factories import DataSourceFactory, UseCaseFactory


def test_analysis_create_makes_a_slug_and_audits(org, member):
    analysis = services.analysis_create(org=org, user=member, name="Uber Eats")
    assert analysis.slug == "uber-eats"
    assert AuditEvent.objects.filter(organization=org, action="analysis.created").exists()


def test_analysis_slugs_stay_unique_within_the_organization(org, member):
    first = services.analysis_create(org=org, user=member, name="Uber")
    second = services.analysis_create(org=org, user=member, name="Uber")
    assert (first.slug, second.slug) == ("uber", "uber-2")


@pytest.mark.parametrize("name", ["New", "Data sources"])
def test_analysis_slug_never_shadows_a_page_of_the_list(org, member, name):
    analysis = services.analysis_create(org=org, user=member, name=name)
    assert analysis.slug not in {"new", "data-sources"}


def test_analysis_update_keeps_the_slug(analysis, member):
    services.analysis_update(analysis=analysis, user=member, data={"name": "Uber Technologies"})
    analysis.refresh_from_db()
    assert (analysis.name, analysis.slug) == ("Uber Technologies", "uber")


def test_deleting_an_analysis_keeps_its_data_sources(analysis, member):
    source = DataSourceFactory(analysis=analysis)
    services.analysis_delete(analysis=analysis, user=member)
    source.refresh_from_db()
    assert source.analysis is None


def test_a_data_source_cannot_join_another_organizations_analysis(org, member, other_analysis):
    with pytest.raises(ValidationError) as excinfo:
        services.data_source_create(org=org, user=member, name="Trips", analysis=other_analysis)
    assert "analysis" in excinfo.value.message_dict
    assert not DataSource.objects.filter(name="Trips").exists()


def test_a_use_case_cannot_use_another_organizations_data(analysis, member, other_data_source):
    with pytest.raises(ValidationError) as excinfo:
        services.use_case_create(
            analysis=analysis,
            user=member,
            name="ETA",
            prediction="Minutes",
            output_use=OutputUse.CUSTOMER_OTHER,
            data_sources=[other_data_source],
        )
    assert "data_sources" in excinfo.value.message_dict
    assert not UseCase.objects.filter(name="ETA").exists()


def test_use_case_update_replaces_its_input_data(analysis, member):
    trips, gps = DataSourceFactory(analysis=analysis), DataSourceFactory(analysis=analysis)
    use_case = UseCaseFactory(analysis=analysis)
    use_case.data_sources.add(trips)
    services.use_case_update(use_case=use_case, user=member, data={"data_sources": [gps]})
    assert list(use_case.data_sources.all()) == [gps]


def test_the_database_refuses_a_rating_outside_1_to_5(analysis):
    with pytest.raises(IntegrityError):
        DataSourceFactory(analysis=analysis, label_quality=6)


def test_the_weakest_rating_summarises_a_data_source(analysis):
    source = DataSourceFactory(
        analysis=analysis, trustworthiness=5, consistency=2, label_quality=4, continuity=None
    )
    assert source.weakest == ("Consistent", 2)
    assert source.trust_level == "bad"


def test_an_unrated_data_source_has_no_summary(analysis):
    source = DataSourceFactory(
        analysis=analysis,
        trustworthiness=None,
        consistency=None,
        label_quality=None,
        continuity=None,
    )
    assert source.weakest is None
    assert source.trust_level == ""


def test_interview_create_saves_the_notes(analysis, member):
    interview = services.interview_create(
        analysis=analysis,
        user=member,
        interviewee="Marco",
        team="Payments",
        held_on=datetime.date(2026, 9, 21),
        learned="Labels lag 90 days.",
    )
    assert list(analysis.interviews.all()) == [interview]


class TestUseCaseToProject:
    @pytest.fixture
    def use_case(self, analysis):
        payments = DataSourceFactory(analysis=analysis, name="Payments")
        use_case = UseCaseFactory(
            analysis=analysis,
            name="Fraud detection on payments",
            prediction="Probability that a payment is fraudulent.",
            output_use=OutputUse.AUTOMATION,
            output_detail="Holds risky payments for review.",
            expected_impact="Lower chargeback losses.",
        )
        use_case.data_sources.add(payments)
        return use_case

    def test_it_creates_a_project_prefilled_from_the_use_case(self, use_case, org, member):
        project, created = services.use_case_create_project(use_case=use_case, user=member)
        assert created
        assert project.organization == org
        assert project.name == "Fraud detection on payments"
        assert "Input data: Payments." in project.summary
        assert "Prediction: Probability that a payment is fraudulent." in project.summary
        assert "Automates internal manual work: Holds risky payments" in project.summary
        assert "Expected impact: Lower chargeback losses." in project.summary

    def test_it_fills_every_field_of_the_use_case_into_the_steps(self, use_case, member):
        project, _ = services.use_case_create_project(use_case=use_case, user=member)
        cycle = project.cycles.get()
        assert list(cycle.phenomenon.data_sources.all()) == list(use_case.data_sources.all())
        assert cycle.phenomenon.worth_solving == "Lower chargeback losses."
        assert cycle.problem.what_to_know == "Probability that a payment is fraudulent."
        assert cycle.problem.success_means == (
            "Automates internal manual work: Holds risky payments for review."
        )
        assert cycle.feasibility.business_value == "Lower chargeback losses."

    def test_it_links_the_use_case_to_the_project(self, use_case, member):
        project, _ = services.use_case_create_project(use_case=use_case, user=member)
        use_case.refresh_from_db()
        assert use_case.project == project

    def test_doing_it_twice_creates_one_project(self, use_case, org, member):
        first, _ = services.use_case_create_project(use_case=use_case, user=member)
        second, created = services.use_case_create_project(use_case=use_case, user=member)
        assert second == first
        assert not created
        assert Project.objects.filter(organization=org).count() == 1

    def test_a_deleted_project_can_be_made_again(self, use_case, member):
        first, _ = services.use_case_create_project(use_case=use_case, user=member)
        first.delete()
        use_case.refresh_from_db()
        second, created = services.use_case_create_project(use_case=use_case, user=member)
        assert created
        assert second.pk != first.pk
