"""Pages that belong to no domain: the landing redirect."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Organization


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the organization they last used, or their first one."""
    orgs = Organization.objects.for_user(request.user)
    current = orgs.filter(slug=request.session.get("current_org")).first() or orgs.first()
    if current is None:
        return redirect("accounts:organization_create")
    return redirect("mlprojects:dashboard", org_slug=current.slug)
