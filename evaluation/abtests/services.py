"""State changes of A/B tests that users make: design, start and stop, results, raw
uploads, analysis requests and decisions. Every function validates first and writes
nothing on bad input; background work (`jobs.py`) is enqueued through `tasks.py` only
after the transaction commits. The status machine and results recording are in
`state.py`, shared with the background work.
"""

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from accounts.jobs import job_enqueue
from accounts.models import User
from accounts.services import audit
from evaluation.abtests import state
from evaluation.abtests.models import DEFAULT_SEQUENTIAL_TUNING_PARAMETER, STATS_DIRECTION
from evaluation.abtests.tasks import aggregate_abtest_upload_task
from evaluation.abtests.warehouse import WarehouseError, check_connection, clean_statement
from evaluation.models import (
    ABDataSource,
    ABMetric,
    ABQuery,
    ABQueryVersion,
    ABRawUpload,
    ABResult,
    ABTest,
    ABTestAnalysis,
    ABTestDecision,
    ABTestStatus,
    ABVariant,
    ABWarehouseRefresh,
    JobStatus,
    MetricRole,
    MetricType,
    Outcome,
    QueryKind,
    QueryVersionStatus,
)
from evaluation.stats import (
    GaussianPrior,
    StatsInputError,
    parse_metrics,
    parse_results,
    parse_variants,
    sample_size_binomial,
    sample_size_continuous,
)
from evaluation.stats.frequentist import check_alpha
from evaluation.uploads import UploadTooLarge, check_data_filename
from mlprojects.lifecycle.services import metric_current_record
from mlprojects.models import Direction, Metric, MetricKind, Objective, Project

logger = logging.getLogger(__name__)

CORRECTIONS = ("none", "holm", "bh")
DEFAULT_OPTIONS = {
    "alpha": 0.05,
    "correction": "none",
    "cuped": False,
    "prior": None,
    "sequential": False,
    "sequential_tuning_parameter": DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
}


@transaction.atomic
def abtest_start(*, abtest: ABTest, user: User) -> ABTest:
    abtest = state.locked(abtest)
    state.transition(abtest, "start", user=user)
    return abtest


@transaction.atomic
def abtest_stop(*, abtest: ABTest, user: User, analyse: bool = True) -> ABTest:
    """Stop the test and, with `analyse`, queue the analysis of its final results with the
    options of the latest analysis, so the team can decide without re-running it by hand.
    No analysis is queued while the primary metric lacks results (the page asks for
    them)."""
    abtest = state.locked(abtest)
    state.transition(abtest, "stop", user=user)
    if analyse:
        latest = abtest.analyses.order_by("-version").first()
        try:
            with transaction.atomic():
                abtest_analysis_request(
                    abtest=abtest, user=user, options=latest.options if latest else None
                )
        except ValidationError:
            pass
    return abtest


@transaction.atomic
def abtest_rename(*, abtest: ABTest, user: User | None, name: str) -> ABTest:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the A/B test a name."})
    if len(name) > 200:
        raise ValidationError({"name": "Keep the name under 200 characters."})
    abtest = state.locked(abtest)
    old, abtest.name = abtest.name, name
    abtest.save(update_fields=["name", "updated_at"])
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.renamed",
        target=abtest.name,
        data={"abtest": abtest.pk, "from": old},
    )
    return abtest


@transaction.atomic
def abtest_delete(*, abtest: ABTest, user: User | None) -> None:
    """Delete the test with its results, analyses and decisions and, once that is committed,
    its uploaded raw files (through the storage API). A running test is stopped first, so
    nobody deletes a live experiment by a slip."""
    abtest = state.locked(abtest)
    if abtest.status == ABTestStatus.RUNNING:
        raise ValidationError("This test is running; stop it before deleting it.")
    files = [u.file.name for u in abtest.raw_uploads.all() if u.file.name]
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.deleted",
        target=abtest.name,
        data={"abtest": abtest.pk, "files": len(files)},
    )
    abtest.delete()
    if files:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in files])


# --- design ------------------------------------------------------------------------------


