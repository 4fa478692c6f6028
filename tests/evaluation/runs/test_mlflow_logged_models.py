"""MLflow 3's logged models with the unchanged client against a live server: autolog and
log_model keep the model, its files and its metrics; the REST behaviours of create, get,
finalize, search, tags, params and delete follow MLflow's."""

import pytest

from evaluation.models import LoggedModel, RunOutput

mlflow = pytest.importorskip("mlflow")
sklearn = pytest.importorskip("sklearn")
from mlflow.entities import LoggedModelStatus  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_sklearn_autolog_keeps_params_metrics_and_the_model(tracking, project):
    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment(project.slug)
    mlflow.sklearn.autolog(log_input_examples=False, silent=True)
    try:
        with mlflow.start_run() as run:
            estimator = LogisticRegression(max_iter=300, C=0.5).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    client = MlflowClient()
    fetched = client.get_run(run.info.run_id)

    assert fetched.data.params["C"] == "0.5"
    assert fetched.data.params["max_iter"] == "300"
    assert fetched.data.metrics["training_accuracy_score"] == pytest.approx(estimator.score(X, y))
    assert "training_f1_score" in fetched.data.metrics

    models = client.search_logged_models(
        experiment_ids=[str(project.pk)], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    assert len(models) == 1
    model = models[0]
    assert model.status == LoggedModelStatus.READY
    assert model.source_run_id == run.info.run_id
    assert {m.key for m in model.metrics} >= {"training_accuracy_score", "training_f1_score"}
    assert RunOutput.objects.filter(run_id=int(run.info.run_id), model_id=model.model_id).exists()
    names = {f.path for f in client.list_logged_model_artifacts(model.model_id)}
    assert {"MLmodel", "model.pkl"} <= names

    loaded = mlflow.pyfunc.load_model(f"models:/{model.model_id}")
    assert (loaded.predict(X) == estimator.predict(X)).all()
    again = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert (again.predict(X) == estimator.predict(X)).all()


def test_log_model_then_list_the_runs_artifacts_including_the_model(tracking, project):
    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        mlflow.log_text("hi", "notes.txt")
        info = mlflow.sklearn.log_model(LogisticRegression(max_iter=200).fit(X, y), name="clf")
    client = MlflowClient()
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes.txt"]
    assert "clf/MLmodel" in {f.path for f in client.list_artifacts(run.info.run_id, "clf")}
    model = client.get_logged_model(info.model_id)
    assert model.name == "clf"
    assert model.artifact_location.startswith(f"mlflow-artifacts:/{project.organization_id}/")


def test_logged_model_rest_behaviours(tracking, project, run):
    client = MlflowClient()
    model = client.create_logged_model(
        experiment_id=str(project.pk),
        name="ranker",
        source_run_id=str(run.pk),
        params={"depth": "6"},
        tags={"team": "feed"},
        model_type="tree",
    )
    assert model.model_id.startswith("m-")
    assert model.status == LoggedModelStatus.PENDING
    assert (model.name, model.model_type, model.params) == ("ranker", "tree", {"depth": "6"})

    client.set_logged_model_tags(model.model_id, {"stage": "dev", "team": "ads"})
    client.delete_logged_model_tag(model.model_id, "stage")
    client.log_model_params(model.model_id, {"lr": "0.1"})
    finalized = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert finalized.status == LoggedModelStatus.READY
    fetched = client.get_logged_model(model.model_id)
    assert fetched.tags == {"team": "ads"}
    assert fetched.params == {"depth": "6", "lr": "0.1"}

    client.log_metric(str(run.pk), "ndcg", 0.7, step=1, model_id=model.model_id)
    assert [(m.key, m.value, m.step) for m in client.get_logged_model(model.model_id).metrics] == [
        ("ndcg", 0.7, 1)
    ]
    assert client.get_run(str(run.pk)).data.metrics["ndcg"] == 0.7

    other = client.create_logged_model(experiment_id=str(project.pk), name="baseline")
    found = client.search_logged_models(experiment_ids=[str(project.pk)])
    assert [m.name for m in found] == ["baseline", "ranker"]  # newest first
    found = client.search_logged_models(
        experiment_ids=[str(project.pk)], filter_string="name = 'ranker' AND tags.team = 'ads'"
    )
    assert [m.model_id for m in found] == [model.model_id]
    page = client.search_logged_models(
        experiment_ids=[str(project.pk)], max_results=1, order_by=[{"field_name": "name"}]
    )
    assert [m.name for m in page] == ["baseline"] and page.token
    with pytest.raises(MlflowException) as error:
        client.search_logged_models(experiment_ids=[str(project.pk)], filter_string="bogus ~ 1")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"

    client.delete_logged_model(other.model_id)
    with pytest.raises(MlflowException) as error:
        client.get_logged_model(other.model_id)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [m.name for m in client.search_logged_models(experiment_ids=[str(project.pk)])] == [
        "ranker"
    ]
    assert LoggedModel.objects.get(pk=other.model_id).deleted_at is not None


def test_metrics_naming_another_organizations_model_log_nothing(tracking, run, other_project):
    from evaluation.runs.services import logged_model_create

    theirs = logged_model_create(project=other_project, user=None, name="secret")
    with pytest.raises(MlflowException) as error:
        MlflowClient().log_metric(str(run.pk), "f1", 0.5, model_id=theirs.pk)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    run.refresh_from_db()
    assert run.latest_metrics == {}
    theirs.refresh_from_db()
    assert theirs.metrics == []
