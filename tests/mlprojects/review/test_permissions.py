"""Every role × every review action, on the pages and on the API."""

import pytest

from accounts.permissions import Role
from mlprojects.models import Comment, Proposal, ProposalReview

pytestmark = pytest.mark.django_db

ALL = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.STAKEHOLDER, Role.VIEWER]
BASE = "/o/acme/projects/menu-recommender"

# role → may it …
SUBMIT = {
    Role.OWNER: True,
    Role.ADMIN: True,
    Role.MEMBER: True,
    Role.STAKEHOLDER: False,
    Role.VIEWER: False,
}
DECIDE = {
    Role.OWNER: True,
    Role.ADMIN: True,
    Role.MEMBER: False,
    Role.STAKEHOLDER: True,
    Role.VIEWER: False,
}
COMMENT = {
    Role.OWNER: True,
    Role.ADMIN: True,
    Role.MEMBER: True,
    Role.STAKEHOLDER: True,
    Role.VIEWER: False,
}


@pytest.fixture
def review(submitted, user_with_role):
    """v1 submitted by `member`, and a function giving a fresh user of a role."""
    return submitted


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize(
    "path",
    [
        "/proposals/",
        "/proposals/1/",
        "/proposals/1/diff/",
        "/proposals/1/export.md",
        "/proposals/1/export.html",
        "/activity/",
        "/comments/goals/",
    ],
)
def test_every_role_reads_review_pages(review, user_with_role, client_for, role, path):
    assert client_for(user_with_role(role)).get(BASE + path).status_code == 200


@pytest.mark.parametrize("role", ALL)
def test_every_role_has_an_inbox_and_the_org_activity(org, user_with_role, client_for, role):
    client = client_for(user_with_role(role))
    assert client.get("/o/acme/reviews/").status_code == 200
    assert client.get("/o/acme/activity/").status_code == 200


@pytest.mark.parametrize("role", ALL)
def test_who_may_submit(written, stakeholder, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(BASE + "/proposals/submit/")
    assert response.status_code == (302 if SUBMIT[role] else 403)
    assert Proposal.objects.exists() is SUBMIT[role]


@pytest.mark.parametrize("role", ALL)
def test_who_may_decide(review, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(
        BASE + "/proposals/1/decide/", {"decision": "approve"}
    )
    assert response.status_code == (302 if DECIDE[role] else 403)
    assert ProposalReview.objects.exists() is DECIDE[role]


def test_the_author_may_not_decide_even_as_an_admin(written, admin, stakeholder, client_for):
    client = client_for(admin)
    client.post(BASE + "/proposals/submit/")
    response = client.post(BASE + "/proposals/1/decide/", {"decision": "approve"})
    assert response.status_code == 403
    assert not ProposalReview.objects.exists()


@pytest.mark.parametrize("role", ALL)
def test_only_the_author_may_withdraw(review, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(BASE + "/proposals/1/withdraw/")
    assert response.status_code in (302, 403)
    review.refresh_from_db()
    assert review.status == "in_review"


def test_the_author_withdraws(review, member, client_for):
    assert client_for(member).post(BASE + "/proposals/1/withdraw/").status_code == 302
    review.refresh_from_db()
    assert review.status == "withdrawn"


@pytest.mark.parametrize("role", ALL)
def test_who_may_comment(proj, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(BASE + "/comments/goals/new/", {"body": "x"})
    assert response.status_code == (302 if COMMENT[role] else 403)
    assert Comment.objects.exists() is COMMENT[role]


# ---------------------------------------------------------------- the API


@pytest.mark.parametrize("role", ALL)
def test_api_who_may_submit(written, stakeholder, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(
        f"/api/v1/projects/{written.pk}/proposals/", {}, content_type="application/json"
    )
    assert response.status_code == (201 if SUBMIT[role] else 403)


@pytest.mark.parametrize("role", ALL)
def test_api_who_may_decide(review, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(
        f"/api/v1/projects/{review.project_id}/proposals/1/reviews/",
        {"decision": "approve"},
        content_type="application/json",
    )
    assert response.status_code == (201 if DECIDE[role] else 403)
    if not DECIDE[role]:
        assert response.json()["error"]["status"] == 403


def test_api_the_author_may_not_decide(review, member, client_for):
    response = client_for(member).post(
        f"/api/v1/projects/{review.project_id}/proposals/1/reviews/",
        {"decision": "approve"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "own proposal" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", ALL)
def test_api_who_may_comment(proj, user_with_role, client_for, role):
    response = client_for(user_with_role(role)).post(
        f"/api/v1/projects/{proj.pk}/sections/goals/comments/",
        {"body": "x"},
        content_type="application/json",
    )
    assert response.status_code == (201 if COMMENT[role] else 403)
