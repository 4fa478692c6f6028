"""The Uber demo analysis: it tells the seed's story and loading it twice duplicates
nothing."""

import io

from django.core.management import call_command

from accounts.models import Organization
from mlprojects.analyses.demo import load_uber_analysis
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, UseCase

MODELS = [BusinessAnalysis, Offering, DataSource, UseCase, Interview]


def counts() -> list[int]:
    return [model.objects.count() for model in MODELS]


def test_the_uber_analysis_tells_the_case_study(org):
    analysis = load_uber_analysis(org)
    assert [o.name for o in analysis.offerings.all()] == [
        "Rides",
        "Uber Eats",
        "Earning",
        "Cities",
        "Business",
    ]
    names = {u.name: u.is_customer_facing for u in analysis.use_cases.all()}
    assert names["ETA prediction shown to riders"] is True
    assert names["Eats restaurant recommendations"] is True
    assert names["Fraud detection on payments"] is False
    assert names["Document verification for driver onboarding"] is False
    assert analysis.interviews.count() >= 2
    assert all(s.weakest for s in analysis.data_sources.all())


def test_loading_the_uber_analysis_twice_duplicates_nothing(org):
    load_uber_analysis(org)
    first = counts()
    load_uber_analysis(org)
    assert counts() == first


def test_load_demo_twice_duplicates_nothing(db):
    call_command("load_demo", stdout=io.StringIO())
    first = counts()
    call_command("load_demo", stdout=io.StringIO())
    assert counts() == first
    assert BusinessAnalysis.objects.get().organization == Organization.objects.get(slug="demo")
