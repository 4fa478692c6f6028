"""Experiments and runs through their lifecycle with the unchanged mlflow client, as MLflow's
own REST tests exercise them (tests/tracking/test_rest_tracking.py and the store tests): a
fresh organization stands in for a fresh MLflow server."""

import json
import math

import pytest

from accounts.models import AuditEvent
from evaluation.models import Dataset, Experiment, Run, RunInput
from mlprojects.models import Project
from tests.factories import ProjectFactory, RunFactory

mlflow = pytest.importorskip("mlflow")
from mlflow.entities import (  # noqa: E402
    Dataset as MlflowDataset,
)
from mlflow.entities import (  # noqa: E402
    DatasetInput,
    InputTag,
    ViewType,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def _error(call) -> MlflowException:
    with pytest.raises(MlflowException) as error:
        call()
    return error.value


# -- the Default experiment -----------------------------------------------------------------
def test_a_run_started_without_an_experiment_lands_in_the_default_experiment(tracking, org):
    with mlflow.start_run(run_name="quick-try") as active:
        mlflow.log_metric("loss", 0.3)
    assert active.info.experiment_id == "0"
    run = Run.objects.get(pk=int(active.info.run_id))
    default = Experiment.objects.get(organization=org, is_default=True)
    assert run.project == default.project
    assert (default.name, default.project.name) == ("Default", "Unsorted runs")
    assert MlflowClient().get_run(active.info.run_id).info.experiment_id == "0"


def test_the_default_experiment_answers_to_id_0_and_to_its_name(tracking, org):
    client = MlflowClient()
    experiment = client.get_experiment("0")
    assert (experiment.experiment_id, experiment.name) == ("0", "Default")
    assert experiment.lifecycle_stage == "active"
    assert client.get_experiment_by_name("Default").experiment_id == "0"
    assert Project.objects.filter(organization=org).count() == 1  # created once


def test_a_read_token_does_not_create_the_default_experiment(use_token, token_for, member):
    use_token(token_for(member, "read"))
    assert _error(lambda: MlflowClient().get_experiment("0")).error_code == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    assert not Project.objects.exists()


def test_runs_of_the_default_experiment_are_searched_by_id_0(tracking):
    with mlflow.start_run(run_name="a"):
        pass
    found = MlflowClient().search_runs(["0"])
    assert [r.info.run_name for r in found] == ["a"]


# -- names ----------------------------------------------------------------------------------
def test_an_experiment_keeps_the_name_it_was_created_with(tracking, org):
    client = MlflowClient()
    experiment_id = client.create_experiment("My Experiment", tags={"key1": "val1"})
    experiment = client.get_experiment(experiment_id)
    assert experiment.name == "My Experiment"
    assert experiment.tags == {"key1": "val1"}
    assert client.get_experiment_by_name("My Experiment").experiment_id == experiment_id
    assert client.get_experiment_by_name("my-experiment") is not None  # the project's slug
    assert client.get_experiment_by_name("idontexist") is None
    project = Project.objects.get(pk=int(experiment_id))
    assert (project.name, project.slug) == ("My Experiment", "my-experiment")


def test_names_are_unique_in_the_organization(tracking):
    client = MlflowClient()
    client.create_experiment("test")
    error = _error(lambda: client.create_experiment("test"))
    assert error.error_code == "RESOURCE_ALREADY_EXISTS"
    assert "Experiment(name=test) already exists" in error.message


def test_the_same_name_in_another_organization_is_another_experiment(tracking, other_org):
    ProjectFactory(organization=other_org, name="Shared name", slug="shared-name")
    experiment_id = MlflowClient().create_experiment("Shared name")
    assert Project.objects.get(pk=int(experiment_id)).organization != other_org


def test_renaming_an_experiment(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("BadName")
    client.rename_experiment(experiment_id, "GoodName")
    assert client.get_experiment(experiment_id).name == "GoodName"
    assert client.get_experiment_by_name("BadName") is None
    # The project made by the client follows; its slug, part of its URLs, stays.
    project = Project.objects.get(pk=int(experiment_id))
    assert (project.name, project.slug) == ("GoodName", "badname")


def test_a_project_renamed_in_the_browser_keeps_its_name_when_the_experiment_is_renamed(
    tracking, project
):
    client = MlflowClient()
    client.rename_experiment(str(project.pk), "menu-v2")  # same names so far: both change
    project.refresh_from_db()
    assert project.name == "menu-v2"
    project.name = "Menu recommender, second cycle"
    project.save()
    client.rename_experiment(str(project.pk), "menu-v3")
    project.refresh_from_db()
    assert project.name == "Menu recommender, second cycle"
    assert client.get_experiment(str(project.pk)).name == "menu-v3"


def test_renaming_to_a_taken_name_is_refused(tracking):
    client = MlflowClient()
    first = client.create_experiment("one")
    client.create_experiment("two")
    assert _error(lambda: client.rename_experiment(first, "two")).error_code == (
        "RESOURCE_ALREADY_EXISTS"
    )


def test_a_project_made_in_the_browser_is_an_experiment_named_after_it(tracking, org, project):
    ProjectFactory(organization=org, name="Menu recommender", slug="menu-recommender-2")
    names = {e.name for e in MlflowClient().search_experiments()}
    # Two projects share a display name; the second experiment name carries its slug.
    assert names == {"Menu recommender", "Menu recommender (menu-recommender-2)"}


# -- delete and restore ---------------------------------------------------------------------
def test_deleting_and_restoring_an_experiment(tracking, member):
    client = MlflowClient()
    experiment_id = client.create_experiment("Deleterious")
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert {e.name for e in client.search_experiments()} == set()
    assert {e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)} == {
        "Deleterious"
    }
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert Project.objects.filter(pk=int(experiment_id)).exists()  # the project stays
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("pk"))
    assert actions[-2:] == ["experiment.deleted", "experiment.restored"]
    assert AuditEvent.objects.filter(action="experiment.deleted", actor=member).exists()


