"""Pages of collaborative review: comment threads (htmx fragments on the project page
and the analysis page), proposals and their review page, exports, the reviewer's inbox
and activity feeds. Writes go through `services`."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import require_perm
from accounts.forms import add_validation_errors
from accounts.permissions import Perm
from mlprojects.analyses.selectors import analysis_get
from mlprojects.lifecycle.selectors import project_get
from mlprojects.models import ANALYSIS_SECTION, Comment, Project, Proposal, Stage
from mlprojects.review import selectors, services
from mlprojects.review.forms import CommentForm, DecisionForm, SubmitForm

# ---------------------------------------------------------------- comments


def _target(request: HttpRequest, project_slug: str = "", section: str = "", analysis_slug=""):
    """(project, analysis, section) named by the URL, looked up in the caller's org."""
    if analysis_slug:
        analysis = analysis_get(org=request.org, slug=analysis_slug)
        return None, analysis, ANALYSIS_SECTION
    if section not in Stage.values:
        raise Http404("No such section.")
    return project_get(org=request.org, slug=project_slug), None, section


def _threads_response(request, project, analysis, section, form=None, status=200, proposal=None):
    context = {
        "project": project,
        "analysis": analysis,
        "section": section,
        "section_label": Stage(section).label if project else "Business analysis",
        "threads": selectors.comment_threads(
            org=request.org, project=project, analysis=analysis, section=section
        ),
        "handles": selectors.member_handles(org=request.org),
        "form": form or CommentForm(),
        "proposal": proposal,
    }
    template = "mlprojects/review/comments.html"
    if request.htmx:
        template += "#threads"
    return render(request, template, context, status=status)


def _proposal_from(request, project) -> Proposal | None:
    version = request.POST.get("proposal") or request.GET.get("proposal") or ""
    if project is None or not version.isdigit():
        return None
    return Proposal.objects.filter(project=project, version=int(version)).first()


@require_GET
@require_perm(Perm.READ)
def comment_list(request: HttpRequest, org_slug: str, project_slug: str, section: str):
    project, analysis, section = _target(request, project_slug, section)
    return _threads_response(
        request, project, analysis, section, proposal=_proposal_from(request, project)
    )


@require_POST
@require_perm(Perm.COMMENT)
def comment_create(request: HttpRequest, org_slug: str, project_slug: str, section: str):
    project, analysis, section = _target(request, project_slug, section)
    return _create(request, project, analysis, section)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.READ)
def analysis_comments(request: HttpRequest, org_slug: str, analysis_slug: str):
    project, analysis, section = _target(request, analysis_slug=analysis_slug)
    if request.method == "POST":
        if not request.membership.can(Perm.COMMENT):
            raise PermissionDenied("Your role may not comment.")
        return _create(request, project, analysis, section)
    return _threads_response(request, project, analysis, section)


def _create(request, project, analysis, section) -> HttpResponse:
    form = CommentForm(request.POST)
    proposal = _proposal_from(request, project)
    if form.is_valid():
        parent = None
        if form.cleaned_data.get("parent"):
            parent = selectors.comment_get(org=request.org, pk=form.cleaned_data["parent"])
            if (parent.project_id, parent.analysis_id, parent.section) != (
                getattr(project, "pk", None),
                getattr(analysis, "pk", None),
                section,
            ):
                raise Http404("No such thread here.")
        try:
            comment = services.comment_create(
                org=request.org,
                user=request.user,
                body=form.cleaned_data["body"],
                section=section,
                project=project,
                analysis=analysis,
                parent=parent,
                proposal=proposal,
            )
        except ValidationError as exc:
            form.add_error("body", exc.messages)
        else:
            if not request.htmx:
                messages.success(request, "Comment posted.")
                return redirect(services.comment_url(comment))
            return _threads_response(request, project, analysis, section, proposal=proposal)
    return _threads_response(request, project, analysis, section, form=form, proposal=proposal)


def _comment_target(comment: Comment):
    return comment.project, comment.analysis, comment.section


