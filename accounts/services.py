"""Every state change of accounts and organizations: atomic, audited, with side effects
deferred until the transaction commits."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.jobs import job_enqueue
from accounts.links import site_url
from accounts.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Notification,
    Organization,
    OutgoingEmail,
    TokenScope,
    User,
)
from accounts.notifications import is_notification_kind
from accounts.permissions import Role
from accounts.tasks import send_invitation_email_task

RESERVED_SLUGS = {"new", "api", "admin", "static", "media", "invitations", "accounts"}


def audit(
    *,
    org: Organization,
    actor: User | None,
    action: str,
    target: str = "",
    data: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=org, actor=actor, action=action, target=target, data=data or {}
    )


def _unique_org_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    if base in RESERVED_SLUGS:
        base = f"{base}-team"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    org = Organization.objects.create(name=name.strip(), slug=_unique_org_slug(name))
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    audit(org=org, actor=owner, action="organization.created", target=org.name)
    return org


@transaction.atomic
def user_signup(
    *, email: str, password: str, full_name: str = "", organization_name: str = ""
) -> tuple[User, Organization | None]:
    """Create a user; with an organization name, also their first organization (owner)."""
    taken = ValidationError({"email": "An account with this email already exists."})
    if User.objects.filter(email__iexact=email).exists():
        raise taken
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError:  # the same address signed up at the same moment
        raise taken from None
    org = None
    if organization_name:
        org = organization_create(name=organization_name, owner=user)
    return user, org


@transaction.atomic
def invitation_create(
    *, org: Organization, invited_by: User, email: str, role: str
) -> tuple[Invitation, str]:
    """Invite `email` with `role`. Returns the invitation and the raw token (the link is
    shown once to the inviter and mailed by a Celery task after commit)."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": "Unknown role."})
    inviter = Membership.objects.get(organization=org, user=invited_by)
    if role == Role.OWNER and inviter.role != Role.OWNER:
        raise PermissionDenied("Only an owner can invite another owner.")
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member."})
    # A new invitation replaces any pending one for the same address.
    Invitation.objects.pending().filter(organization=org, email__iexact=email).update(
        revoked_at=timezone.now()
    )
    raw, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        organization=org,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    audit(org=org, actor=invited_by, action="invitation.created", target=email, data={"role": role})
    base = site_url()
    transaction.on_commit(lambda: send_invitation_email_task.delay(invitation.pk, raw, base))
    return invitation, raw


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    if invitation.is_pending:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        audit(
            org=invitation.organization,
            actor=actor,
            action="invitation.revoked",
            target=invitation.email,
        )


