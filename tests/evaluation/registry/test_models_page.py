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
