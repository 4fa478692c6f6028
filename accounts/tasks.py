"""Thin Celery adapters: they take ids, load the rows and call plain functions."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Notification


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email_task(invitation_id: int, raw_token: str) -> None:
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_pending:
        return
    link = settings.SITE_URL + reverse("accounts:invitation", args=[raw_token])
    inviter = invitation.invited_by.display_name if invitation.invited_by else "Someone"
    send_mail(
        subject=f"{inviter} invited you to {invitation.organization.name} on mlprojects",
        message=(
            f"{inviter} invited you to join {invitation.organization.name} as "
            f"{invitation.get_role_display().lower()}.\n\nAccept the invitation: {link}\n\n"
            f"The link expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email_task(notification_id: int) -> None:
    """Mail one notification. Idempotent: the row is locked and stamped `emailed_at`, and
    a recipient who muted email meanwhile gets nothing."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return
        recipient = notification.recipient
        if not recipient.email_notifications:
            return
        link = settings.SITE_URL + notification.url
        settings_link = settings.SITE_URL + reverse("accounts:notification_settings")
        send_mail(
            subject=f"[{notification.organization.name}] {notification.text}"[:150],
            message=(
                f"{notification.text}\n\nOpen it: {link}\n\n"
                f"You get this email because of your notification settings: {settings_link}"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[recipient.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
