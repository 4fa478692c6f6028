import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AuditEvent, Invitation, Membership, User
from accounts.permissions import Role


def test_signup_creates_user_and_first_organization_as_owner(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Ada",
            "email": "Ada@Example.com",
            "password": "a-long-secret-42",
            "organization_name": "Ada's Lab",
        },
    )
    user = User.objects.get(email="ada@example.com")
    membership = user.memberships.get()
    assert membership.role == Role.OWNER
    assert response["Location"] == f"/o/{membership.organization.slug}/"


def test_signup_rejects_a_taken_email_and_changes_nothing(client, member):
    response = client.post(
        "/accounts/signup/",
        {
            "email": member.email.upper(),
            "password": "a-long-secret-42",
            "organization_name": "Dup",
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.text
    assert User.objects.count() == 1


def test_signup_rejects_a_weak_password(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "weak@example.com",
            "password": "123",
            "organization_name": "W",
        },
    )
    assert "too short" in response.text
    assert not User.objects.exists()


def test_login_uses_email_case_insensitively(client, member):
    response = client.post(
        "/accounts/login/", {"username": "MEMBER@acme.test", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302


def test_password_reset_mails_a_working_link(client, member):
    client.post("/accounts/password/reset/", {"email": member.email})
    assert len(mail.outbox) == 1
    link = next(w for w in mail.outbox[0].body.split() if "/accounts/password/reset/" in w)
    path = link.split("testserver", 1)[1]
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    client.post(
        form_url, {"new_password1": "brand-new-secret-9", "new_password2": "brand-new-secret-9"}
    )
    member.refresh_from_db()
    assert member.check_password("brand-new-secret-9")


def test_invitation_is_created_with_an_expiring_hashed_token(
    org, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = services.invitation_create(
            org=org, invited_by=owner, email="New@Acme.test", role="stakeholder"
        )
    assert invitation.email == "new@acme.test"
    assert raw not in invitation.token_hash
    assert invitation.expires_at > timezone.now()
    assert Invitation.find_by_token(raw) == invitation
    assert raw in mail.outbox[0].body


def test_accepting_an_invitation_joins_with_the_invited_role(org, owner, db):
    invitation, raw = services.invitation_create(
        org=org, invited_by=owner, email="new@acme.test", role="stakeholder"
    )
    user = User.objects.create_user(email="new@acme.test", password="x-secret-123")
    membership = services.invitation_accept(invitation=invitation, user=user)
    assert membership.role == Role.STAKEHOLDER
    again = services.invitation_accept(invitation=invitation, user=user)
    assert again == membership
    assert Membership.objects.filter(organization=org, user=user).count() == 1


def test_an_expired_invitation_cannot_be_accepted(org, owner, db):
    invitation, _ = services.invitation_create(
        org=org, invited_by=owner, email="late@acme.test", role="member"
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    user = User.objects.create_user(email="late@acme.test", password="x-secret-123")
    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=Invitation.objects.get(pk=invitation.pk), user=user)
    assert not Membership.objects.filter(user=user).exists()


def test_an_invitation_cannot_be_accepted_by_another_email(org, owner, outsider):
    invitation, _ = services.invitation_create(
        org=org, invited_by=owner, email="someone@acme.test", role="admin"
    )
    with pytest.raises(PermissionDenied):
        services.invitation_accept(invitation=invitation, user=outsider)
    assert not Membership.objects.filter(organization=org, user=outsider).exists()


def test_a_new_user_signs_up_through_the_invitation_link(client, org, owner):
    _, raw = services.invitation_create(
        org=org, invited_by=owner, email="fresh@acme.test", role="viewer"
    )
    response = client.post(
        f"/invitations/{raw}/", {"full_name": "Fresh", "password": "fresh-secret-123"}
    )
    assert response["Location"] == f"/o/{org.slug}/"
    user = User.objects.get(email="fresh@acme.test")
    assert user.memberships.get().role == Role.VIEWER
    assert user.memberships.count() == 1


def test_an_unknown_invitation_token_answers_404(client, db):
    assert client.get("/invitations/not-a-token/").status_code == 404


def test_an_admin_cannot_invite_an_owner(org, admin):
    with pytest.raises(PermissionDenied):
        services.invitation_create(org=org, invited_by=admin, email="x@acme.test", role="owner")


def test_the_last_owner_cannot_be_demoted(org, owner):
    membership = owner.memberships.get(organization=org)
    with pytest.raises(ValidationError):
        services.membership_change_role(membership=membership, role="admin", actor=owner)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_the_last_owner_cannot_be_removed_or_leave(org, owner):
    membership = owner.memberships.get(organization=org)
    with pytest.raises(ValidationError):
        services.membership_remove(membership=membership, actor=owner)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_can_be_demoted_when_another_owner_exists(org, owner, user_with_role):
    second = user_with_role("owner")
    membership = second.memberships.get(organization=org)
    services.membership_change_role(membership=membership, role="member", actor=owner)
    assert Membership.objects.get(pk=membership.pk).role == Role.MEMBER


def test_an_admin_cannot_remove_an_owner(org, owner, admin):
    membership = owner.memberships.get(organization=org)
    with pytest.raises(PermissionDenied):
        services.membership_remove(membership=membership, actor=admin)


def test_role_changes_are_audited(org, owner, member):
    membership = member.memberships.get(organization=org)
    services.membership_change_role(membership=membership, role="viewer", actor=owner)
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert event.data == {"from": "member", "to": "viewer"}
    with pytest.raises(ValueError):
        event.save()


def test_members_page_lists_members_and_shows_the_new_invite_link_once(org, owner, client_for):
    client = client_for(owner)
    client.post(
        reverse("accounts:invite", args=[org.slug]), {"email": "link@acme.test", "role": "member"}
    )
    page = client.get(f"/o/{org.slug}/members/").text
    assert "testserver/invitations/" in page and "link@acme.test" in page
    assert "testserver/invitations/" not in client.get(f"/o/{org.slug}/members/").text


def test_an_invalid_invite_email_shows_an_error_and_saves_nothing(org, owner, client_for):
    client = client_for(owner)
    response = client.post(
        reverse("accounts:invite", args=[org.slug]),
        {"email": "not-an-email", "role": "member"},
        follow=True,
    )
    assert "valid email" in response.text
    assert not Invitation.objects.exists()


def test_role_change_over_htmx_answers_with_a_client_redirect(org, owner, viewer, client_for):
    membership = viewer.memberships.get(organization=org)
    response = client_for(owner).post(
        reverse("accounts:membership_role", args=[org.slug, membership.pk]),
        {"role": "stakeholder"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/o/{org.slug}/members/"


def test_a_user_in_two_orgs_can_switch_between_them(org, other_org, member, client_for):
    Membership.objects.create(organization=other_org, user=member, role=Role.VIEWER)
    client = client_for(member)
    page = client.get(f"/o/{org.slug}/").text
    assert f"/o/{other_org.slug}/" in page
    assert client.get(f"/o/{other_org.slug}/").status_code == 200
    assert client.get("/")["Location"] == f"/o/{other_org.slug}/"
