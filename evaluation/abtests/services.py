"""State changes of A/B tests: design, the status machine, results, raw uploads,
analyses and decisions. Every function validates first and writes nothing on bad input;
worker tasks are enqueued only after the transaction commits.

The status machine (refused moves raise `TransitionError` with a message for the user):

    draft ──start──▶ running ──stop──▶ stopped ──analysis succeeds──▶ analyzed ──decide──▶ decided

Recording results on a draft test starts it (results exist, so the test has run);
recording results on an analyzed test sends it back to stopped, since its analysis no
longer describes the data. A decided test is final.
"""

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.services import audit
from evaluation.abtests.models import STATS_DIRECTION
from evaluation.models import (
    ABMetric,
    ABRawUpload,
    ABResult,
    ABTest,
    ABTestAnalysis,
    ABTestDecision,
    ABTestStatus,
    ABVariant,
    JobStatus,
    MetricRole,
    Outcome,
    ResultSource,
)
from evaluation.stats import (
    GaussianPrior,
    StatsInputError,
    aggregate_file,
    analyze,
    parse_metrics,
    parse_results,
    parse_variants,
    sample_size_binomial,
    sample_size_continuous,
)
from evaluation.stats.frequentist import check_alpha
from mlprojects.models import Direction, Metric, MetricKind, Objective, Project

logger = logging.getLogger(__name__)

#: Rows per chunk when aggregating a raw upload. Measured on 2 shared cores with a
#: 3-metric CSV of 1M rows (21 MB): ~0.3 s and ~10 MB peak per 100 000-row chunk, 3.0 s in
#: all; 20 000-row chunks took 3.4 s, 500 000-row chunks 4.1 s and ~50 MB. So progress is
#: written a few times a second and memory stays flat whatever the file size.
RAW_ROWS_CHUNK = 100_000
#: Largest raw per-user file accepted (bytes).
RAW_UPLOAD_MAX_BYTES = 200 * 1024 * 1024

CORRECTIONS = ("none", "holm", "bh")
DEFAULT_OPTIONS = {"alpha": 0.05, "correction": "none", "cuped": False, "prior": None}


class TransitionError(ValidationError):
    """A status change the state machine does not allow (shown to the user as is)."""


# --- the status machine ------------------------------------------------------------------

# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({ABTestStatus.DRAFT}), ABTestStatus.RUNNING),
    "stop": (frozenset({ABTestStatus.RUNNING}), ABTestStatus.STOPPED),
    "analyzed": (frozenset({ABTestStatus.STOPPED}), ABTestStatus.ANALYZED),
    "decide": (frozenset({ABTestStatus.ANALYZED}), ABTestStatus.DECIDED),
}
_REFUSALS = {
    "start": "Only a draft test can be started; this one is {status}.",
    "stop": "Only a running test can be stopped; this one is {status}.",
    "analyzed": "Only a stopped test can become analyzed; this one is {status}.",
    "decide": "A decision needs a stopped test with a finished analysis; this one is {status}.",
}


def can_transition(abtest: ABTest, action: str) -> bool:
    return abtest.status in TRANSITIONS[action][0]


def _transition(abtest: ABTest, action: str, *, user: User | None) -> None:
    allowed, target = TRANSITIONS[action]
    if abtest.status not in allowed:
        raise TransitionError(_REFUSALS[action].format(status=abtest.get_status_display().lower()))
    old = abtest.status
    abtest.status = target
    fields = ["status", "updated_at"]
    if action == "start":
        abtest.started_at = timezone.now()
        fields.append("started_at")
    elif action == "stop":
        abtest.stopped_at = timezone.now()
        fields.append("stopped_at")
    abtest.save(update_fields=fields)
    audit(
        org=abtest.project.organization,
        actor=user,
        action=f"abtest.{target}",
        target=abtest.name,
        data={"abtest": abtest.pk, "from": old, "to": target},
    )


def _locked(abtest: ABTest) -> ABTest:
    """Re-read the test under a row lock, so two requests cannot both move its status."""
    return (
        ABTest.objects.select_for_update().select_related("project__organization").get(pk=abtest.pk)
    )


@transaction.atomic
def abtest_start(*, abtest: ABTest, user: User) -> ABTest:
    abtest = _locked(abtest)
    _transition(abtest, "start", user=user)
    return abtest


