"""The official mlflow client (mlflow-skinny), unchanged, against a live server: pointed at
/mlflow with an API token it logs into a project's ordinary runs."""

import math

import pytest

from evaluation.models import Run, RunMetric
from mlprojects.models import Project
from tests.factories import RunFactory

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_training_script_logs_a_run_with_the_mlflow_client(tracking, org, project):
    experiment = mlflow.set_experiment(project.slug)
    assert experiment.experiment_id == str(project.pk)
    with mlflow.start_run(run_name="xgb-depth-6") as active:
        mlflow.log_param("model", "xgboost")
        mlflow.log_params({"lr": 0.05, "depth": 6})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"f1": 0.81, "auc": 0.9}, step=2)
        mlflow.set_tag("team", "ranking")
        mlflow.set_tags({"dataset": "menu-2024", "git": "abc123"})
        run_id = active.info.run_id

    run = Run.objects.get(pk=int(run_id))
    assert run.project == project
    assert run.name == "xgb-depth-6"
    assert run.status == "finished" and run.ended_at is not None
    assert run.params == {"model": "xgboost", "lr": "0.05", "depth": "6"}
    assert {"team": "ranking", "dataset": "menu-2024", "git": "abc123"}.items() <= run.tags.items()
    assert run.latest_metrics["loss"]["value"] == pytest.approx(1 / 3)
    assert RunMetric.objects.filter(run=run, key="loss").count() == 3


def test_the_client_reads_runs_back(tracking, project):
    mlflow.set_experiment(project.slug)
    with mlflow.start_run(run_name="a") as a:
        mlflow.log_param("lr", "0.1")
        for step, value in enumerate([0.5, 0.7, 0.75]):
            mlflow.log_metric("f1", value, step=step)
    with mlflow.start_run(run_name="b"):
        mlflow.log_param("lr", "0.2")
        mlflow.log_metric("f1", 0.9)
    client = MlflowClient()

    run = client.get_run(a.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "a"
    assert run.data.params == {"lr": "0.1"}
    assert run.data.metrics == {"f1": 0.75}
    assert run.data.tags["mlflow.runName"] == "a"

    history = client.get_metric_history(a.info.run_id, "f1")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.7), (2, 0.75)]

    found = client.search_runs(
        [str(project.pk)], filter_string="metrics.f1 > 0.6", order_by=["metrics.f1 DESC"]
    )
    assert [r.info.run_name for r in found] == ["b", "a"]
    found = client.search_runs([str(project.pk)], filter_string="params.lr = '0.1'")
    assert [r.info.run_name for r in found] == ["a"]
    found = client.search_runs(
        [str(project.pk)], filter_string="attributes.status = 'FINISHED'", max_results=1
    )
    assert len(found) == 1 and found.token


def test_runs_logged_over_the_rest_api_are_visible_to_the_client(tracking, project, log):
    run = RunFactory(project=project, name="from-rest", params={"lr": "0.3"})
    log(run, step=4, f1=0.66)
    fetched = MlflowClient().get_run(str(run.pk))
    assert fetched.info.experiment_id == str(project.pk)
    assert fetched.data.metrics == {"f1": 0.66}
    assert fetched.data.params == {"lr": "0.3"}


def test_an_unknown_experiment_name_creates_a_project(tracking, org, member):
    experiment = mlflow.set_experiment("churn-model")
    project = Project.objects.get(pk=int(experiment.experiment_id))
    assert (project.organization, project.slug, project.created_by) == (org, "churn-model", member)
    assert mlflow.set_experiment("churn-model").experiment_id == experiment.experiment_id
    assert Project.objects.filter(organization=org).count() == 1


def test_a_read_token_cannot_create_an_experiment(use_token, token_for, member, org):
    use_token(token_for(member, "read"))
    with pytest.raises(MlflowException) as error:
        mlflow.set_experiment("new-experiment")
    assert error.value.error_code == "PERMISSION_DENIED"
    assert not Project.objects.exists()


