"""Business analyses (seed §2): the list, the analysis document and in-place editing of
its parts — offerings, data sources, use cases and interviews.

Every part is edited the same way, with or without JavaScript, by the four views
`item_create`, `item_detail`, `item_edit` and `item_delete`, which look the kind of part
up in `ITEMS` (as the lifecycle's items are); `urls.py` names their URLs per kind:
- `…/new/` and `…/<id>/edit/` answer GET with the form (the fragment for htmx, a page
  otherwise) and POST with either the form again, errors inline (200), or the saved item
  — for htmx the item fragment (a new one is appended to its list out of band), otherwise
  a redirect back to the analysis.
- `…/<id>/` is the item fragment (what "Cancel" swaps back); without htmx it redirects to
  the item on the analysis page.
- `…/<id>/delete/` is POST only; htmx gets an empty 200 (the item disappears).
The per-kind differences live in one `ItemKind` each."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Model
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import require_perm
from accounts.permissions import Perm
from mlprojects.analyses import selectors, services
from mlprojects.analyses.forms import (
    AnalysisForm,
    DataSourceForm,
    InterviewForm,
    OfferingForm,
    UseCaseForm,
)
from mlprojects.models import BusinessAnalysis, DataSource, Interview, Offering, UseCase

DETAIL = "mlprojects/analyses/analysis_detail.html"
FORM = "mlprojects/analyses/item_form.html"


@dataclass(frozen=True)
class ItemKind:
    """What differs between the parts of an analysis."""

    name: str  # URL name prefix and the fragment's context variable, e.g. "use_case"
    label: str  # for titles and messages, e.g. "use case"
    section: str  # anchor of its section on the analysis page
    form_class: type[forms.ModelForm]
    create: Callable[..., Model]  # (analysis=, user=, **cleaned_data) or (org=, …)
    update: Callable[..., Model]  # (<name>=obj, user=, data=)
    delete: Callable[..., None]  # (<name>=obj, user=)
    get: Callable[..., Model]  # (request, **the URL's arguments) → the item, or 404
    takes_org: bool = False  # the form offers related objects of the organization
    presets: tuple[str, ...] = ()  # query parameters that preset fields of a new item

    @property
    def fragment(self) -> str:
        return f"{DETAIL}#{self.name.replace('_', '-')}"

    def list_id(self, obj: Model) -> str:
        """The DOM id of the list the item belongs in on the page."""
        if isinstance(obj, UseCase):
            return "use-cases-customer" if obj.is_customer_facing else "use-cases-internal"
        return self.section


def _analysis(request: HttpRequest, analysis_slug: str) -> BusinessAnalysis:
    return selectors.analysis_get(org=request.org, slug=analysis_slug)


def _offering(request: HttpRequest, analysis_slug: str, offering_id: int) -> Offering:
    return selectors.offering_get(analysis=_analysis(request, analysis_slug), pk=offering_id)


def _use_case(request: HttpRequest, analysis_slug: str, use_case_id: int) -> UseCase:
    return selectors.use_case_get(analysis=_analysis(request, analysis_slug), pk=use_case_id)


def _interview(request: HttpRequest, analysis_slug: str, interview_id: int) -> Interview:
    return selectors.interview_get(analysis=_analysis(request, analysis_slug), pk=interview_id)


def _data_source(request: HttpRequest, data_source_id: int) -> DataSource:
    return selectors.data_source_get(org=request.org, pk=data_source_id)


OFFERING = ItemKind(
    "offering",
    "offering",
    "offerings",
    OfferingForm,
    services.offering_create,
    services.offering_update,
    services.offering_delete,
    get=_offering,
)
DATA_SOURCE = ItemKind(
    "data_source",
    "data source",
    "data-sources",
    DataSourceForm,
    services.data_source_create,
    services.data_source_update,
    services.data_source_delete,
    get=_data_source,
    takes_org=True,
)
USE_CASE = ItemKind(
    "use_case",
    "use case",
    "use-cases",
    UseCaseForm,
    services.use_case_create,
    services.use_case_update,
    services.use_case_delete,
    get=_use_case,
    takes_org=True,
    # ?output_use=automation preselects the group the "Add" button was clicked in.
    presets=("output_use",),
)
INTERVIEW = ItemKind(
    "interview",
    "interview",
    "interviews",
    InterviewForm,
    services.interview_create,
    services.interview_update,
    services.interview_delete,
    get=_interview,
)
ITEMS = {kind.name: kind for kind in (OFFERING, DATA_SOURCE, USE_CASE, INTERVIEW)}


# Helpers shared by every kind of part


def _analysis_url(analysis: BusinessAnalysis, section: str = "") -> str:
    url = reverse("mlprojects:analysis_detail", args=[analysis.organization.slug, analysis.slug])
    return f"{url}#{section}" if section else url


def _back_url(request: HttpRequest, kind: ItemKind, analysis: BusinessAnalysis | None) -> str:
    if analysis is not None:
        return _analysis_url(analysis, kind.section)
    return reverse("mlprojects:data_source_list", args=[request.org.slug])


def _form(kind: ItemKind, request: HttpRequest, obj: Model | None = None, **initial: Any):
    """The kind's form, bound on POST. Editing starts from the object's values but never
    hands the object itself to the form, which would change it before the service does."""
    if obj is not None:
        initial = model_to_dict(obj, fields=kind.form_class._meta.fields)
    extra = {"org": request.org} if kind.takes_org else {}
    return kind.form_class(request.POST or None, initial=initial, **extra)


def _render_item(
    request: HttpRequest, kind: ItemKind, obj: Model, oob_list: str = ""
) -> HttpResponse:
    """The item fragment; with `oob_list`, appended to that list out of band instead (and
    the swap target — the form — is replaced by nothing)."""
    context = {kind.name: obj, "analysis": getattr(obj, "analysis", None)}
    if oob_list:
        context |= {"oob_list": oob_list, "fragment": kind.fragment}
        return render(request, "mlprojects/analyses/item_oob.html", context)
    return render(request, kind.fragment, context)


def _render_form(
    request: HttpRequest,
    kind: ItemKind,
    form: forms.Form,
    analysis: BusinessAnalysis | None,
    obj: Model | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "kind": kind,
        "analysis": analysis,
        "editing": obj is not None,
        "action": request.get_full_path(),
        "back_url": _back_url(request, kind, analysis),
        "cancel_url": (
            reverse(f"mlprojects:{kind.name}_detail", kwargs=request.resolver_match.kwargs)
            if obj is not None
            else ""
        ),
        "list_id": kind.list_id(obj) if obj is not None else kind.section,
    }
    return render(request, f"{FORM}#item-form" if request.htmx else FORM, context)


def _create(
    request: HttpRequest, kind: ItemKind, parent: BusinessAnalysis | None, **initial: Any
) -> HttpResponse:
    """`parent` is the analysis the item is added to (for a data source: preselected)."""
    form = _form(kind, request, **initial)
    if request.method == "POST" and form.is_valid():
        owner = {"org": request.org} if kind is DATA_SOURCE else {"analysis": parent}
        obj = kind.create(**owner, user=request.user, **form.cleaned_data)
        if not request.htmx:
            messages.success(request, f"Added the {kind.label} “{obj}”.")
            return redirect(_back_url(request, kind, getattr(obj, "analysis", None)))
        return _render_item(request, kind, obj, oob_list=kind.list_id(obj))
    return _render_form(request, kind, form, parent)


def _edit(request: HttpRequest, kind: ItemKind, obj: Model) -> HttpResponse:
    analysis = getattr(obj, "analysis", None)
    form = _form(kind, request, obj)
    if request.method == "POST" and form.is_valid():
        list_before = kind.list_id(obj)
        kind.update(**{kind.name: obj, "user": request.user, "data": form.cleaned_data})
        if not request.htmx:
            messages.success(request, f"Saved the {kind.label} “{obj}”.")
            return redirect(_back_url(request, kind, obj.analysis))
        # A use case that became customer-facing (or internal) moves to the other group.
        moved = kind.list_id(obj) != list_before
        return _render_item(request, kind, obj, oob_list=kind.list_id(obj) if moved else "")
    return _render_form(request, kind, form, analysis, obj)


def _detail(request: HttpRequest, kind: ItemKind, obj: Model) -> HttpResponse:
    if not request.htmx:
        return redirect(_back_url(request, kind, obj.analysis))
    return _render_item(request, kind, obj)


def _delete(request: HttpRequest, kind: ItemKind, obj: Model) -> HttpResponse:
    analysis = obj.analysis
    kind.delete(**{kind.name: obj, "user": request.user})
    if request.htmx:
        return HttpResponse("")
    messages.success(request, f"Deleted the {kind.label} “{obj}”.")
    return redirect(_back_url(request, kind, analysis))


# Analyses


@require_perm(Perm.READ)
def analysis_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    analyses = selectors.analysis_list(org=request.org)
    return render(request, "mlprojects/analyses/analysis_list.html", {"analyses": analyses})


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def analysis_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = AnalysisForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        analysis = services.analysis_create(org=request.org, user=request.user, **form.cleaned_data)
        messages.success(request, f"Analysis “{analysis.name}” created. Start with its offerings.")
        return redirect(_analysis_url(analysis))
    return render(request, "mlprojects/analyses/analysis_form.html", {"form": form})


@require_perm(Perm.READ)
def analysis_detail(request: HttpRequest, org_slug: str, analysis_slug: str) -> HttpResponse:
    analysis = selectors.analysis_detail(org=request.org, slug=analysis_slug)
    use_cases = list(analysis.use_cases.all())
    context = {
        "analysis": analysis,
        "customer_use_cases": [u for u in use_cases if u.is_customer_facing],
        "internal_use_cases": [u for u in use_cases if not u.is_customer_facing],
    }
    return render(request, DETAIL, context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def analysis_edit(request: HttpRequest, org_slug: str, analysis_slug: str) -> HttpResponse:
    analysis = _analysis(request, analysis_slug)
    form = AnalysisForm(request.POST or None, initial=model_to_dict(analysis))
    if request.method == "POST" and form.is_valid():
        services.analysis_update(analysis=analysis, user=request.user, data=form.cleaned_data)
        messages.success(request, "Analysis saved.")
        return redirect(_analysis_url(analysis))
    return render(
        request, "mlprojects/analyses/analysis_form.html", {"form": form, "analysis": analysis}
    )


@require_POST
@require_perm(Perm.EDIT)
def analysis_delete(request: HttpRequest, org_slug: str, analysis_slug: str) -> HttpResponse:
    analysis = _analysis(request, analysis_slug)
    services.analysis_delete(analysis=analysis, user=request.user)
    messages.success(request, f"Analysis “{analysis.name}” deleted; its data sources remain.")
    return redirect("mlprojects:analysis_list", org_slug=org_slug)


# Parts of an analysis, by kind (`ITEMS`)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def item_create(
    request: HttpRequest, org_slug: str, kind: str, analysis_slug: str = ""
) -> HttpResponse:
    item_kind = ITEMS[kind]
    # A data source is the organization's: ?analysis=<slug> (the "Add" button of an
    # analysis) preselects that analysis.
    slug = analysis_slug or request.GET.get("analysis", "")
    analysis = _analysis(request, slug) if slug else None
    initial = {name: request.GET.get(name, "") for name in item_kind.presets}
    if item_kind is DATA_SOURCE:
        initial["analysis"] = analysis.pk if analysis else None
    return _create(request, item_kind, analysis, **initial)


@require_perm(Perm.READ)
def item_detail(request: HttpRequest, org_slug: str, kind: str, **ids: str | int) -> HttpResponse:
    item_kind = ITEMS[kind]
    return _detail(request, item_kind, item_kind.get(request, **ids))


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def item_edit(request: HttpRequest, org_slug: str, kind: str, **ids: str | int) -> HttpResponse:
    item_kind = ITEMS[kind]
    return _edit(request, item_kind, item_kind.get(request, **ids))


@require_POST
@require_perm(Perm.EDIT)
def item_delete(request: HttpRequest, org_slug: str, kind: str, **ids: str | int) -> HttpResponse:
    item_kind = ITEMS[kind]
    return _delete(request, item_kind, item_kind.get(request, **ids))


@require_POST
@require_perm(Perm.EDIT)
def use_case_create_project(
    request: HttpRequest, org_slug: str, analysis_slug: str, use_case_id: int
) -> HttpResponse:
    """Turn the use case into a project (prefilled from it) and open it. A use case that
    already has its project just opens that one: clicking twice makes one project."""
    use_case = _use_case(request, analysis_slug, use_case_id)
    project, created = services.use_case_create_project(use_case=use_case, user=request.user)
    if created:
        messages.success(request, f"Project “{project.name}” created from the use case.")
    url = reverse("mlprojects:project_detail", args=[org_slug, project.slug])
    return redirect(url)


# Data sources: they belong to the organization (an analysis may list them), so their
# URLs are not nested under an analysis.


@require_perm(Perm.READ)
def data_source_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    sources = list(selectors.data_source_list(org=request.org))
    levels = [source.trust_level or "unrated" for source in sources]
    summary = {level: levels.count(level) for level in ("ok", "warn", "bad", "unrated")}
    context = {"sources": sources, "summary": summary}
    return render(request, "mlprojects/analyses/data_source_list.html", context)