def _clean_key(value: Any, *, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({what: f"Every {what[:-1]} needs a key."})
    key = value.strip()
    if slugify(key) != key.lower() or len(key) > 60:
        raise ValidationError(
            {what: f"Key {key!r} may use only letters, digits, '-' and '_' (60 at most)."}
        )
    return key


def validate_design(
    *, variants: Sequence[Mapping[str, Any]], metrics: Sequence[Mapping[str, Any]], control: str
) -> tuple[list[dict], list[dict]]:
    """Check a design with the statistics engine's own rules (≥ 2 variants, allocations
    summing to 1, a control among them, known metric types) plus ours (slug keys, exactly
    one primary metric). Returns clean lists; raises ValidationError by field."""
    clean_variants = []
    for item in variants:
        if not isinstance(item, Mapping):
            raise ValidationError({"variants": "Each variant needs a key and an allocation."})
        clean_variants.append(
            {
                "key": _clean_key(item.get("key"), what="variants"),
                "allocation": item.get("allocation"),
                "description": str(item.get("description") or "")[:200],
            }
        )
    clean_metrics = []
    for item in metrics:
        if not isinstance(item, Mapping):
            raise ValidationError({"metrics": "Each metric is an object with key and type."})
        if (item.get("direction") or Direction.HIGHER) not in STATS_DIRECTION:
            raise ValidationError({"metrics": "A metric's direction is “higher” or “lower”."})
        level = item.get("quantile_level")
        clean_metrics.append(
            {
                "key": _clean_key(item.get("key"), what="metrics"),
                "type": item.get("type"),
                "role": item.get("role") or MetricRole.PRIMARY,
                "direction": item.get("direction") or Direction.HIGHER,
                "description": str(item.get("description") or "")[:200],
                "quantile_level": None if level in (None, "") else level,
            }
        )
    try:
        parsed_variants = parse_variants(
            [{"key": v["key"], "allocation": v["allocation"]} for v in clean_variants],
            control=control,
        )
    except StatsInputError as exc:
        field = "control" if "control variant" in exc.message else "variants"
        raise ValidationError({field: exc.message}) from exc
    try:
        parse_metrics(
            [
                {
                    "key": m["key"],
                    "type": m["type"],
                    "role": m["role"],
                    "direction": STATS_DIRECTION[m["direction"]],
                    "quantile_level": m["quantile_level"],
                }
                for m in clean_metrics
            ]
        )
    except StatsInputError as exc:
        raise ValidationError({"metrics": exc.message}) from exc
    for m in clean_metrics:
        if m["quantile_level"] is not None:
            m["quantile_level"] = float(m["quantile_level"])
    primaries = [m["key"] for m in clean_metrics if m["role"] == MetricRole.PRIMARY]
    if len(primaries) != 1:
        raise ValidationError(
            {"metrics": f"A test has exactly one primary metric; found {len(primaries)}."}
        )
    for v, parsed in zip(clean_variants, parsed_variants, strict=True):
        v["allocation"] = parsed.allocation
    return clean_variants, clean_metrics


def _write_design(abtest: ABTest, variants: list[dict], metrics: list[dict], control: str) -> None:
    abtest.variants.all().delete()
    abtest.metrics.all().delete()
    ABVariant.objects.bulk_create(
        ABVariant(
            abtest=abtest,
            key=v["key"],
            description=v["description"],
            allocation=v["allocation"],
            is_control=v["key"] == control,
            position=i,
        )
        for i, v in enumerate(variants)
    )
    ABMetric.objects.bulk_create(
        ABMetric(
            abtest=abtest,
            key=m["key"],
            description=m["description"],
            type=m["type"],
            role=m["role"],
            direction=m["direction"],
            quantile_level=m["quantile_level"],
            position=i,
        )
        for i, m in enumerate(metrics)
    )


def clean_links(
    *,
    project: Project,
    objective: Objective | int | None,
    business_metric: Metric | int | None,
) -> tuple[Objective | None, Metric | None]:
    """The objective and business metric a test is linked to, checked to be the project's
    (of any of its cycles; the pages offer the current cycle's). ValidationError by field."""
    errors = {}
    found_objective = found_metric = None
    if objective is not None:
        pk = objective.pk if isinstance(objective, Objective) else objective
        found_objective = Objective.objects.filter(pk=pk, cycle__project=project).first()
        if found_objective is None:
            errors["objective"] = "Choose an objective of this test's project."
    if business_metric is not None:
        pk = business_metric.pk if isinstance(business_metric, Metric) else business_metric
        found_metric = Metric.objects.filter(pk=pk, cycle__project=project).first()
        if found_metric is None:
            errors["business_metric"] = "Choose a business metric of this test's project."
        elif found_metric.kind != MetricKind.BUSINESS:
            errors["business_metric"] = (
                f"“{found_metric.name}” is a {found_metric.get_kind_display().lower()} metric; "
                "a test is decided on a business metric."
            )
    if errors:
        raise ValidationError(errors)
    return found_objective, found_metric


def clean_sequential(value: Any) -> float:
    """The sequential tuning parameter: a positive number of users (ValidationError)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(
            {
                "sequential_tuning_parameter": "The tuning parameter is a positive number of "
                "users (the total sample size at which the interval is tightest; GrowthBook's "
                "default is 5000)."
            }
        )
    if value != value or value == float("inf"):
        raise ValidationError({"sequential_tuning_parameter": "Give a finite number."})
    return float(value)


def default_control(variants: Sequence[Mapping[str, Any]]) -> str:
    """The variant named "control", else the first one (the API's documented default)."""
    keys = [v.get("key") for v in variants if isinstance(v, Mapping)]
    return "control" if "control" in keys else (keys[0] if keys else "")


@transaction.atomic
def abtest_create(
    *,
    project: Project,
    user: User | None,
    name: str,
    hypothesis: str,
    variants: Sequence[Mapping[str, Any]],
    metrics: Sequence[Mapping[str, Any]],
    control: str | None = None,
    planned_users_per_variant: int | None = None,
    planned_days: int | None = None,
    objective: Objective | int | None = None,
    business_metric: Metric | int | None = None,
    sequential_testing: bool = False,
    sequential_tuning_parameter: float = DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
) -> ABTest:
    control = control or default_control(variants)
    sequential_tuning_parameter = clean_sequential(sequential_tuning_parameter)
    clean_variants, clean_metrics = validate_design(
        variants=variants, metrics=metrics, control=control
    )
    if not name.strip():
        raise ValidationError({"name": "A test needs a name."})
    objective, business_metric = clean_links(
        project=project, objective=objective, business_metric=business_metric
    )
    abtest = ABTest.objects.create(
        project=project,
        name=name.strip(),
        hypothesis=hypothesis.strip(),
        objective=objective,
        business_metric=business_metric,
        planned_users_per_variant=planned_users_per_variant,
        planned_days=planned_days,
        sequential_testing=bool(sequential_testing),
        sequential_tuning_parameter=sequential_tuning_parameter,
        created_by=user,
    )
    _write_design(abtest, clean_variants, clean_metrics, control)
    audit(
        org=project.organization,
        actor=user,
        action="abtest.created",
        target=abtest.name,
        data={"abtest": abtest.pk, "project": project.pk},
    )
    return abtest


@transaction.atomic
def abtest_update_design(
    *,
    abtest: ABTest,
    user: User,
    name: str,
    hypothesis: str,
    variants: Sequence[Mapping[str, Any]],
    metrics: Sequence[Mapping[str, Any]],
    control: str | None = None,
    planned_users_per_variant: int | None = None,
    planned_days: int | None = None,
    objective: Objective | int | None = None,
    business_metric: Metric | int | None = None,
    sequential_testing: bool = False,
    sequential_tuning_parameter: float = DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
) -> ABTest:
    """Replace the design of a draft test (a started test's design is what the users saw),
    its links to the project's objective and business metric included."""
    abtest = state.locked(abtest)
    if not abtest.is_editable:
        raise state.TransitionError(
            f"The design can change only while the test is a draft; this one is "
            f"{abtest.get_status_display().lower()}."
        )
    control = control or default_control(variants)
    clean_variants, clean_metrics = validate_design(
        variants=variants, metrics=metrics, control=control
    )
    abtest.objective, abtest.business_metric = clean_links(
        project=abtest.project, objective=objective, business_metric=business_metric
    )
    abtest.name = name.strip()
    abtest.hypothesis = hypothesis.strip()
    abtest.planned_users_per_variant = planned_users_per_variant
    abtest.planned_days = planned_days
    abtest.sequential_testing = bool(sequential_testing)
    abtest.sequential_tuning_parameter = clean_sequential(sequential_tuning_parameter)
    abtest.save()
    _write_design(abtest, clean_variants, clean_metrics, control)
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.design_changed",
        target=abtest.name,
        data={"abtest": abtest.pk},
    )
    return abtest


# --- raw per-user uploads ------------------------------------------------------------------


def _sniff_suffix(file: UploadedFile) -> str:
    """The stored file's extension comes from its first bytes, not from the client."""
    position = file.tell()
    head = file.read(4)
    file.seek(position)
    if head == b"PAR1":
        return ".parquet"
    if head[:2] == b"\x1f\x8b":
        return ".csv.gz"
    return ".csv"


@transaction.atomic
def abtest_raw_upload_create(
    *,
    abtest: ABTest,
    user: User,
    file: UploadedFile,
    variant_column: str = "variant",
    covariate_suffix: str = "",
) -> ABRawUpload:
    """Store a raw per-user file under a server-generated name and queue its aggregation."""
    abtest = state.locked(abtest)
    state.check_accepts_results(abtest)
    check_data_filename(file.name)
    if file.size == 0:
        raise ValidationError({"file": "The file is empty."})
    if file.size > settings.ABTEST_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(settings.ABTEST_MAX_UPLOAD_BYTES, "ABTEST_MAX_UPLOAD_BYTES")
    if not variant_column.strip():
        raise ValidationError({"variant_column": "Name the column that holds the variant."})
    upload = ABRawUpload(
        abtest=abtest,
        original_name=Path(file.name or "").name[:200],
        suffix=_sniff_suffix(file),
        size=file.size,
        variant_column=variant_column.strip(),
        covariate_suffix=covariate_suffix.strip(),
        created_by=user,
    )
    upload.file.save("upload", file, save=False)
    upload.save()
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.raw_uploaded",
        target=abtest.name,
        data={"abtest": abtest.pk, "upload": upload.pk, "size": upload.size},
    )
    transaction.on_commit(lambda: aggregate_abtest_upload_task.delay(upload.pk))
    return upload


