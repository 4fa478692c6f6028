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
        "review",
        "uber-analysis",
        "other-company",
    ]


@pytest.mark.django_db
def test_loading_the_demo_twice_duplicates_nothing():
    call_command("load_demo", stdout=io.StringIO())
    counts = (Organization.objects.count(), Project.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert (Organization.objects.count(), Project.objects.count()) == counts == (2, 4)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["news-feed-ranking", "fraud-detection"])
def test_every_demo_project_has_its_phenomenon_and_problem_written(slug):
    from mlprojects.lifecycle import readiness, selectors

    call_command("load_demo", stdout=io.StringIO())
    project = Project.objects.get(slug=slug)
    # Cycle 1: the fraud story's cycle 2 starts with causes carried from monitoring.
    steps = selectors.cycle_steps(selectors.cycle_get(project=project, number=1))
    checks = {c.key: c.ok for c in readiness.evaluate(steps).checks}
    for key in ("phenomenon", "hypothesis", "problem", "causes", "solutions"):
        assert checks[key], key
    problem = steps["problem_definition"]
    (root,) = problem["tree"]
    assert root["title"] == problem["statement"]  # the statement is the tree's root
    assert all(cause["evidence"] for cause in root["children"])
    assert problem["for_whom"] and problem["success_means"]