@transaction.atomic
def abtest_stop(*, abtest: ABTest, user: User) -> ABTest:
    abtest = _locked(abtest)
    _transition(abtest, "stop", user=user)
    return abtest


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
        clean_metrics.append(
            {
                "key": _clean_key(item.get("key"), what="metrics"),
                "type": item.get("type"),
                "role": item.get("role") or MetricRole.PRIMARY,
                "direction": item.get("direction") or Direction.HIGHER,
                "description": str(item.get("description") or "")[:200],
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
                }
                for m in clean_metrics
            ]
        )
    except StatsInputError as exc:
        raise ValidationError({"metrics": exc.message}) from exc
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
) -> ABTest:
    control = control or default_control(variants)
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
) -> ABTest:
    """Replace the design of a draft test (a started test's design is what the users saw),
    its links to the project's objective and business metric included."""
    abtest = _locked(abtest)
    if not abtest.is_editable:
        raise TransitionError(
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


# --- results -----------------------------------------------------------------------------

_RESULT_FIELDS = (
    "conversions",
    "sum",
    "sum_squares",
    "covariate_sum",
    "covariate_sum_squares",
    "covariate_sum_products",
)


def _check_accepts_results(abtest: ABTest) -> None:
    if abtest.status == ABTestStatus.DECIDED:
        raise TransitionError("This test is decided; its results can no longer change.")


def validate_results(*, abtest: ABTest, results: Mapping[str, Any]) -> dict[str, dict[str, dict]]:
    """Validate `{metric_key: {variant_key: aggregates}}` against the test's design with the
    statistics engine's parser: unknown metric or variant keys, a missing control or
    variant, negative or fractional counts, zero users, conversions above users, fields of
    the wrong metric type, impossible sums of squares. Every listed metric needs every
    variant. Returns plain dictionaries ready to save."""
    metrics = {m.key: m for m in abtest.metrics.all()}
    variants = list(abtest.variants.all())
    control = next(v.key for v in variants if v.is_control)
    if not isinstance(results, Mapping) or not results:
        raise ValidationError({"metric": "Results for at least one metric are needed."})
    unknown = [str(k) for k in results if k not in metrics]
    if unknown:
        raise ValidationError(
            {
                "metric": f"Unknown metric {', '.join(map(repr, unknown))}; this test's metrics "
                f"are {', '.join(map(repr, metrics))}."
            }
        )
    try:
        parse_results(
            results,
            metrics=parse_metrics([metrics[k].as_stats() for k in results]),
            variants=parse_variants(
                [{"key": v.key, "allocation": v.allocation} for v in variants], control=control
            ),
            control=control,
        )
    except StatsInputError as exc:
        raise ValidationError({"variants": exc.message}) from exc
    return {key: {v.key: dict(results[key][v.key]) for v in variants} for key in results}


def _save_results(
    abtest: ABTest, results: Mapping[str, Mapping[str, Mapping]], source: str
) -> list[ABResult]:
    metrics = {m.key: m for m in abtest.metrics.all()}
    variants = {v.key: v for v in abtest.variants.all()}
    ABResult.objects.filter(metric__in=[metrics[k] for k in results]).delete()
    rows = []
    for metric_key, per_variant in results.items():
        for variant_key, data in per_variant.items():
            values = {f: data.get(f) for f in _RESULT_FIELDS}
            rows.append(
                ABResult(
                    metric=metrics[metric_key],
                    variant=variants[variant_key],
                    users=int(data["users"]),
                    source=source,
                    **{
                        f: (int(v) if f == "conversions" and v is not None else v)
                        for f, v in values.items()
                    },
                )
            )
    return ABResult.objects.bulk_create(rows)


@transaction.atomic
def abtest_results_set(
    *,
    abtest: ABTest,
    user: User | None,
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    source: str,
) -> list[ABResult]:
    """Replace the results of the metrics in `results` (every variant of each), all or
    nothing. A draft test is started; an analyzed one goes back to stopped."""
    abtest = _locked(abtest)
    _check_accepts_results(abtest)
    clean = validate_results(abtest=abtest, results=results)
    if abtest.status == ABTestStatus.DRAFT:
        _transition(abtest, "start", user=user)
    elif abtest.status == ABTestStatus.ANALYZED:
        abtest.status = ABTestStatus.STOPPED
        abtest.save(update_fields=["status", "updated_at"])
    rows = _save_results(abtest, clean, source)
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.results_recorded",
        target=abtest.name,
        data={"abtest": abtest.pk, "metrics": sorted(clean), "source": source},
    )
    return rows


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
    abtest = _locked(abtest)
    _check_accepts_results(abtest)
    if file.size == 0:
        raise ValidationError({"file": "The file is empty."})
    if file.size > RAW_UPLOAD_MAX_BYTES:
        raise ValidationError(
            {"file": f"The file is larger than {RAW_UPLOAD_MAX_BYTES // (1024 * 1024)} MB."}
        )
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
    from evaluation.abtests.tasks import aggregate_abtest_upload_task

    transaction.on_commit(lambda: aggregate_abtest_upload_task.delay(upload.pk))
    return upload


