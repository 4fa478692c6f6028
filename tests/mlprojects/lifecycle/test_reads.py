"""Reading a project writes nothing: every project has its current cycle from the start,
so no page or API read has anything to create."""

import importlib

from django.apps import apps

from mlprojects.lifecycle import selectors
from mlprojects.models import Project, ProjectCycle
from tests.factories import ProjectFactory


def test_reading_the_project_page_writes_nothing(project, reader_for, member, assert_no_writes):
    client = reader_for(member)
    with assert_no_writes():
        response = client.get(f"/o/acme/projects/{project.slug}/")
    assert response.status_code == 200


def test_reading_a_project_through_the_api_writes_nothing(
    project, reader_for, member, assert_no_writes
):
    client = reader_for(member)
    with assert_no_writes():
        response = client.get(f"/api/v1/projects/{project.pk}/", HTTP_X_ORGANIZATION="acme")
    assert response.status_code == 200


def test_a_project_is_made_with_its_first_cycle(project):
    assert list(project.cycles.values_list("number", flat=True)) == [1]


def test_the_migration_gives_a_project_without_its_cycle_one(org):
    migration = importlib.import_module("mlprojects.migrations.0006_current_cycles")
    bare = Project.objects.create(organization=org, name="Imported", slug="imported")
    made = ProjectFactory(organization=org)
    migration.create_missing_current_cycles(apps, None)
    migration.create_missing_current_cycles(apps, None)  # once only
    assert ProjectCycle.objects.filter(project=bare).count() == 1
    assert ProjectCycle.objects.filter(project=made).count() == 1
    assert selectors.cycle_get(project=bare).further_analysis is not None