# --- analyses ------------------------------------------------------------------------------


def clean_analysis_options(
    options: Mapping[str, Any] | None, *, abtest: ABTest | None = None
) -> dict[str, Any]:
    """Validate analysis options (alpha, correction none/holm/bh, cuped, prior null or
    {mean, variance}, sequential and its tuning parameter — by default the test's own
    setting) into the dictionary stored with the analysis."""
    raw = dict(DEFAULT_OPTIONS)
    if abtest is not None:
        raw["sequential"] = abtest.sequential_testing
        raw["sequential_tuning_parameter"] = abtest.sequential_tuning_parameter
    if options:
        unknown = sorted(str(k) for k in options if k not in DEFAULT_OPTIONS)
        if unknown:
            raise ValidationError({k: "Unknown option." for k in unknown})
        raw.update(options)
    errors: dict[str, str] = {}
    try:
        raw["alpha"] = check_alpha(raw["alpha"])
    except StatsInputError as exc:
        errors["alpha"] = exc.message
    if raw["correction"] is None:
        raw["correction"] = "none"
    if raw["correction"] not in CORRECTIONS:
        errors["correction"] = "Choose none, holm or bh."
    if not isinstance(raw["cuped"], bool):
        errors["cuped"] = "Must be true or false."
    if not isinstance(raw["sequential"], bool):
        errors["sequential"] = "Must be true or false."
    try:
        raw["sequential_tuning_parameter"] = clean_sequential(raw["sequential_tuning_parameter"])
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    prior = raw["prior"]
    if prior is not None:
        try:
            if not isinstance(prior, Mapping) or set(prior) - {"mean", "variance"}:
                raise StatsInputError('Give the prior as {"mean": …, "variance": …} or null.')
            if "variance" not in prior:
                raise StatsInputError("A prior needs a variance (of the relative lift).")
            checked = GaussianPrior(mean=prior.get("mean", 0.0), variance=prior["variance"])
            raw["prior"] = {"mean": float(checked.mean), "variance": float(checked.variance)}
        except StatsInputError as exc:
            errors["prior"] = exc.message
    if errors:
        raise ValidationError(errors)
    return raw


