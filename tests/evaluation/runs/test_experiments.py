"""The MLflow side of projects, below the endpoint: experiments made on demand for projects
made in the browser, the existing projects' experiments made by the migration, and the one
Default experiment per organization."""

import importlib
import math

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from evaluation.models import Experiment, Run
from evaluation.runs import services
from evaluation.runs.models import from_json_number
from tests.factories import ProjectFactory, RunFactory

migration = importlib.import_module("evaluation.migrations.0006_mlflow_lifecycle")


def test_the_migration_names_existing_projects_experiments_after_them(org, other_org):
    first = ProjectFactory(organization=org, name="Churn", slug="churn")
    twin = ProjectFactory(organization=org, name="Churn", slug="churn-2")
    elsewhere = ProjectFactory(organization=other_org, name="Churn", slug="churn")
    migration.name_existing_experiments(apps, None)
    names = dict(Experiment.objects.values_list("project_id", "name"))
    assert names == {first.pk: "Churn", twin.pk: "Churn (churn-2)", elsewhere.pk: "Churn"}
    assert Experiment.objects.get(project=first).created_at == first.created_at


def test_projects_made_in_the_browser_get_an_experiment_on_demand(org, project):
    assert not Experiment.objects.exists()
    experiment = services.experiment_for(project=project)
    assert (experiment.name, experiment.organization) == ("Menu recommender", org)
    services.experiments_ensure(org=org)  # nothing left to do
    assert Experiment.objects.count() == 1


def test_ensuring_experiments_takes_one_query_when_nothing_is_missing(
    org, project, django_assert_num_queries
):
    services.experiments_ensure(org=org)
    with django_assert_num_queries(1):
        services.experiments_ensure(org=org)


def test_there_is_one_default_experiment_per_organization(org, other_org, member):
    first = services.experiment_default(org=org, user=member)
    assert services.experiment_default(org=org, user=member) == first
    other = services.experiment_default(org=other_org, user=None)
    assert other != first
    assert Experiment.objects.filter(is_default=True).count() == 2


def test_the_default_experiment_yields_its_name_to_a_project_called_default(org, member):
    ProjectFactory(organization=org, name="Default", slug="default")
    default = services.experiment_default(org=org, user=member)
    assert default.name == "Default (Unsorted runs)"


def test_an_experiment_name_is_checked_like_mlflow_checks_it(org, member):
    with pytest.raises(ValidationError, match="at most 500"):
        services.experiment_create(org=org, user=member, name="x" * 501)
    experiment = services.experiment_create(org=org, user=member, name="x" * 500)
    assert experiment.name == "x" * 500
    assert len(experiment.project.name) == 200  # the project's display name is shorter


def test_deleting_an_experiment_keeps_its_project_and_a_run_deleted_earlier(org, member):
    experiment = services.experiment_create(org=org, user=member, name="e")
    early = RunFactory(project=experiment.project, name="early")
    services.run_set_deleted(run=early, deleted=True, actor=member)
    deleted_at = Run.objects.get(pk=early.pk).deleted_at
    services.experiment_set_deleted(experiment=experiment, deleted=True, actor=member)
    assert Run.objects.get(pk=early.pk).deleted_at == deleted_at
    assert experiment.project.pk is not None


@pytest.mark.parametrize(
    ("stored", "value"),
    [
        (None, math.nan),
        (1.7976931348623157e308, math.inf),
        (-1.7976931348623157e308, -math.inf),
        (int("17976931348623157" + "0" * 292), math.inf),  # as PostgreSQL's jsonb gives it back
        (10**20, 1e20),
        (0.5, 0.5),
    ],
)
def test_latest_metric_values_are_read_back_from_json(stored, value):
    read = from_json_number(stored)
    assert isinstance(read, float)
    assert read == value or (math.isnan(read) and math.isnan(value))
