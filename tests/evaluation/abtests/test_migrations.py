"""Migrations of A/B tests run on a database that already holds tests."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("evaluation", "0004_lifecycle_links")]
AFTER = [("evaluation", "0005_abmetric_direction_as_lifecycle")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def a_test_with_metrics(apps, directions: list[str]) -> None:
    organization = apps.get_model("accounts", "Organization").objects.create(
        name="Acme", slug="acme"
    )
    project = apps.get_model("mlprojects", "Project").objects.create(
        organization=organization, name="Menu", slug="menu"
    )
    abtest = apps.get_model("evaluation", "ABTest").objects.create(project=project, name="Menu")
    ABMetric = apps.get_model("evaluation", "ABMetric")
    for position, direction in enumerate(directions):
        ABMetric.objects.create(
            abtest=abtest,
            key=f"m{position}",
            type="binomial",
            role="primary" if position == 0 else "secondary",
            direction=direction,
            position=position,
        )


def stored_directions(apps) -> list[str]:
    metrics = apps.get_model("evaluation", "ABMetric").objects.order_by("position")
    return list(metrics.values_list("direction", flat=True))


@pytest.fixture
def at_latest_afterwards():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_stored_directions_become_the_lifecycle_words(at_latest_afterwards):
    a_test_with_metrics(migrate(BEFORE), ["increase", "decrease", "increase"])
    assert stored_directions(migrate(AFTER)) == ["higher", "lower", "higher"]


@pytest.mark.django_db(transaction=True)
def test_the_direction_migration_can_be_reversed(at_latest_afterwards):
    a_test_with_metrics(migrate(AFTER), ["higher", "lower"])
    assert stored_directions(migrate(BEFORE)) == ["increase", "decrease"]