@require_http_methods(["GET", "POST"])
@require_perm(Perm.COMMENT)
def comment_edit(request: HttpRequest, org_slug: str, comment_id: int) -> HttpResponse:
    comment = selectors.comment_get(org=request.org, pk=comment_id)
    if comment.author_id != request.user.pk or comment.is_deleted:
        raise PermissionDenied("Only its author can edit a comment.")
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_update(
                comment=comment, user=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            form.add_error("body", exc.messages)
        else:
            if request.htmx:
                return _threads_response(
                    request, *_comment_target(comment), proposal=comment.proposal
                )
            messages.success(request, "Comment saved.")
            return redirect(services.comment_url(comment))
    context = {"comment": comment, "form": form, "back": services.comment_url(comment)}
    template = "mlprojects/review/comment_edit.html"
    return render(request, template + ("#edit-form" if request.htmx else ""), context)


@require_POST
@require_perm(Perm.COMMENT)
def comment_delete(request: HttpRequest, org_slug: str, comment_id: int) -> HttpResponse:
    comment = selectors.comment_get(org=request.org, pk=comment_id)
    services.comment_delete(comment=comment, user=request.user)
    if request.htmx:
        return _threads_response(request, *_comment_target(comment), proposal=comment.proposal)
    messages.success(request, "Comment deleted.")
    return redirect(services.comment_url(comment))


@require_POST
@require_perm(Perm.COMMENT)
def comment_resolve(request: HttpRequest, org_slug: str, comment_id: int) -> HttpResponse:
    comment = selectors.comment_get(org=request.org, pk=comment_id)
    resolved = request.POST.get("resolved", "1") == "1"
    services.comment_resolve(comment=comment, user=request.user, resolved=resolved)
    if request.htmx:
        return _threads_response(request, *_comment_target(comment), proposal=comment.proposal)
    return redirect(services.comment_url(comment))


@require_GET
@require_perm(Perm.COMMENT)
def mention_search(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Members matching what follows the last `@` of the comment being typed (htmx)."""
    text = request.GET.get("q", "") or request.GET.get("body", "")
    word = text.rsplit("@", 1)[1].split()[0] if "@" in text and text.rsplit("@", 1)[1] else ""
    candidates = selectors.mention_candidates(org=request.org, query=word) if "@" in text else []
    if not request.htmx and "q" not in request.GET:
        raise Http404("Use ?q=")
    return render(request, "mlprojects/review/mentions.html", {"candidates": candidates})


# ---------------------------------------------------------------- proposals


def _project_and_proposal(request, project_slug: str, version: int):
    project = project_get(org=request.org, slug=project_slug)
    proposal = selectors.proposal_get(project=project, version=version)
    return project, proposal


def _submit_form(request, project: Project, data=None) -> SubmitForm:
    return SubmitForm(
        data,
        reviewers=selectors.reviewers_to_choose(org=request.org, author=request.user),
    )


@require_GET
@require_perm(Perm.READ)
def proposal_list(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    context = {
        "project": project,
        "proposals": selectors.proposal_list(project=project),
        "approval": selectors.approval_summary(project=project),
        "form": _submit_form(request, project),
    }
    return render(request, "mlprojects/review/proposal_list.html", context)


@require_POST
@require_perm(Perm.EDIT)
def proposal_submit(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    form = _submit_form(request, project, request.POST)
    if form.is_valid():
        try:
            proposal = services.proposal_submit(
                project=project,
                user=request.user,
                reviewers=list(form.cleaned_data["reviewers"]) or None,
                message=form.cleaned_data["message"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, f"v{proposal.version} submitted for review.")
            url = services.proposal_url(proposal)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {
        "project": project,
        "proposals": selectors.proposal_list(project=project),
        "approval": selectors.approval_summary(project=project),
        "form": form,
    }
    return render(request, "mlprojects/review/proposal_list.html", context)


def _detail_context(request, project, proposal, decision_form=None) -> dict:
    document = selectors.proposal_full_document(proposal)
    counts = selectors.open_thread_counts(project=project)
    membership = request.membership
    return {
        "project": project,
        "proposal": proposal,
        "document": document,
        "counts": counts,
        "decisions": selectors.latest_decisions(proposal),
        "history": list(proposal.reviews.all()),
        "audit": selectors.proposal_audit(proposal=proposal),
        "stale": selectors.proposal_is_stale(proposal),
        "may_decide": proposal.is_open
        and services.may_decide(proposal=proposal, user=request.user, membership=membership),
        "may_withdraw": proposal.is_open and proposal.author_id == request.user.pk,
        "decision_form": decision_form or DecisionForm(),
        "versions": list(
            Proposal.objects.filter(project=project)
            .order_by("-version")
            .values_list("version", flat=True)
        ),
        "approvals_required": request.org.approvals_required,
        "changed": selectors.changed_steps(
            Proposal.objects.filter(project=project, version=proposal.version - 1).first(),
            proposal,
        ),
    }


@require_GET
@require_perm(Perm.READ)
def proposal_detail(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> HttpResponse:
    """The stakeholder's review page: the frozen proposal as a document, the comments on
    each step beside it, the decisions so far and the decision buttons."""
    project, proposal = _project_and_proposal(request, project_slug, version)
    return render(
        request,
        "mlprojects/review/proposal_detail.html",
        _detail_context(request, project, proposal),
    )


@require_POST
@require_perm(Perm.APPROVE)
def proposal_decide(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> HttpResponse:
    project, proposal = _project_and_proposal(request, project_slug, version)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            status = services.proposal_decide(
                proposal=proposal,
                user=request.user,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        except services.TransitionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Decision recorded: v{version} is now {status.replace('_', ' ')}."
            )
            url = services.proposal_url(proposal)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    proposal = selectors.proposal_get(project=project, version=version)
    context = _detail_context(request, project, proposal, decision_form=form)
    return render(request, "mlprojects/review/proposal_detail.html", context)


@require_POST
@require_perm(Perm.EDIT)
def proposal_withdraw(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> HttpResponse:
    project, proposal = _project_and_proposal(request, project_slug, version)
    try:
        services.proposal_withdraw(proposal=proposal, user=request.user)
    except services.TransitionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"v{version} withdrawn.")
    return redirect(services.proposal_url(proposal))


@require_GET
@require_perm(Perm.READ)
def proposal_diff(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> HttpResponse:
    """What changed between two versions (`?against=N`, default the previous one)."""
    project, proposal = _project_and_proposal(request, project_slug, version)
    against = request.GET.get("against", "")
    base_version = int(against) if against.isdigit() else version - 1
    base = Proposal.objects.filter(project=project, version=base_version).first()
    versions = list(
        Proposal.objects.filter(project=project)
        .order_by("-version")
        .values_list("version", flat=True)
    )
    context = {
        "project": project,
        "proposal": proposal,
        "base": base,
        "versions": versions,
        "diffs": selectors.proposal_diff(base, proposal) if base else [],
    }
    return render(request, "mlprojects/review/proposal_diff.html", context)


@require_GET
@require_perm(Perm.READ)
def proposal_export_markdown(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> HttpResponse:
    project, proposal = _project_and_proposal(request, project_slug, version)
    response = HttpResponse(
        selectors.proposal_markdown(proposal), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-v{version}.md"'
    return response


@require_GET
@require_perm(Perm.READ)
def proposal_export_html(
    request: HttpRequest, org_slug: str, project_slug: str, version: int
) -> HttpResponse:
    """A standalone, print-ready page of the proposal (print it to PDF from the browser)."""
    project, proposal = _project_and_proposal(request, project_slug, version)
    context = {
        "project": project,
        "proposal": proposal,
        "document": selectors.proposal_full_document(proposal),
        "decisions": selectors.latest_decisions(proposal),
    }
    return render(request, "mlprojects/review/proposal_print.html", context)


# ---------------------------------------------------------------- inbox and activity


@require_GET
@require_perm(Perm.READ)
def my_reviews(request: HttpRequest, org_slug: str) -> HttpResponse:
    inbox = selectors.review_inbox(org=request.org, user=request.user)
    return render(request, "mlprojects/review/inbox.html", {"inbox": inbox})


@require_GET
@require_perm(Perm.READ)
def org_activity(request: HttpRequest, org_slug: str) -> HttpResponse:
    feed = selectors.activity(org=request.org)
    return render(request, "mlprojects/review/activity.html", {"feed": feed, "project": None})


@require_GET
@require_perm(Perm.READ)
def project_activity(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    feed = selectors.activity(org=request.org, project=project)
    return render(request, "mlprojects/review/activity.html", {"feed": feed, "project": project})
