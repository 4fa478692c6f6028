"""A/B tests can be renamed and deleted (with their uploaded files, audited, after asking)."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from evaluation.abtests import services
from evaluation.models import ABTest, ABTestDecision

pytestmark = pytest.mark.django_db

RAW = b"variant,conversion,revenue,order_time\n" + b"control,1,30.5,7\ntreatment,0,12.0,9\n" * 5


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def url(abtest, action=""):
    return f"/o/acme/projects/{abtest.project.slug}/ab-tests/{abtest.pk}/{action}"


def test_a_member_renames_a_test(abtest, member, client_for):
    response = client_for(member).post(url(abtest, "rename/"), {"name": "Menu v2"})
    assert response.status_code == 302 and response["Location"] == url(abtest)
    abtest.refresh_from_db()
    assert abtest.name == "Menu v2"
    event = AuditEvent.objects.get(action="abtest.renamed")
    assert (event.target, event.data["from"]) == ("Menu v2", "Menu descriptions")


def test_an_empty_name_is_refused_with_a_message(abtest, member, client_for):
    response = client_for(member).post(url(abtest, "rename/"), {"name": " "}, follow=True)
    assert "Give the A/B test a name." in response.content.decode()
    abtest.refresh_from_db()
    assert abtest.name == "Menu descriptions"


def test_deleting_removes_the_test_and_its_raw_files(
    abtest, member, client_for, django_capture_on_commit_callbacks
):
    upload = services.abtest_raw_upload_create(
        abtest=abtest, user=member, file=SimpleUploadedFile("raw.csv", RAW, "text/csv")
    )
    name = upload.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(member).post(url(abtest, "delete/"))
    assert response["Location"] == f"/o/acme/projects/{abtest.project.slug}/ab-tests/"
    assert not ABTest.objects.filter(pk=abtest.pk).exists()
    assert not default_storage.exists(name)
    assert AuditEvent.objects.get(action="abtest.deleted").data["files"] == 1


def test_a_decided_test_can_be_deleted_with_its_decision(analyzed_abtest, member, client_for):
    services.abtest_decide(abtest=analyzed_abtest, user=member, outcome="ship", rationale="Won.")
    client_for(member).post(url(analyzed_abtest, "delete/"))
    assert not ABTest.objects.exists() and not ABTestDecision.objects.exists()


def test_a_running_test_is_not_deleted(running_abtest, member, client_for):
    response = client_for(member).post(url(running_abtest, "delete/"), follow=True)
    assert "stop it before deleting it" in response.content.decode()
    assert ABTest.objects.filter(pk=running_abtest.pk).exists()


def test_the_delete_button_asks_first(stopped_abtest, member, client_for):
    html = client_for(member).get(url(stopped_abtest)).content.decode()
    assert f'action="{url(stopped_abtest, "delete/")}" data-confirm="Delete the A/B test' in html


def test_a_viewer_can_neither_rename_nor_delete(abtest, viewer, client_for):
    client = client_for(viewer)
    assert client.post(url(abtest, "rename/"), {"name": "x"}).status_code == 403
    assert client.post(url(abtest, "delete/")).status_code == 403
    assert ABTest.objects.filter(pk=abtest.pk, name="Menu descriptions").exists()
