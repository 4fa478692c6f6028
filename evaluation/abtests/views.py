"""Pages of a project's A/B tests: design (with the sample-size calculator), status,
results (form, aggregates CSV, raw rows), analyses and the decision.

htmx: fragments are `{% partialdef %}`s of the page templates. A successful htmx POST
re-renders the saved fragment; a validation error re-renders the form's fragment with
status 200 (the project's one convention). Polling fragments stop with 286."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts.access import require_perm
from accounts.actions import run_action
from accounts.forms import add_validation_errors
from accounts.permissions import Perm
from evaluation.abtests import selectors, services, state
from evaluation.abtests.forms import (
    AGGREGATES_CSV_MAX_BYTES,
    AGGREGATES_CSV_TOO_LARGE,
    ABTestForm,
    ABTestQueriesForm,
    AggregatesCSVForm,
    AnalysisOptionsForm,
    DataSourceForm,
    DecisionForm,
    MetricFormSet,
    QueryForm,
    QueryReviewForm,
    QueryVersionForm,
    RawUploadForm,
    SampleSizeForm,
    VariantFormSet,
    design_initial,
    design_metrics,
    design_variants,
    results_form_class,
    results_from_form,
    sample_size_defaults,
)
from evaluation.abtests.models import DEFAULT_SEQUENTIAL_TUNING_PARAMETER
from evaluation.models import (
    ABDataSource,
    ABQuery,
    ABTest,
    ABTestAnalysis,
    ABTestStatus,
    ResultSource,
)
from evaluation.uploads import UploadTooLarge, limit_upload
from mlprojects.lifecycle.selectors import project_get
from mlprojects.models import Project

TEMPLATES = "evaluation/abtests"
#: Width of the lift-interval bar (SVG user units) and the margin kept at both ends.
BAR_WIDTH = 240
BAR_MARGIN = 10


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _get_abtest(request: HttpRequest, project_slug: str, abtest_id: int) -> ABTest:
    project = project_get(org=request.org, slug=project_slug)
    return selectors.abtest_get(org=request.org, project=project, pk=abtest_id)


def _detail_url(abtest: ABTest) -> str:
    return reverse(
        "abtests:detail",
        kwargs={
            "org_slug": abtest.project.organization.slug,
            "project_slug": abtest.project.slug,
            "abtest_id": abtest.pk,
        },
    )


# --- presentation of an analysis ---------------------------------------------------------


def _bar(entry: dict, scale: float, direction: str) -> dict | None:
    low, high, lift = entry.get("ci_low"), entry.get("ci_high"), entry.get("lift")
    if low is None or high is None or lift is None:
        return None
    half = BAR_WIDTH / 2 - BAR_MARGIN

    def x(value: float) -> float:
        return round(BAR_WIDTH / 2 + max(-1.0, min(1.0, value / scale)) * half, 2)

    good_up = direction == "increase"
    if (low > 0 and good_up) or (high < 0 and not good_up):
        tone = "good"
    elif (high < 0 and good_up) or (low > 0 and not good_up):
        tone = "bad"
    else:
        tone = "neutral"
    return {
        "x1": x(low),
        "x2": x(high),
        "width": max(x(high) - x(low), 1.0),
        "cx": x(lift),
        "zero": BAR_WIDTH / 2,
        "tone": tone,
        "scale": scale,
    }


def analysis_rows(analysis: ABTestAnalysis, abtest: ABTest) -> list[dict]:
    """One row per metric × treatment, in design order, with the interval bar geometry
    on one symmetric scale for the whole analysis, so bars can be compared."""
    result = analysis.result or {}
    per_metric = result.get("metrics", {})
    metrics = {m["key"]: m for m in analysis.inputs.get("metrics", [])}
    names = {m.key: m for m in abtest.metrics.all()}
    entries = [
        (key, treatment, entry)
        for key in metrics
        for treatment, entry in per_metric.get(key, {}).items()
    ]
    bounds = [
        abs(v) for _, _, e in entries for v in (e.get("ci_low"), e.get("ci_high")) if v is not None
    ]
    scale = max(bounds + [0.01])
    notes: dict[tuple[str, str], list[dict]] = {}
    for warning in result.get("warnings", []):
        if warning.get("code") in DECLINE_CODES:
            notes.setdefault((warning["metric"], warning["variant"]), []).append(warning)
    return [
        {
            "metric": key,
            "description": names[key].description if key in names else "",
            "role": metrics[key]["role"],
            "type": metrics[key]["type"],
            "direction": metrics[key]["direction"],
            "treatment": treatment,
            "entry": entry,
            "bar": _bar(entry, scale, metrics[key]["direction"]),
            "quantile_level": metrics[key].get("quantile_level"),
            # Why a pair was not tested (zero variance, too few values…), and whether its
            # p-value is Fisher's exact test instead of the t-test's.
            "declined": [n for n in notes.get((key, treatment), []) if n["code"] != "fisher_exact"],
            "fisher_exact": any(
                n["code"] == "fisher_exact" for n in notes.get((key, treatment), [])
            ),
        }
        for key, treatment, entry in entries
    ]


#: Engine notes that say a pair (or one of its arms) was not tested, and why.
DECLINE_CODES = frozenset(
    {
        "zero_variance",
        "zero_variance_arm",
        "too_few_users",
        "denominator_zero",
        "quantile_too_few_values",
        "quantile_zero_variance",
        "baseline_zero",
        "fisher_exact",
    }
)


def _analysis_context(abtest: ABTest, analysis: ABTestAnalysis | None) -> dict[str, Any]:
    rows = analysis_rows(analysis, abtest) if analysis and analysis.result else []
    warnings = (analysis.result or {}).get("warnings", []) if analysis else []
    alpha = analysis.options.get("alpha", 0.05) if analysis else 0.05
    analysed = {m["key"] for m in (analysis.inputs or {}).get("metrics", [])} if analysis else set()
    return {
        "analysis": analysis,
        # Metrics without results when the analysis was requested: not analysed, named.
        "left_out": [m for m in abtest.metrics.all() if analysis and m.key not in analysed],
        "conf_level": f"{(1 - alpha) * 100:g}",
        "analysis_rows": rows,
        "analysis_warnings": [w for w in warnings if w["code"] not in ("srm", "guardrail_breach")],
        "breaches": [r for r in rows if r["entry"].get("guardrail_breach")],
        "bar_width": BAR_WIDTH,
    }


def _status_steps(abtest: ABTest) -> list[dict[str, str]]:
    order = ABTestStatus.values
    current = order.index(abtest.status)
    return [
        {
            "label": label,
            "state": "done" if i < current else "current" if i == current else "",
        }
        for i, label in enumerate(ABTestStatus.labels)
    ]


def _detail_context(abtest: ABTest, **overrides: Any) -> dict[str, Any]:
    variant_keys = [v.key for v in abtest.variants.all()]
    table = selectors.abtest_results_table(abtest=abtest)
    results_forms = overrides.pop("results_forms", {})
    for row in table:
        metric = row["metric"]
        if metric.key not in results_forms:
            initial = {}
            for cell in row["cells"]:
                if cell["result"] is not None:
                    data = cell["result"].as_stats()
                    for field, value in data.items():
                        initial[f"{cell['variant'].key}__{field}"] = value
            results_forms[metric.key] = results_form_class(metric, variant_keys)(
                initial=initial, prefix=metric.key
            )
        row["form"] = results_forms[metric.key]
        row["fields"] = [
            {
                "variant": cell["variant"],
                "inputs": [
                    row["form"][name]
                    for name in row["form"].fields
                    if name.startswith(f"{cell['variant'].key}__")
                ],
            }
            for cell in row["cells"]
        ]
    latest = selectors.abtest_latest_analysis(abtest=abtest)
    context = {
        "project": abtest.project,
        "abtest": abtest,
        "status_steps": _status_steps(abtest),
        "variants": list(abtest.variants.all()),
        "metrics": list(abtest.metrics.all()),
        "results_table": table,
        "results_complete": bool(table) and all(r["complete"] for r in table),
        "csv_form": AggregatesCSVForm(),
        "raw_form": RawUploadForm(),
        "options_form": AnalysisOptionsForm(
            initial=latest.options
            if latest
            else {
                "sequential": abtest.sequential_testing,
                "sequential_tuning_parameter": abtest.sequential_tuning_parameter,
            }
        ),
        "decision_form": DecisionForm(business_metric=abtest.business_metric),
        "upload": selectors.abtest_active_upload(abtest=abtest),
        "analyses": list(abtest.analyses.only("id", "version", "status", "created_at")),
        "decision": next(iter(abtest.decisions.select_related("decided_by")), None),
        "accepts_results": abtest.status != ABTestStatus.DECIDED,
        "can_start": state.can_transition(abtest, "start"),
        "can_stop": state.can_transition(abtest, "stop"),
        "can_decide": state.can_transition(abtest, "decide"),
        **_analysis_context(abtest, latest),
    }
    context.update(overrides)
    return context


def _render_detail(request: HttpRequest, abtest: ABTest, fragment: str = "", **extra: Any):
    context = _detail_context(abtest, **extra)
    name = f"{TEMPLATES}/detail.html"
    return render(request, f"{name}#{fragment}" if fragment and request.htmx else name, context)


# --- list, design -------------------------------------------------------------------------


@require_GET
@require_perm(Perm.READ)
def abtest_list(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    return render(
        request,
        f"{TEMPLATES}/list.html",
        {"project": project, "abtests": selectors.abtest_list(project=project)},
    )


def _design_page(request: HttpRequest, project: Project, abtest: ABTest | None) -> HttpResponse:
    initial, variant_initial, metric_initial = design_initial(abtest)
    post = request.POST if request.method == "POST" else None
    # A bound formset gets no initial rows: an unchanged extra row would count as empty.
    links = selectors.abtest_link_choices(project=project, abtest=abtest)
    form = ABTestForm(post, initial=initial, **links)
    variant_formset = VariantFormSet(
        post, initial=variant_initial if post is None else None, prefix="variants"
    )
    metric_formset = MetricFormSet(
        post, initial=metric_initial if post is None else None, prefix="metrics"
    )
    if post is not None:
        # Every check at once, in the form's units: the fields, then the traffic split.
        valid = all([form.is_valid(), variant_formset.is_valid(), metric_formset.is_valid()])
        if variant_formset.is_valid():
            total = sum(v["allocation"] for v in design_variants(variant_formset)) * 100
            if abs(total - 100) > 1e-6:
                form.add_error(
                    None,
                    f"The traffic shares add up to {total:g} %; make them add up to 100 %.",
                )
                valid = False
    if post is not None and valid:
        data = form.cleaned_data
        arguments = {
            "user": request.user,
            "name": data["name"],
            "hypothesis": data["hypothesis"],
            "variants": design_variants(variant_formset),
            "metrics": design_metrics(metric_formset),
            "control": data["control"],
            "planned_users_per_variant": data["planned_users_per_variant"],
            "planned_days": data["planned_days"],
            "objective": data["objective"],
            "business_metric": data["business_metric"],
            "sequential_testing": data["sequential_testing"],
            "sequential_tuning_parameter": data["sequential_tuning_parameter"]
            or DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
        }
        try:
            if abtest is None:
                abtest = services.abtest_create(project=project, **arguments)
                messages.success(request, f"A/B test “{abtest.name}” created as a draft.")
            else:
                abtest = services.abtest_update_design(abtest=abtest, **arguments)
                messages.success(request, "Design saved.")
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            return redirect(_detail_url(abtest))
    calculator = SampleSizeForm(initial=sample_size_defaults())
    return render(
        request,
        f"{TEMPLATES}/form.html",
        {
            "project": project,
            "abtest": abtest,
            "form": form,
            "variant_formset": variant_formset,
            "metric_formset": metric_formset,
            "calculator_form": calculator,
            "plan": _plan(sample_size_defaults())[0],
        },
    )


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def abtest_create(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    project = project_get(org=request.org, slug=project_slug)
    return _design_page(request, project, None)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def abtest_edit(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    if not abtest.is_editable:
        messages.error(request, "The design can change only while the test is a draft.")
        return redirect(_detail_url(abtest))
    return _design_page(request, abtest.project, abtest)


# --- the calculator ------------------------------------------------------------------------


def _plan(data: dict[str, Any]) -> tuple[dict | None, str]:
    """Run the planner on clean calculator inputs: (plan, "") or (None, error message)."""
    try:
        plan = services.sample_size_plan(
            metric_type=data["metric_type"],
            baseline=data.get("baseline"),
            mean=data.get("mean"),
            sd=data.get("sd"),
            mde=data["mde"],
            mde_type=data["mde_type"],
            alpha=data["alpha"],
            power=data["power"],
            variants=data["variants"],
            daily_users=data.get("daily_users"),
        )
    except ValidationError as exc:
        return None, _error_text(exc)
    return plan, ""


@require_GET
@require_perm(Perm.READ)
def sample_size(request: HttpRequest, org_slug: str, project_slug: str) -> HttpResponse:
    """The calculator: the whole page, or (htmx, as inputs change) only its result."""
    project = project_get(org=request.org, slug=project_slug)
    form = SampleSizeForm(request.GET or None, initial=sample_size_defaults())
    plan, error = None, ""
    if form.is_bound:
        if form.is_valid():
            plan, error = _plan(form.cleaned_data)
    else:
        plan, error = _plan(sample_size_defaults())
    context = {
        "project": project,
        "calculator_form": form,
        "plan": plan,
        "plan_error": error,
        # "Use in this design" only where a design is being written: the calculator of
        # the design page, which asks for its result in place.
        "fill_design": bool(request.GET.get("fill_design")) and bool(request.htmx),
    }
    if request.htmx:
        return render(request, f"{TEMPLATES}/_calculator.html#calculator-result", context)
    return render(request, f"{TEMPLATES}/sample_size.html", context)


# --- detail, status -------------------------------------------------------------------------


@require_GET
@require_perm(Perm.READ)
def abtest_detail(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    return _render_detail(request, abtest)


@require_POST
@require_perm(Perm.EDIT)
def abtest_transition(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    action = request.POST.get("action")
    handlers = {"start": services.abtest_start, "stop": services.abtest_stop}
    if action not in handlers:
        messages.error(request, "Unknown action.")
        return redirect(_detail_url(abtest))
    return run_action(
        request,
        lambda: handlers[action](abtest=abtest, user=request.user),
        done="Test started." if action == "start" else "Test stopped.",
        back=_detail_url(abtest),
    )


@require_POST
@require_perm(Perm.EDIT)
def abtest_rename(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    return run_action(
        request,
        lambda: services.abtest_rename(
            abtest=abtest, user=request.user, name=request.POST.get("name", "")
        ),
        done="Renamed.",
        back=_detail_url(abtest),
    )


@require_POST
@require_perm(Perm.EDIT)
def abtest_delete(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    return run_action(
        request,
        lambda: services.abtest_delete(abtest=abtest, user=request.user),
        done=f"Deleted the A/B test “{abtest.name}”.",
        back=_detail_url(abtest),
        then=reverse("abtests:list", args=[org_slug, project_slug]),
    )


# --- results -------------------------------------------------------------------------------


@require_POST
@require_perm(Perm.EDIT)
def abtest_results(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    """Replace one metric's per-variant aggregates from the form."""
    abtest = _get_abtest(request, project_slug, abtest_id)
    metric = next((m for m in abtest.metrics.all() if m.key == request.POST.get("metric")), None)
    if metric is None:
        messages.error(request, "Unknown metric.")
        return redirect(_detail_url(abtest))
    variant_keys = [v.key for v in abtest.variants.all()]
    form = results_form_class(metric, variant_keys)(request.POST, prefix=metric.key)
    if form.is_valid():
        results = results_from_form(form, metric, variant_keys)
        if form.is_valid():
            try:
                state.abtest_results_set(
                    abtest=abtest, user=request.user, results=results, source=ResultSource.FORM
                )
            except ValidationError as exc:
                add_validation_errors(form, exc)
    if form.errors:
        abtest = selectors.abtest_design(abtest=abtest)
        return _render_detail(request, abtest, "results", results_forms={metric.key: form})
    messages.success(request, f"Results for {metric.key} saved.")
    if request.htmx:
        abtest = selectors.abtest_design(abtest=abtest)
        return _render_detail(request, abtest, "results")
    return redirect(_detail_url(abtest) + "#results")