def test_a_read_token_can_search_but_not_log(use_token, token_for, member, project, run):
    use_token(token_for(member, "read"))
    client = MlflowClient()
    assert [r.info.run_id for r in client.search_runs([str(project.pk)])] == [str(run.pk)]
    with pytest.raises(MlflowException) as error:
        client.log_metric(str(run.pk), "f1", 0.5)
    assert error.value.error_code == "PERMISSION_DENIED"
    assert not RunMetric.objects.exists()


def test_a_viewers_write_token_cannot_log(use_token, token_for, viewer, run):
    use_token(token_for(viewer, "write"))
    with pytest.raises(MlflowException) as error:
        MlflowClient().log_param(str(run.pk), "x", "1")
    assert error.value.error_code == "PERMISSION_DENIED"


def test_a_bad_token_is_unauthenticated(use_token, project):
    use_token("mlp_not-a-token")
    with pytest.raises(MlflowException) as error:
        MlflowClient().get_experiment(str(project.pk))
    assert error.value.error_code == "UNAUTHENTICATED"


def test_another_orgs_run_and_experiment_do_not_exist(tracking, other_run, other_project):
    client = MlflowClient()
    for call in (
        lambda: client.get_run(str(other_run.pk)),
        lambda: client.log_metric(str(other_run.pk), "f1", 1.0),
        lambda: client.get_metric_history(str(other_run.pk), "f1"),
        lambda: client.get_experiment(str(other_project.pk)),
        lambda: client.create_run(str(other_project.pk)),
    ):
        with pytest.raises(MlflowException) as error:
            call()
        assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name(other_project.slug) is None
    assert not RunMetric.objects.exists()
    assert Run.objects.count() == 1


def test_nan_and_infinite_metrics_are_stored_and_read_back(tracking, run):
    client = MlflowClient()
    client.log_batch(
        str(run.pk),
        metrics=[
            mlflow.entities.Metric("loss", math.nan, 0, 0),
            mlflow.entities.Metric("up", math.inf, 0, 0),
            mlflow.entities.Metric("down", -math.inf, 0, 0),
        ],
    )
    metrics = client.get_run(str(run.pk)).data.metrics
    assert math.isnan(metrics["loss"])
    assert metrics["up"] == math.inf and metrics["down"] == -math.inf
    assert math.isnan(client.get_metric_history(str(run.pk), "loss")[0].value)
    assert RunMetric.objects.filter(run=run).count() == 3


def test_changing_a_logged_param_is_refused(tracking, run):
    with pytest.raises(MlflowException) as error:
        MlflowClient().log_param(str(run.pk), "lr", "0.9")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"


def test_an_unsupported_search_is_refused_clearly(tracking, project):
    with pytest.raises(MlflowException) as error:
        MlflowClient().search_runs([str(project.pk)], filter_string="params.lr = '1' OR 1 = 1")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "OR is not supported" in error.value.message


@pytest.fixture
def mlflow_http(api):
    """The Django test client with a write token, for the endpoint's HTTP-level answers."""
    return api


def test_an_unsupported_endpoint_answers_in_mlflows_error_shape(mlflow_http):
    response = mlflow_http.get("/mlflow/api/2.0/mlflow/webhooks/list")
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_an_oversize_body_answers_413_in_mlflows_error_shape(mlflow_http, run, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    metrics = [{"key": "f1", "value": 0.5, "step": i, "timestamp": 0} for i in range(50)]
    response = mlflow_http.post(
        "/mlflow/api/2.0/mlflow/runs/log-batch",
        {"run_id": str(run.pk), "metrics": metrics},
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not RunMetric.objects.exists()


def test_the_endpoint_needs_a_token_even_with_a_session(client_for, member, run):
    response = client_for(member).get(f"/mlflow/api/2.0/mlflow/runs/get?run_id={run.pk}")
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
