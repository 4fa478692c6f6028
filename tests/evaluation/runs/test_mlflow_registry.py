"""The model registry with the unchanged mlflow client against a live server: register a
logged model, alias a version, load it back by `models:/name@alias` and `models:/name/1`;
and MLflow's REST behaviours of registered models, versions, tags, aliases and stages."""

import pytest

from evaluation.models import ModelVersion, RegisteredModel

mlflow = pytest.importorskip("mlflow")
sklearn = pytest.importorskip("sklearn")
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _code(call) -> str:
    with pytest.raises(MlflowException) as error:
        call()
    return error.value.error_code


def test_register_alias_and_load_by_alias_and_version(tracking, project):
    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        estimator = LogisticRegression(max_iter=300).fit(X, y)
        info = mlflow.sklearn.log_model(estimator, name="clf", registered_model_name="iris")
    assert info.registered_model_version == "1"
    client = MlflowClient()
    client.set_registered_model_alias("iris", "champion", "1")

    by_alias = mlflow.pyfunc.load_model("models:/iris@champion")
    assert (by_alias.predict(X) == estimator.predict(X)).all()
    by_version = mlflow.pyfunc.load_model("models:/iris/1")
    assert (by_version.predict(X) == estimator.predict(X)).all()

    version = client.get_model_version_by_alias("iris", "champion")
    assert (version.version, version.run_id) == ("1", run.info.run_id)
    assert version.aliases == ["champion"]
    stored = ModelVersion.objects.get(registered_model__name="iris", version=1)
    assert stored.run_id == int(run.info.run_id) and stored.logged_model_id == info.model_id
    assert RegisteredModel.objects.get(name="iris").project_id == project.pk
    uri = client.get_model_version_download_uri("iris", "1")
    prefix = f"mlflow-artifacts:/{project.organization_id}/{project.pk}"
    assert uri == f"{prefix}/models/{info.model_id}/artifacts"  # downloaded through the proxy

    # A second registration of a runs:/ source is version 2; models:/name/2 loads it.
    with mlflow.start_run() as second:
        other = LogisticRegression(max_iter=300, C=0.01).fit(X, y)
        mlflow.sklearn.log_model(other, name="clf")
    registered = mlflow.register_model(f"runs:/{second.info.run_id}/clf", "iris")
    assert registered.version == "2"
    loaded = mlflow.pyfunc.load_model("models:/iris/2")
    assert (loaded.predict(X) == other.predict(X)).all()
    assert client.get_registered_model("iris").aliases == {"champion": "1"}


