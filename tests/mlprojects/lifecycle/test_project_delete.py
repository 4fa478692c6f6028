"""Deleting a project: asked for on its own page, by an admin or owner, audited, with its
rows and its stored files gone."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accounts.models import AuditEvent, Organization
from evaluation.evaluations.services import evaluation_upload
from evaluation.models import Evaluation
from mlprojects.lifecycle import services
from mlprojects.models import Project

pytestmark = pytest.mark.django_db

URL = "/o/acme/projects/menu-recommender/delete/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def stored(project, member):
    upload = SimpleUploadedFile("p.csv", b"label,score\n1,0.2\n0,0.9\n", "text/csv")
    return evaluation_upload(project=project, user=member, upload=upload)


def test_the_confirmation_page_lists_what_goes_with_the_project(project, stored, admin, client_for):
    html = client_for(admin).get(URL).content.decode()
    assert "Delete the project" in html
    assert "1 evaluations" in html or "1 evaluation" in html
    assert "1 stored file" in html


def test_an_admin_deletes_the_project_its_rows_and_its_files(
    project, stored, admin, client_for, django_capture_on_commit_callbacks
):
    name = stored.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(URL, {"confirm": "Menu recommender"})
    assert response.status_code == 302 and response["Location"] == "/o/acme/"
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Evaluation.objects.filter(pk=stored.pk).exists()
    assert not default_storage.exists(name)
    event = AuditEvent.objects.get(action="project.deleted")
    assert (event.target, event.actor, event.data["files"]) == ("Menu recommender", admin, 1)


def test_a_wrong_name_deletes_nothing_and_says_why(project, owner, client_for):
    response = client_for(owner).post(URL, {"confirm": "menu"})
    assert response.status_code == 200
    assert "Type the project&#x27;s name exactly" in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists()
    assert not AuditEvent.objects.filter(action="project.deleted").exists()


@pytest.mark.parametrize("role", ["member", "stakeholder", "viewer"])
def test_only_admins_and_owners_may_delete(project, role, user_with_role, client_for):
    client = client_for(user_with_role(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"confirm": "Menu recommender"}).status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()


def test_the_delete_button_is_shown_to_admins_only(project, admin, member, client_for):
    page = "/o/acme/projects/menu-recommender/"
    assert URL in client_for(admin).get(page).content.decode()
    assert URL not in client_for(member).get(page).content.decode()


def test_every_demo_project_can_be_deleted(django_capture_on_commit_callbacks):
    """The demo has every kind of row (decided A/B tests, runs, evaluations, drift data)."""
    call_command("load_demo", stdout=io.StringIO())
    for org in Organization.objects.all():
        for project in Project.objects.filter(organization=org):
            with django_capture_on_commit_callbacks(execute=True):
                services.project_delete(project=project, user=None, confirm=project.name)
    assert not Project.objects.exists()