def _finish_upload(upload: ABRawUpload, status: str, error: str = "") -> None:
    upload.status = status
    upload.error = error
    upload.finished_at = timezone.now()
    if status == JobStatus.SUCCEEDED:
        upload.progress = 1.0
    upload.save(update_fields=["status", "error", "finished_at", "progress", "updated_at"])


def abtest_raw_upload_process(*, upload_id: int) -> ABRawUpload | None:
    """Aggregate a raw upload into results (the body of the worker task). Idempotent: a
    finished upload is left alone; an interrupted one (status running after a crash) is
    read again from the start, and results are written only once, at the end, in one
    transaction — a failure leaves the previous results untouched."""
    with transaction.atomic():
        upload = (
            ABRawUpload.objects.select_for_update()
            .select_related("abtest__project__organization")
            .filter(pk=upload_id)
            .first()
        )
        if upload is None or upload.is_done:
            return upload
        upload.status = JobStatus.RUNNING
        upload.rows_read = 0
        upload.progress = 0.0
        upload.save(update_fields=["status", "rows_read", "progress", "updated_at"])
    abtest = upload.abtest
    metrics = list(abtest.metrics.all())
    variants = [v.key for v in abtest.variants.all()]
    covariates = (
        {m.key: f"{m.key}{upload.covariate_suffix}" for m in metrics}
        if upload.covariate_suffix
        else None
    )
    try:
        with upload.file.open("rb") as handle:

            def progress(rows: int) -> None:
                # The stored file's read position tells how far pandas has got.
                share = min(handle.tell() / upload.size, 0.99) if upload.size else 0.0
                ABRawUpload.objects.filter(pk=upload.pk).update(
                    rows_read=rows, progress=share, updated_at=timezone.now()
                )

            results = aggregate_file(
                handle,
                variant_column=upload.variant_column,
                variants=variants,
                metrics=[m.as_stats() for m in metrics],
                covariates=covariates,
                chunk_size=RAW_ROWS_CHUNK,
                progress=progress,
            )
    except StatsInputError as exc:
        upload.refresh_from_db()
        _finish_upload(upload, JobStatus.FAILED, exc.message)
        return upload
    empty = [v for v in variants if results[metrics[0].key][v]["users"] == 0]
    if empty:
        upload.refresh_from_db()
        _finish_upload(
            upload,
            JobStatus.FAILED,
            f"No rows for variant(s) {', '.join(map(repr, empty))}: every variant needs at "
            "least one user.",
        )
        return upload
    try:
        with transaction.atomic():
            abtest_results_set(
                abtest=abtest, user=upload.created_by, results=results, source=ResultSource.RAW
            )
            upload.refresh_from_db()
            _finish_upload(upload, JobStatus.SUCCEEDED)
    except ValidationError as exc:
        upload.refresh_from_db()
        _finish_upload(upload, JobStatus.FAILED, " ".join(exc.messages))
    return upload


# --- analyses ------------------------------------------------------------------------------


