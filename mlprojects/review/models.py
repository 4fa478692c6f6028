"""Collaborative review: comment threads on sections and analyses, proposal versions
frozen for stakeholder review, and the reviewers' decisions.

A `Proposal` is immutable once submitted except for its `status`, which moves along
`PROPOSAL_TRANSITIONS` only through `mlprojects.review.services`. Decisions are append-only: a
reviewer may decide again while the proposal is open, and their latest decision counts.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization, TimeStampedModel
from mlprojects.analyses.models import BusinessAnalysis
from mlprojects.lifecycle.models.projects import Project, Stage


class ProposalStatus(models.TextChoices):
    # `draft` is never stored: it is the state of a project without an open proposal.
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Superseded"


# Statuses in which reviewers may still decide and the author may withdraw.
OPEN_STATUSES = (ProposalStatus.IN_REVIEW, ProposalStatus.CHANGES_REQUESTED)


class NotificationKind(models.TextChoices):
    """What review notifies people of (registered with accounts by `MlprojectsConfig`)."""

    MENTION = "mention", "Mention"
    REPLY = "reply", "Reply"
    REVIEW_REQUESTED = "review_requested", "Review requested"
    DECISION = "decision", "Decision"


# Every allowed status change (a new submission starts in `in_review`).
PROPOSAL_TRANSITIONS: dict[str, set[str]] = {
    ProposalStatus.IN_REVIEW: {
        ProposalStatus.APPROVED,
        ProposalStatus.CHANGES_REQUESTED,
        ProposalStatus.REJECTED,
        ProposalStatus.WITHDRAWN,
        ProposalStatus.SUPERSEDED,
    },
    # A reviewer who requested changes may change their mind (back to in review, or on to
    # approved/rejected); the author resubmits (superseded) or withdraws.
    ProposalStatus.CHANGES_REQUESTED: {
        ProposalStatus.IN_REVIEW,
        ProposalStatus.APPROVED,
        ProposalStatus.REJECTED,
        ProposalStatus.WITHDRAWN,
        ProposalStatus.SUPERSEDED,
    },
    ProposalStatus.APPROVED: set(),
    ProposalStatus.REJECTED: set(),
    ProposalStatus.WITHDRAWN: set(),
    ProposalStatus.SUPERSEDED: set(),
}


class Proposal(models.Model):
    """Version `version` of a project's proposal: `project_snapshot` frozen at submission,
    so reviewers read exactly what was submitted however the project changes later."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="proposals")
    version = models.PositiveIntegerField()
    cycle = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.IN_REVIEW
    )
    snapshot = models.JSONField()
    message = models.TextField("Note to reviewers", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="proposals_to_review"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"],
                name="proposal_version_unique_per_project",
                violation_error_message="This proposal version exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[s for s in ProposalStatus.values if s != ProposalStatus.DRAFT]
                ),
                name="proposal_status_valid",
                violation_error_message="Unknown proposal status.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} · v{self.version}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def can_move_to(self, status: str) -> bool:
        return status in PROPOSAL_TRANSITIONS.get(self.status, set())


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"
    REJECT = "reject", "Reject"


class ProposalReview(models.Model):
    """One decision of one reviewer on one proposal version. Append-only: deciding again
    adds a row, and the reviewer's latest row is the one that counts."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values),
                name="proposal_review_decision_valid",
                violation_error_message="Decide approve, request changes or reject.",
            ),
            models.CheckConstraint(
                condition=models.Q(decision=Decision.APPROVE) | ~models.Q(comment=""),
                name="proposal_review_comment_required",
                violation_error_message="Say why: a comment is required to request changes "
                "or reject.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} {self.proposal}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Decisions are immutable; decide again instead.")
        super().save(*args, **kwargs)


# Business analyses are commented as a whole (one thread list per analysis).
ANALYSIS_SECTION = "analysis"
SECTION_CHOICES = [*Stage.choices, (ANALYSIS_SECTION, "Business analysis")]


class Comment(TimeStampedModel):
    """A comment on a step of a project's current cycle (`section` is the step key the
    workspace uses) or on a business analysis. A comment without a parent starts a thread;
    replies hang off it, and only threads are resolved. The body is Markdown, rendered and
    sanitized on display; a deleted comment keeps its place in the thread, without text."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="comments"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    analysis = models.ForeignKey(
        BusinessAnalysis, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    section = models.CharField(max_length=30, choices=SECTION_CHOICES)
    # The proposal version being read when the comment was written, if any.
    proposal = models.ForeignKey(
        Proposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["project", "section"], name="comment_section_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(project__isnull=False, analysis__isnull=True)
                    & ~models.Q(section=ANALYSIS_SECTION)
                )
                | models.Q(project__isnull=True, analysis__isnull=False, section=ANALYSIS_SECTION),
                name="comment_on_project_section_or_analysis",
                violation_error_message="A comment belongs to a project section or an analysis.",
            ),
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True) | models.Q(resolved_at__isnull=True),
                name="comment_only_threads_resolve",
                violation_error_message="Only a thread is resolved, not a reply.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:60]}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def thread_id(self) -> int:
        return self.parent_id or self.pk
