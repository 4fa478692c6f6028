"""The prototype page of step 6: colleagues type an input and see the model's answer next to
the rule baseline's, try a small CSV in batch, and leave feedback; the team sets up the
endpoint, its input fields, examples and share links; an admin keeps the allow-list.

htmx requests get the page's fragments (`page.html#result`, `#batch`, `#feedback`);
validation errors re-render the fragment with status 200, as elsewhere in the app."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accounts.access import require_perm
from accounts.actions import run_action
from accounts.forms import add_validation_errors
from accounts.permissions import Perm
from evaluation.prototypes import selectors, services
from evaluation.prototypes.forms import (
    AllowedHostForm,
    BatchForm,
    EndpointForm,
    ExampleForm,
    FeedbackForm,
    SchemaForm,
    ShareLinkForm,
    input_form_class,
)
from evaluation.prototypes.models import PrototypeEndpoint, ShareLink
from evaluation.registry.selectors import project_model_versions
from evaluation.uploads import UploadTooLarge, human_bytes, limit_upload
from mlprojects.lifecycle.selectors import project_get
from mlprojects.models import Project

PAGE = "evaluation/prototypes/page.html"
SETTINGS = "evaluation/prototypes/settings.html"


def _project(request: HttpRequest, project_slug: str) -> Project:
    return project_get(org=request.org, slug=project_slug)


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful POST: htmx reloads the page there (the button sits in the htmx
    input form), a plain form follows a redirect."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _fragment(request: HttpRequest, name: str) -> str:
    return f"{PAGE}#{name}" if request.htmx else PAGE


def _rate_limited(request: HttpRequest, *, share_link: ShareLink | None = None) -> bool:
    """Each model call counts against the caller: a signed-in user, or for a share link
    the link and the client's address together."""
    if share_link is not None:
        return is_ratelimited(
            request,
            group=f"prototype-share:{share_link.pk}",
            key="ip",
            rate=settings.PROTOTYPE_SHARE_RATE,
            increment=True,
        )
    return is_ratelimited(
        request, group="prototype-call", key="user", rate=settings.PROTOTYPE_RATE_PER_USER,
        increment=True,
    )  # fmt: skip


def _page_context(
    request: HttpRequest,
    *,
    project: Project,
    endpoint: PrototypeEndpoint | None,
    share_link: ShareLink | None = None,
    **extra: Any,
) -> dict[str, Any]:
    fields = endpoint.fields if endpoint else []
    form = extra.pop("form", None) or input_form_class(fields)()
    context = {
        "project": project,
        "endpoint": endpoint,
        "input_form": form,
        "examples": list(endpoint.examples.all()) if endpoint else [],
        "baseline": selectors.endpoint_baseline(endpoint=endpoint) if endpoint else None,
        "share_link": share_link,
        "feedback": [] if share_link else selectors.feedback_list(project=project),
        "batch_form": BatchForm(),
        "example_form": ExampleForm(),
        "max_batch_rows": services.MAX_BATCH_ROWS,
        **extra,
    }
    if share_link is None:
        context["try_url"] = reverse(
            "prototypes:try", args=[project.organization.slug, project.slug]
        )
        context["batch_url"] = reverse(
            "prototypes:batch", args=[project.organization.slug, project.slug]
        )
    else:
        context["try_url"] = request.path
    return context


def _example_values(endpoint: PrototypeEndpoint | None, request: HttpRequest) -> dict | None:
    """The saved example named by `?example=<id>`, as the form's initial values."""
    example_id = request.GET.get("example", "")
    if endpoint is None or not example_id.isdigit():
        return None
    example = next((e for e in endpoint.examples.all() if e.pk == int(example_id)), None)
    return example.inputs if example else None


