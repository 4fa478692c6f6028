import logging
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accounts import services
from accounts.access import require_perm
from accounts.forms import (
    ApiTokenForm,
    InvitationForm,
    NotificationSettingsForm,
    OrganizationForm,
    OrganizationSettingsForm,
    RoleForm,
    SignupForm,
    add_validation_errors,
)
from accounts.models import ApiToken, Invitation, Membership, Notification, Organization
from accounts.permissions import Perm, Role, permission_matrix

logger = logging.getLogger(__name__)


def _error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _organization_home(org: Organization) -> HttpResponse:
    return redirect(settings.ORGANIZATION_HOME_URL, org_slug=org.slug)


def _over_limit(request: HttpRequest, *, group: str, email: str, per_ip: str, per_email: str):
    """Count this post against both limits (per client address, per email address) and
    say whether either is exceeded. The counters live in the shared cache."""
    by_address = is_ratelimited(request, group=f"{group}:ip", key="ip", rate=per_ip, increment=True)
    by_email = bool(email) and is_ratelimited(
        request,
        group=f"{group}:email",
        key=lambda _group, _request: email,
        rate=per_email,
        increment=True,
    )
    return by_address or by_email


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and _over_limit(
        request,
        group="signup",
        email=request.POST.get("email", "").strip().lower(),
        per_ip=settings.SIGNUP_RATE_PER_IP,
        per_email=settings.SIGNUP_RATE_PER_EMAIL,
    ):
        logger.warning("sign-up refused: rate limit reached")
        context = {
            "form": SignupForm(initial=request.POST.dict()),
            "limited_message": "Too many sign-up attempts from your network or for this "
            "email address. Please try again in an hour.",
        }
        return render(request, "accounts/signup.html", context, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user, org = services.user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
                organization_name=form.cleaned_data["organization_name"],
            )
        except ValidationError as exc:  # the address signed up a moment ago
            add_validation_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! {org.name} is ready. Invite your team.")
            return _organization_home(org)
    return render(request, "accounts/signup.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a reset link at most PASSWORD_RESET_RATE_PER_EMAIL times per address (and
    PASSWORD_RESET_RATE_PER_IP per client address). Past the limit nothing is sent, but
    the answer is the same "if the address has an account, we sent a link" page, so it
    tells nothing about which addresses have accounts."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        if _over_limit(
            self.request,
            group="password-reset",
            email=form.cleaned_data["email"].strip().lower(),
            per_ip=settings.PASSWORD_RESET_RATE_PER_IP,
            per_email=settings.PASSWORD_RESET_RATE_PER_EMAIL,
        ):
            logger.warning("password reset mail not sent: rate limit reached")
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a new password through the mailed link also lifts the account's login
    lockout: the link proves the person owns the address."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.email.lower())
        return response


@login_required
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org = services.organization_create(name=form.cleaned_data["name"], owner=request.user)
        messages.success(request, f"{org.name} created.")
        return _organization_home(org)
    return render(request, "accounts/organization_form.html", {"form": form})


