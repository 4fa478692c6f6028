"""A deployment names the registered model version it runs: chosen from the project's own
versions in the form, named "name/version" in the API, shown as a link to the version's
entry on the Models page in the timeline, the API and the proposal document. Another
project's or another organization's version is refused."""

from datetime import UTC, datetime

import pytest

from evaluation.models import Deployment
from evaluation.monitoring import services as monitoring
from evaluation.registry import services
from mlprojects.review.document import build_document, document_markdown
from mlprojects.review.services import proposal_submit
from tests.factories import ProjectFactory, RunFactory

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 11, 30, 8, tzinfo=UTC)


def register(project, user, name="fraud-gbm"):
    run = RunFactory(project=project, created_by=user)
    model = services.registered_model_create(
        org=project.organization, user=user, name=name, project=project
    )
    source = services.resolve_source(org=project.organization, source=f"runs:/{run.pk}/model")
    return services.version_create(
        model=model, user=user, source=source, source_text=f"runs:/{run.pk}/model"
    )


def api_url(project):
    return f"/api/v1/projects/{project.pk}/deployments/"


def entry_url(project, version):
    org = project.organization.slug
    return f"/o/{org}/projects/{project.slug}/models/#version-{version.pk}"


def test_the_api_links_a_deployment_to_the_projects_version(api, project, member):
    version = register(project, member)
    response = api.post(
        api_url(project),
        {"what": "gbm", "model_version": "fraud-gbm/1", "since": "2026-11-30T08:00:00Z"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["model_version"] == "fraud-gbm/1"
    assert body["model_version_url"] == "http://testserver" + entry_url(project, version)
    assert Deployment.objects.get().model_version == version
    listed = api.get(api_url(project)).json()["results"][0]
    assert listed["model_version_url"] == body["model_version_url"]


def test_a_deployment_without_a_version_has_none(api, project):
    response = api.post(
        api_url(project), {"what": "rules v2", "since": "2026-11-30T08:00:00Z"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["model_version"] is None
    assert response.json()["model_version_url"] is None


@pytest.mark.parametrize("ref", ["fraud-gbm/2", "nope/1", "fraud-gbm", "secret-model/1"])
def test_a_version_the_project_does_not_have_is_refused(
    api, project, member, other_project, outsider, ref
):
    register(project, member)
    register(other_project, outsider, name="secret-model")  # another organization's
    response = api.post(
        api_url(project),
        {"what": "gbm", "model_version": ref, "since": "2026-11-30T08:00:00Z"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "model_version" in response.json()["error"]["fields"]
    assert not Deployment.objects.exists()


def test_another_projects_version_of_the_same_organization_is_refused(api, project, member, org):
    sibling = ProjectFactory(organization=org, owner=member, slug="sibling")
    register(sibling, member, name="sibling-model")
    response = api.post(
        api_url(project),
        {"what": "m", "model_version": "sibling-model/1", "since": "2026-11-30T08:00:00Z"},
        content_type="application/json",
    )
    assert response.status_code == 400
    with pytest.raises(Exception, match="registered in this project"):
        monitoring.deployment_create(
            project=project, user=member, what="m", since=SINCE,
            model_version=sibling.registered_models.get().versions.get(),
        )  # fmt: skip


def test_the_form_offers_only_the_projects_versions(reader_for, member, project, other_project,
                                                     outsider):  # fmt: skip
    version = register(project, member)
    stranger = register(other_project, outsider, name="secret-model")
    services.alias_set(model=version.registered_model, alias="champion", version=version)
    client = reader_for(member)
    url = f"/o/{project.organization.slug}/projects/{project.slug}/monitoring/deployments/new/"
    form = client.get(url).content.decode()
    assert "fraud-gbm v1 (@champion)" in form and "secret-model" not in form
    fields = {"since": "2026-11-30T08:00", "traffic_share": "1", "environment": "prod"}
    refused = client.post(url, {**fields, "what": "x", "model_version": str(stranger.pk)})
    assert refused.status_code == 400 and not Deployment.objects.exists()
    response = client.post(url, {**fields, "what": "gbm", "model_version": str(version.pk)})
    assert response.status_code == 302
    assert Deployment.objects.get().model_version == version
    page = client.get(response.url).content.decode()
    assert f'href="{entry_url(project, version)}"' in page
    models_page = client.get(entry_url(project, version).split("#")[0]).content.decode()
    assert f'id="version-{version.pk}"' in models_page


def test_the_proposal_freezes_the_deployment_with_a_link_to_its_version(
    client_for, project, member, stakeholder
):
    version = register(project, member)
    monitoring.deployment_create(
        project=project, user=member, what="gbm", since=SINCE, model_version=version
    )
    proposal = proposal_submit(project=project, user=member, message="")
    (entry,) = proposal.snapshot["evidence"]["deployments"]["entries"]
    field = next(f for f in entry["fields"] if f["label"] == "Registered model version")
    assert field == {
        "label": "Registered model version",
        "value": "fraud-gbm v1",
        "url": entry_url(project, version),
    }
    markdown = document_markdown(build_document(proposal))
    assert f"[fraud-gbm v1]({entry_url(project, version)})" in markdown
    base = f"/o/{project.organization.slug}/projects/{project.slug}/proposals/{proposal.version}/"
    page = client_for(member).get(base).content.decode()
    assert f'<a href="{entry_url(project, version)}">fraud-gbm v1</a>' in page
