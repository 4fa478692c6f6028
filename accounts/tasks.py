"""Thin Celery adapters: they take ids, load the rows and call plain functions."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from accounts import jobs
from accounts.links import site_url
from accounts.models import Invitation

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email_task(invitation_id: int, raw_token: str, base_url: str = "") -> None:
    """`base_url`: the site's address as the inviting request saw it (see `site_url`)."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_pending:
        return
    link = (base_url or site_url()) + reverse("accounts:invitation", args=[raw_token])
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


@shared_task
def send_outgoing_email_task(email_id: int) -> None:
    """Send one outgoing email. Idempotent: the email is claimed as a job, so a duplicated
    or redelivered message for an email that is sent, or being sent, does nothing."""
    jobs.outgoing_email_send(email_id=email_id)


@shared_task
def sweep_jobs_task() -> None:
    """Send the queued jobs whose message was never sent or was lost, and reclaim the
    running ones whose worker stopped beating. Celery beat sends it every
    JOB_DISPATCH_SWEEP_SECONDS; idempotent, so overlapping sweeps do no harm."""
    counts = jobs.jobs_sweep()
    if any(counts.values()):
        logger.info("Job sweep: %s", counts)
