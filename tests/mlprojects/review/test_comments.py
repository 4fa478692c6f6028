"""Comment threads on a project's steps and on analyses: write, reply, edit and delete
your own, resolve and reopen, mentions; readable by every role, written by `comment`."""

import pytest
from django.core import mail

from accounts.models import AuditEvent, Notification
from mlprojects.lifecycle.page_cache import CommitBump
from mlprojects.models import Comment
from mlprojects.review.services import comment_create

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def url(proj, section="phenomenon", new=False):
    return f"/o/acme/projects/{proj.slug}/comments/{section}/" + ("new/" if new else "")


def test_a_member_starts_a_thread(proj, member, client_for):
    response = client_for(member).post(url(proj, new=True), {"body": "Since **March**?"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>March</strong>" in html
    assert 'id="comments-phenomenon"' in html
    comment = Comment.objects.get()
    assert (comment.project, comment.section, comment.author) == (proj, "phenomenon", member)


def test_without_htmx_posting_redirects_to_the_step(proj, member, client_for):
    response = client_for(member).post(url(proj, new=True), {"body": "Hello"})
    assert response.status_code == 302
    assert response["Location"] == f"/o/acme/projects/{proj.slug}/#step-phenomenon"


def test_an_empty_comment_is_refused_and_saves_nothing(proj, member, client_for):
    response = client_for(member).post(url(proj, new=True), {"body": "  "}, **HX)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Comment.objects.exists()


def test_a_viewer_reads_but_cannot_comment(proj, member, viewer, client_for):
    comment_create(org=proj.organization, user=member, project=proj, section="goals", body="Hi")
    client = client_for(viewer)
    page = client.get(url(proj, "goals"), **HX).content.decode()
    assert "Hi" in page
    assert "Your role can read comments but not write them." in page
    assert client.post(url(proj, "goals", new=True), {"body": "x"}).status_code == 403
    assert Comment.objects.count() == 1


def test_a_stakeholder_may_comment(proj, stakeholder, client_for):
    response = client_for(stakeholder).post(url(proj, new=True), {"body": "Looks fine"}, **HX)
    assert response.status_code == 200
    assert Comment.objects.filter(author=stakeholder).exists()


def test_an_unknown_section_is_404(proj, member, client_for):
    assert client_for(member).get(url(proj, "nonsense")).status_code == 404


def test_a_reply_joins_the_thread_and_notifies_its_author(proj, member, stakeholder, client_for):
    root = comment_create(
        org=proj.organization, user=member, project=proj, section="phenomenon", body="Question"
    )
    client_for(stakeholder).post(url(proj, new=True), {"body": "Answer", "parent": root.pk}, **HX)
    reply = Comment.objects.get(body="Answer")
    assert reply.parent == root
    notification = Notification.objects.get(recipient=member)
    assert notification.kind == "reply"
    assert notification.url == f"/o/acme/projects/{proj.slug}/#step-phenomenon"


def test_a_reply_to_a_reply_attaches_to_the_thread(proj, member):
    root = comment_create(
        org=proj.organization, user=member, project=proj, section="phenomenon", body="1"
    )
    reply = comment_create(org=proj.organization, user=member, parent=root, body="2")
    nested = comment_create(org=proj.organization, user=member, parent=reply, body="3")
    assert nested.parent == root


def test_a_mention_notifies_the_member_and_mails_them_after_commit(
    proj, member, stakeholder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        comment_create(
            org=proj.organization,
            user=member,
            project=proj,
            section="goals",
            body="@stakeholder please check the metrics",
        )
    assert len([c for c in callbacks if not isinstance(c, CommitBump)]) == 1  # the mail
    notification = Notification.objects.get(recipient=stakeholder)
    assert notification.kind == "mention"
    assert "mentioned you" in notification.text
    assert [m.to for m in mail.outbox] == [[stakeholder.email]]


def test_mentioning_an_outsider_notifies_nobody(proj, member, outsider):
    comment_create(
        org=proj.organization, user=member, project=proj, section="goals", body="@outsider look"
    )
    assert not Notification.objects.exists()


def test_the_author_edits_their_comment(proj, member, client_for):
    comment = comment_create(
        org=proj.organization, user=member, project=proj, section="phenomenon", body="Tpyo"
    )
    response = client_for(member).post(
        f"/o/acme/comments/{comment.pk}/edit/", {"body": "Typo"}, **HX
    )
    assert response.status_code == 200
    comment.refresh_from_db()
    assert comment.body == "Typo"
    assert comment.edited_at is not None


def test_nobody_else_edits_or_deletes_a_comment(proj, member, admin, client_for):
    comment = comment_create(
        org=proj.organization, user=member, project=proj, section="phenomenon", body="Mine"
    )
    client = client_for(admin)
    assert client.post(f"/o/acme/comments/{comment.pk}/edit/", {"body": "x"}).status_code == 403
    assert client.post(f"/o/acme/comments/{comment.pk}/delete/").status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Mine" and comment.deleted_at is None


def test_deleting_keeps_the_place_in_the_thread_without_the_text(proj, member, client_for):
    comment = comment_create(
        org=proj.organization, user=member, project=proj, section="phenomenon", body="Oops"
    )
    response = client_for(member).post(f"/o/acme/comments/{comment.pk}/delete/", **HX)
    html = response.content.decode()
    assert "This comment was deleted." in html
    assert "Oops" not in html
    assert AuditEvent.objects.filter(action="comment.deleted").exists()


def test_resolving_and_reopening_a_thread(proj, member, stakeholder, client_for):
    comment = comment_create(
        org=proj.organization, user=member, project=proj, section="phenomenon", body="Done?"
    )
    client = client_for(stakeholder)
    html = client.post(
        f"/o/acme/comments/{comment.pk}/resolve/", {"resolved": "1"}, **HX
    ).content.decode()
    comment.refresh_from_db()
    assert comment.resolved_by == stakeholder
    assert "Resolved thread" in html and "Reopen" in html
    client.post(f"/o/acme/comments/{comment.pk}/resolve/", {"resolved": "0"}, **HX)
    comment.refresh_from_db()
    assert comment.resolved_at is None


def test_the_project_page_counts_open_threads_per_step(proj, member, client_for):
    comment_create(org=proj.organization, user=member, project=proj, section="goals", body="a")
    comment_create(org=proj.organization, user=member, project=proj, section="goals", body="b")
    page = client_for(member).get(f"/o/acme/projects/{proj.slug}/").content.decode()
    assert "Comments (2)" in page
    assert f'hx-get="/o/acme/projects/{proj.slug}/comments/goals/"' in page


def test_the_mention_autocomplete_lists_matching_members(member, stakeholder, client_for):
    response = client_for(member).get("/o/acme/mentions/", {"body": "hey @stake"}, **HX)
    html = response.content.decode()
    assert 'data-mention="stakeholder"' in html
    assert 'data-mention="member"' not in html


def test_the_mention_autocomplete_is_empty_without_an_at_sign(member, stakeholder, client_for):
    html = client_for(member).get("/o/acme/mentions/", {"body": "hey"}, **HX).content.decode()
    assert "data-mention" not in html


def test_comments_on_an_analysis(org, member, viewer, client_for):
    from tests.mlprojects.analyses.factories import BusinessAnalysisFactory

    analysis = BusinessAnalysisFactory(organization=org)
    address = f"/o/acme/analyses/{analysis.slug}/comments/"
    assert client_for(member).post(address, {"body": "Which data?"}, **HX).status_code == 200
    comment = Comment.objects.get()
    assert (comment.analysis, comment.section) == (analysis, "analysis")
    assert "Which data?" in client_for(viewer).get(address, **HX).content.decode()
    assert client_for(viewer).post(address, {"body": "x"}).status_code == 403


def test_a_script_in_a_comment_never_reaches_the_page(proj, member, client_for):
    comment_create(
        org=proj.organization,
        user=member,
        project=proj,
        section="phenomenon",
        body="<script>alert(1)</script><img src=x onerror=alert(2)>",
    )
    html = client_for(member).get(url(proj)).content.decode()
    assert "alert(1)" not in html and "onerror" not in html
