"""Evaluations can be renamed, deleted (with their stored file, audited) and, when they
failed, retried with the file they already have."""

import pytest
from django.core.files.storage import default_storage

from accounts.models import AuditEvent
from evaluation.evaluations import services
from evaluation.models import Evaluation, EvaluationStatus

from .conftest import upload

pytestmark = pytest.mark.django_db

BASE = "/o/acme/projects/menu-recommender/evaluations"


@pytest.fixture
def failed(make_evaluation):
    # A label column that is not 0/1 makes the binary evaluation fail in the worker.
    return make_evaluation(
        b"label,score\n3,0.2\n5,0.9\n7,0.4\n",
        name="bad.csv",
        columns={"y_true": "label", "y_score": "score"},
    )


def test_a_member_renames_an_evaluation(make_evaluation, member, client_for):
    evaluation = make_evaluation()
    response = client_for(member).post(f"{BASE}/{evaluation.pk}/rename/", {"name": "Model v2"})
    assert response.status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.name == "Model v2"
    assert AuditEvent.objects.filter(action="evaluation.renamed", target="Model v2").exists()


def test_an_empty_name_is_refused_and_changes_nothing(make_evaluation, member, client_for):
    evaluation = make_evaluation()
    client_for(member).post(f"{BASE}/{evaluation.pk}/rename/", {"name": "  "})
    evaluation.refresh_from_db()
    assert evaluation.name == "p.csv"


def test_deleting_removes_the_row_and_the_stored_file(
    make_evaluation, member, client_for, django_capture_on_commit_callbacks
):
    evaluation = make_evaluation()
    name = evaluation.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(member).post(f"{BASE}/{evaluation.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"].endswith("/evaluations/")
    assert not Evaluation.objects.filter(pk=evaluation.pk).exists()
    assert not default_storage.exists(name)
    event = AuditEvent.objects.get(action="evaluation.deleted")
    assert event.data["evaluation"] == evaluation.pk


def test_the_delete_button_asks_for_confirmation(make_evaluation, member, client_for):
    evaluation = make_evaluation()
    html = client_for(member).get(f"{BASE}/{evaluation.pk}/").content.decode()
    assert f'action="{BASE}/{evaluation.pk}/delete/" data-confirm="Delete' in html


def test_a_viewer_can_neither_delete_nor_rename(make_evaluation, viewer, client_for):
    evaluation = make_evaluation()
    client = client_for(viewer)
    assert client.post(f"{BASE}/{evaluation.pk}/delete/").status_code == 403
    assert client.post(f"{BASE}/{evaluation.pk}/rename/", {"name": "x"}).status_code == 403
    assert Evaluation.objects.filter(pk=evaluation.pk, name="p.csv").exists()


def test_a_failed_evaluation_is_retried_without_uploading_again(failed, member, client_for):
    assert failed.status == EvaluationStatus.FAILED
    file_name = failed.file.name
    response = client_for(member).post(f"{BASE}/{failed.pk}/retry/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/evaluations/{failed.pk}/columns/")
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.file.name) == ("draft", "", file_name)
    assert AuditEvent.objects.filter(action="evaluation.retried").exists()


def test_only_a_failed_evaluation_can_be_retried(make_evaluation, member, client_for):
    evaluation = make_evaluation()
    client_for(member).post(f"{BASE}/{evaluation.pk}/retry/")
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.SUCCEEDED


def _draft(project, member, name="draft.csv"):
    return services.evaluation_upload(
        project=project, user=member, upload=upload(b"label,score\n1,0.2\n0,0.9\n", name)
    )


def test_abandoned_drafts_are_deleted_together_with_their_files(
    project, member, client_for, make_evaluation, django_capture_on_commit_callbacks
):
    drafts = [_draft(project, member, f"d{i}.csv") for i in range(2)]
    finished = make_evaluation()
    names = [d.file.name for d in drafts]
    client = client_for(member)
    html = client.get(f"{BASE}/").content.decode()
    assert "Delete 2 drafts" in html and f'action="{BASE}/drafts/delete/" data-confirm=' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/drafts/delete/", follow=True)
    assert "Deleted 2 drafts" in response.content.decode()
    assert list(Evaluation.objects.values_list("pk", flat=True)) == [finished.pk]
    assert not any(default_storage.exists(n) for n in names)
    assert AuditEvent.objects.filter(action="evaluation.deleted").count() == 2


def test_without_drafts_the_list_offers_no_drafts_button(make_evaluation, member, client_for):
    make_evaluation()
    assert "drafts/delete/" not in client_for(member).get(f"{BASE}/").content.decode()


def test_a_viewer_cannot_delete_drafts(project, member, viewer, client_for):
    draft = _draft(project, member)
    assert client_for(viewer).post(f"{BASE}/drafts/delete/").status_code == 403
    assert Evaluation.objects.filter(pk=draft.pk).exists()
