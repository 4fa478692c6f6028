"""The proposal lifecycle as a state machine, driven by hypothesis: any sequence of
submissions, decisions and withdrawals, by any role, keeps the invariants — one open
version at most, statuses only move along `PROPOSAL_TRANSITIONS`, refused moves change
nothing, and the status always equals what the reviewers' latest decisions add up to."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from accounts.models import Membership
from accounts.permissions import Role
from mlprojects.lifecycle.services import project_create
from mlprojects.models import OPEN_STATUSES, PROPOSAL_TRANSITIONS, Proposal, ProposalStatus
from mlprojects.review.services import (
    TransitionRefused,
    proposal_decide,
    proposal_submit,
    proposal_withdraw,
    status_from_decisions,
)
from tests.factories import OrganizationFactory, UserFactory

ROLES = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.STAKEHOLDER, Role.VIEWER]
CAN_SUBMIT = {Role.OWNER, Role.ADMIN, Role.MEMBER}
CAN_DECIDE = {Role.OWNER, Role.ADMIN, Role.STAKEHOLDER}


class ProposalMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.org = OrganizationFactory(approvals_required=2)
        self.users = {}
        for role in ROLES:
            user = UserFactory()
            Membership.objects.create(organization=self.org, user=user, role=role)
            self.users[role] = user
        self.project = project_create(org=self.org, user=self.users[Role.MEMBER], name="P")
        # Our model of the world: status per version, latest decision per reviewer.
        self.status: dict[int, str] = {}
        self.author: dict[int, int] = {}
        self.latest: dict[int, dict[int, str]] = {}

    def _refresh(self, version: int) -> Proposal:
        return Proposal.objects.get(project=self.project, version=version)

    @rule(role=st.sampled_from(sorted(CAN_SUBMIT)))
    def submit(self, role):
        user = self.users[role]
        before = dict(self.status)
        proposal = proposal_submit(project=self.project, user=user)
        assert proposal.version == len(before) + 1
        for version, status in before.items():
            expected = ProposalStatus.SUPERSEDED if status in OPEN_STATUSES else status
            self.status[version] = expected
        self.status[proposal.version] = ProposalStatus.IN_REVIEW
        self.author[proposal.version] = user.pk
        self.latest[proposal.version] = {}

    @precondition(lambda self: self.status)
    @rule(
        role=st.sampled_from(ROLES),
        decision=st.sampled_from(["approve", "request_changes", "reject"]),
        pick=st.integers(min_value=0, max_value=10),
        with_comment=st.booleans(),
    )
    def decide(self, role, decision, pick, with_comment):
        version = sorted(self.status)[pick % len(self.status)]
        user = self.users[role]
        before = self.status[version]
        comment = "Because." if with_comment else ""
        try:
            status = proposal_decide(
                proposal=self._refresh(version), user=user, decision=decision, comment=comment
            )
        except PermissionDenied:
            assert role not in CAN_DECIDE or self.author[version] == user.pk
        except ValidationError:
            assert decision != "approve" and not comment
        except TransitionRefused:
            assert before not in OPEN_STATUSES
        else:
            assert role in CAN_DECIDE and self.author[version] != user.pk
            assert before in OPEN_STATUSES
            assert decision == "approve" or comment
            self.latest[version][user.pk] = decision
            expected = status_from_decisions(list(self.latest[version].values()), 2)
            assert status == expected
            assert status == before or status in PROPOSAL_TRANSITIONS[before]
            self.status[version] = status

    @precondition(lambda self: self.status)
    @rule(role=st.sampled_from(ROLES), pick=st.integers(min_value=0, max_value=10))
    def withdraw(self, role, pick):
        version = sorted(self.status)[pick % len(self.status)]
        user = self.users[role]
        try:
            proposal_withdraw(proposal=self._refresh(version), user=user)
        except PermissionDenied:
            assert self.author[version] != user.pk
        except TransitionRefused:
            assert self.status[version] not in OPEN_STATUSES
        else:
            assert self.status[version] in OPEN_STATUSES
            self.status[version] = ProposalStatus.WITHDRAWN

    @invariant()
    def database_matches_the_model(self):
        stored = dict(
            Proposal.objects.filter(project=self.project).values_list("version", "status")
        )
        assert stored == self.status

    @invariant()
    def at_most_one_version_is_open(self):
        assert sum(s in OPEN_STATUSES for s in self.status.values()) <= 1


@pytest.mark.django_db
def test_proposal_state_machine():
    machine = settings(max_examples=25, stateful_step_count=15, deadline=None, database=None)(
        ProposalMachine
    )
    machine.TestCase().runTest()


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ([], "in_review"),
        (["approve"], "in_review"),
        (["approve", "approve"], "approved"),
        (["approve", "approve", "request_changes"], "changes_requested"),
        (["approve", "approve", "reject"], "rejected"),
        (["request_changes", "reject"], "rejected"),
    ],
)
def test_status_from_latest_decisions_with_two_approvals_required(decisions, expected):
    assert status_from_decisions(decisions, 2) == expected
