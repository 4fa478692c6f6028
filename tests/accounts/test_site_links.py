"""Links in emails point where the site was reached, unless SITE_URL says otherwise."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.links import SiteUrlMiddleware
from accounts.models import Notification
from accounts.services import notify
from mlprojects.review.models import NotificationKind


@pytest.fixture
def served_on_8123(settings):
    settings.SITE_URL = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]


def invite(client, org):
    return client.post(
        reverse("accounts:invite", args=[org.slug]),
        {"email": "new@acme.test", "role": "member"},
        HTTP_HOST="127.0.0.1:8123",
    )


def test_an_invitation_email_links_to_the_host_the_inviter_used(
    org, owner, client_for, served_on_8123, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(client_for(owner), org)
    assert "http://127.0.0.1:8123/invitations/" in mail.outbox[0].body
    assert ":8000" not in mail.outbox[0].body


def test_site_url_when_set_wins_over_the_request_host(
    org, owner, client_for, served_on_8123, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://ml.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        invite(client_for(owner), org)
    assert "https://ml.example.com/invitations/" in mail.outbox[0].body


def test_a_notification_email_composed_in_a_request_links_to_its_host(
    org, owner, member, served_on_8123, rf
):
    def view(request):
        notify(
            org=org,
            recipients=[member],
            actor=owner,
            kind=NotificationKind.MENTION,
            text="Hi",
            url="/o/acme/",
        )

    SiteUrlMiddleware(view)(rf.get("/", HTTP_HOST="127.0.0.1:8123"))
    body = Notification.objects.get().emails.get().body
    assert "http://127.0.0.1:8123/o/acme/" in body