def test_deleting_an_experiment_deletes_its_runs_and_restoring_restores_them(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("test exp")
    first = client.create_run(experiment_id).info.run_id
    second = client.create_run(experiment_id).info.run_id
    client.delete_run(first)
    client.delete_experiment(experiment_id)
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert {r.info.run_id for r in deleted} == {first, second}
    assert {r.info.lifecycle_stage for r in deleted} == {"deleted"}
    client.restore_experiment(experiment_id)
    active = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY)
    assert {r.info.run_id for r in active} == {first, second}


def test_no_run_is_created_in_a_deleted_experiment(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("gone")
    client.delete_experiment(experiment_id)
    assert _error(lambda: client.create_run(experiment_id)).error_code == (
        "INVALID_PARAMETER_VALUE"
    )
    with pytest.raises(MlflowException, match="deleted experiment"):
        mlflow.set_experiment("gone")


def test_deleting_and_restoring_a_run(tracking, project):
    client = MlflowClient()
    run_id = client.create_run(str(project.pk)).info.run_id
    client.restore_run(run_id)  # restoring an active run is harmless
    client.delete_run(run_id)
    client.delete_run(run_id)  # and so is deleting twice
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert Run.objects.get(pk=int(run_id)).deleted_at is not None
    assert client.search_runs([str(project.pk)]) == []
    assert [r.info.run_id for r in client.search_runs([str(project.pk)], run_view_type=3)] == [
        run_id
    ]
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    assert Run.objects.get(pk=int(run_id)).deleted_at is None


def test_a_deleted_run_refuses_writes_until_restored(tracking, run):
    client = MlflowClient()
    client.delete_run(str(run.pk))
    for call in (
        lambda: client.log_param(str(run.pk), "p1345", "v1"),
        lambda: client.log_metric(str(run.pk), "m1345", 1.0),
        lambda: client.set_tag(str(run.pk), "t1345", "tv1"),
        lambda: client.delete_tag(str(run.pk), "t1345"),
    ):
        error = _error(call)
        assert error.error_code == "INVALID_PARAMETER_VALUE"
        assert "must be in the 'active' state" in error.message
    client.restore_run(str(run.pk))
    client.log_metric(str(run.pk), "m1345", 34.0, timestamp=85, step=1)
    assert client.get_run(str(run.pk)).data.metrics == {"m1345": 34.0}


# -- experiment tags ------------------------------------------------------------------------
def test_setting_and_deleting_experiment_tags(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("SetExperimentTagTest")
    other_id = client.create_experiment("SetExperimentTagTest2")
    client.set_experiment_tag(experiment_id, "dataset", "imagenet1K")
    client.set_experiment_tag(experiment_id, "dataset", "birdbike")
    client.set_experiment_tag(experiment_id, "multiline tag", "value2\nvalue2")
    client.set_experiment_tag(experiment_id, "empty", "")
    assert client.get_experiment(experiment_id).tags == {
        "dataset": "birdbike",
        "multiline tag": "value2\nvalue2",
        "empty": "",
    }
    assert client.get_experiment(other_id).tags == {}
    client.delete_experiment_tag(experiment_id, "dataset")
    assert "dataset" not in client.get_experiment(experiment_id).tags
    assert _error(lambda: client.delete_experiment_tag(experiment_id, "nope")).error_code == (
        "RESOURCE_DOES_NOT_EXIST"
    )


def test_tags_of_a_deleted_experiment_cannot_change(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("frozen")
    client.delete_experiment(experiment_id)
    error = _error(lambda: client.set_experiment_tag(experiment_id, "should", "notset"))
    assert "must be in the 'active' state" in error.message


def test_an_experiment_tag_longer_than_mlflows_limit_is_refused(tracking):
    client = MlflowClient()
    experiment_id = client.create_experiment("long tags")
    client.set_experiment_tag(experiment_id, "ok", "a" * 20000)
    error = _error(lambda: client.set_experiment_tag(experiment_id, "long", "a" * 20001))
    assert error.error_code == "INVALID_PARAMETER_VALUE"


# -- run names and updates ------------------------------------------------------------------
def test_run_names_follow_the_run_name_tag_and_updates(tracking, project):
    client = MlflowClient()
    run_id = client.create_run(str(project.pk), run_name="name").info.run_id
    client.update_run(run_id, name="new name")
    assert client.get_run(run_id).info.run_name == "new name"
    client.set_tag(run_id, "mlflow.runName", "newest name")
    run = client.get_run(run_id)
    assert (run.info.run_name, run.data.tags["mlflow.runName"]) == ("newest name", "newest name")
    client.set_terminated(run_id, "FINISHED")
    client.update_run(run_id, name="name_abc")
    info = client.get_run(run_id).info
    assert (info.run_name, info.status) == ("name_abc", "FINISHED")


def test_a_run_name_and_a_different_run_name_tag_are_refused(tracking, project):
    error = _error(
        lambda: MlflowClient().create_run(
            str(project.pk), run_name="test", tags={"mlflow.runName": "test_2"}
        )
    )
    assert error.error_code == "INVALID_PARAMETER_VALUE"


def test_a_run_keeps_every_create_argument(tracking, project):
    client = MlflowClient()
    created = client.create_run(
        str(project.pk),
        start_time=456,
        run_name="my name",
        tags={"mlflow.user": "username", "mlflow.source.type": "LOCAL", "my": "tag"},
    )
    fetched = client.get_run(created.info.run_id)
    for run in (created, fetched):
        assert run.info.experiment_id == str(project.pk)
        assert run.info.user_id == "username"
        assert run.info.start_time == 456
        assert run.info.run_name == "my name"
        assert {"mlflow.user", "mlflow.source.type", "my", "mlflow.runName"} <= run.data.tags.keys()
    assert [r.info for r in client.search_runs([str(project.pk)])] == [fetched.info]


def test_latest_value_is_the_highest_step_then_timestamp_then_value(tracking, run):
    client = MlflowClient()
    logged = [(0, 100, 1000), (3, 40, 100), (3, 50, 10), (3, 50, 20), (3, 50, 20), (-3, 900, 9)]
    for step, timestamp, value in reversed(logged):
        client.log_metric(str(run.pk), "m", value, timestamp=timestamp, step=step)
    assert client.get_run(str(run.pk)).data.metrics == {"m": 20}
    history = client.get_metric_history(str(run.pk), "m")
    assert sorted((m.step, m.timestamp, m.value) for m in history) == sorted(logged)


# -- datasets -------------------------------------------------------------------------------
def _dataset(name: str = "name1", digest: str = "digest1", **fields) -> MlflowDataset:
    return MlflowDataset(
        name=name, digest=digest, source_type="source_type1", source="source1", **fields
    )


def test_logged_datasets_come_back_with_the_run(tracking, run):
    client = MlflowClient()
    client.log_inputs(
        str(run.pk),
        [
            DatasetInput(
                _dataset(schema='{"a": 1}', profile='{"rows": 2}'),
                [InputTag("tag1", "value1"), InputTag("mlflow.data.context", "train")],
            )
        ],
    )
    [dataset_input] = client.get_run(str(run.pk)).inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert (dataset.name, dataset.digest, dataset.source_type, dataset.source) == (
        "name1",
        "digest1",
        "source_type1",
        "source1",
    )
    assert (dataset.schema, dataset.profile) == ('{"a": 1}', '{"rows": 2}')
    assert [(t.key, t.value) for t in dataset_input.tags] == [
        ("tag1", "value1"),
        ("mlflow.data.context", "train"),
    ]
    assert RunInput.objects.get().context == "train"


def test_a_dataset_is_stored_once_per_project_and_once_per_run(tracking, project, run):
    client = MlflowClient()
    other = client.create_run(str(project.pk)).info.run_id
    for run_id in (str(run.pk), str(run.pk), other):
        client.log_inputs(run_id, [DatasetInput(_dataset(), []), DatasetInput(_dataset(), [])])
    assert Dataset.objects.count() == 1
    assert RunInput.objects.count() == 2
    assert len(client.get_run(str(run.pk)).inputs.dataset_inputs) == 1


def test_mlflow_log_input_stores_a_pandas_dataset(tracking, project):
    pd = pytest.importorskip("pandas")
    from mlflow.data.pandas_dataset import from_pandas

    frame = pd.DataFrame([[1, 2, 3], [1, 2, 3]], columns=["a", "b", "c"])
    dataset = from_pandas(frame, source="s3://bucket/menu.csv", name="menu")
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as active:
        mlflow.log_input(dataset, "training", {"foo": "baz"})
    [dataset_input] = MlflowClient().get_run(active.info.run_id).inputs.dataset_inputs
    assert dataset_input.dataset.name == "menu"
    assert dataset_input.dataset.digest == dataset.digest
    assert json.loads(dataset_input.dataset.profile) == {"num_rows": 2, "num_elements": 6}
    assert {t.key: t.value for t in dataset_input.tags} == {
        "foo": "baz",
        "mlflow.data.context": "training",
    }


# -- NaN and infinity -----------------------------------------------------------------------
def test_nan_and_infinity_are_logged_one_by_one_as_mlflow_does(tracking, project):
    client = MlflowClient()
    run_id = client.create_run(str(project.pk)).info.run_id
    client.log_metric(run_id, key="metric", value=123.456, timestamp=789, step=2)
    client.log_metric(run_id, key="nan_metric", value=float("nan"))
    client.log_metric(run_id, key="inf_metric", value=float("inf"))
    client.log_metric(run_id, key="-inf_metric", value=-float("inf"))
    metrics = client.get_run(run_id).data.metrics
    assert metrics["metric"] == 123.456
    assert math.isnan(metrics["nan_metric"])
    assert metrics["inf_metric"] >= 1.7976931348623157e308
    assert metrics["-inf_metric"] <= -1.7976931348623157e308
    [point] = client.get_metric_history(run_id, "metric")
    assert (point.value, point.timestamp, point.step) == (123.456, 789, 2)
    assert client.get_metric_history(run_id, "a_test_accuracy") == []


def test_a_training_loop_that_diverges_keeps_logging(tracking, project):
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as active:
        for step, loss in enumerate([0.9, 0.5, float("inf"), float("nan")]):
            mlflow.log_metric("loss", loss, step=step)
    history = MlflowClient().get_metric_history(active.info.run_id, "loss")
    assert [m.value for m in history][:3] == [0.9, 0.5, math.inf]
    assert math.isnan(history[3].value)


def test_runs_logged_over_the_rest_api_are_in_the_run_list(tracking, project):
    RunFactory(project=project, name="rest")
    assert [r.info.run_name for r in MlflowClient().search_runs([str(project.pk)])] == ["rest"]
