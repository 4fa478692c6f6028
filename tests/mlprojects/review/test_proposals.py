"""Proposal versions and decisions: submission freezes the content, decisions move the
status, a reject blocks approval, the latest decision of a reviewer counts, editing after
approval makes it stale, and every step is audited and notified."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError

from accounts.models import AuditEvent, Notification
from mlprojects.lifecycle.page_cache import CommitBump
from mlprojects.lifecycle.services import cycle_start_next, section_update
from mlprojects.models import Proposal, ProposalReview, ProposalStatus
from mlprojects.review.selectors import approval_summary, proposal_is_stale
from mlprojects.review.services import (
    TransitionRefused,
    proposal_decide,
    proposal_submit,
    proposal_withdraw,
)

pytestmark = pytest.mark.django_db


def test_submitting_freezes_the_snapshot_as_version_1(written, member, stakeholder):
    proposal = proposal_submit(project=written, user=member)
    assert (proposal.version, proposal.status) == (1, ProposalStatus.IN_REVIEW)
    assert proposal.snapshot["steps"]["phenomenon"]["what"] == "Revenue fell."
    assert proposal.snapshot["project"]["name"] == "Menu recommender"


def test_the_snapshot_does_not_follow_later_edits(submitted, member):
    section_update(
        project=submitted.project,
        user=member,
        section="phenomenon",
        values={"what": "Guests dropped."},
    )
    submitted.refresh_from_db()
    assert submitted.snapshot["steps"]["phenomenon"]["what"] == "Revenue fell."


def test_by_default_every_approver_but_the_author_is_asked(submitted, stakeholder, admin, owner):
    assert set(submitted.reviewers.all()) == {stakeholder, admin, owner}


def test_reviewers_must_be_approvers(written, member, viewer):
    with pytest.raises(ValidationError):
        proposal_submit(project=written, user=member, reviewers=[viewer])
    assert not Proposal.objects.exists()


def test_without_anyone_who_may_approve_submission_is_refused(written, member):
    with pytest.raises(ValidationError, match="invite a stakeholder"):
        proposal_submit(project=written, user=member)


def test_review_requests_notify_the_reviewers(submitted, stakeholder, admin, owner, member):
    recipients = set(Notification.objects.values_list("recipient__email", flat=True))
    assert recipients == {stakeholder.email, admin.email, owner.email}
    assert not Notification.objects.filter(recipient=member).exists()


def test_review_requests_are_mailed_on_commit(
    written, member, stakeholder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        proposal_submit(project=written, user=member)
    mails = [c for c in callbacks if not isinstance(c, CommitBump)]  # not the page cache's
    assert len(mails) == 1  # one reviewer (the stakeholder), one email


def test_a_new_submission_supersedes_the_open_one(submitted, member):
    v2 = proposal_submit(project=submitted.project, user=member)
    submitted.refresh_from_db()
    assert v2.version == 2
    assert submitted.status == ProposalStatus.SUPERSEDED


def test_an_approved_version_stays_approved_when_a_new_one_is_submitted(
    submitted, member, stakeholder
):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    proposal_submit(project=submitted.project, user=member)
    submitted.refresh_from_db()
    assert submitted.status == ProposalStatus.APPROVED


def test_version_numbers_are_unique_per_project(submitted):
    with pytest.raises(IntegrityError):
        Proposal.objects.create(project=submitted.project, version=1, cycle=1, snapshot={})


def test_one_approval_approves_by_default(submitted, stakeholder):
    assert proposal_decide(proposal=submitted, user=stakeholder, decision="approve") == "approved"


def test_the_org_policy_sets_how_many_approvals_are_needed(submitted, stakeholder, admin, org):
    org.approvals_required = 2
    org.save()
    assert proposal_decide(proposal=submitted, user=stakeholder, decision="approve") == "in_review"
    assert proposal_decide(proposal=submitted, user=admin, decision="approve") == "approved"


def test_the_author_cannot_approve_their_own_proposal(written, admin, stakeholder):
    proposal = proposal_submit(project=written, user=admin)
    with pytest.raises(PermissionDenied, match="your own"):
        proposal_decide(proposal=proposal, user=admin, decision="approve")
    assert not ProposalReview.objects.exists()


@pytest.mark.parametrize("role_fixture", ["member", "viewer"])
def test_members_and_viewers_cannot_decide(submitted, request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    with pytest.raises(PermissionDenied):
        proposal_decide(proposal=submitted, user=user, decision="approve")


@pytest.mark.parametrize("decision", ["request_changes", "reject"])
def test_a_comment_is_required_to_request_changes_or_reject(submitted, stakeholder, decision):
    with pytest.raises(ValidationError):
        proposal_decide(proposal=submitted, user=stakeholder, decision=decision, comment=" ")
    submitted.refresh_from_db()
    assert submitted.status == ProposalStatus.IN_REVIEW


def test_any_reject_blocks_approval(submitted, stakeholder, admin, org):
    org.approvals_required = 1
    org.save()
    proposal_decide(proposal=submitted, user=admin, decision="reject", comment="Unethical.")
    with pytest.raises(TransitionRefused):
        proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    submitted.refresh_from_db()
    assert submitted.status == ProposalStatus.REJECTED


def test_a_reviewer_may_change_their_mind_while_open(submitted, stakeholder):
    status = proposal_decide(
        proposal=submitted, user=stakeholder, decision="request_changes", comment="Add a baseline."
    )
    assert status == "changes_requested"
    assert proposal_decide(proposal=submitted, user=stakeholder, decision="approve") == "approved"
    assert submitted.reviews.count() == 2


def test_only_the_author_withdraws(submitted, member, stakeholder):
    with pytest.raises(PermissionDenied):
        proposal_withdraw(proposal=submitted, user=stakeholder)
    proposal_withdraw(proposal=submitted, user=member)
    submitted.refresh_from_db()
    assert submitted.status == ProposalStatus.WITHDRAWN


def test_a_decided_proposal_cannot_be_withdrawn(submitted, member, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    with pytest.raises(TransitionRefused):
        proposal_withdraw(proposal=submitted, user=member)


def test_decisions_are_immutable(submitted, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    review = ProposalReview.objects.get()
    review.comment = "rewritten"
    with pytest.raises(ValueError):
        review.save()


def test_every_step_is_audited_with_a_readable_summary(submitted, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    events = AuditEvent.objects.filter(action__startswith="proposal.").order_by("id")
    assert [e.action for e in events] == [
        "proposal.submitted",
        "proposal.decided",
        "proposal.status_changed",
    ]
    assert events[2].data["summary"] == (
        f"v1 of “Menu recommender”: in review → approved ({stakeholder.display_name}: approve)"
    )
    assert all(e.data["url"] == "/o/acme/projects/menu-recommender/proposals/1/" for e in events)


def test_the_author_is_notified_of_a_decision(submitted, member, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    notification = Notification.objects.get(recipient=member)
    assert notification.kind == "decision"
    assert "now approved" in notification.text


# ---------------------------------------------------------------- stale approvals


def test_before_any_submission_the_project_is_a_draft(proj):
    assert approval_summary(project=proj) == {
        "status": "draft",
        "version": None,
        "stale": False,
        "approved_version": None,
    }


def test_an_approval_is_current_until_a_section_is_edited(submitted, member, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    assert approval_summary(project=submitted.project)["stale"] is False
    section_update(
        project=submitted.project,
        user=member,
        section="goal",
        values={"statement": "Win back first-time guests"},
    )
    summary = approval_summary(project=submitted.project)
    assert summary == {"status": "approved", "version": 1, "stale": True, "approved_version": 1}


def test_an_edit_that_is_undone_is_not_stale(submitted, member):
    project = submitted.project
    section_update(project=project, user=member, section="phenomenon", values={"what": "X"})
    assert proposal_is_stale(submitted) is True
    section_update(
        project=project, user=member, section="phenomenon", values={"what": "Revenue fell."}
    )
    assert proposal_is_stale(submitted) is False


def test_starting_the_next_cycle_leaves_the_approval_current(submitted, member, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    project = submitted.project
    cycle_start_next(project=project, user=member)
    # Editing the new cycle does not touch what was approved in cycle 1 either.
    section_update(project=project, user=member, section="phenomenon", values={"what": "X"})
    summary = approval_summary(project=project)
    assert summary == {"status": "approved", "version": 1, "stale": False, "approved_version": 1}
    assert proposal_is_stale(submitted) is False


def test_a_new_version_makes_the_approval_current_again(submitted, member, stakeholder):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    section_update(
        project=submitted.project,
        user=member,
        section="phenomenon",
        values={"what": "Guests dropped."},
    )
    v2 = proposal_submit(project=submitted.project, user=member)
    proposal_decide(proposal=v2, user=stakeholder, decision="approve")
    assert approval_summary(project=submitted.project) == {
        "status": "approved",
        "version": 2,
        "stale": False,
        "approved_version": 2,
    }


def test_the_project_page_says_approved_edited_since(submitted, member, stakeholder, client_for):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    section_update(
        project=submitted.project,
        user=member,
        section="phenomenon",
        values={"what": "Guests dropped."},
    )
    page = client_for(member).get("/o/acme/projects/menu-recommender/").content.decode()
    assert "v1 approved, edited since" in page
