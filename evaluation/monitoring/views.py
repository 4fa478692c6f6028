"""Monitoring pages of a project: the monitoring page (metric series with thresholds and
deployments, alerts, windows, drift), a drift cell's drill-down, recording a deployment,
and moving an alert on."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import require_perm
from accounts.forms import add_validation_errors
from accounts.permissions import Perm
from evaluation.monitoring import selectors, services
from evaluation.monitoring.forms import AlertRulesForm, DeploymentForm
from evaluation.monitoring.models import Alert, MonitoringWindow, MonitorSettings
from mlprojects.lifecycle.selectors import project_get


def _page_url(project) -> str:
    from django.urls import reverse

    return reverse(
        "monitoring:page",
        kwargs={"org_slug": project.organization.slug, "project_slug": project.slug},
    )


@require_perm(Perm.READ)
def monitoring_page(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    page = selectors.monitoring_overview(project=project)
    return render(request, "evaluation/monitoring/page.html", {"project": project, **page})


@require_perm(Perm.READ)
def window_distribution(
    request: HttpRequest, org_slug: str, project_slug: str, window_id: int
) -> HttpResponse:
    """A drift heat-map cell's drill-down: `?column=` in the reference window and in this
    window. A fragment for htmx (swapped under the heat map), else a page of its own."""
    project = project_get(org=request.org, slug=project_slug)
    window = selectors.window_get(project=project, window_id=window_id)
    column = request.GET.get("column", "")
    detail = (
        selectors.window_distribution(project=project, window=window, column=column)
        if window is not None and column
        else None
    )
    if detail is None:
        raise Http404("No drift result for this column in this window.")
    template = "evaluation/monitoring/distribution.html"
    return render(
        request,
        template + ("#detail" if request.htmx else ""),
        {"project": project, "detail": detail},
    )


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def deployment_create(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    form = DeploymentForm(request.POST if request.method == "POST" else None, project=project)
    if form.is_valid():
        try:
            deployment = services.deployment_create(
                project=project, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Deployment of “{deployment.what}” recorded.")
            return redirect(_page_url(project))
    status = 400 if form.is_bound else 200
    return render(
        request,
        "evaluation/monitoring/deployment_form.html",
        {"project": project, "form": form},
        status=status,
    )


def _alert(request: HttpRequest, project_slug: str, alert_id: int) -> Alert:
    project = project_get(org=request.org, slug=project_slug)
    alert = Alert.objects.filter(project=project, pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


def _move(request: HttpRequest, project_slug: str, alert_id: int, service) -> HttpResponse:
    alert = _alert(request, project_slug, alert_id)
    try:
        service(alert=alert, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_page_url(alert.project) + "#alerts")


@require_POST
@require_perm(Perm.EDIT)
def alert_acknowledge(
    request: HttpRequest, org_slug: str, project_slug: str, alert_id: int
) -> HttpResponse:
    return _move(request, project_slug, alert_id, services.alert_acknowledge)


@require_POST
@require_perm(Perm.EDIT)
def alert_resolve(
    request: HttpRequest, org_slug: str, project_slug: str, alert_id: int
) -> HttpResponse:
    return _move(request, project_slug, alert_id, services.alert_resolve)


@require_POST
@require_perm(Perm.EDIT)
def alert_record_finding(
    request: HttpRequest, org_slug: str, project_slug: str, alert_id: int
) -> HttpResponse:
    """Record the alert as a step-9 finding (its evidence links back to the alert)."""
    alert = _alert(request, project_slug, alert_id)
    try:
        services.finding_record(
            project=alert.project,
            user=request.user,
            alert=alert,
            suspected_cause=request.POST.get("suspected_cause", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Recorded as a finding of step 9.")
    return redirect(_page_url(alert.project) + f"#alert-{alert.pk}")


@require_POST
@require_perm(Perm.EDIT)
def window_record_finding(
    request: HttpRequest, org_slug: str, project_slug: str, window_id: int
) -> HttpResponse:
    """Record a drift cell (`column`) or a worst slice (`slice_column`, `slice_value`) of a
    window as a step-9 finding (its evidence links back to the window)."""
    project = project_get(org=request.org, slug=project_slug)
    window = MonitoringWindow.objects.filter(project=project, pk=window_id).first()
    if window is None:
        raise Http404("No such window.")
    try:
        services.finding_record(
            project=project,
            user=request.user,
            window=window,
            column=request.POST.get("column", ""),
            slice_column=request.POST.get("slice_column", ""),
            slice_value=request.POST.get("slice_value", ""),
            suspected_cause=request.POST.get("suspected_cause", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Recorded as a finding of step 9.")
    return redirect(_page_url(project) + f"#window-{window.pk}")


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def alert_rules(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """The project's alert rules: consecutive windows, minimum volume, which rules are on."""
    project = project_get(org=request.org, slug=project_slug)
    current = MonitorSettings.objects.filter(project=project).first() or MonitorSettings(
        project=project
    )
    form = AlertRulesForm(request.POST if request.method == "POST" else None, instance=current)
    if form.is_valid():
        try:
            services.alert_rules_update(
                project=project, user=request.user, values=form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Alert rules saved; they are evaluated again now.")
            return redirect(_page_url(project) + "#alerts")
    status = 400 if form.is_bound else 200
    return render(
        request,
        "evaluation/monitoring/alert_rules.html",
        {
            "project": project,
            "form": form,
            "requirement": selectors.performance_requirement(project=project),
        },
        status=status,
    )
