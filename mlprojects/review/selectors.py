"""Reads of collaborative review: comment threads, proposals and whether an approval is
stale, the reviewer's inbox, activity feeds, and a proposal as a readable document."""

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Organization, User
from accounts.permissions import Perm, role_can
from mlprojects.lifecycle import selectors
from mlprojects.lifecycle.diffs import section_diff
from mlprojects.models import (
    OPEN_STATUSES,
    BusinessAnalysis,
    Comment,
    Project,
    Proposal,
    ProposalReview,
    ProposalStatus,
    SectionVersion,
    Stage,
)
from mlprojects.review.activity import activity_sources, describe_events
from mlprojects.review.document import (
    DocSection,
    ProposalDocument,
    build_document,
    document_markdown,
    document_sections,
)
from mlprojects.review.richtext import mention_handle

# ---------------------------------------------------------------- comments


@dataclass
class Thread:
    root: Comment
    replies: list[Comment]

    @property
    def is_resolved(self) -> bool:
        return self.root.is_resolved


def comment_get(*, org: Organization, pk: int) -> Comment:
    """A comment of `org`, or 404 (also for another organization's comment)."""
    return get_object_or_404(
        Comment.objects.select_related("project", "analysis", "proposal", "author"),
        pk=pk,
        organization=org,
    )


def comment_threads(
    *,
    org: Organization,
    section: str,
    project: Project | None = None,
    analysis: BusinessAnalysis | None = None,
) -> list[Thread]:
    """Threads on a project's step (or an analysis), oldest first, each with its replies."""
    comments = Comment.objects.filter(organization=org, section=section).select_related(
        "author", "resolved_by", "proposal"
    )
    comments = comments.filter(project=project) if project else comments.filter(analysis=analysis)
    roots: dict[int, Thread] = {}
    replies: list[Comment] = []
    for comment in comments.order_by("created_at", "id"):
        if comment.parent_id is None:
            roots[comment.pk] = Thread(comment, [])
        else:
            replies.append(comment)
    for reply in replies:
        if reply.parent_id in roots:
            roots[reply.parent_id].replies.append(reply)
    return list(roots.values())


def open_thread_counts(*, project: Project) -> dict[str, int]:
    """Unresolved threads per step of the project."""
    counts: dict[str, int] = {}
    rows = Comment.objects.filter(
        project=project, parent__isnull=True, resolved_at__isnull=True, deleted_at__isnull=True
    ).values_list("section", flat=True)
    for section in rows:
        counts[section] = counts.get(section, 0) + 1
    return counts


def member_handles(*, org: Organization) -> set[str]:
    return {
        mention_handle(email)
        for email in Membership.objects.filter(organization=org).values_list(
            "user__email", flat=True
        )
    }


def mention_candidates(*, org: Organization, query: str, limit: int = 8) -> list[dict]:
    """Members whose name or email starts with (or contains) `query`, for autocomplete."""
    query = query.strip().lstrip("@")
    members = Membership.objects.filter(organization=org).select_related("user")
    if query:
        members = members.filter(
            Q(user__email__icontains=query) | Q(user__full_name__icontains=query)
        )
    return [
        {"handle": mention_handle(m.user.email), "name": m.user.display_name, "role": m.role}
        for m in members.order_by("user__email")[:limit]
    ]


# ---------------------------------------------------------------- proposals


def proposal_list(*, project: Project) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(project=project)
        .select_related("author")
        .prefetch_related("reviewers")
        .order_by("-version")
    )


def proposal_get(*, project: Project, version: int) -> Proposal:
    """Version `version` of the project's proposal, or 404."""
    return get_object_or_404(
        Proposal.objects.select_related("author", "project__organization").prefetch_related(
            "reviewers",
            Prefetch("reviews", queryset=ProposalReview.objects.select_related("reviewer")),
        ),
        project=project,
        version=version,
    )