@require_GET
@require_perm(Perm.READ)
def prototype_page(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    endpoint = selectors.endpoint_get(project=project)
    initial = _example_values(endpoint, request)
    extra = {}
    if initial is not None:
        extra["form"] = input_form_class(endpoint.fields)(initial=initial)
    return render(
        request, PAGE, _page_context(request, project=project, endpoint=endpoint, **extra)
    )


def _try(
    request: HttpRequest,
    *,
    project: Project,
    endpoint: PrototypeEndpoint | None,
    share_link: ShareLink | None = None,
) -> HttpResponse:
    fields = endpoint.fields if endpoint else []
    form = input_form_class(fields)(request.POST)
    context = _page_context(
        request, project=project, endpoint=endpoint, share_link=share_link, form=form
    )
    status = 200
    if endpoint is None or not endpoint.fields:
        context["try_error"] = "The prototype is not set up yet: the team adds its endpoint first."
    elif _rate_limited(request, share_link=share_link):
        context["try_error"] = "Too many tries in a short time; wait a minute and try again."
        status = 429
    elif form.is_valid():
        try:
            context["call"] = services.prototype_try(
                endpoint=endpoint,
                values=form.cleaned_data,
                user=None if share_link else request.user,
                share_link=share_link,
            )
        except ValidationError as exc:
            context["try_error"] = " ".join(exc.messages)
        context["feedback_form"] = FeedbackForm()
    return render(request, _fragment(request, "result"), context, status=status)


@require_POST
@require_perm(Perm.READ)
def prototype_try(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    return _try(request, project=project, endpoint=selectors.endpoint_get(project=project))


def _batch_too_large(request: HttpRequest, error: UploadTooLarge, **kwargs) -> HttpResponse:
    return HttpResponse(str(error), status=413, content_type="text/plain; charset=utf-8")


@require_POST
@require_perm(Perm.READ)
@limit_upload(lambda: settings.PROTOTYPE_EXAMPLE_MAX_BYTES, _batch_too_large)
def prototype_batch(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    endpoint = selectors.endpoint_get(project=project)
    form = BatchForm(request.POST, request.FILES)
    context = _page_context(request, project=project, endpoint=endpoint, batch_form=form)
    status = 200
    if endpoint is None or not endpoint.fields:
        context["batch_error"] = "The prototype is not set up yet."
    elif _rate_limited(request):
        context["batch_error"] = "Too many tries in a short time; wait a minute and try again."
        status = 429
    elif form.is_valid():
        try:
            context["batch"] = services.prototype_batch(
                endpoint=endpoint, content=form.cleaned_data["file"].read()
            )
        except ValidationError as exc:
            context["batch_error"] = " ".join(exc.messages)
        except services.PrototypeUnavailable as exc:
            context["batch_error"] = str(exc)
    return render(request, _fragment(request, "batch"), context, status=status)


@require_POST
@require_perm(Perm.READ)
def feedback_give(
    request: HttpRequest, org_slug: str, project_slug: str, call_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    call = selectors.call_get(project=project, pk=call_id)
    form = FeedbackForm(request.POST)
    context = {"project": project, "call": call, "feedback_form": form}
    if form.is_valid():
        try:
            context["given"] = services.feedback_give(
                call=call,
                user=request.user,
                verdict=form.cleaned_data["verdict"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
    if "given" in context:  # the answer's box thanks; "Feedback so far" lists it (htmx OOB)
        context["feedback"] = selectors.feedback_list(project=project)
    if not request.htmx and "given" in context:
        messages.success(request, "Thank you: your feedback is in step 6 for the team.")
        return redirect("prototypes:page", org_slug=org_slug, project_slug=project_slug)
    return render(request, f"{PAGE}#feedback", context)


# -- the team's settings ----------------------------------------------------------------------


def _settings_context(project: Project, **forms: Any) -> dict[str, Any]:
    endpoint = selectors.endpoint_get(project=project)
    baselines = selectors.rule_baselines(project=project)
    context = {
        "project": project,
        "endpoint": endpoint,
        "endpoint_form": EndpointForm(
            instance=endpoint, baselines=baselines, versions=project_model_versions(project)
        ),
        "schema_form": SchemaForm(),
        "share_form": ShareLinkForm(),
        "share_links": list(selectors.share_link_list(project=project)),
        "hosts": list(selectors.host_list(org=project.organization)),
        "max_example_bytes": human_bytes(settings.PROTOTYPE_EXAMPLE_MAX_BYTES),
    }
    context.update(forms)
    return context


def _settings_url(project: Project) -> str:
    return reverse("prototypes:settings", args=[project.organization.slug, project.slug])


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def prototype_settings(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    if request.method == "GET":
        return render(request, SETTINGS, _settings_context(project))
    endpoint = selectors.endpoint_get(project=project)
    served_before = endpoint.model_version_id if endpoint else None
    form = EndpointForm(
        request.POST,
        instance=endpoint,
        baselines=selectors.rule_baselines(project=project),
        versions=project_model_versions(project),
    )
    if form.is_valid():
        endpoint = services.endpoint_save(
            project=project,
            user=request.user,
            values=form.endpoint_values(),
            headers=form.cleaned_data["headers"] or None,
            clear_headers=form.cleaned_data["clear_headers"],
        )
        messages.success(request, "Endpoint saved.")
        version = endpoint.model_version
        if version is not None and version.pk != served_before:
            if services.endpoint_fields_from_version(endpoint=endpoint):
                messages.success(request, f"Input fields from the signature of {version}.")
            else:
                messages.warning(
                    request,
                    f"{version} has no MLflow signature with named columns: set the input "
                    "fields below.",
                )
        return redirect(_settings_url(project))
    return render(request, SETTINGS, _settings_context(project, endpoint_form=form))


def _schema_too_large(
    request: HttpRequest, error: UploadTooLarge, org_slug: str, project_slug: str
) -> HttpResponse:
    project = _project(request, project_slug)
    form = SchemaForm()
    form.add_error(None, str(error))
    return render(request, SETTINGS, _settings_context(project, schema_form=form), status=413)


@require_POST
@require_perm(Perm.EDIT)
@limit_upload(lambda: settings.PROTOTYPE_EXAMPLE_MAX_BYTES, _schema_too_large)
def prototype_schema(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    form = SchemaForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.endpoint_set_fields(
                endpoint=services.endpoint_for(project=project),
                fields=form.cleaned_data["fields"],
                examples=form.cleaned_data["examples"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Input fields saved.")
            return redirect(_settings_url(project))
    return render(request, SETTINGS, _settings_context(project, schema_form=form))


@require_POST
@require_perm(Perm.EDIT)
def example_save(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """Save the page's current input as a named example."""
    project = _project(request, project_slug)
    endpoint = selectors.endpoint_get(project=project)
    page = reverse("prototypes:page", args=[org_slug, project_slug])
    if endpoint is None:
        messages.error(request, "The prototype is not set up yet.")
        return _go(request, page)
    form = ExampleForm(request.POST)
    values = input_form_class(endpoint.fields)(request.POST)
    if form.is_valid() and values.is_valid():
        try:
            example = services.example_save(
                endpoint=endpoint, name=form.cleaned_data["name"], values=values.cleaned_data
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Example “{example.name}” saved.")
            return _go(request, f"{page}?example={example.pk}")
    else:
        messages.error(request, "Name the example to save it.")
    return _go(request, page)


@require_POST
@require_perm(Perm.EDIT)
def example_delete(
    request: HttpRequest, org_slug: str, project_slug: str, example_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    endpoint = selectors.endpoint_get(project=project)
    if endpoint is None:
        raise Http404("This project has no prototype.")
    return run_action(
        request,
        lambda: services.example_delete(endpoint=endpoint, example_id=example_id),
        done=lambda name: f"Example “{name}” deleted.",
        back=reverse("prototypes:page", args=[org_slug, project_slug]),
    )


@require_POST
@require_perm(Perm.EDIT)
def share_link_create(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = _project(request, project_slug)
    form = ShareLinkForm(request.POST)
    context: dict[str, Any] = {}
    if form.is_valid():
        try:
            link, token = services.share_link_create(
                project=project,
                user=request.user,
                days=form.cleaned_data["days"],
                label=form.cleaned_data["label"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            context["new_link"] = link
            context["new_link_url"] = request.build_absolute_uri(
                reverse("prototype_share:page", args=[token])
            )
            form = ShareLinkForm()
    return render(request, SETTINGS, _settings_context(project, share_form=form, **context))


@require_POST
@require_perm(Perm.EDIT)
def share_link_revoke(
    request: HttpRequest, org_slug: str, project_slug: str, link_id: int
) -> HttpResponse:
    project = _project(request, project_slug)
    link = selectors.share_link_get(project=project, pk=link_id)
    services.share_link_revoke(link=link, user=request.user)
    messages.success(request, "Share link revoked: it no longer opens the prototype.")
    return redirect(_settings_url(project))


# -- the organization's allow-list ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MANAGE_MEMBERS)
def host_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = AllowedHostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.allowed_host_add(
                org=request.org,
                user=request.user,
                host=form.cleaned_data["host"],
                allow_private=form.cleaned_data["allow_private"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Host added to the allow-list.")
            return redirect("prototype_hosts:list", org_slug=org_slug)
    context = {"form": form, "hosts": list(selectors.host_list(org=request.org))}
    return render(request, "evaluation/prototypes/hosts.html", context)


@require_POST
@require_perm(Perm.MANAGE_MEMBERS)
def host_delete(request: HttpRequest, org_slug: str, host_id: int) -> HttpResponse:
    entry = selectors.host_get(org=request.org, pk=host_id)
    return run_action(
        request,
        lambda: services.allowed_host_remove(entry=entry, user=request.user),
        done=f"{entry.host} removed from the allow-list.",
        back=reverse("prototype_hosts:list", args=[org_slug]),
    )


# -- share links: people outside the organization -------------------------------------------


@require_http_methods(["GET", "POST"])
def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    """Read-only: try the prototype (rate limited per link and address); no feedback, no
    settings, nothing else of the organization."""
    link = selectors.share_link_by_token(token)
    project = link.project
    endpoint = selectors.endpoint_get(project=project)
    if request.method == "POST":
        return _try(request, project=project, endpoint=endpoint, share_link=link)
    return render(
        request, PAGE, _page_context(request, project=project, endpoint=endpoint, share_link=link)
    )
