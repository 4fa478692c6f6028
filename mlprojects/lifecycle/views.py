from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import require_perm
from accounts.forms import add_validation_errors
from accounts.models import User
from accounts.permissions import Perm
from mlprojects.lifecycle import feasibility, forms, page_cache, readiness, selectors, services
from mlprojects.lifecycle.diffs import section_diff
from mlprojects.lifecycle.rules import describe_rules
from mlprojects.models import (
    Baseline,
    CauseEvidenceKind,
    Feedback,
    Finding,
    Hypothesis,
    Metric,
    MetricKind,
    Objective,
    ProblemNode,
    Project,
    ProjectConstraint,
    Reference,
    Solution,
    Stage,
    Verdict,
    WatchedMetric,
)
from mlprojects.review.selectors import approval_summary, open_thread_counts


@require_perm(Perm.READ)
def dashboard(request: HttpRequest, org_slug: str) -> HttpResponse:
    filters = {
        "query": request.GET.get("q", "").strip(),
        "stage": request.GET.get("stage", ""),
        "owner": request.GET.get("owner", ""),
        "verdict": request.GET.get("verdict", ""),
        "readiness_bucket": request.GET.get("readiness", ""),
    }
    projects = selectors.project_list(org=request.org, **filters)
    context = {
        "projects": projects,
        **filters,
        "filtered": any(filters.values()),
        "stages": Stage.choices,
        "verdicts": Verdict.choices,
        "readiness_buckets": [(k, v[0]) for k, v in selectors.READINESS_BUCKETS.items()],
        "owners": User.objects.filter(memberships__organization=request.org).order_by("email"),
        "members": request.org.memberships.select_related("user").order_by("role", "user__email"),
    }
    if request.htmx and request.htmx.target == "project-list":
        return render(request, "mlprojects/lifecycle/dashboard.html#project-list", context)
    return render(request, "mlprojects/lifecycle/dashboard.html", context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def project_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = forms.ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(
            org=request.org,
            user=request.user,
            name=form.cleaned_data["name"],
            summary=form.cleaned_data["summary"],
        )
        messages.success(request, f"Project “{project.name}” created.")
        return redirect("mlprojects:project_detail", org_slug=org_slug, project_slug=project.slug)
    return render(request, "mlprojects/lifecycle/project_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def project_edit(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """Rename the project or change its summary (the address stays the same)."""
    project = selectors.project_get(org=request.org, slug=project_slug)
    form = forms.ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        services.project_update(
            project=project,
            user=request.user,
            values={"name": form.cleaned_data["name"], "summary": form.cleaned_data["summary"]},
        )
        messages.success(request, "Project saved.")
        return redirect("mlprojects:project_detail", org_slug=org_slug, project_slug=project.slug)
    context = {"form": form, "project": project}
    return render(request, "mlprojects/lifecycle/project_form.html", context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.DELETE_PROJECTS)
def project_delete(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """Ask first — the page lists what goes with the project and wants its name typed —
    then delete it with its rows and stored files."""
    project = selectors.project_get(org=request.org, slug=project_slug)
    form = forms.ProjectDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = services.project_delete(
                project=project, user=request.user, confirm=form.cleaned_data["confirm"]
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            files = f" and {count} stored file{pluralize(count)}" if count else ""
            messages.success(request, f"Deleted the project “{project.name}”{files}.")
            return redirect("mlprojects:dashboard", org_slug=org_slug)
    contents = selectors.project_contents(project=project)
    context = {"project": project, "form": form, "contents": contents}
    return render(request, "mlprojects/lifecycle/project_delete.html", context)


# ---------------------------------------------------------------- the workspace


def _node_views(tree: list[dict], solutions: dict[int, list]) -> list[dict]:
    return [
        {
            **n,
            "evidence_label": CauseEvidenceKind(n["evidence_kind"]).label
            if n["evidence_kind"]
            else "",
            "solutions": solutions.get(n["id"], []),
            "children": _node_views(n["children"], solutions),
        }
        for n in tree
    ]


def _metric_tree(metrics: list[Metric]) -> tuple[list[dict], list[Metric]]:
    """Business metrics with the metrics that should move them; and the unlinked rest."""
    children: dict[int, list[Metric]] = {}
    for m in metrics:
        if m.parent_id:
            children.setdefault(m.parent_id, []).append(m)
    roots = [
        {"metric": m, "children": children.get(m.id, [])}
        for m in metrics
        if m.kind == MetricKind.BUSINESS and not m.parent_id
    ]
    linked = {c.id for kids in children.values() for c in kids} | {r["metric"].id for r in roots}
    return roots, [m for m in metrics if m.id not in linked]


def workspace_context(request: HttpRequest, project: Project, number: int | None = None) -> dict:
    cycle = selectors.cycle_get(project=project, number=number)
    steps = selectors.cycle_steps(cycle)
    result = readiness.evaluate(steps)
    solutions: dict[int, list] = {}
    for s in cycle.solution_list:
        solutions.setdefault(s.cause_id, []).append(s)
    metrics = list(cycle.metrics.all())
    metric_roots, unlinked = _metric_tree(metrics)
    answers = cycle.feasibility
    flags_mitigated = {
        c.red_flag for c in cycle.constraints.all() if c.red_flag and c.mitigation.strip()
    }
    baselines = [(b, describe_rules(b.rules) if b.rules else []) for b in cycle.baselines.all()]
    return {
        "project": project,
        "cycle": cycle,
        "cycle_numbers": selectors.cycle_numbers(project=project),
        "editable": request.membership.can(Perm.EDIT) and cycle.number == project.cycle,
        "steps": steps,
        "readiness": result,
        "step_views": selectors.workspace_steps(steps, result),
        "tree": _node_views(steps[Stage.PROBLEM_DEFINITION]["tree"], solutions),
        "metric_roots": metric_roots,
        "unlinked_metrics": unlinked,
        "metrics_by_id": {m.id: m for m in metrics},
        "criteria": [
            (k, q, getattr(answers, k), getattr(answers, f"{k}_rationale"))
            for k, q in feasibility.CRITERIA.items()
        ],
        "red_flags": [
            (
                k,
                label,
                getattr(answers, k),
                getattr(answers, f"{k}_rationale"),
                k in flags_mitigated,
            )
            for k, label in feasibility.RED_FLAGS.items()
        ],
        "flags_raised": any(answers.red_flags().values()),
        "verdict": feasibility.Verdict(answers.verdict, answers.reasons),
        "baselines": baselines,
        "goal_formula": steps[Stage.GOALS]["multi_objective"]["formula"],
        "comment_counts": open_thread_counts(project=project),
        "approval": approval_summary(
            project=project, steps=steps if cycle.number == project.cycle else None
        ),
    }


@require_perm(Perm.READ)
def project_detail(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = selectors.project_get(org=request.org, slug=project_slug)
    number = request.GET.get("cycle", "")
    cycle = int(number) if number.isdigit() else None
    key = page_cache.workspace_key(request, project, cycle)
    html = page_cache.get(key) if key else None
    if html is not None:
        context = {"project": project, "workspace_html": html}
    else:
        if key:  # read the project again after its version, as the rest: a write
            # committed in between then shows in what is stored under that version
            project = selectors.project_get(org=request.org, slug=project_slug)
        context = {**workspace_context(request, project, cycle), "workspace_key": key}
    return render(request, "mlprojects/lifecycle/project_detail.html", context)


@require_perm(Perm.READ)
def step_detail(request: HttpRequest, org_slug: str, project_slug: str, step: str) -> HttpResponse:
    """One step of the current cycle as a fragment (htmx “Cancel”), else the page."""
    if step not in Stage.values:
        raise Http404("No such step.")
    project = selectors.project_get(org=request.org, slug=project_slug)
    if not request.htmx:
        return redirect(_step_url(project, step))
    context = workspace_context(request, project)
    return render(request, f"mlprojects/lifecycle/project_detail.html#step-{step}", context)


def _step_url(project: Project, step: str) -> str:
    url = reverse("mlprojects:project_detail", args=[project.organization.slug, project.slug])
    return f"{url}#step-{step}"


def _saved(request: HttpRequest, project: Project, step: str, message: str) -> HttpResponse:
    """After a successful write: the re-rendered step plus out-of-band rail and readiness
    for htmx; a redirect to the step on the project page otherwise."""
    if not request.htmx:
        messages.success(request, message)
        return redirect(_step_url(project, step))
    context = workspace_context(request, project)
    html = render_to_string(
        f"mlprojects/lifecycle/project_detail.html#step-{step}", context, request
    )
    html += render_to_string(
        "mlprojects/lifecycle/project_detail.html#workspace-oob", {**context, "oob": True}, request
    )
    response = HttpResponse(html)
    response["HX-Retarget"] = f"#step-{step}"
    response["HX-Reswap"] = "outerHTML"
    return response


def _form_response(request: HttpRequest, context: dict) -> HttpResponse:
    template = "mlprojects/lifecycle/section_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, context)


@dataclass(frozen=True)
class SectionKind:
    attr: str  # the related name on ProjectCycle
    form: type
    step: str
    title: str


SECTIONS = {
    "phenomenon": SectionKind("phenomenon", forms.PhenomenonForm, Stage.PHENOMENON, "Phenomenon"),
    "problem": SectionKind(
        "problem", forms.ProblemForm, Stage.PROBLEM_DEFINITION, "Problem definition"
    ),
    "feasibility": SectionKind(
        "feasibility", forms.FeasibilityForm, Stage.FEASIBILITY, "ML feasibility"
    ),
    "goal": SectionKind("goal", forms.GoalForm, Stage.GOALS, "Goal"),
    "multi-objective": SectionKind(
        "goal", forms.MultiObjectiveForm, Stage.GOALS, "Multi-objective plan"
    ),
    "performance": SectionKind(
        "performance", forms.PerformanceForm, Stage.CONSTRAINTS, "Performance requirements"
    ),
    "prototype": SectionKind("prototype", forms.PrototypeForm, Stage.BASELINES, "Prototype"),
    "evaluation-plan": SectionKind(
        "evaluation_plan", forms.EvaluationPlanForm, Stage.EVALUATION, "Metric evaluation plan"
    ),
    "deployment-plan": SectionKind(
        "deployment_plan", forms.DeploymentPlanForm, Stage.DEPLOYMENT, "Deployment and monitoring"
    ),
    "further-analysis": SectionKind(
        "further_analysis", forms.FurtherAnalysisForm, Stage.FURTHER_ANALYSIS, "Further analysis"
    ),
}


@dataclass(frozen=True)
class ItemKind:
    model: type
    form: type
    label: str


ITEMS = {
    "hypothesis": ItemKind(Hypothesis, forms.HypothesisForm, "hypothesis"),
    "node": ItemKind(ProblemNode, forms.ProblemNodeForm, "problem or cause"),
    "solution": ItemKind(Solution, forms.SolutionForm, "solution"),
    "objective": ItemKind(Objective, forms.ObjectiveForm, "objective"),
    "metric": ItemKind(Metric, forms.MetricForm, "metric"),
    "constraint": ItemKind(ProjectConstraint, forms.ConstraintForm, "constraint or risk"),
    "baseline": ItemKind(Baseline, forms.BaselineForm, "baseline"),
    "reference": ItemKind(Reference, forms.ReferenceForm, "reference"),
    "feedback": ItemKind(Feedback, forms.FeedbackForm, "feedback"),
    "watched-metric": ItemKind(WatchedMetric, forms.WatchedMetricForm, "watched metric"),
}


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def section_edit(
    request: HttpRequest, org_slug: str, project_slug: str, section: str
) -> HttpResponse:
    kind = SECTIONS.get(section)
    if kind is None:
        raise Http404("No such section.")
    project = selectors.project_get(org=request.org, slug=project_slug)
    cycle = selectors.cycle_get(project=project)
    instance = getattr(cycle, kind.attr)
    fields = list(kind.form.Meta.fields)
    # The version the form was loaded at travels with it; a save based on an older one
    # is refused (someone else saved in between) and both texts are shown for merging.
    base_version = services.section_etag(instance, fields)
    conflict = None
    form = kind.form(request.POST or None, instance=instance, cycle=cycle)
    if request.method == "POST" and form.is_valid():
        version = {"if_version": request.POST.get("base_version") or None, "version_fields": fields}
        try:
            if section == "feasibility":
                services.feasibility_update(
                    project=project, user=request.user, **form.split(), **version
                )
            else:
                values = {name: form.cleaned_data[name] for name in form.Meta.fields}
                services.section_update(
                    project=project, user=request.user, section=kind.attr, values=values, **version
                )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        except services.SectionConflict as exc:
            conflict = _conflict_rows(form, exc.current, fields)
            base_version = services.section_etag(exc.current, fields)
        else:
            return _saved(request, project, kind.step, f"{kind.title} saved.")
    context = {
        "project": project,
        "form": form,
        "title": kind.title,
        "step": kind.step,
        "action": request.path,
        "feasibility": section == "feasibility",
        "base_version": base_version,
        "conflict": conflict,
    }
    if section == "feasibility":
        context["preview"] = _feasibility_preview(form)
    return _form_response(request, context)


def _field_text(field, value) -> str:
    """A field's value as a reader sees it (choice labels, names of linked rows)."""
    if value is None or value == "":
        return ""
    if hasattr(value, "all"):
        value = list(value.all())
    if isinstance(value, list | tuple) or hasattr(value, "model"):
        return ", ".join(str(v) for v in value)
    choices = dict(getattr(field, "choices", None) or [])
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(choices.get(value, value))


def _conflict_rows(form, current, fields: list[str]) -> list[dict]:
    """The fields where the saved text (theirs) and the submitted one (yours) differ."""
    rows = []
    for name in fields:
        field = form.fields[name]
        theirs = _field_text(field, getattr(current, name))
        yours = _field_text(field, form.cleaned_data.get(name))
        if theirs != yours:
            rows.append({"label": field.label, "theirs": theirs, "yours": yours})
    return rows


def _feasibility_preview(form) -> feasibility.Verdict:
    """The verdict of the answers in a (possibly unsaved) feasibility form."""
    data = form.data if form.is_bound else None
    if data is None:
        instance = form.instance
        return feasibility.evaluate(instance.criteria(), instance.red_flags())
    criteria = {
        k: data.get(k) if data.get(k) in feasibility.ANSWERS else None for k in feasibility.CRITERIA
    }
    flags = {k: data.get(k) in ("on", "true", "True", "1") for k in feasibility.RED_FLAGS}
    return feasibility.evaluate(criteria, flags)


@require_POST
@require_perm(Perm.EDIT)
def feasibility_preview(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """The live verdict for the answers being edited; saves nothing."""
    project = selectors.project_get(org=request.org, slug=project_slug)
    cycle = selectors.cycle_get(project=project)
    form = forms.FeasibilityForm(request.POST, instance=cycle.feasibility, cycle=cycle)
    return render(
        request,
        "mlprojects/lifecycle/section_form.html#verdict",
        {"preview": _feasibility_preview(form)},
    )


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def item_create(request: HttpRequest, org_slug: str, project_slug: str, kind: str) -> HttpResponse:
    item_kind = ITEMS.get(kind)
    if item_kind is None:
        raise Http404("No such kind of item.")
    project = selectors.project_get(org=request.org, slug=project_slug)
    cycle = selectors.cycle_get(project=project)
    initial = {}
    for name in ("parent", "cause", "objective", "metric"):
        if request.GET.get(name, "").isdigit():
            initial[name] = int(request.GET[name])
    form = item_kind.form(request.POST or None, initial=initial, cycle=cycle)
    # A form may be re-rendered without saving (the rule builder's add/remove/view buttons).
    rebuilding = getattr(form, "rebuilding", False)
    if request.method == "POST" and not rebuilding and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.item_create(
                project=project, user=request.user, model=item_kind.model, values=values
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            label = item_kind.label[0].upper() + item_kind.label[1:]
            return _saved(request, project, item_kind.model.step, f"{label} added.")
    context = {
        "project": project,
        "form": form,
        "title": f"Add a {item_kind.label}",
        "step": item_kind.model.step,
        "action": request.get_full_path(),
    }
    return _form_response(request, context)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def item_edit(
    request: HttpRequest, org_slug: str, project_slug: str, kind: str, item_id: int
) -> HttpResponse:
    item_kind = ITEMS.get(kind)
    if item_kind is None:
        raise Http404("No such kind of item.")
    project = selectors.project_get(org=request.org, slug=project_slug)
    item = selectors.cycle_item_get(project=project, model=item_kind.model, pk=item_id)
    cycle = item.cycle
    cycle.project = project
    form = item_kind.form(request.POST or None, instance=item, cycle=cycle)
    # A form may be re-rendered without saving (the rule builder's add/remove/view buttons).
    rebuilding = getattr(form, "rebuilding", False)
    if request.method == "POST" and not rebuilding and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.item_update(project=project, user=request.user, item=item, values=values)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return _saved(request, project, item_kind.model.step, f"“{item}” saved.")
    context = {
        "project": project,
        "form": form,
        "title": f"Edit {item_kind.label}",
        "step": item_kind.model.step,
        "action": request.path,
        "delete_url": reverse(
            "mlprojects:item_delete", args=[org_slug, project_slug, kind, item_id]
        ),
    }
    return _form_response(request, context)


@require_POST
@require_perm(Perm.EDIT)
def item_delete(
    request: HttpRequest, org_slug: str, project_slug: str, kind: str, item_id: int
) -> HttpResponse:
    item_kind = ITEMS.get(kind)
    if item_kind is None:
        raise Http404("No such kind of item.")
    project = selectors.project_get(org=request.org, slug=project_slug)
    item = selectors.cycle_item_get(project=project, model=item_kind.model, pk=item_id)
    name = str(item)
    services.item_delete(project=project, user=request.user, item=item)
    return _saved(request, project, item_kind.model.step, f"“{name}” deleted.")


@require_POST
@require_perm(Perm.EDIT)
def next_cycle(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = selectors.project_get(org=request.org, slug=project_slug)
    cycle = services.cycle_start_next(project=project, user=request.user)
    seeded = Finding.objects.filter(hypothesis__cycle=cycle).count()
    messages.success(
        request,
        f"Cycle {cycle.number} started from cycle {cycle.number - 1}'s definition"
        + (f"; {seeded} finding(s) became hypotheses of step 1" if seeded else "")
        + f". Cycle {cycle.number - 1} stays readable under “Cycles”.",
    )
    url = reverse("mlprojects:project_detail", args=[org_slug, project_slug])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require_POST
@require_perm(Perm.EDIT)
def finding_decision(
    request: HttpRequest, org_slug: str, project_slug: str, finding_id: int
) -> HttpResponse:
    """Decide on a finding of step 9: carry it into the next cycle, or won't fix (with a
    reason), or reopen it."""
    project = selectors.project_get(org=request.org, slug=project_slug)
    finding = selectors.cycle_item_get(project=project, model=Finding, pk=finding_id)
    try:
        services.finding_decide(
            project=project,
            user=request.user,
            finding=finding,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    url = reverse("mlprojects:project_detail", args=[org_slug, project_slug])
    return redirect(f"{url}#finding-{finding.pk}")


# ---------------------------------------------------------------- history


@require_perm(Perm.READ)
def section_history(
    request: HttpRequest, org_slug: str, project_slug: str, step: str
) -> HttpResponse:
    if step not in Stage.values:
        raise Http404("No such step.")
    project = selectors.project_get(org=request.org, slug=project_slug)
    number = request.GET.get("cycle", "")
    cycle = (
        project.cycles.filter(number=int(number)).first()
        if number.isdigit()
        else project.cycles.filter(number=project.cycle).first()
    )
    if cycle is None:
        raise Http404("No such cycle.")
    versions = selectors.section_versions(project=project, cycle=cycle, step=step)
    entries = []
    for i, version in enumerate(versions):
        previous = versions[i + 1].data if i + 1 < len(versions) else None
        entries.append(
            {
                "version": version,
                "diff": section_diff(previous, version.data, words=selectors.snapshot_words()),
            }
        )
    context = {
        "project": project,
        "cycle": cycle,
        "step": step,
        "step_label": Stage(step).label,
        "entries": entries,
    }
    template = "mlprojects/lifecycle/history.html"
    if request.htmx:
        template += "#history"
    return render(request, template, context)
