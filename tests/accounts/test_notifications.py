"""In-app notifications, their emails (enqueued on commit, muted per user) and pages."""

import pytest
from django.core import mail

from accounts.models import JobAttempt, Notification, OutgoingEmail
from accounts.services import notify
from accounts.tasks import send_outgoing_email_task
from mlprojects.review.models import NotificationKind

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _notify(org, recipients, actor=None, text="Sam mentioned you"):
    return notify(
        org=org,
        recipients=recipients,
        actor=actor,
        kind=NotificationKind.MENTION,
        text=text,
        url="/o/acme/",
    )


def test_notify_creates_one_notification_per_member(org, member, stakeholder):
    created = _notify(org, [member, stakeholder, member])
    assert sorted(n.recipient.email for n in created) == [member.email, stakeholder.email]


def test_notify_skips_the_actor_and_non_members(org, member, stakeholder, outsider):
    created = _notify(org, [member, stakeholder, outsider], actor=member)
    assert [n.recipient for n in created] == [stakeholder]


def test_notify_refuses_a_kind_no_app_registered(org, member):
    with pytest.raises(ValueError, match="Unknown kind"):
        notify(org=org, recipients=[member], actor=None, kind="gossip", text="x", url="/o/acme/")
    assert not Notification.objects.exists()


def test_the_kinds_labels_come_from_the_app_that_registered_them(org, member):
    (created,) = notify(
        org=org,
        recipients=[member],
        actor=None,
        kind=NotificationKind.REVIEW_REQUESTED,
        text="Please review",
        url="/o/acme/",
    )
    assert created.get_kind_display() == "Review requested"


def test_email_is_sent_only_after_commit(org, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _notify(org, [member])
    assert len(callbacks) == 1
    assert mail.outbox == []
    callbacks[0]()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert "Sam mentioned you" in mail.outbox[0].subject
    # Outside a request and without SITE_URL: the local development address.
    assert "http://127.0.0.1:8000/o/acme/" in mail.outbox[0].body


def test_a_user_who_muted_email_gets_no_email(org, member, django_capture_on_commit_callbacks):
    member.email_notifications = False
    member.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = _notify(org, [member])
    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.get(pk=created[0].pk).read_at is None


def test_the_email_is_in_the_outbox_with_the_notification(org, member):
    (notification,) = _notify(org, [member])
    email = OutgoingEmail.objects.get(notification=notification)
    assert email.status == "queued"
    assert email.queued_at is not None
    assert email.to == member.email


def test_the_email_task_never_mails_twice(org, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (notification,) = _notify(org, [member])
    email = OutgoingEmail.objects.get(notification=notification)
    send_outgoing_email_task(email.pk)
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("succeeded", 1)
    (attempt,) = JobAttempt.objects.filter(job_type="accounts.outgoingemail", job_id=email.pk)
    assert attempt.outcome == "succeeded"


def test_the_email_task_respects_a_mute_set_after_enqueueing(org, member):
    (notification,) = _notify(org, [member])
    member.email_notifications = False
    member.save()
    send_outgoing_email_task(OutgoingEmail.objects.get(notification=notification).pk)
    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_the_notifications_page_lists_mine_only(org, member, stakeholder, client_for):
    _notify(org, [member], text="For the member")
    _notify(org, [stakeholder], text="For the stakeholder")
    page = client_for(member).get("/accounts/notifications/").content.decode()
    assert "For the member" in page
    assert "For the stakeholder" not in page


def test_mark_all_read(org, member, client_for):
    _notify(org, [member])
    _notify(org, [member])
    response = client_for(member).post("/accounts/notifications/")
    assert response.status_code == 302
    assert not Notification.objects.unread().filter(recipient=member).exists()


def test_opening_a_notification_marks_it_read_and_follows_its_link(org, member, client_for):
    (notification,) = _notify(org, [member])
    response = client_for(member).post(f"/accounts/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/"
    notification.refresh_from_db()
    assert notification.is_read


def test_another_users_notification_is_404(org, member, stakeholder, client_for):
    (notification,) = _notify(org, [stakeholder])
    response = client_for(member).post(f"/accounts/notifications/{notification.pk}/open/")
    assert response.status_code == 404
    notification.refresh_from_db()
    assert not notification.is_read


def test_the_bell_fragment_shows_the_unread_count(org, member, client_for):
    _notify(org, [member])
    _notify(org, [member])
    response = client_for(member).get("/accounts/notifications/count/", **HX)
    assert response.status_code == 200
    assert 'aria-label="2 unread notifications"' in response.content.decode()


def test_the_bell_url_without_htmx_redirects_to_the_page(member, client_for):
    response = client_for(member).get("/accounts/notifications/count/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/notifications/"


def test_every_page_polls_the_bell(org, member, client_for):
    page = client_for(member).get(f"/o/{org.slug}/").content.decode()
    assert 'hx-get="/accounts/notifications/count/"' in page
    assert "every 30s" in page


def test_the_settings_page_mutes_and_unmutes_email(member, client_for):
    client = client_for(member)
    assert client.get("/accounts/notifications/settings/").status_code == 200
    client.post("/accounts/notifications/settings/", {})
    member.refresh_from_db()
    assert member.email_notifications is False
    client.post("/accounts/notifications/settings/", {"email_notifications": "on"})
    member.refresh_from_db()
    assert member.email_notifications is True


def test_notification_pages_need_a_login(client):
    for url in ("/accounts/notifications/", "/accounts/notifications/settings/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