def latest_decisions(proposal: Proposal) -> list[ProposalReview]:
    """Each reviewer's latest decision (the one that counts), newest first."""
    latest: dict[int | None, ProposalReview] = {}
    for review in sorted(proposal.reviews.all(), key=lambda r: (r.created_at, r.id), reverse=True):
        latest.setdefault(review.reviewer_id, review)
    return list(latest.values())


def _comparable(steps: dict) -> dict:
    return json.loads(json.dumps(steps, cls=DjangoJSONEncoder))


def proposal_is_stale(proposal: Proposal, *, steps: dict | None = None) -> bool:
    """Whether the content of the proposal's own cycle changed since `proposal` was
    submitted (starting the next cycle leaves an approval of the previous one current).
    Cheap when nothing was saved since (one query); otherwise the content is compared, so
    an edit that was undone does not make an approval stale. `steps`: the current
    cycle's content, used when the proposal is of the current cycle."""
    project = proposal.project
    edited = SectionVersion.objects.filter(
        project=project, cycle__number=proposal.cycle, created_at__gt=proposal.created_at
    ).exists()
    if not edited:
        return False
    if steps is None or project.cycle != proposal.cycle:
        steps = selectors.cycle_steps(selectors.cycle_get(project=project, number=proposal.cycle))
    return _comparable(steps) != proposal.snapshot["steps"]


def approval_summary(*, project: Project, steps: dict | None = None) -> dict:
    """The state of the project's latest proposal: `{"status", "version", "stale",
    "approved_version"}`. Before any submission: status "draft", version null, stale
    false. `stale`: the content changed since that version was submitted.
    `approved_version`: the newest approved version (it may be older than `version`)."""
    proposals = list(Proposal.objects.filter(project=project).order_by("-version"))
    if not proposals:
        return {
            "status": ProposalStatus.DRAFT.value,
            "version": None,
            "stale": False,
            "approved_version": None,
        }
    latest = proposals[0]
    latest.project = project
    approved = next((p for p in proposals if p.status == ProposalStatus.APPROVED), None)
    return {
        "status": latest.status,
        "version": latest.version,
        "stale": proposal_is_stale(latest, steps=steps),
        "approved_version": approved.version if approved else None,
    }


def reviewers_to_choose(*, org: Organization, author: User) -> list[User]:
    """Members who may approve (stakeholders, admins, owners), except the author."""
    return [
        m.user
        for m in Membership.objects.filter(organization=org)
        .select_related("user")
        .order_by("user__email")
        if role_can(m.role, Perm.APPROVE) and m.user_id != author.pk
    ]


@dataclass
class Inbox:
    awaiting: list[Proposal] = field(default_factory=list)
    decided: list[Proposal] = field(default_factory=list)
    mine: list[Proposal] = field(default_factory=list)


def review_inbox(*, org: Organization, user: User) -> Inbox:
    """Open proposals asking for `user`'s decision (split into not yet decided and
    decided — a reviewer may change their mind), and the latest version of each project
    `user` submitted."""
    inbox = Inbox()
    asked = (
        Proposal.objects.filter(project__organization=org, reviewers=user, status__in=OPEN_STATUSES)
        .select_related("project", "author")
        .order_by("-created_at")
    )
    decided_ids = set(
        ProposalReview.objects.filter(proposal__in=asked, reviewer=user).values_list(
            "proposal_id", flat=True
        )
    )
    for proposal in asked:
        (inbox.decided if proposal.pk in decided_ids else inbox.awaiting).append(proposal)
    seen: set[int] = set()
    for proposal in (
        Proposal.objects.filter(project__organization=org, author=user)
        .select_related("project")
        .order_by("-created_at")
    ):
        if proposal.project_id not in seen:
            seen.add(proposal.project_id)
            inbox.mine.append(proposal)
    return inbox


# ---------------------------------------------------------------- activity


@dataclass
class Activity:
    actor: str
    text: str
    url: str
    at: datetime
    action: str


def _step_label(step: str) -> str:
    try:
        return Stage(step).label.split(". ", 1)[1]
    except ValueError:
        return step


