from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import require_perm
from accounts.models import Organization
from accounts.permissions import Perm

from . import selectors, services
from .forms import ProjectForm
from .models import Stage


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the organization they last used, or their first one."""
    orgs = Organization.objects.for_user(request.user)
    current = orgs.filter(slug=request.session.get("current_org")).first() or orgs.first()
    if current is None:
        return redirect("accounts:organization_create")
    return redirect("mlprojects:dashboard", org_slug=current.slug)


@require_perm(Perm.READ)
def dashboard(request: HttpRequest, org_slug: str) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    stage = request.GET.get("stage", "")
    projects = selectors.project_list(org=request.org, query=query, stage=stage)
    context = {
        "projects": projects,
        "query": query,
        "stage": stage,
        "stages": Stage.choices,
        "members": request.org.memberships.select_related("user").order_by("role", "user__email"),
    }
    if request.htmx and request.htmx.target == "project-list":
        return render(request, "mlprojects/dashboard.html#project-list", context)
    return render(request, "mlprojects/dashboard.html", context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def project_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(
            org=request.org,
            user=request.user,
            name=form.cleaned_data["name"],
            summary=form.cleaned_data["summary"],
        )
        messages.success(request, f"Project “{project.name}” created.")
        return redirect("mlprojects:project_detail", org_slug=org_slug, project_slug=project.slug)
    return render(request, "mlprojects/project_form.html", {"form": form})


@require_perm(Perm.READ)
def project_detail(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = selectors.project_get(org=request.org, slug=project_slug)
    return render(
        request, "mlprojects/project_detail.html", {"project": project, "stages": Stage.choices}
    )
