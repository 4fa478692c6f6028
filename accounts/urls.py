"""Account pages (no organization in the URL) and organization-scoped member pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from accounts import views
from accounts.forms import EmailAuthenticationForm

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
            template_name="accounts/login.html",
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("accounts/notifications/", views.notifications, name="notifications"),
    path("accounts/notifications/count/", views.notification_count, name="notification_count"),
    path(
        "accounts/notifications/<int:notification_id>/open/",
        views.notification_open,
        name="notification_open",
    ),
    path(
        "accounts/notifications/settings/",
        views.notification_settings,
        name="notification_settings",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("orgs/new/", views.organization_create, name="organization_create"),
]

# Everything under /o/<org_slug>/ is resolved to the caller's membership by
# accounts.middleware.OrganizationMiddleware before the view runs.
org_urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/invite/", views.invite, name="invite"),
    path("members/<int:membership_id>/role/", views.membership_role, name="membership_role"),
    path("members/<int:membership_id>/remove/", views.membership_remove, name="membership_remove"),
    path(
        "invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("settings/", views.organization_settings, name="organization_settings"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]

urlpatterns += [path("o/<slug:org_slug>/", include(org_urlpatterns))]
