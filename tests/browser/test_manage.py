"""Rename and delete in a real browser: the confirmation asks first (data-confirm dialogs
and the project's confirmation page), and what was deleted is gone from the pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from evaluation.abtests import services as abtest_services
from evaluation.evaluations.services import evaluation_upload
from evaluation.models import ABTest, Evaluation
from mlprojects.models import Project
from tests.browser.conftest import log_in
from tests.evaluation.abtests.conftest import METRICS, VARIANTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_rename_and_delete_an_ab_test_after_confirming(page, project, member):
    abtest = abtest_services.abtest_create(
        project=project,
        user=member,
        name="Menu",
        hypothesis="h",
        variants=VARIANTS,
        metrics=METRICS,
    )
    log_in(page, member.email)
    page.goto(f"/o/acme/projects/{project.slug}/ab-tests/{abtest.pk}/")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Name").fill("Menu descriptions v2")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", name="Menu descriptions v2")).to_be_visible()

    # Dismissing the confirmation keeps the test; accepting deletes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Menu descriptions v2")).to_be_visible()
    assert ABTest.objects.filter(pk=abtest.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted the A/B test “Menu descriptions v2”.")).to_be_visible()
    assert not ABTest.objects.filter(pk=abtest.pk).exists()


def test_abandoned_drafts_are_cleared_from_the_list(page, project, member):
    for name in ("a.csv", "b.csv"):
        upload = SimpleUploadedFile(name, b"label,score\n1,0.2\n0,0.9\n", "text/csv")
        evaluation_upload(project=project, user=member, upload=upload)
    log_in(page, member.email)
    page.goto(f"/o/acme/projects/{project.slug}/evaluations/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete 2 drafts").click()
    expect(page.get_by_text("Deleted 2 drafts")).to_be_visible()
    expect(page.get_by_text("No evaluations yet")).to_be_visible()
    assert not Evaluation.objects.exists()


def test_an_admin_deletes_a_project_on_its_confirmation_page(page, project, admin):
    log_in(page, admin.email)
    page.goto(f"/o/acme/projects/{project.slug}/")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Name").fill("Menu ranking")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Menu ranking")).to_be_visible()

    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete the project")).to_be_visible()
    page.get_by_label("Type the project's name to confirm").fill("Menu")
    page.get_by_role("button", name="Delete the project").click()
    expect(page.get_by_text("Type the project's name exactly")).to_be_visible()
    assert Project.objects.filter(pk=project.pk).exists()
    page.get_by_label("Type the project's name to confirm").fill("Menu ranking")
    page.get_by_role("button", name="Delete the project").click()
    expect(page.get_by_text("Deleted the project “Menu ranking”")).to_be_visible()
    assert not Project.objects.filter(pk=project.pk).exists()