@transaction.atomic
def invitation_signup(*, invitation: Invitation, password: str, full_name: str = "") -> Membership:
    """Create the invited person's account and accept the invitation, once: concurrent
    sign-ups on one link queue on the invitation's row lock, and all but the first find
    it used (a ValidationError, not a duplicate account)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise ValidationError("This invitation has expired or was already used.")
    user, _ = user_signup(email=invitation.email, password=password, full_name=full_name)
    return invitation_accept(invitation=invitation, user=user)


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the invitation's organization with its role. Accepting twice is harmless."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    existing = Membership.objects.filter(organization=invitation.organization, user=user).first()
    if invitation.accepted_at and invitation.accepted_by_id == user.pk and existing:
        return existing
    if not invitation.is_pending:
        raise ValidationError("This invitation has expired or was already used.")
    if invitation.email.lower() != user.email.lower():
        raise PermissionDenied(
            f"This invitation was sent to {invitation.email}; you are signed in as {user.email}."
        )
    if existing:
        membership = existing
    else:
        membership = Membership.objects.create(
            organization=invitation.organization, user=user, role=invitation.role
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    audit(
        org=invitation.organization,
        actor=user,
        action="invitation.accepted",
        target=user.email,
        data={"role": membership.role},
    )
    return membership


def _check_keeps_an_owner(org: Organization, membership: Membership, new_role: str | None) -> None:
    """Raise if the change would leave the organization without an owner. The owner rows
    are locked so two concurrent demotions cannot both pass the check."""
    if membership.role != Role.OWNER or new_role == Role.OWNER:
        return
    owners = list(
        Membership.objects.select_for_update()
        .filter(organization=org, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if len(owners) <= 1:
        raise ValidationError(
            "The last owner can't be removed or demoted. Make someone else an owner first."
        )


def _check_may_manage(
    actor_membership: Membership, target: Membership, new_role: str | None
) -> None:
    touches_owner = target.role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and actor_membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can change or remove an owner.")


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": "Unknown role."})
    org = membership.organization
    actor_membership = Membership.objects.get(organization=org, user=actor)
    _check_may_manage(actor_membership, membership, role)
    _check_keeps_an_owner(org, membership, role)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit(
        org=org,
        actor=actor,
        action="membership.role_changed",
        target=membership.user.email,
        data={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    org = membership.organization
    actor_membership = Membership.objects.get(organization=org, user=actor)
    if membership.user_id != actor.pk:
        _check_may_manage(actor_membership, membership, None)
    _check_keeps_an_owner(org, membership, None)
    email = membership.user.email
    membership.delete()
    audit(org=org, actor=actor, action="membership.removed", target=email)


def membership_add(*, org: Organization, user: User, role: str) -> Membership:
    """Used by the demo loader and tests: idempotent add-or-update."""
    try:
        with transaction.atomic():
            membership, _ = Membership.objects.update_or_create(
                organization=org, user=user, defaults={"role": role}
            )
    except IntegrityError:
        membership = Membership.objects.get(organization=org, user=user)
    return membership


@transaction.atomic
def api_token_create(
    *,
    org: Organization,
    user: User,
    name: str,
    scope: str = TokenScope.READ,
    expires_at=None,
) -> tuple[ApiToken, str]:
    """A token for `user` in `org`. Returns the token and its raw value, which is shown
    once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name."})
    if scope not in TokenScope.values:
        raise ValidationError({"scope": "Choose read or write."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if not Membership.objects.filter(organization=org, user=user).exists():
        raise ValidationError(f"{user.email} is not a member of {org.name}.")
    if ApiToken.objects.filter(
        organization=org, user=user, name=name, revoked_at__isnull=True
    ).exists():
        raise ValidationError({"name": "You already have a token with this name."})
    raw, token_hash = ApiToken.new_token()
    token = ApiToken.objects.create(
        organization=org,
        user=user,
        name=name,
        scope=scope,
        token_hash=token_hash,
        hint=raw[: len(ApiToken.PREFIX) + 4],
        expires_at=expires_at,
    )
    audit(org=org, actor=user, action="api_token.created", target=name, data={"scope": scope})
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit(org=token.organization, actor=actor, action="api_token.revoked", target=token.name)


# ---------------------------------------------------------------- notifications


@transaction.atomic
def notify(
    *,
    org: Organization,
    recipients,
    actor: User | None,
    kind: str,
    text: str,
    url: str,
) -> list[Notification]:
    """Notify each recipient (never the actor, never twice, only members of `org`) and
    mail them after commit unless they muted email. `url` is a path of this site."""
    if not is_notification_kind(kind):
        raise ValueError(f"Unknown kind of notification: {kind!r}.")
    member_ids = set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    seen: set[int] = set()
    created = []
    for user in recipients:
        if user.pk in seen or user.pk not in member_ids or (actor and user.pk == actor.pk):
            continue
        seen.add(user.pk)
        created.append(
            Notification.objects.create(
                recipient=user, organization=org, actor=actor, kind=kind, text=text[:300], url=url
            )
        )
    for notification in created:
        if notification.recipient.email_notifications:
            job_enqueue(notification_email(notification))
    return created


def notification_email(notification: Notification) -> OutgoingEmail:
    """The email of a notification, saved in the outbox with it (sent after commit)."""
    link = site_url() + notification.url
    settings_link = site_url() + reverse("accounts:notification_settings")
    return OutgoingEmail.objects.create(
        notification=notification,
        to=notification.recipient.email,
        subject=f"[{notification.organization.name}] {notification.text}"[:150],
        body=(
            f"{notification.text}\n\nOpen it: {link}\n\n"
            f"You get this email because of your notification settings: {settings_link}"
        ),
    )


def notification_mark_read(*, user: User, notification: Notification | None = None) -> int:
    """Mark one notification (or, without one, all of them) of `user` read."""
    unread = Notification.objects.unread().filter(recipient=user)
    if notification is not None:
        unread = unread.filter(pk=notification.pk)
    return unread.update(read_at=timezone.now())


def user_email_notifications_set(*, user: User, enabled: bool) -> User:
    user.email_notifications = enabled
    user.save(update_fields=["email_notifications"])
    return user
