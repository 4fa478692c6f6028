"""State changes of collaborative review: comments, proposal submission, decisions and
withdrawal. Each is atomic, writes its audit row (with a readable `summary` and the `url`
of what it is about, so the organization's audit log and the activity feeds can show it),
and notifies people through `accounts.services.notify`, which mails after commit."""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.permissions import Perm
from accounts.services import audit, notify
from mlprojects.lifecycle.selectors import cycle_get, project_snapshot
from mlprojects.models import (
    ANALYSIS_SECTION,
    OPEN_STATUSES,
    BusinessAnalysis,
    Comment,
    Decision,
    Project,
    Proposal,
    ProposalReview,
    ProposalStatus,
    Stage,
)
from mlprojects.review import selectors
from mlprojects.review.evidence import collect_evidence
from mlprojects.review.models import NotificationKind
from mlprojects.review.richtext import mention_handle, mentioned_handles

COMMENT_MAX_LENGTH = 10_000


class TransitionRefused(Exception):
    """A proposal cannot make this move from its current status (a conflict, not bad
    input: the API answers 409)."""


# ---------------------------------------------------------------- URLs of things


def project_step_url(project: Project, section: str) -> str:
    url = reverse("mlprojects:project_detail", args=[project.organization.slug, project.slug])
    return f"{url}#step-{section}"


def proposal_url(proposal: Proposal) -> str:
    project = proposal.project
    return reverse(
        "mlprojects:proposal_detail",
        args=[project.organization.slug, project.slug, proposal.version],
    )


def comment_url(comment: Comment) -> str:
    if comment.analysis_id:
        analysis = comment.analysis
        url = reverse(
            "mlprojects:analysis_detail", args=[analysis.organization.slug, analysis.slug]
        )
        return f"{url}#comments"
    if comment.proposal_id:
        return f"{proposal_url(comment.proposal)}#comments-{comment.section}"
    return project_step_url(comment.project, comment.section)


def _where(comment: Comment) -> str:
    if comment.analysis_id:
        return f"the analysis “{comment.analysis.name}”"
    return f"{Stage(comment.section).label.split('. ', 1)[1]} of “{comment.project.name}”"


# ---------------------------------------------------------------- comments


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > COMMENT_MAX_LENGTH:
        raise ValidationError({"body": f"Keep it under {COMMENT_MAX_LENGTH} characters."})
    return body


def _notify_mentions(comment: Comment, user: User, handles: set[str]) -> None:
    if not handles:
        return
    members = [
        m.user
        for m in Membership.objects.filter(organization=comment.organization).select_related("user")
        if mention_handle(m.user.email) in handles
    ]
    notify(
        org=comment.organization,
        recipients=members,
        actor=user,
        kind=NotificationKind.MENTION,
        text=f"{user.display_name} mentioned you on {_where(comment)}",
        url=comment_url(comment),
    )


@transaction.atomic
def comment_create(
    *,
    org: Organization,
    user: User,
    body: str,
    section: str = "",
    project: Project | None = None,
    analysis: BusinessAnalysis | None = None,
    parent: Comment | None = None,
    proposal: Proposal | None = None,
) -> Comment:
    """Start a thread on a project's step or an analysis, or reply to one (a reply to a
    reply joins the thread). Mentioned members and the thread's author are notified."""
    body = _clean_body(body)
    if parent is not None:
        parent = parent.parent or parent
        if parent.organization_id != org.pk:
            raise ValidationError({"parent": "No such thread."})
        project, analysis, section = parent.project, parent.analysis, parent.section
    if (project is None) == (analysis is None):
        raise ValueError("A comment is on a project or an analysis.")
    if project is not None and (project.organization_id != org.pk or section not in Stage.values):
        raise ValidationError({"section": "No such section."})
    if analysis is not None:
        if analysis.organization_id != org.pk:
            raise ValidationError({"section": "No such analysis."})
        section = ANALYSIS_SECTION
    if proposal is not None and proposal.project_id != getattr(project, "pk", None):
        proposal = None
    comment = Comment.objects.create(
        organization=org,
        project=project,
        analysis=analysis,
        section=section,
        parent=parent,
        proposal=proposal,
        author=user,
        body=body,
    )
    url = comment_url(comment)
    audit(
        org=org,
        actor=user,
        action="comment.replied" if parent else "comment.created",
        target=project.name if project else analysis.name,
        data={
            "comment": comment.pk,
            "project": getattr(project, "pk", None),
            "section": section,
            "summary": f"{'replied' if parent else 'commented'} on {_where(comment)}",
            "url": url,
        },
    )
    handles = mentioned_handles(body)
    _notify_mentions(comment, user, handles)
    if parent is not None and parent.author and mention_handle(parent.author.email) not in handles:
        notify(
            org=org,
            recipients=[parent.author],
            actor=user,
            kind=NotificationKind.REPLY,
            text=f"{user.display_name} replied to your comment on {_where(comment)}",
            url=url,
        )
    return comment