def analysis_inputs(abtest: ABTest) -> dict[str, Any]:
    """The design and current results as `analyze` takes them (a JSON snapshot)."""
    variants = list(abtest.variants.all())
    metrics = list(abtest.metrics.all())
    results: dict[str, dict[str, dict]] = {}
    for row in ABResult.objects.filter(metric__abtest=abtest).select_related("metric", "variant"):
        results.setdefault(row.metric.key, {})[row.variant.key] = row.as_stats()
    return {
        "variants": [{"key": v.key, "allocation": v.allocation} for v in variants],
        "control": next(v.key for v in variants if v.is_control),
        "metrics": [m.as_stats() for m in metrics],
        "results": results,
    }


@transaction.atomic
def abtest_analysis_request(
    *,
    abtest: ABTest,
    user: User | None,
    options: Mapping[str, Any] | None = None,
    enqueue: bool = True,
) -> ABTestAnalysis:
    """Create the next analysis version (status queued) from a snapshot of the current
    results and queue the worker after commit (`enqueue=False`: the caller runs
    `jobs.abtest_analysis_run` itself, as the demo loader does). Incomplete results are
    refused here, with the engine's message, rather than failing later in the worker."""
    abtest = state.locked(abtest)
    if abtest.status == ABTestStatus.DRAFT:
        raise state.TransitionError("A draft test has no results to analyse yet; start it first.")
    if abtest.status == ABTestStatus.DECIDED:
        raise state.TransitionError("This test is decided; its analysis is final.")
    clean = clean_analysis_options(options, abtest=abtest)
    inputs = analysis_inputs(abtest)
    # Analyse what has data: a secondary metric or a guardrail without results for every
    # variant is left out (and named on the analysis), only the primary metric is required.
    variant_keys = {v["key"] for v in inputs["variants"]}
    complete = [
        m for m in inputs["metrics"] if set(inputs["results"].get(m["key"], ())) >= variant_keys
    ]
    primary = next(m for m in inputs["metrics"] if m["role"] == MetricRole.PRIMARY)
    if primary not in complete:
        raise ValidationError(
            {
                "results": "Enter results of every variant for the primary metric "
                f"“{primary['key']}” before analysing."
            }
        )
    inputs["metrics"] = complete
    inputs["results"] = {m["key"]: inputs["results"][m["key"]] for m in complete}
    try:
        parse_results(
            inputs["results"],
            metrics=parse_metrics(inputs["metrics"]),
            variants=parse_variants(inputs["variants"], control=inputs["control"]),
            control=inputs["control"],
        )
    except StatsInputError as exc:
        raise ValidationError({"results": exc.message}) from exc
    version = (abtest.analyses.aggregate(v=Max("version"))["v"] or 0) + 1
    analysis = ABTestAnalysis.objects.create(
        abtest=abtest, version=version, options=clean, inputs=inputs, created_by=user
    )
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.analysis_requested",
        target=abtest.name,
        data={"abtest": abtest.pk, "version": version, "options": clean},
    )
    if enqueue:
        # Sent after commit, or by the job sweep if the broker is unreachable then.
        job_enqueue(analysis)
    return analysis


