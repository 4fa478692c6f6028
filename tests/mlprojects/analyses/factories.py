"""Factories for business-analysis test data."""

import datetime

import factory

from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, UseCase
from tests.factories import OrganizationFactory


class BusinessAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessAnalysis

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class DataSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataSource

    analysis = factory.SubFactory(BusinessAnalysisFactory)
    organization = factory.SelfAttribute("analysis.organization")
    name = factory.Sequence(lambda n: f"Source {n}")
    trustworthiness = 4
    consistency = 4
    label_quality = 3
    continuity = 5


class OfferingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offering

    analysis = factory.SubFactory(BusinessAnalysisFactory)
    name = factory.Sequence(lambda n: f"Offering {n}")
    value = "Gets people where they need to go."


class UseCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UseCase

    analysis = factory.SubFactory(BusinessAnalysisFactory)
    name = factory.Sequence(lambda n: f"Use case {n}")
    prediction = "Minutes until pick-up."
    output_use = "customer_other"


class InterviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interview

    analysis = factory.SubFactory(BusinessAnalysisFactory)
    interviewee = factory.Sequence(lambda n: f"Person {n}")
    team = "Payments"
    held_on = datetime.date(2026, 9, 21)
    learned = "Chargebacks arrive weeks later."