def _own(comment: Comment, user: User) -> None:
    if comment.author_id != user.pk:
        raise PermissionDenied("Only its author can change a comment.")
    if comment.is_deleted:
        raise ValidationError("This comment was deleted.")


@transaction.atomic
def comment_update(*, comment: Comment, user: User, body: str) -> Comment:
    """Edit your own comment; members newly mentioned are notified."""
    _own(comment, user)
    body = _clean_body(body)
    before = mentioned_handles(comment.body)
    comment.body = body
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at", "updated_at"])
    _notify_mentions(comment, user, mentioned_handles(body) - before)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, user: User) -> Comment:
    """Delete your own comment. Its place in the thread stays (replies keep their context)
    but its text is gone."""
    _own(comment, user)
    comment.body = ""
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["body", "deleted_at", "updated_at"])
    audit(
        org=comment.organization,
        actor=user,
        action="comment.deleted",
        target=comment.project.name if comment.project_id else comment.analysis.name,
        data={"comment": comment.pk, "project": comment.project_id, "section": comment.section},
    )
    return comment


@transaction.atomic
def comment_resolve(*, comment: Comment, user: User, resolved: bool) -> Comment:
    """Resolve (or reopen) the thread the comment belongs to."""
    thread = comment.parent or comment
    if resolved == thread.is_resolved:
        return thread
    thread.resolved_at = timezone.now() if resolved else None
    thread.resolved_by = user if resolved else None
    thread.save(update_fields=["resolved_at", "resolved_by", "updated_at"])
    audit(
        org=thread.organization,
        actor=user,
        action="comment.resolved" if resolved else "comment.reopened",
        target=thread.project.name if thread.project_id else thread.analysis.name,
        data={
            "comment": thread.pk,
            "project": thread.project_id,
            "section": thread.section,
            "summary": f"{'resolved' if resolved else 'reopened'} a thread on {_where(thread)}",
            "url": comment_url(thread),
        },
    )
    return thread


# ---------------------------------------------------------------- proposals


def _membership(org: Organization, user: User) -> Membership | None:
    return Membership.objects.filter(organization=org, user=user).first()


def _set_status(proposal: Proposal, status: str, *, user: User | None, reason: str) -> None:
    if not proposal.can_move_to(status):
        raise TransitionRefused(
            f"v{proposal.version} is {proposal.get_status_display().lower()}; it can't become "
            f"{ProposalStatus(status).label.lower()}."
        )
    old = proposal.status
    proposal.status = status
    proposal.status_changed_at = timezone.now()
    proposal.save(update_fields=["status", "status_changed_at"])
    audit(
        org=proposal.project.organization,
        actor=user,
        action="proposal.status_changed",
        target=proposal.project.name,
        data={
            "project": proposal.project_id,
            "proposal": proposal.pk,
            "version": proposal.version,
            "from": old,
            "to": status,
            "summary": f"v{proposal.version} of “{proposal.project.name}”: "
            f"{ProposalStatus(old).label.lower()} → {ProposalStatus(status).label.lower()} "
            f"({reason})",
            "url": proposal_url(proposal),
        },
    )


@transaction.atomic
def proposal_submit(
    *,
    project: Project,
    user: User,
    reviewers: list[User] | None = None,
    message: str = "",
) -> Proposal:
    """Freeze the project's current content as its next proposal version, in review.
    An open earlier version is superseded. `reviewers` must be members who may approve
    (not the author); by default every such member is asked."""
    # Lock the project row before reading the last version, so concurrent submits queue
    # here and numbers never clash. An UPDATE (rather than SELECT … FOR UPDATE) also takes
    # SQLite's write lock, which ignores FOR UPDATE; it marks the project as active.
    Project.objects.filter(pk=project.pk).update(updated_at=timezone.now())
    org = project.organization
    approvers = selectors.reviewers_to_choose(org=org, author=user)
    if reviewers is None:
        reviewers = approvers
    else:
        allowed = {u.pk for u in approvers}
        if any(r.pk not in allowed for r in reviewers):
            raise ValidationError(
                {"reviewers": "Reviewers are stakeholders, admins or owners — not yourself."}
            )
    if not reviewers:
        raise ValidationError(
            {"reviewers": "Nobody can review this yet: invite a stakeholder first."}
        )
    cycle = cycle_get(project=project)
    snapshot = project_snapshot(project, cycle=cycle)
    # The results the team argues with, frozen beside the steps they support.
    snapshot["evidence"] = collect_evidence(project=project)
    last = Proposal.objects.filter(project=project).order_by("-version").first()
    for open_one in Proposal.objects.filter(project=project, status__in=OPEN_STATUSES):
        _set_status(
            open_one, ProposalStatus.SUPERSEDED, user=user, reason="a new version was submitted"
        )
    proposal = Proposal.objects.create(
        project=project,
        version=(last.version if last else 0) + 1,
        cycle=cycle.number,
        snapshot=_json_ready(snapshot),
        message=message.strip(),
        author=user,
    )
    proposal.reviewers.set(reviewers)
    url = proposal_url(proposal)
    audit(
        org=org,
        actor=user,
        action="proposal.submitted",
        target=project.name,
        data={
            "project": project.pk,
            "proposal": proposal.pk,
            "version": proposal.version,
            "reviewers": sorted(r.email for r in reviewers),
            "summary": f"submitted v{proposal.version} of “{project.name}” for review",
            "url": url,
        },
    )
    notify(
        org=org,
        recipients=reviewers,
        actor=user,
        kind=NotificationKind.REVIEW_REQUESTED,
        text=f"{user.display_name} asks for your review of “{project.name}” v{proposal.version}",
        url=url,
    )
    return proposal


