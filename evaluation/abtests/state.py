"""The state of an A/B test: its status machine, and the results that move it. Both the
user's actions (`services.py`) and the background work (`jobs.py`) change a test's state
through these functions, so this module imports neither.

The status machine (refused moves raise `TransitionError` with a message for the user):

    draft ──start──▶ running ──stop──▶ stopped ──analysis succeeds──▶ analyzed ──decide──▶ decided

Recording results on a draft test starts it (results exist, so the test has run);
recording results on an analyzed test sends it back to stopped, since its analysis no
longer describes the data. A decided test is final.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit
from evaluation.models import ABResult, ABTest, ABTestStatus
from evaluation.stats import (
    StatsInputError,
    expand_mean_sd,
    parse_metrics,
    parse_results,
    parse_variants,
)


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


def refusal(abtest: ABTest, action: str) -> TransitionError:
    """The error for `action` refused in the test's current status."""
    return TransitionError(_REFUSALS[action].format(status=abtest.get_status_display().lower()))


def transition(abtest: ABTest, action: str, *, user: User | None) -> None:
    """Move a locked test (see `locked`) along the machine, with its audit row."""
    allowed, target = TRANSITIONS[action]
    if abtest.status not in allowed:
        raise refusal(abtest, action)
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


def locked(abtest: ABTest) -> ABTest:
    """Re-read the test under a row lock, so two requests cannot both move its status."""
    return (
        ABTest.objects.select_for_update().select_related("project__organization").get(pk=abtest.pk)
    )


# --- results -----------------------------------------------------------------------------

_RESULT_FIELDS = (
    "conversions",
    "sum",
    "sum_squares",
    "covariate_sum",
    "covariate_sum_squares",
    "covariate_sum_products",
)


def check_accepts_results(abtest: ABTest) -> None:
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
        # A continuous metric may be entered as mean and standard deviation per variant.
        results = {
            key: (
                {v: expand_mean_sd(data, where=f"{key}/{v}") for v, data in per_variant.items()}
                if isinstance(per_variant, Mapping) and metrics[key].type == "continuous"
                else per_variant
            )
            for key, per_variant in results.items()
        }
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
            extra = {}
            if metrics[metric_key].type in ("ratio", "quantile"):
                # Their sums and quantile inputs are kept as named, in one JSON field.
                values = {}
                extra = {k: v for k, v in data.items() if k != "users"}
            rows.append(
                ABResult(
                    metric=metrics[metric_key],
                    variant=variants[variant_key],
                    users=int(data["users"]),
                    aggregates=extra,
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
    abtest = locked(abtest)
    check_accepts_results(abtest)
    clean = validate_results(abtest=abtest, results=results)
    if abtest.status == ABTestStatus.DRAFT:
        transition(abtest, "start", user=user)
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
