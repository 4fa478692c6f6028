"""Business-analysis fixtures, imported by tests/conftest.py so the tenancy sweep
(tests/test_tenancy.py) can name another organization's objects."""

import pytest

from .factories import (
    BusinessAnalysisFactory,
    DataSourceFactory,
    InterviewFactory,
    OfferingFactory,
    UseCaseFactory,
)


@pytest.fixture
def analysis(org, member):
    return BusinessAnalysisFactory(
        organization=org, name="Uber", slug="uber", how_it_earns="Commission.", created_by=member
    )


@pytest.fixture
def other_analysis(other_org):
    return BusinessAnalysisFactory(organization=other_org, name="Globex", slug="globex-analysis")


@pytest.fixture
def other_data_source(other_analysis):
    return DataSourceFactory(analysis=other_analysis, name="Globex secrets")


@pytest.fixture
def other_offering(other_analysis):
    return OfferingFactory(analysis=other_analysis, name="Globex offering")


@pytest.fixture
def other_use_case(other_analysis, other_data_source):
    use_case = UseCaseFactory(analysis=other_analysis, name="Globex use case")
    use_case.data_sources.add(other_data_source)
    return use_case


@pytest.fixture
def other_interview(other_analysis):
    return InterviewFactory(analysis=other_analysis, interviewee="Globex person")
