"""Login lockout (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one email
address, or from one client address, logging in is refused for LOGIN_COOLOFF_MINUTES,
even with the right password. Resetting the password lifts an account's lockout."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.forms import EmailAuthenticationForm


def attempted_email(request: HttpRequest, credentials: dict | None) -> str:
    """The email address a login attempt was for, normalised the way accounts are (so
    `Owner@Example.com` and `owner@example.com` count as one account)."""
    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    return raw.strip().lower()


def lockout_message() -> str:
    minutes = settings.LOGIN_COOLOFF_MINUTES
    return (
        "Too many failed login attempts. Logging in is paused for this account and your "
        f"network for {minutes} minute{'s' if minutes != 1 else ''}; try again later, or "
        "reset your password."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The login page again, with the email kept and the reason above the form (429)."""
    form = EmailAuthenticationForm(
        request, initial={"username": attempted_email(request, credentials)}
    )
    context = {
        "form": form,
        "lockout_message": lockout_message(),
        "next": request.POST.get("next", ""),
    }
    return render(request, "accounts/login.html", context, status=429)