def _refuse_upload(
    request: HttpRequest, project_slug: str, abtest_id: int, **error_in_form: str
) -> HttpResponse:
    """The results section again, the size error shown next to the form the file was sent
    from (`csv_upload_error` or `raw_upload_error`); 413, as for evaluations."""
    abtest = _get_abtest(request, project_slug, abtest_id)
    response = _render_detail(request, abtest, "results", **error_in_form)
    response.status_code = 413
    return response


def _csv_too_large(
    request: HttpRequest, error: UploadTooLarge, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    return _refuse_upload(
        request, project_slug, abtest_id, csv_upload_error=AGGREGATES_CSV_TOO_LARGE
    )


def _raw_too_large(
    request: HttpRequest, error: UploadTooLarge, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    return _refuse_upload(request, project_slug, abtest_id, raw_upload_error=str(error))


@require_POST
@require_perm(Perm.EDIT)
@limit_upload(lambda: AGGREGATES_CSV_MAX_BYTES, _csv_too_large)
def abtest_results_csv(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    form = AggregatesCSVForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            state.abtest_results_set(
                abtest=abtest,
                user=request.user,
                results=form.cleaned_data["file"],
                source=ResultSource.CSV,
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
    if form.errors:
        return _render_detail(request, abtest, "results", csv_form=form)
    messages.success(request, "Results imported from the CSV.")
    return redirect(_detail_url(abtest) + "#results")


@require_POST
@require_perm(Perm.EDIT)
@limit_upload("ABTEST_MAX_UPLOAD_BYTES", _raw_too_large)
def abtest_upload(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    form = RawUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.abtest_raw_upload_create(
                abtest=abtest,
                user=request.user,
                file=form.cleaned_data["file"],
                variant_column=form.cleaned_data["variant_column"],
                covariate_suffix=form.cleaned_data["covariate_suffix"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
    if form.errors:
        return _render_detail(request, abtest, "results", raw_form=form)
    messages.success(request, "File uploaded; the worker is aggregating it.")
    return redirect(_detail_url(abtest) + "#results")


@require_GET
@require_perm(Perm.READ)
def abtest_upload_status(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int, upload_id: int
) -> HttpResponse:
    """The progress fragment, polled by htmx; 286 stops the polling once it is done (and
    swaps in the new results table out of band)."""
    abtest = _get_abtest(request, project_slug, abtest_id)
    upload = selectors.abtest_upload_get(abtest=abtest, pk=upload_id)
    if not request.htmx:
        return redirect(_detail_url(abtest) + "#results")
    if not upload.is_done:
        context = {"project": abtest.project, "abtest": abtest, "upload": upload}
        return render(request, f"{TEMPLATES}/detail.html#upload-progress", context)
    # Done: swap in the whole results card (new numbers and the final message) instead.
    response = render(
        request, f"{TEMPLATES}/detail.html#results", _detail_context(abtest, upload=upload)
    )
    stop = HttpResponseStopPolling(response.content)
    stop["HX-Retarget"] = "#results"
    return stop


# --- analysis and decision ------------------------------------------------------------------


@require_POST
@require_perm(Perm.EDIT)
def abtest_analyze(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    form = AnalysisOptionsForm(request.POST)
    if form.is_valid():
        try:
            services.abtest_analysis_request(
                abtest=abtest, user=request.user, options=form.options()
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
    if form.errors:
        return _render_detail(request, abtest, "analysis", options_form=form)
    if request.htmx:
        return _render_detail(request, selectors.abtest_design(abtest=abtest), "analysis")
    messages.success(request, "Analysis queued.")
    return redirect(_detail_url(abtest) + "#analysis")


@require_GET
@require_perm(Perm.READ)
def abtest_analysis(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int, analysis_id: int
) -> HttpResponse:
    """One analysis version: the page (any version), or the polled fragment of the latest,
    which stops polling (286) when the worker is done."""
    abtest = _get_abtest(request, project_slug, abtest_id)
    analysis = selectors.abtest_analysis_get(abtest=abtest, pk=analysis_id)
    if request.htmx:
        if not analysis.is_done:
            context = {"project": abtest.project, "abtest": abtest, "analysis": analysis}
            return render(request, f"{TEMPLATES}/detail.html#analysis-progress", context)
        # Done: replace the whole analysis section (results, decision form) and, out of
        # band, the status steps, which may have moved to "analyzed".
        context = _detail_context(abtest, status_oob=True, **_analysis_context(abtest, analysis))
        response = render(request, f"{TEMPLATES}/detail.html#analysis", context)
        stop = HttpResponseStopPolling(response.content)
        stop["HX-Retarget"] = "#analysis"
        return stop
    return render(
        request,
        f"{TEMPLATES}/analysis.html",
        {"project": abtest.project, "abtest": abtest, **_analysis_context(abtest, analysis)},
    )


@require_POST
@require_perm(Perm.EDIT)
def abtest_decide(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    abtest = _get_abtest(request, project_slug, abtest_id)
    form = DecisionForm(request.POST, business_metric=abtest.business_metric)
    if form.is_valid():
        try:
            services.abtest_decide(
                abtest=abtest,
                user=request.user,
                outcome=form.cleaned_data["outcome"],
                rationale=form.cleaned_data["rationale"],
                measured_value=form.cleaned_data.get("measured_value"),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
    if form.errors:
        return _render_detail(request, abtest, "analysis", decision_form=form)
    messages.success(request, "Decision recorded.")
    return redirect(_detail_url(abtest))


@require_POST
@require_perm(Perm.EDIT)
def abtest_refresh(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    """ "Refresh results": re-run the test's warehouse queries on the worker."""
    abtest = _get_abtest(request, project_slug, abtest_id)
    try:
        services.abtest_refresh_request(abtest=abtest, user=request.user)
        messages.success(request, "Refreshing results from the warehouse.")
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect(_detail_url(abtest))


# --- warehouse: data sources and saved queries (organization pages) --------------------------

WAREHOUSE_TEMPLATES = f"{TEMPLATES}/warehouse"


@require_GET
@require_perm(Perm.READ)
def warehouse_home(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's data sources (URLs masked) and saved queries with their review
    state."""
    context = {
        "sources": list(selectors.data_source_list(org=request.org)),
        "queries": list(selectors.query_list(org=request.org)),
    }
    return render(request, f"{WAREHOUSE_TEMPLATES}/home.html", context)


def _source_form_page(
    request: HttpRequest, form: DataSourceForm, source: ABDataSource | None
) -> HttpResponse:
    return render(
        request, f"{WAREHOUSE_TEMPLATES}/source_form.html", {"form": form, "source": source}
    )


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MANAGE_MEMBERS)
def warehouse_source_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = DataSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.data_source_create(org=request.org, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Data source connected.")
            return redirect("abtest_warehouse:home", org_slug=org_slug)
    return _source_form_page(request, form, None)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.MANAGE_MEMBERS)
def warehouse_source_edit(request: HttpRequest, org_slug: str, source_id: int) -> HttpResponse:
    source = selectors.data_source_get(org=request.org, pk=source_id)
    initial = {
        "name": source.name,
        "statement_timeout_ms": source.statement_timeout_ms,
        "row_cap": source.row_cap,
    }
    form = DataSourceForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.data_source_update(source=source, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Data source saved.")
            return redirect("abtest_warehouse:home", org_slug=org_slug)
    return _source_form_page(request, form, source)


@require_POST
@require_perm(Perm.MANAGE_MEMBERS)
def warehouse_source_test(request: HttpRequest, org_slug: str, source_id: int) -> HttpResponse:
    """ "Test connection": connect as a refresh would and say what answered."""
    source = selectors.data_source_get(org=request.org, pk=source_id)
    try:
        version = services.data_source_test(source=source)
    except ValidationError as exc:
        messages.error(request, f"{source.name}: {_error_text(exc)}")
    else:
        messages.success(request, f"{source.name}: connected, read-only. {version}")
    return redirect("abtest_warehouse:home", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def warehouse_query_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    sources = selectors.data_source_list(org=request.org)
    form = QueryForm(request.POST or None, sources=sources, initial={"kind": "metric"})
    if request.method == "POST" and form.is_valid():
        try:
            query = services.query_create(org=request.org, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, "Query saved as version 1; another member reviews it.")
            return redirect("abtest_warehouse:query", org_slug=org_slug, query_id=query.pk)
    return render(request, f"{WAREHOUSE_TEMPLATES}/query_form.html", {"form": form})


def _query_page(
    request: HttpRequest,
    query: ABQuery,
    version_form: QueryVersionForm | None = None,
    review_form: QueryReviewForm | None = None,
) -> HttpResponse:
    latest = query.version_list[0] if query.version_list else None
    if version_form is None and latest is not None:
        version_form = QueryVersionForm(
            initial={"sql": latest.sql, "denominator_sql": latest.denominator_sql}
        )
    context = {
        "query": query,
        "approved": query.approved_version(),
        "history": selectors.query_history(query=query),
        "version_form": version_form,
        # Errors of a review are shown once above the versions; the forms start blank.
        "review_form": review_form,
        "review_blank": QueryReviewForm(),
    }
    return render(request, f"{WAREHOUSE_TEMPLATES}/query.html", context)


@require_GET
@require_perm(Perm.READ)
def warehouse_query(request: HttpRequest, org_slug: str, query_id: int) -> HttpResponse:
    """A query's versions, newest first, with the diff of each against the one before, its
    review, and the forms to save a new version or review a draft."""
    return _query_page(request, selectors.query_get(org=request.org, pk=query_id))


@require_POST
@require_perm(Perm.EDIT)
def warehouse_query_version_create(
    request: HttpRequest, org_slug: str, query_id: int
) -> HttpResponse:
    query = selectors.query_get(org=request.org, pk=query_id)
    form = QueryVersionForm(request.POST)
    if form.is_valid():
        try:
            version = services.query_version_create(
                query=query, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Version {version.number} saved; it awaits review.")
            return redirect("abtest_warehouse:query", org_slug=org_slug, query_id=query.pk)
    return _query_page(request, query, version_form=form)


@require_POST
@require_perm(Perm.EDIT)
def warehouse_query_review(
    request: HttpRequest, org_slug: str, query_id: int, number: int
) -> HttpResponse:
    query = selectors.query_get(org=request.org, pk=query_id)
    version = selectors.query_version_get(query=query, number=number)
    form = QueryReviewForm(request.POST)
    if form.is_valid():
        try:
            services.query_version_review(version=version, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(request, f"Review of version {version.number} recorded.")
            return redirect("abtest_warehouse:query", org_slug=org_slug, query_id=query.pk)
    return _query_page(request, query, review_form=form)


@require_http_methods(["GET", "POST"])
@require_perm(Perm.EDIT)
def abtest_queries(
    request: HttpRequest, org_slug: str, project_slug: str, abtest_id: int
) -> HttpResponse:
    """Choose the saved queries a test's refreshes run."""
    abtest = _get_abtest(request, project_slug, abtest_id)
    initial = {
        "exposure_query": abtest.exposure_query_id,
        "conversion_window_hours": abtest.conversion_window_hours,
        "cuped_lookback_days": abtest.cuped_lookback_days,
        **{f"metric_{m.key}": m.query_id for m in abtest.metrics.all()},
    }
    queries = selectors.query_list(org=request.org)
    form = ABTestQueriesForm(request.POST or None, abtest=abtest, queries=queries, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.abtest_queries_set(
                abtest=abtest,
                user=request.user,
                exposure_query=form.cleaned_data["exposure_query"],
                metric_queries=form.metric_queries(),
                conversion_window_hours=form.cleaned_data["conversion_window_hours"],
                cuped_lookback_days=form.cleaned_data["cuped_lookback_days"],
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request, "Queries saved; “Refresh results” runs their approved versions."
            )
            return redirect(_detail_url(abtest) + "#results")
    context = {"project": abtest.project, "abtest": abtest, "form": form}
    return render(request, f"{WAREHOUSE_TEMPLATES}/abtest_queries.html", context)