def _json_ready(data):
    """The snapshot as it will read back from the JSON column (dates as strings)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def may_decide(*, proposal: Proposal, user: User, membership: Membership | None) -> bool:
    return bool(
        membership
        and membership.can(Perm.APPROVE)
        and membership.organization_id == proposal.project.organization_id
        and proposal.author_id != user.pk
    )


def status_from_decisions(decisions: list[str], approvals_required: int) -> str:
    """The status that the reviewers' latest decisions add up to: any reject rejects,
    any request for changes holds it, enough approvals approve."""
    if Decision.REJECT in decisions:
        return ProposalStatus.REJECTED
    if Decision.REQUEST_CHANGES in decisions:
        return ProposalStatus.CHANGES_REQUESTED
    if decisions.count(Decision.APPROVE) >= max(approvals_required, 1):
        return ProposalStatus.APPROVED
    return ProposalStatus.IN_REVIEW


@transaction.atomic
def proposal_decide(*, proposal: Proposal, user: User, decision: str, comment: str = "") -> str:
    """Record a reviewer's decision and move the proposal to the status the reviewers'
    latest decisions add up to. Returns that status."""
    proposal = (
        Proposal.objects.select_for_update()
        .select_related("project__organization")
        .get(pk=proposal.pk)
    )
    org = proposal.project.organization
    if not may_decide(proposal=proposal, user=user, membership=_membership(org, user)):
        if proposal.author_id == user.pk:
            raise PermissionDenied("You can't decide on your own proposal.")
        raise PermissionDenied("Only stakeholders, admins and owners decide on proposals.")
    if decision not in Decision.values:
        raise ValidationError({"decision": "Decide approve, request_changes or reject."})
    comment = (comment or "").strip()
    if decision != Decision.APPROVE and not comment:
        raise ValidationError(
            {"comment": "Say why: a comment is required to request changes or reject."}
        )
    if not proposal.is_open:
        raise TransitionRefused(
            f"v{proposal.version} is {proposal.get_status_display().lower()}; decisions are closed."
        )
    ProposalReview.objects.create(
        proposal=proposal, reviewer=user, decision=decision, comment=comment
    )
    label = Decision(decision).label.lower()
    url = proposal_url(proposal)
    audit(
        org=org,
        actor=user,
        action="proposal.decided",
        target=proposal.project.name,
        data={
            "project": proposal.project_id,
            "proposal": proposal.pk,
            "version": proposal.version,
            "decision": decision,
            "summary": f"decided “{label}” on v{proposal.version} of “{proposal.project.name}”",
            "url": url,
        },
    )
    latest: dict[int, str] = {}
    for review in proposal.reviews.order_by("-created_at", "-id"):
        latest.setdefault(review.reviewer_id, review.decision)
    status = status_from_decisions(list(latest.values()), org.approvals_required)
    if status != proposal.status:
        _set_status(proposal, status, user=user, reason=f"{user.display_name}: {label}")
    if proposal.author:
        notify(
            org=org,
            recipients=[proposal.author],
            actor=user,
            kind=NotificationKind.DECISION,
            text=f"{user.display_name}: {label} on “{proposal.project.name}” "
            f"v{proposal.version} (now {proposal.get_status_display().lower()})",
            url=url,
        )
    return proposal.status


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, user: User) -> Proposal:
    proposal = (
        Proposal.objects.select_for_update()
        .select_related("project__organization")
        .get(pk=proposal.pk)
    )
    if proposal.author_id != user.pk:
        raise PermissionDenied("Only its author can withdraw a proposal.")
    _set_status(proposal, ProposalStatus.WITHDRAWN, user=user, reason="withdrawn by its author")
    return proposal