# --- planning ------------------------------------------------------------------------------


def sample_size_plan(
    *,
    metric_type: str,
    mde: float,
    mde_type: str = "relative",
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
    daily_users: float | None = None,
    baseline: float | None = None,
    mean: float | None = None,
    sd: float | None = None,
) -> dict[str, Any]:
    """Users per variant, in total and days for a two-sided test (no writes): the
    statsmodels-checked planners of `evaluation.stats`. Raises ValidationError."""
    common = {
        "mde": mde,
        "mde_type": mde_type,
        "alpha": alpha,
        "power": power,
        "variants": variants,
        "daily_users": daily_users,
    }
    try:
        if metric_type == "binomial":
            if baseline is None:
                raise StatsInputError("A conversion metric needs the baseline rate.")
            plan = sample_size_binomial(baseline_rate=baseline, **common)
        elif metric_type == "continuous":
            if sd is None:
                raise StatsInputError("A continuous metric needs the standard deviation.")
            plan = sample_size_continuous(mean=mean, std_dev=sd, **common)
        else:
            raise StatsInputError("The metric type is 'binomial' or 'continuous'.")
    except StatsInputError as exc:
        raise ValidationError(exc.message) from exc
    return {**plan.to_dict(), "metric_type": metric_type, "mde": mde, "mde_type": mde_type}


# --- decisions -----------------------------------------------------------------------------


@transaction.atomic
def abtest_decide(
    *,
    abtest: ABTest,
    user: User,
    outcome: str,
    rationale: str,
    business_metric: Metric | int | None = None,
    measured_value: float | None = None,
) -> ABTestDecision:
    """Record the decision on the latest successful analysis and close the test. The
    decision names the business metric it was argued on: `business_metric` (one of the
    project's business metrics, which also becomes the test's), else the test's own.
    `measured_value`, the business metric's value measured under the decision (its
    business impact), is written back as the metric's current value and audited."""
    abtest = state.locked(abtest)
    if business_metric is not None:
        _, abtest.business_metric = clean_links(
            project=abtest.project, objective=None, business_metric=business_metric
        )
        abtest.save(update_fields=["business_metric", "updated_at"])
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose ship, don't ship, iterate or inconclusive."
    if not rationale.strip():
        errors["rationale"] = (
            "Say why, in terms of the business metric this test serves (e.g. revisit rate, "
            "revenue)."
        )
    if measured_value is not None:
        if abtest.business_metric is None:
            errors["measured_value"] = (
                "Link the test to a business metric to record its measured value."
            )
        elif (
            isinstance(measured_value, bool)
            or not isinstance(measured_value, int | float)
            or not math.isfinite(measured_value)
        ):
            errors["measured_value"] = "Give the measured value as a finite number."
    if errors:
        raise ValidationError(errors)
    analysis = abtest.analyses.filter(status=JobStatus.SUCCEEDED).order_by("-version").first()
    if analysis is None or not state.can_transition(abtest, "decide"):
        raise state.refusal(abtest, "decide")
    decision = ABTestDecision.objects.create(
        abtest=abtest,
        analysis=analysis,
        outcome=outcome,
        rationale=rationale.strip(),
        business_metric=abtest.business_metric,
        decided_by=user,
    )
    if measured_value is not None:
        _record_impact(decision, user=user, value=float(measured_value))
    state.transition(abtest, "decide", user=user)
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.decision",
        target=abtest.name,
        data={
            "abtest": abtest.pk,
            "outcome": outcome,
            "analysis_version": analysis.version,
            "business_metric": abtest.business_metric_id,
        },
    )
    return decision


def _record_impact(decision: ABTestDecision, *, user: User, value: float) -> None:
    """Write the measured value back to the decision's business metric (through the
    lifecycle, which versions step 4 and audits the change) and keep both values on the
    decision, so the proposal shows the impact as it was measured."""
    metric = decision.business_metric
    decision.previous_value = metric.current
    try:
        metric_current_record(
            project=decision.abtest.project,
            user=user,
            metric=metric,
            value=value,
            source=f"the A/B test “{decision.abtest.name}”",
        )
    except ValidationError as exc:
        raise ValidationError({"measured_value": exc.messages}) from exc
    decision.measured_value = value
    decision.save(update_fields=["measured_value", "previous_value"])


# --- warehouse data sources ------------------------------------------------------------------