def test_registered_model_rest_behaviours(tracking, project, run):
    client = MlflowClient()
    created = client.create_registered_model("ranker", tags={"team": "feed"}, description="d")
    assert (created.name, created.description, created.tags) == ("ranker", "d", {"team": "feed"})
    assert _code(lambda: client.create_registered_model("ranker")) == "RESOURCE_ALREADY_EXISTS"
    assert _code(lambda: client.get_registered_model("nope")) == "RESOURCE_DOES_NOT_EXIST"

    client.update_registered_model("ranker", description="new")
    client.set_registered_model_tag("ranker", "stage", "dev")
    client.delete_registered_model_tag("ranker", "team")
    model = client.get_registered_model("ranker")
    assert (model.description, model.tags) == ("new", {"stage": "dev"})

    from evaluation.runs.services import logged_model_create

    logged = logged_model_create(project=project, user=None, name="m", source_run=run)
    v1 = client.create_model_version("ranker", f"models:/{logged.pk}", run_id=str(run.pk))
    v2 = client.create_model_version("ranker", f"runs:/{run.pk}/model")
    assert (v1.version, v2.version) == ("1", "2")
    assert ModelVersion.objects.get(version=1).logged_model_id == logged.pk  # the client drops it
    assert v1.status == "READY" and v1.current_stage == "None"

    client.transition_model_version_stage("ranker", "1", "Production")
    client.transition_model_version_stage(
        "ranker", "2", "production", archive_existing_versions=True
    )
    assert client.get_model_version("ranker", "1").current_stage == "Archived"
    assert client.get_model_version("ranker", "2").current_stage == "Production"
    assert [v.version for v in client.get_latest_versions("ranker", stages=["Production"])] == ["2"]
    assert {v.version for v in client.get_latest_versions("ranker")} == {"1", "2"}
    assert _code(lambda: client.transition_model_version_stage("ranker", "1", "Bogus")) == (
        "INVALID_PARAMETER_VALUE"
    )

    client.update_model_version("ranker", "2", description="better")
    client.set_model_version_tag("ranker", "2", "validated", "yes")
    client.delete_model_version_tag("ranker", "2", "validated")
    client.set_model_version_tag("ranker", "2", "k", "v")
    fetched = client.get_model_version("ranker", "2")
    assert (fetched.description, fetched.tags) == ("better", {"k": "v"})

    client.set_registered_model_alias("ranker", "champion", "2")
    assert client.get_model_version_by_alias("ranker", "champion").version == "2"
    assert _code(lambda: client.set_registered_model_alias("ranker", "v3", "2")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert _code(lambda: client.set_registered_model_alias("ranker", "x", "9")) == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    client.delete_registered_model_alias("ranker", "champion")
    assert _code(lambda: client.get_model_version_by_alias("ranker", "champion")) == (
        "RESOURCE_DOES_NOT_EXIST"
    )

    found = client.search_model_versions(f"name = 'ranker' AND run_id = '{run.pk}'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [v.version for v in client.search_model_versions("tags.k = 'v'")] == ["2"]
    client.create_registered_model("baseline")
    assert [m.name for m in client.search_registered_models()] == ["baseline", "ranker"]
    assert [m.name for m in client.search_registered_models("name LIKE 'rank%'")] == ["ranker"]
    page = client.search_registered_models(max_results=1)
    assert [m.name for m in page] == ["baseline"] and page.token
    assert _code(lambda: client.search_registered_models("bogus = 1")) == "INVALID_PARAMETER_VALUE"

    client.rename_registered_model("ranker", "ranker2")
    assert client.get_model_version("ranker2", "2").name == "ranker2"
    assert _code(lambda: client.rename_registered_model("ranker2", "baseline")) == (
        "RESOURCE_ALREADY_EXISTS"
    )
    client.set_registered_model_alias("ranker2", "champion", "2")
    client.delete_model_version("ranker2", "2")
    assert client.get_registered_model("ranker2").aliases == {}
    assert client.create_model_version("ranker2", f"runs:/{run.pk}/m").version == "2"
    client.delete_registered_model("ranker2")
    assert _code(lambda: client.get_registered_model("ranker2")) == "RESOURCE_DOES_NOT_EXIST"
    assert not ModelVersion.objects.filter(registered_model__name="ranker2").exists()


def test_sources_in_another_organization_do_not_exist(tracking, project, other_project, other_run):
    from evaluation.runs.services import logged_model_create

    theirs = logged_model_create(project=other_project, user=None, name="secret")
    client = MlflowClient()
    client.create_registered_model("mine")
    org = other_project.organization_id
    for source in (
        f"models:/{theirs.pk}",
        f"runs:/{other_run.pk}/model",
        f"mlflow-artifacts:/{org}/{other_project.pk}/{other_run.pk}/artifacts/model",
        f"mlflow-artifacts:/{org}/{other_project.pk}/models/{theirs.pk}/artifacts",
    ):
        assert _code(lambda s=source: client.create_model_version("mine", s)) == (
            "RESOURCE_DOES_NOT_EXIST"
        ), source
    assert _code(lambda: client.create_model_version("mine", "/etc/passwd")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert not ModelVersion.objects.exists()


def test_bad_input_and_read_only_tokens_are_refused_in_mlflows_shape(token_for, member):
    from django.test import Client

    base = "/mlflow/api/2.0/mlflow"
    write = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(member, 'write', name='w')}")
    created = write.post(
        f"{base}/registered-models/create", {"name": "ranker"}, content_type="application/json"
    )
    assert created.status_code == 200
    for version in ("abc", "0", "-1", "1.5"):
        answer = write.get(f"{base}/model-versions/get", {"name": "ranker", "version": version})
        assert (answer.status_code, answer.json()["error_code"]) == (
            400,
            "INVALID_PARAMETER_VALUE",
        ), version
    for name in ("a/b", "a@b", ""):
        answer = write.post(
            f"{base}/registered-models/create", {"name": name}, content_type="application/json"
        )
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE", name
    answer = write.post(
        f"{base}/model-versions/create",
        {"name": "ranker", "source": "models:/not-a-model"},
        content_type="application/json",
    )
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    read = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(member, 'read', name='r')}")
    assert read.get(f"{base}/registered-models/get", {"name": "ranker"}).status_code == 200
    denied = read.post(
        f"{base}/registered-models/create", {"name": "other"}, content_type="application/json"
    )
    assert (denied.status_code, denied.json()["error_code"]) == (403, "PERMISSION_DENIED")
    denied = read.generic(
        "DELETE",
        f"{base}/registered-models/delete",
        '{"name": "ranker"}',
        content_type="application/json",
    )
    assert denied.status_code == 403
    assert RegisteredModel.objects.filter(name="ranker").exists()
