"""The review API's contract: literal URLs and bodies."""

import pytest

from mlprojects.lifecycle.services import section_update
from mlprojects.review.models import Comment, Proposal, ProposalReview

pytestmark = pytest.mark.django_db


def test_submit_answers_201_with_the_version(written, member, stakeholder, client_for):
    response = client_for(member).post(
        f"/api/v1/projects/{written.pk}/proposals/",
        {"message": "Please review", "reviewers": [stakeholder.email]},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1
    assert body["status"] == "in_review"
    assert body["reviewers"] == [stakeholder.email]
    assert body["author"] == member.email


def test_submit_refuses_an_unknown_reviewer(written, member, stakeholder, client_for):
    response = client_for(member).post(
        f"/api/v1/projects/{written.pk}/proposals/",
        {"reviewers": ["nobody@acme.test"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "reviewers" in response.json()["error"]["fields"]


def test_get_lists_versions_newest_first(submitted, member, client_for):
    client = client_for(member)
    client.post(
        f"/api/v1/projects/{submitted.project_id}/proposals/", {}, content_type="application/json"
    )
    body = client.get(f"/api/v1/projects/{submitted.project_id}/proposals/").json()
    assert [(p["version"], p["status"]) for p in body] == [(2, "in_review"), (1, "superseded")]


def test_one_version_has_its_snapshot(submitted, member, client_for):
    body = client_for(member).get(f"/api/v1/projects/{submitted.project_id}/proposals/1/").json()
    assert body["snapshot"]["steps"]["phenomenon"]["what"] == "Revenue fell."
    assert body["stale"] is False


def test_an_unknown_version_is_404(submitted, member, client_for):
    url = f"/api/v1/projects/{submitted.project_id}/proposals/9/"
    assert client_for(member).get(url).status_code == 404


def test_a_review_records_the_decision(submitted, stakeholder, client_for):
    response = client_for(stakeholder).post(
        f"/api/v1/projects/{submitted.project_id}/proposals/1/reviews/",
        {"decision": "request_changes", "comment": "Add a baseline."},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "changes_requested"
    assert body["decisions"][0]["decision"] == "request_changes"
    assert body["decisions"][0]["comment"] == "Add a baseline."


def test_a_reject_without_comment_is_400(submitted, stakeholder, client_for):
    response = client_for(stakeholder).post(
        f"/api/v1/projects/{submitted.project_id}/proposals/1/reviews/",
        {"decision": "reject"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "comment" in response.json()["error"]["fields"]


def test_a_decision_on_a_closed_version_is_409(submitted, stakeholder, admin, client_for):
    url = f"/api/v1/projects/{submitted.project_id}/proposals/1/reviews/"
    client_for(stakeholder).post(url, {"decision": "approve"}, content_type="application/json")
    response = client_for(admin).post(
        url, {"decision": "reject", "comment": "No"}, content_type="application/json"
    )
    assert response.status_code == 409


def test_the_project_detail_has_a_draft_approval_before_any_submission(proj, member, client_for):
    body = client_for(member).get(f"/api/v1/projects/{proj.pk}/").json()
    assert body["approval"] == {
        "status": "draft",
        "version": None,
        "stale": False,
        "approved_version": None,
    }


def test_the_project_detail_reports_a_stale_approval(submitted, member, stakeholder, client_for):
    client_for(stakeholder).post(
        f"/api/v1/projects/{submitted.project_id}/proposals/1/reviews/",
        {"decision": "approve"},
        content_type="application/json",
    )
    section_update(
        project=submitted.project,
        user=member,
        section="problem",
        values={"statement": "Menus are too long"},
    )
    body = client_for(member).get(f"/api/v1/projects/{submitted.project_id}/").json()
    assert body["approval"] == {
        "status": "approved",
        "version": 1,
        "stale": True,
        "approved_version": 1,
    }


def test_comments_are_created_and_listed_on_a_section(proj, member, stakeholder, client_for):
    url = f"/api/v1/projects/{proj.pk}/sections/phenomenon/comments/"
    created = client_for(member).post(
        url, {"body": "Ask @stakeholder <script>x</script>"}, content_type="application/json"
    )
    assert created.status_code == 201
    root = created.json()
    assert root["body_html"] == '<p>Ask <span class="mention">@stakeholder</span> </p>'
    reply = client_for(stakeholder).post(
        url, {"body": "Sure", "parent": root["id"]}, content_type="application/json"
    )
    assert reply.json()["parent"] == root["id"]
    listed = client_for(member).get(url).json()
    assert [(c["body"], c["author"]) for c in listed] == [
        ("Ask @stakeholder <script>x</script>", member.email),
        ("Sure", stakeholder.email),
    ]


def test_comments_on_an_unknown_section_are_404(proj, member, client_for):
    url = f"/api/v1/projects/{proj.pk}/sections/nonsense/comments/"
    assert client_for(member).get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": 1}, "decision"),
        ({"decision": ["approve"]}, "decision"),
        ({"decision": "approve", "comment": 5}, "comment"),
    ],
)
def test_a_review_of_a_wrong_json_type_is_a_400_that_decides_nothing(
    submitted, stakeholder, client_for, body, field
):
    response = client_for(stakeholder).post(
        f"/api/v1/projects/{submitted.project_id}/proposals/1/reviews/",
        body,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ProposalReview.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reviewers": "stakeholder@acme.test"}, "reviewers"),
        ({"reviewers": [5]}, "reviewers"),
        ({"message": 5}, "message"),
    ],
)
def test_a_submission_of_a_wrong_json_type_is_a_400_that_submits_nothing(
    written, member, client_for, body, field
):
    response = client_for(member).post(
        f"/api/v1/projects/{written.pk}/proposals/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": 5}, "body"),
        ({"body": "Sure", "parent": "PARENT"}, "parent"),
        ({"body": "Sure", "parent": 1.0}, "parent"),
        ({"body": "Sure", "parent": True}, "parent"),
        ({"body": "Sure", "parent": 2**63}, "parent"),
    ],
)
def test_a_comment_of_a_wrong_json_type_is_a_400_that_saves_nothing(
    proj, member, client_for, body, field
):
    url = f"/api/v1/projects/{proj.pk}/sections/phenomenon/comments/"
    root = client_for(member).post(url, {"body": "Root"}, content_type="application/json")
    if body.get("parent") == "PARENT":
        body = {**body, "parent": str(root.json()["id"])}
    response = client_for(member).post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert list(Comment.objects.values_list("body", flat=True)) == ["Root"]