def _check_data_source(
    *, org: Any, name: str, url: str | None, statement_timeout_ms: int, row_cap: int, pk=None
) -> dict[str, str]:
    """Errors by field of a data source's settings (`url` None: kept as it is)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    errors = {}
    if not name.strip():
        errors["name"] = "Name the data source."
    elif ABDataSource.objects.for_org(org).filter(name=name.strip()).exclude(pk=pk).exists():
        errors["name"] = "A data source of this name exists."
    if url is not None:
        try:
            parsed = make_url(url)
            if not parsed.drivername.startswith("postgresql"):
                errors["url"] = (
                    "Only PostgreSQL URLs (postgresql+psycopg://…) are supported so far."
                )
        except ArgumentError:
            errors["url"] = "Give a SQLAlchemy URL, e.g. postgresql+psycopg://reader:…@host/db."
    if not 100 <= statement_timeout_ms <= 3_600_000:
        errors["statement_timeout_ms"] = "Between 100 ms and one hour."
    if row_cap < 1:
        errors["row_cap"] = "At least one row."
    return errors


@transaction.atomic
def data_source_create(
    *,
    org: Any,
    user: User | None,
    name: str,
    url: str,
    statement_timeout_ms: int = 60_000,
    row_cap: int = 50_000_000,
) -> ABDataSource:
    """Connect an organization's read-only SQL warehouse; the URL is stored encrypted."""
    errors = _check_data_source(
        org=org, name=name, url=url, statement_timeout_ms=statement_timeout_ms, row_cap=row_cap
    )
    if errors:
        raise ValidationError(errors)
    source = ABDataSource(
        organization=org,
        name=name.strip(),
        statement_timeout_ms=statement_timeout_ms,
        row_cap=row_cap,
        created_by=user,
    )
    source.set_url(url)
    source.save()
    audit(
        org=org,
        actor=user,
        action="abtest.data_source_created",
        target=source.name,
        data={"data_source": source.pk},
    )
    return source


@transaction.atomic
def data_source_update(
    *,
    source: ABDataSource,
    user: User | None,
    name: str,
    url: str = "",
    statement_timeout_ms: int,
    row_cap: int,
) -> ABDataSource:
    """Change a data source's settings; an empty `url` keeps the stored credentials (the
    form never shows them back)."""
    errors = _check_data_source(
        org=source.organization,
        name=name,
        url=url or None,
        statement_timeout_ms=statement_timeout_ms,
        row_cap=row_cap,
        pk=source.pk,
    )
    if errors:
        raise ValidationError(errors)
    source.name = name.strip()
    source.statement_timeout_ms = statement_timeout_ms
    source.row_cap = row_cap
    if url:
        source.set_url(url)
    source.save()
    audit(
        org=source.organization,
        actor=user,
        action="abtest.data_source_changed",
        target=source.name,
        data={"data_source": source.pk, "url_changed": bool(url)},
    )
    return source


def data_source_test(*, source: ABDataSource) -> str:
    """Connect to the data source as a refresh would (read-only, with its timeout): the
    server's version string, or ValidationError with the reason."""
    try:
        return check_connection(url=source.url, timeout_ms=source.statement_timeout_ms)
    except ValueError as exc:  # credentials that the current key cannot decrypt
        raise ValidationError(str(exc)) from exc
    except WarehouseError as exc:
        raise ValidationError(exc.message) from exc


# --- saved, versioned and reviewed warehouse queries -----------------------------------------


def _clean_query_sql(*, kind: str, metric_type: str, sql: str, denominator_sql: str) -> dict:
    errors = {}
    try:
        clean_statement(sql, "query")
    except WarehouseError as exc:
        errors["sql"] = exc.message
    if kind == QueryKind.METRIC and metric_type == MetricType.RATIO:
        try:
            clean_statement(denominator_sql, "denominator query")
        except WarehouseError as exc:
            errors["denominator_sql"] = exc.message
    elif denominator_sql.strip():
        errors["denominator_sql"] = "Only a ratio metric has a denominator query."
    return errors


@transaction.atomic
def query_create(
    *,
    org: Any,
    user: User,
    data_source: ABDataSource | int | None,
    name: str,
    kind: str,
    metric_type: str = "",
    description: str = "",
    sql: str,
    denominator_sql: str = "",
    note: str = "",
) -> ABQuery:
    """Save a new exposure query or metric definition with its first version (a draft,
    to be approved by another member before experiments run it)."""
    errors: dict[str, str] = {}
    pk = data_source.pk if isinstance(data_source, ABDataSource) else data_source
    source = ABDataSource.objects.for_org(org).filter(pk=pk).first() if pk else None
    if source is None:
        errors["data_source"] = "Choose a data source of this organization."
    if not name.strip():
        errors["name"] = "Name the query."
    elif ABQuery.objects.for_org(org).filter(name=name.strip()).exists():
        errors["name"] = "A query of this name exists."
    if kind not in QueryKind.values:
        errors["kind"] = "An exposure query or a metric definition."
    elif kind == QueryKind.METRIC and metric_type not in MetricType.values:
        errors["metric_type"] = "Choose the metric's type."
    if kind == QueryKind.EXPOSURE:
        metric_type = ""
    errors.update(
        _clean_query_sql(
            kind=kind, metric_type=metric_type, sql=sql, denominator_sql=denominator_sql
        )
    )
    if errors:
        raise ValidationError(errors)
    query = ABQuery.objects.create(
        organization=org,
        data_source=source,
        name=name.strip(),
        description=description.strip()[:300],
        kind=kind,
        metric_type=metric_type,
        created_by=user,
    )
    _version_create(query, user, sql, denominator_sql, note)
    audit(
        org=org,
        actor=user,
        action="abtest.query_created",
        target=query.name,
        data={"query": query.pk},
    )
    return query