def _project_key(data) -> int | str | None:
    """The project an audit row names: its id, or on rows written before ids were recorded
    (such as "turned into a project") its slug; None for anything else."""
    key = data.get("project") if isinstance(data, dict) else None
    if isinstance(key, bool) or not isinstance(key, int | str):
        return None
    return key


def _describe(event: AuditEvent, projects: dict, described: dict) -> tuple:
    data = event.data or {}
    if data.get("summary"):
        return data["summary"], data.get("url", "")
    if event.pk in described:
        return described[event.pk]
    project = projects.get(_project_key(data))
    if event.action == "section.updated" and project:
        url = reverse("mlprojects:project_detail", args=[project.organization.slug, project.slug])
        step = data.get("step", "")
        return (
            f"edited {_step_label(step)} of “{project.name}” (v{data.get('version')})",
            f"{url}#step-{step}",
        )
    if event.action == "project.created" and project:
        url = reverse("mlprojects:project_detail", args=[project.organization.slug, project.slug])
        return f"created the project “{project.name}”", url
    if event.action == "project.cycle_started":
        return f"started cycle {data.get('cycle')} of “{event.target}”", ""
    return event.sentence, ""


def activity(*, org: Organization, project: Project | None = None, limit: int = 100) -> list:
    """Who did what and when, newest first, each linking to what it is about: section
    edits, comments, submissions, decisions and status changes (all from the audit log,
    which every service writes), and the events that other apps describe through
    `review.activity` (A/B test decisions)."""
    events = AuditEvent.objects.filter(organization=org).select_related("actor")
    if project is not None:
        scope = Q(data__project=project.pk) | Q(
            # Rows written before project ids were recorded name the project.
            action__startswith="section.",
            target=project.name,
        )
        for source in activity_sources():
            scope |= source.project_events(project=project)
        events = events.filter(scope)
    events = list(events[:limit])
    keys = {_project_key(e.data) for e in events} - {None}
    projects = {}
    for found in Project.objects.filter(
        Q(pk__in=[k for k in keys if isinstance(k, int)])
        | Q(slug__in=[k for k in keys if isinstance(k, str)]),
        organization=org,
    ).select_related("organization"):
        projects[found.pk] = projects[found.slug] = found
    described = describe_events(org=org, events=events)
    feed = []
    for event in events:
        text, url = _describe(event, projects, described)
        actor = event.actor.display_name if event.actor else "system"
        feed.append(
            Activity(actor=actor, text=text, url=url, at=event.created_at, action=event.action)
        )
    return feed


def proposal_audit(*, proposal: Proposal) -> QuerySet[AuditEvent]:
    """The audit trail of one proposal version: submission, decisions, status changes."""
    return (
        AuditEvent.objects.filter(
            organization=proposal.project.organization,
            action__startswith="proposal.",
            data__proposal=proposal.pk,
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )


# ---------------------------------------------------------------- the proposal document


def proposal_document(snapshot: dict) -> list[DocSection]:
    """A frozen snapshot as document sections: the nine steps, then the evidence."""
    return document_sections(snapshot)


def proposal_full_document(proposal: Proposal) -> ProposalDocument:
    """The document every rendering of a proposal version is made from."""
    return build_document(proposal)


def proposal_markdown(proposal: Proposal) -> str:
    """The proposal version as a Markdown document (for the export)."""
    return document_markdown(build_document(proposal))


def changed_steps(old: Proposal | None, new: Proposal) -> set[str]:
    """The steps whose content differs between two versions."""
    if old is None:
        return set()
    a, b = old.snapshot.get("steps", {}), new.snapshot.get("steps", {})
    return {key for key in Stage.values if a.get(key) != b.get(key)}


def proposal_diff(old: Proposal, new: Proposal) -> list[dict]:
    """Per step, the changed lines between two versions (word level within a line)."""
    diffs = []
    for key, label in Stage.choices:
        a = old.snapshot["steps"].get(key)
        b = new.snapshot["steps"].get(key)
        rows = section_diff(a, b, words=selectors.snapshot_words()) if a != b else []
        diffs.append({"key": key, "title": label, "rows": rows})
    return diffs