@require_perm(Perm.READ)
def members(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = request.org
    context = {
        "memberships": org.memberships.select_related("user").order_by("user__email"),
        "invitations": org.invitations.pending().select_related("invited_by"),
        "invite_form": InvitationForm(),
        "roles": Role.choices,
        "matrix": permission_matrix(),
        "owner_count": org.memberships.filter(role=Role.OWNER).aggregate(n=Count("id"))["n"],
        "new_invite_link": request.session.pop("new_invite_link", None),
    }
    return render(request, "accounts/members.html", context)


@require_POST
@require_perm(Perm.MANAGE_MEMBERS)
def invite(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = InvitationForm(request.POST)
    members_url = reverse("accounts:members", args=[org_slug])
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(members_url)
    try:
        invitation, raw = services.invitation_create(
            org=request.org,
            invited_by=request.user,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
        return redirect(members_url)
    link = request.build_absolute_uri(reverse("accounts:invitation", args=[raw]))
    request.session["new_invite_link"] = {"email": invitation.email, "link": link}
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect(members_url)


@require_POST
@require_perm(Perm.MANAGE_MEMBERS)
def invitation_revoke(request: HttpRequest, org_slug: str, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization=request.org)
    services.invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("accounts:members", org_slug=org_slug)


@require_POST
@require_perm(Perm.MANAGE_MEMBERS)
def membership_role(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, organization=request.org
    )
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                membership=membership, role=form.cleaned_data["role"], actor=request.user
            )
            messages.success(request, f"{membership.user.email} is now {membership.role}.")
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    else:
        messages.error(request, "Choose a valid role.")
    url = reverse("accounts:members", args=[org_slug])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@require_perm(Perm.READ)
def membership_remove(request: HttpRequest, org_slug: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, organization=request.org
    )
    leaving = membership.user_id == request.user.pk
    if not leaving and not request.membership.can(Perm.MANAGE_MEMBERS):
        raise PermissionDenied("Your role may not remove members.")
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
        return redirect("accounts:members", org_slug=org_slug)
    if leaving:
        messages.success(request, f"You left {request.org.name}.")
        return redirect("home")
    messages.success(request, f"{membership.user.email} removed.")
    return redirect("accounts:members", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MANAGE_MEMBERS)
def organization_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = OrganizationSettingsForm(request.POST or None, instance=request.org)
    if request.method == "POST" and form.is_valid():
        form.save()
        services.audit(
            org=request.org,
            actor=request.user,
            action="organization.updated",
            target=request.org.name,
            data=form.cleaned_data,
        )
        messages.success(request, "Settings saved.")
        return redirect("accounts:organization_settings", org_slug=org_slug)
    audit_events = request.org.audit_events.select_related("actor")[:50]
    return render(
        request, "accounts/organization_settings.html", {"form": form, "audit_events": audit_events}
    )


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: sign up (new user), log in, or accept."""
    found = Invitation.find_by_token(token)
    if found is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(invitation=found, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, _error_text(exc))
                return redirect("accounts:invitation", token=token)
            messages.success(request, f"You joined {membership.organization.name}.")
            return _organization_home(membership.organization)
        return render(request, "accounts/invitation.html", {"invitation": found})
    if not found.is_pending:
        return render(request, "accounts/invitation_invalid.html", status=410)
    from accounts.models import User

    has_account = User.objects.filter(email__iexact=found.email).exists()
    form = SignupForm(request.POST or None, invited=True, initial={"email": found.email})
    if request.method == "POST" and not has_account:
        if form.is_valid():
            try:
                membership = services.invitation_signup(
                    invitation=found,
                    password=form.cleaned_data["password"],
                    full_name=form.cleaned_data["full_name"],
                )
            except ValidationError as exc:
                return render(
                    request,
                    "accounts/invitation_invalid.html",
                    {"message": _error_text(exc)},
                    status=409,
                )
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return _organization_home(membership.organization)
    return render(
        request,
        "accounts/invitation.html",
        {"invitation": found, "form": form, "has_account": has_account},
    )


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MANAGE_TOKENS)
def api_tokens(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The caller's own API tokens in this organization; a new token is shown once."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        try:
            token, raw = services.api_token_create(
                org=request.org,
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            request.session["new_api_token"] = {"name": token.name, "token": raw}
            messages.success(request, f"Token “{token.name}” created.")
            return redirect("accounts:api_tokens", org_slug=org_slug)
    tokens = ApiToken.objects.filter(organization=request.org, user=request.user)
    context = {
        "form": form,
        "tokens": tokens,
        "new_token": request.session.pop("new_api_token", None),
        "api_base": request.build_absolute_uri("/"),
    }
    return render(request, "accounts/api_tokens.html", context)


@require_POST
@require_perm(Perm.MANAGE_TOKENS)
def api_token_revoke(request: HttpRequest, org_slug: str, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, organization=request.org, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:api_tokens", org_slug=org_slug)


# ---------------------------------------------------------------- notifications

NOTIFICATIONS_PER_PAGE = 50


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """The caller's notifications, newest first; POST marks them all read."""
    if request.method == "POST":
        services.notification_mark_read(user=request.user)
        messages.success(request, "All notifications marked read.")
        return redirect("accounts:notifications")
    items = Notification.objects.filter(recipient=request.user).select_related(
        "organization", "actor"
    )[:NOTIFICATIONS_PER_PAGE]
    unread = Notification.objects.unread().filter(recipient=request.user).count()
    return render(request, "accounts/notifications.html", {"items": items, "unread": unread})


@login_required
def notification_count(request: HttpRequest) -> HttpResponse:
    """The bell's unread count (polled by htmx every 30 s); the page without htmx."""
    if not request.htmx:
        return redirect("accounts:notifications")
    unread = Notification.objects.unread().filter(recipient=request.user).count()
    return render(request, "accounts/notifications.html#bell", {"unread": unread})


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark a notification read and go to what it is about."""
    notification = get_object_or_404(Notification, pk=notification_id, recipient=request.user)
    services.notification_mark_read(user=request.user, notification=notification)
    url = notification.url
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = reverse("accounts:notifications")
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    # A POST with the box unticked is empty but still a submission.
    form = NotificationSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"email_notifications": request.user.email_notifications},
    )
    if request.method == "POST" and form.is_valid():
        enabled = form.cleaned_data["email_notifications"]
        services.user_email_notifications_set(user=request.user, enabled=enabled)
        messages.success(
            request, "Notifications will be emailed." if enabled else "Email notifications muted."
        )
        return redirect("accounts:notification_settings")
    return render(request, "accounts/notification_settings.html", {"form": form})