def _version_create(
    query: ABQuery, user: User, sql: str, denominator_sql: str, note: str
) -> ABQueryVersion:
    number = (query.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ABQueryVersion.objects.create(
        query=query,
        number=number,
        sql=sql.strip(),
        denominator_sql=denominator_sql.strip(),
        note=note.strip()[:300],
        author=user,
    )


@transaction.atomic
def query_version_create(
    *, query: ABQuery, user: User, sql: str, denominator_sql: str = "", note: str = ""
) -> ABQueryVersion:
    """Save a new version of a query (a draft); the earlier versions are kept, and the
    approved one keeps running until the new one is approved."""
    query = ABQuery.objects.select_for_update().get(pk=query.pk)
    errors = _clean_query_sql(
        kind=query.kind, metric_type=query.metric_type, sql=sql, denominator_sql=denominator_sql
    )
    latest = query.versions.order_by("-number").first()
    if (
        not errors
        and latest is not None
        and (latest.sql, latest.denominator_sql) == (sql.strip(), denominator_sql.strip())
    ):
        errors["sql"] = f"This is the text of version {latest.number}; change it first."
    if errors:
        raise ValidationError(errors)
    version = _version_create(query, user, sql, denominator_sql, note)
    audit(
        org=query.organization,
        actor=user,
        action="abtest.query_version_created",
        target=query.name,
        data={"query": query.pk, "version": version.number},
    )
    return version


REVIEW_DECISIONS = {
    "approve": QueryVersionStatus.APPROVED,
    "request_changes": QueryVersionStatus.CHANGES_REQUESTED,
}


@transaction.atomic
def query_version_review(
    *, version: ABQueryVersion, user: User, decision: str, comment: str = ""
) -> ABQueryVersion:
    """Approve a draft version (experiments run it from their next refresh) or ask for
    changes. Its author may not review it: every query that runs was read by two people."""
    version = ABQueryVersion.objects.select_for_update().select_related("query").get(pk=version.pk)
    if decision not in REVIEW_DECISIONS:
        raise ValidationError({"decision": "Approve, or request changes."})
    if version.status != QueryVersionStatus.DRAFT:
        raise ValidationError(
            f"Version {version.number} is already {version.get_status_display().lower()}."
        )
    if version.author_id == user.pk:
        raise ValidationError("A version is reviewed by someone other than its author.")
    if decision == "request_changes" and not comment.strip():
        raise ValidationError({"comment": "Say what should change."})
    version.status = REVIEW_DECISIONS[decision]
    version.reviewed_by = user
    version.reviewed_at = timezone.now()
    version.review_comment = comment.strip()
    version.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])
    audit(
        org=version.query.organization,
        actor=user,
        action=f"abtest.query_version_{version.status}",
        target=version.query.name,
        data={"query": version.query_id, "version": version.number},
    )
    return version


