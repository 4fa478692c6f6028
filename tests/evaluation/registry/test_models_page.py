"""The project's Models page lists its registered models with versions, aliases, stages
and links to their source runs; the project page links to it."""

import pytest

from evaluation.registry import services
from evaluation.runs.services import logged_model_create
from tests.factories import RunFactory

pytestmark = pytest.mark.django_db


def _register(project, user, name="iris", versions=2):
    run = RunFactory(project=project, created_by=user, name="train-lr")
    model = services.registered_model_create(
        org=project.organization, user=user, name=name, description="Iris classifier"
    )
    logged = logged_model_create(project=project, user=user, name="clf", source_run=run)
    for _ in range(versions):
        source = services.resolve_source(org=project.organization, source=f"models:/{logged.pk}")
        services.version_create(
            model=model, user=user, source=source, source_text=f"models:/{logged.pk}"
        )
    return model, run, logged


def test_the_models_page_lists_versions_aliases_and_source_runs(client_for, member, org, project):
    model, run, logged = _register(project, member)
    services.alias_set(model=model, alias="champion", version=model.versions.get(version=1))
    services.version_transition(version=model.versions.get(version=2), stage="Staging")
    client = client_for(member)

    page = client.get(f"/o/{org.slug}/projects/{project.slug}/")
    assert f'href="/o/{org.slug}/projects/{project.slug}/models/"' in page.content.decode()

    response = client.get(f"/o/{org.slug}/projects/{project.slug}/models/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "iris" in html and "Iris classifier" in html
    assert "@champion" in html and "Staging" in html
    assert f'href="/o/{org.slug}/projects/{project.slug}/runs/{run.pk}/"' in html
    assert logged.pk in html
    assert html.index("<strong>2</strong>") < html.index("<strong>1</strong>")  # newest first


def test_the_models_page_shows_only_this_projects_models(
    client_for, member, org, project, other_project, outsider
):
    _register(other_project, outsider, name="secret-model")
    response = client_for(member).get(f"/o/{org.slug}/projects/{project.slug}/models/")
    assert response.status_code == 200
    assert "secret-model" not in response.content.decode()
    assert "No registered models yet" in response.content.decode()


def test_a_versions_entry_shows_its_runs_params_and_metrics_and_its_models_metrics(
    client_for, member, org, project
):
    from evaluation.runs import services as runs

    model, run, logged = _register(project, member, versions=1)
    runs.run_log_batch(
        run=run,
        params={"C": "0.5", "solver": "lbfgs"},
        metrics=[
            runs.MetricPoint("accuracy", 0.9, step=0),
            runs.MetricPoint("accuracy", 0.95, step=1),
        ],
    )
    runs.logged_model_log_metrics(
        model=logged, run=run,
        metrics=[(runs.MetricPoint("f1", 0.81, step=0), "holdout", ""),
                 (runs.MetricPoint("f1", 0.83, step=1), "holdout", "")],
    )  # fmt: skip
    version = model.versions.get()
    html = client_for(member).get(f"/o/{org.slug}/projects/{project.slug}/models/").content.decode()
    entry = html[html.index(f'id="version-{version.pk}"') :]
    assert "<dt>C</dt><dd><code>0.5</code></dd>" in entry
    assert "<dt>solver</dt><dd><code>lbfgs</code></dd>" in entry
    assert "<dt>accuracy</dt><dd>0.95</dd>" in entry  # the latest value
    assert "<dt>f1</dt><dd>0.83</dd>" in entry  # the logged model's last value


def test_another_projects_run_shows_no_params_on_this_page(client_for, member, org, project):
    from tests.factories import ProjectFactory

    sibling = ProjectFactory(organization=org, owner=member, slug="sibling")
    run = RunFactory(project=sibling, params={"secret_param": "x"})
    model = services.registered_model_create(org=org, user=member, name="mixed", project=project)
    source = services.resolve_source(org=org, source=f"runs:/{run.pk}/model")
    services.version_create(model=model, user=member, source=source, source_text="runs:/x")
    html = client_for(member).get(f"/o/{org.slug}/projects/{project.slug}/models/").content.decode()
    assert "mixed" in html and "secret_param" not in html


def test_model_versions_get_has_the_shape_of_mlflow_3s_protocol(member, org, project):
    """Every field is one of MLflow 3's `ModelVersion` message (parsed strictly with its
    protobuf definition), and `model_id` links back to the logged model."""
    proto = pytest.importorskip("mlflow.protos.model_registry_pb2")
    from django.test import Client
    from google.protobuf.json_format import ParseDict

    from accounts.services import api_token_create

    model, run, logged = _register(project, member, versions=1)
    services.alias_set(model=model, alias="champion", version=model.versions.get())
    token = api_token_create(org=org, user=member, name="t", scope="read")[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(
        "/mlflow/api/2.0/mlflow/model-versions/get", {"name": "iris", "version": "1"}
    )
    assert response.status_code == 200
    body = response.json()
    parsed = ParseDict(body, proto.GetModelVersion.Response())  # unknown fields raise
    version = parsed.model_version
    assert (version.name, version.version, version.run_id) == ("iris", "1", str(run.pk))
    assert version.model_id == logged.pk and list(version.aliases) == ["champion"]
    assert version.status == proto.ModelVersionStatus.Value("READY")
    assert version.source == f"models:/{logged.pk}"
