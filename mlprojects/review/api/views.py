"""The API of collaborative review: proposals, decisions and section comments.

- `GET/POST /api/v1/projects/{project_id}/proposals/` lists versions / submits the
  current content (201 `{"version", "status": "in_review", …}`; needs `edit`).
- `GET /api/v1/projects/{project_id}/proposals/{version}/` one version with its snapshot.
- `POST …/proposals/{version}/reviews/` `{"decision", "comment"}`: 403 for a caller who
  may not decide (members, viewers, the author), 409 when the version is closed.
- `GET/POST /api/v1/projects/{project_id}/sections/{section}/comments/` (`comment`).
"""

from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.fields import StrictCharField, StrictChoiceField, StrictIdField
from accounts.api.schema import ListSchema
from accounts.models import User
from accounts.permissions import Perm
from mlprojects.lifecycle.api.base import ProjectScoped
from mlprojects.models import Comment, Decision, Proposal, Stage
from mlprojects.review import selectors, services
from mlprojects.review.richtext import render_markdown


class TransitionConflict(APIException):
    status_code = 409
    default_code = "conflict"


class SubmitInput(serializers.Serializer):
    reviewers = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        help_text="Emails; default: everyone who may approve.",
    )
    message = StrictCharField(required=False, allow_blank=True, default="")


class DecisionInput(serializers.Serializer):
    decision = StrictChoiceField(choices=Decision.choices)
    comment = StrictCharField(required=False, allow_blank=True, default="")


class CommentInput(serializers.Serializer):
    body = StrictCharField(max_length=services.COMMENT_MAX_LENGTH)
    parent = StrictIdField(required=False, allow_null=True)


def dump_proposal(proposal: Proposal, *, snapshot: bool = False) -> dict:
    data = {
        "version": proposal.version,
        "status": proposal.status,
        "cycle": proposal.cycle,
        "author": proposal.author.email if proposal.author else None,
        "submitted_at": proposal.created_at,
        "status_changed_at": proposal.status_changed_at,
        "message": proposal.message,
        "reviewers": sorted(u.email for u in proposal.reviewers.all()),
        "decisions": [
            {
                "reviewer": r.reviewer.email if r.reviewer else None,
                "decision": r.decision,
                "comment": r.comment,
                "at": r.created_at,
            }
            for r in selectors.latest_decisions(proposal)
        ],
    }
    if snapshot:
        data["snapshot"] = proposal.snapshot
    return data


def dump_comment(comment: Comment, handles: set[str]) -> dict:
    return {
        "id": comment.pk,
        "section": comment.section,
        "parent": comment.parent_id,
        "author": comment.author.email if comment.author else None,
        "body": comment.body,
        "body_html": render_markdown(comment.body, handles=handles),
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "deleted": comment.is_deleted,
        "resolved": comment.is_resolved,
        "proposal_version": comment.proposal.version if comment.proposal_id else None,
    }


class ProposalListView(ProjectScoped):
    """A project's proposal versions, newest first; POST submits the current content."""

    schema = ListSchema()
    input_class = SubmitInput

    def get(self, request: Request, project_id: int) -> Response:
        project = self.get_project()
        proposals = selectors.proposal_list(project=project).prefetch_related("reviews__reviewer")
        return Response([dump_proposal(p) for p in proposals])

    def post(self, request: Request, project_id: int) -> Response:
        project = self.get_project()
        data = self.input(SubmitInput, request.data)
        reviewers = None
        if "reviewers" in data:
            emails = {e.lower() for e in data["reviewers"]}
            reviewers = list(
                User.objects.filter(email__in=emails, memberships__organization=self.org).distinct()
            )
            if len(reviewers) != len(emails):
                raise serializers.ValidationError({"reviewers": ["Unknown member."]})
        proposal = services.proposal_submit(
            project=project, user=request.user, reviewers=reviewers, message=data["message"]
        )
        return Response(dump_proposal(proposal), status=201)


class ProposalDetailView(ProjectScoped):
    def get(self, request: Request, project_id: int, version: int) -> Response:
        proposal = selectors.proposal_get(project=self.get_project(), version=version)
        data = dump_proposal(proposal, snapshot=True)
        data["stale"] = selectors.proposal_is_stale(proposal)
        return Response(data)


class ProposalReviewView(ProjectScoped):
    # Who may decide is checked by the service after the project was found in the
    # caller's organization (404 for another's, then 403 for a member, a viewer or the
    # author), so the permission layer only asks for membership here.
    write_perm = Perm.READ
    input_class = DecisionInput

    def post(self, request: Request, project_id: int, version: int) -> Response:
        proposal = selectors.proposal_get(project=self.get_project(), version=version)
        data = self.input(DecisionInput, request.data)
        try:
            services.proposal_decide(
                proposal=proposal,
                user=request.user,
                decision=data["decision"],
                comment=data["comment"],
            )
        except services.TransitionRefused as exc:
            raise TransitionConflict(str(exc)) from exc
        proposal = selectors.proposal_get(project=self.get_project(), version=version)
        return Response(dump_proposal(proposal), status=201)


class SectionCommentsView(ProjectScoped):
    schema = ListSchema()
    write_perm = Perm.COMMENT
    input_class = CommentInput

    def section(self) -> str:
        section = self.kwargs["section"]
        if section not in Stage.values:
            raise NotFound("No such section; use a step key such as `phenomenon`.")
        return section

    def get(self, request: Request, project_id: int, section: str) -> Response:
        project = self.get_project()
        threads = selectors.comment_threads(org=self.org, project=project, section=self.section())
        handles = selectors.member_handles(org=self.org)
        comments = [c for t in threads for c in [t.root, *t.replies]]
        return Response([dump_comment(c, handles) for c in comments])

    def post(self, request: Request, project_id: int, section: str) -> Response:
        project = self.get_project()
        section = self.section()
        data = self.input(CommentInput, request.data)
        parent = None
        if data.get("parent"):
            parent = get_object_or_404(Comment, pk=data["parent"], project=project, section=section)
        comment = services.comment_create(
            org=self.org,
            user=request.user,
            body=data["body"],
            section=section,
            project=project,
            parent=parent,
        )
        handles = selectors.member_handles(org=self.org)
        return Response(dump_comment(comment, handles), status=201)