def clean_analysis_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate analysis options (alpha, correction none/holm/bh, cuped, prior null or
    {mean, variance}) into the dictionary stored with the analysis."""
    raw = dict(DEFAULT_OPTIONS)
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
    `abtest_analysis_run` itself, as the demo loader does). Incomplete results are refused
    here, with the engine's message, rather than failing later in the worker."""
    abtest = _locked(abtest)
    if abtest.status == ABTestStatus.DRAFT:
        raise TransitionError("A draft test has no results to analyse yet; start it first.")
    if abtest.status == ABTestStatus.DECIDED:
        raise TransitionError("This test is decided; its analysis is final.")
    clean = clean_analysis_options(options)
    inputs = analysis_inputs(abtest)
    missing = [m["key"] for m in inputs["metrics"] if m["key"] not in inputs["results"]]
    if missing:
        raise ValidationError(
            {"results": f"Enter results for {', '.join(map(repr, missing))} before analysing."}
        )
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
        from evaluation.abtests.tasks import analyze_abtest_task

        transaction.on_commit(lambda: analyze_abtest_task.delay(abtest.pk))
    return analysis


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def abtest_analysis_run(*, analysis_id: int) -> ABTestAnalysis | None:
    """Compute one analysis version into its row. Idempotent: a finished analysis is left
    as it is; a queued or interrupted one is (re)computed from its own input snapshot."""
    with transaction.atomic():
        analysis = (
            ABTestAnalysis.objects.select_for_update()
            .select_related("abtest__project__organization")
            .filter(pk=analysis_id)
            .first()
        )
        if analysis is None or analysis.is_done:
            return analysis
        analysis.status = JobStatus.RUNNING
        analysis.started_at = timezone.now()
        analysis.save(update_fields=["status", "started_at"])
    options = analysis.options
    try:
        result = analyze(
            **analysis.inputs,
            alpha=options["alpha"],
            prior=options["prior"],
            correction=options["correction"],
            cuped=options["cuped"],
        )
    except StatsInputError as exc:
        ABTestAnalysis.objects.filter(pk=analysis.pk).update(
            status=JobStatus.FAILED, error=exc.message, finished_at=timezone.now()
        )
        analysis.refresh_from_db()
        return analysis
    with transaction.atomic():
        analysis = ABTestAnalysis.objects.select_for_update().get(pk=analysis.pk)
        if analysis.is_done:
            return analysis
        analysis.status = JobStatus.SUCCEEDED
        analysis.result = _json_safe(result)
        analysis.finished_at = timezone.now()
        analysis.save(update_fields=["status", "result", "finished_at"])
        abtest = _locked(analysis.abtest)
        if can_transition(abtest, "analyzed"):
            _transition(abtest, "analyzed", user=analysis.created_by)
    return analysis


def abtest_analyses_run_pending(*, abtest_id: int) -> list[ABTestAnalysis]:
    """Run every analysis of the test that is not finished, oldest first (the task body:
    one message per request, but a redelivered or late message finds nothing to do)."""
    pending = ABTestAnalysis.objects.filter(
        abtest_id=abtest_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).order_by("version")
    return [abtest_analysis_run(analysis_id=pk) for pk in pending.values_list("pk", flat=True)]


def abtest_analysis_fail(*, abtest_id: int, message: str) -> None:
    """Failure bookkeeping when the task gives up: unfinished analyses are marked failed."""
    ABTestAnalysis.objects.filter(
        abtest_id=abtest_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(status=JobStatus.FAILED, error=message, finished_at=timezone.now())


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
def abtest_decide(*, abtest: ABTest, user: User, outcome: str, rationale: str) -> ABTestDecision:
    """Record the decision on the latest successful analysis and close the test."""
    abtest = _locked(abtest)
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose ship, don't ship, iterate or inconclusive."
    if not rationale.strip():
        errors["rationale"] = (
            "Say why, in terms of the business metric this test serves (e.g. revisit rate, "
            "revenue)."
        )
    if errors:
        raise ValidationError(errors)
    analysis = abtest.analyses.filter(status=JobStatus.SUCCEEDED).order_by("-version").first()
    if analysis is None or not can_transition(abtest, "decide"):
        status = abtest.get_status_display().lower()
        raise TransitionError(_REFUSALS["decide"].format(status=status))
    decision = ABTestDecision.objects.create(
        abtest=abtest,
        analysis=analysis,
        outcome=outcome,
        rationale=rationale.strip(),
        decided_by=user,
    )
    _transition(abtest, "decide", user=user)
    audit(
        org=abtest.project.organization,
        actor=user,
        action="abtest.decision",
        target=abtest.name,
        data={"abtest": abtest.pk, "outcome": outcome, "analysis_version": analysis.version},
    )
    return decision