@transaction.atomic
def abtest_queries_set(
    *,
    abtest: ABTest,
    user: User | None,
    exposure_query: ABQuery | int | None,
    metric_queries: Mapping[str, ABQuery | int | None],
    conversion_window_hours: float = 72.0,
    cuped_lookback_days: float = 14.0,
) -> ABTest:
    """Point a test at saved queries of its organization: an exposure query and, per
    metric, a metric definition of the same type, all on one data source. Refreshes run
    each query's approved version at the time they run."""
    abtest = state.locked(abtest)
    state.check_accepts_results(abtest)
    org = abtest.project.organization
    errors: dict[str, str] = {}

    def find(value: ABQuery | int | None) -> ABQuery | None:
        pk = value.pk if isinstance(value, ABQuery) else value
        return ABQuery.objects.for_org(org).filter(pk=pk).first() if pk else None

    exposure = find(exposure_query)
    if exposure is None or exposure.kind != QueryKind.EXPOSURE:
        errors["exposure_query"] = "Choose an exposure query of this organization."
    metrics = {m.key: m for m in abtest.metrics.all()}
    unknown = [k for k in metric_queries if k not in metrics]
    if unknown:
        errors["metric_queries"] = f"Unknown metric(s) {', '.join(map(repr, unknown))}."
    chosen: dict[str, ABQuery | None] = {}
    for key, value in metric_queries.items():
        if key not in metrics:
            continue
        query = find(value)
        if value and (query is None or query.kind != QueryKind.METRIC):
            errors[f"metric_{key}"] = "Choose a metric definition of this organization."
        elif query is not None and query.metric_type != metrics[key].type:
            errors[f"metric_{key}"] = (
                f"“{query.name}” is a {query.get_metric_type_display().lower()} metric; "
                f"{key!r} is {metrics[key].get_type_display().lower()}."
            )
        elif (
            query is not None
            and exposure is not None
            and query.data_source_id != (exposure.data_source_id)
        ):
            errors[f"metric_{key}"] = "Use queries of the exposure query's data source."
        chosen[key] = query
    if not conversion_window_hours > 0:
        errors["conversion_window_hours"] = "A positive number of hours."
    if not 0 <= cuped_lookback_days <= 365:
        errors["cuped_lookback_days"] = "Between 0 (no CUPED covariate) and 365 days."
    if errors:
        raise ValidationError(errors)
    abtest.exposure_query = exposure
    abtest.data_source = exposure.data_source
    abtest.conversion_window_hours = float(conversion_window_hours)
    abtest.cuped_lookback_days = float(cuped_lookback_days)
    abtest.save(
        update_fields=[
            "exposure_query",
            "data_source",
            "conversion_window_hours",
            "cuped_lookback_days",
            "updated_at",
        ]
    )
    for key, query in chosen.items():
        metrics[key].query = query
        metrics[key].save(update_fields=["query"])
    audit(
        org=org,
        actor=user,
        action="abtest.warehouse_queries_set",
        target=abtest.name,
        data={
            "abtest": abtest.pk,
            "exposure_query": exposure.pk,
            "metric_queries": {k: getattr(q, "pk", None) for k, q in chosen.items()},
        },
    )
    return abtest


@transaction.atomic
def abtest_warehouse_set(
    *,
    abtest: ABTest,
    user: User | None,
    data_source: ABDataSource | int | None,
    exposure_sql: str,
    metric_sql: Mapping[str, Mapping[str, str]],
    conversion_window_hours: float = 72.0,
) -> ABTest:
    """Point a test at a data source of its organization with its exposure query and the
    metrics' event queries (``{metric_key: {"sql", "denominator_sql"}}``)."""
    abtest = state.locked(abtest)
    errors: dict[str, str] = {}
    source = None
    if data_source is not None:
        pk = data_source.pk if isinstance(data_source, ABDataSource) else data_source
        source = ABDataSource.objects.for_org(abtest.project.organization).filter(pk=pk).first()
        if source is None:
            errors["data_source"] = "Choose a data source of this organization."
    if not exposure_sql.strip():
        errors["exposure_sql"] = "Give the exposure query (user_id, variant, exposed_at)."
    if not conversion_window_hours > 0:
        errors["conversion_window_hours"] = "A positive number of hours."
    metrics = {m.key: m for m in abtest.metrics.all()}
    unknown = [k for k in metric_sql if k not in metrics]
    if unknown:
        errors["metric_sql"] = f"Unknown metric(s) {', '.join(map(repr, unknown))}."
    for key, queries in metric_sql.items():
        if key in metrics and metrics[key].type == "ratio" and not queries.get("denominator_sql"):
            errors["metric_sql"] = f"Ratio metric {key!r} needs a denominator query."
    if errors:
        raise ValidationError(errors)
    abtest.data_source = source
    abtest.exposure_sql = exposure_sql.strip()
    # Queries given here replace any saved query the test pointed at: the latest choice wins.
    abtest.exposure_query = None
    abtest.conversion_window_hours = float(conversion_window_hours)
    abtest.save(
        update_fields=[
            "data_source",
            "exposure_sql",
            "exposure_query",
            "conversion_window_hours",
            "updated_at",
        ]
    )
    for key, queries in metric_sql.items():
        metric = metrics[key]
        metric.sql = (queries.get("sql") or "").strip()
        metric.denominator_sql = (queries.get("denominator_sql") or "").strip()
        metric.query = None
        metric.save(update_fields=["sql", "denominator_sql", "query"])
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.warehouse_set",
        target=abtest.name,
        data={"abtest": abtest.pk, "data_source": getattr(source, "pk", None)},
    )
    return abtest


@transaction.atomic
def abtest_refresh_request(
    *, abtest: ABTest, user: User | None, enqueue: bool = True
) -> ABWarehouseRefresh:
    """Queue a run of the test's warehouse queries ("Refresh results")."""
    abtest = state.locked(abtest)
    state.check_accepts_results(abtest)
    if abtest.status == ABTestStatus.DRAFT:
        raise state.TransitionError("Start the test first: its window begins when it starts.")
    if abtest.data_source_id is None or not (abtest.exposure_sql or abtest.exposure_query_id):
        raise ValidationError(
            {"data_source": "Connect a data source and an exposure query to refresh results."}
        )
    refresh = ABWarehouseRefresh.objects.create(abtest=abtest, created_by=user)
    if enqueue:
        # Sent after commit, or by the job sweep if the broker is unreachable then.
        job_enqueue(refresh)
    return refresh
