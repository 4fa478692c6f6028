"""The demo is told by the loaders each app registers, in the story's order."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Organization
from mlprojects.models import Project
from mlprojects.site.demo import demo_loaders


def test_every_apps_loaders_are_registered_in_the_storys_order():
    assert [loader.name for loader in demo_loaders()] == [
        "projects",
        "abtests",
        "runs",
        "registry",
        "evaluations",
        "monitoring",
        "prototypes",
        "uber-analysis",
        "other-company",
    ]


@pytest.mark.django_db
def test_loading_the_demo_twice_duplicates_nothing():
    call_command("load_demo", stdout=io.StringIO())
    counts = (Organization.objects.count(), Project.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert (Organization.objects.count(), Project.objects.count()) == counts == (2, 4)
