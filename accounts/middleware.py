"""Tenancy for every web URL under /o/<org_slug>/: the organization is resolved from the
caller's own memberships before the view runs, so a view cannot forget the scope.
Non-members get 404 (the same answer as for an organization that does not exist)."""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest

from accounts.models import Membership


class OrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.org = None
        request.membership = None
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = (
            Membership.objects.select_related("organization")
            .filter(organization__slug=slug, user=request.user)
            .first()
        )
        if membership is None:
            raise Http404("No such organization.")
        request.org = membership.organization
        request.membership = membership
        if request.session.get("current_org") != slug:  # assigning marks the session dirty
            request.session["current_org"] = slug
        return None
