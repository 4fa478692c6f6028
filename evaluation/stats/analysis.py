"""`analyze`: the whole A/B analysis of one experiment in one JSON-safe dictionary.

Per metric and per treatment (each against the control) it runs the frequentist Welch
t-test (relative lift and absolute difference), the Gaussian Bayesian model of the relative
lift, optional CUPED, optional multiple-comparison correction, and the guardrail rule; once
per experiment it runs the sample-ratio-mismatch check.

Metrics are proportions (binomial), means (continuous), ratios of two per-user sums
(delta method, CUPED on ratios) and quantiles (GrowthBook's quantile test). With
``sequential=True`` the fixed-horizon t-test is replaced by the always-valid sequential
test (`evaluation.stats.sequential`), so the results may be looked at every day.

When a conversion metric has a variant at 0% or 100% the t-test declines (no variance to
test with); the pair's p-value then comes from Fisher's exact test instead, so such a pair
is neither silently untested nor falsely significant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evaluation.stats.bayesian import BayesianResult, GaussianPrior, bayesian_test
from evaluation.stats.cuped import CupedInput, cuped_adjust
from evaluation.stats.exact import fisher_exact_p_value
from evaluation.stats.frequentist import FrequentistResult, check_alpha, frequentist_test
from evaluation.stats.guardrails import guardrail_breach
from evaluation.stats.inputs import (
    Aggregate,
    BinomialAggregate,
    Metric,
    QuantileAggregate,
    RatioAggregate,
    StatsInputError,
    Variant,
    parse_count,
    parse_metrics,
    parse_results,
    parse_variants,
)
from evaluation.stats.multiple import CORRECTIONS, adjust_p_values
from evaluation.stats.quantile import quantile_statistics
from evaluation.stats.ratio import RatioCupedInput, ratio_cuped_adjust, ratio_statistics
from evaluation.stats.sequential import (
    DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
    SequentialResult,
    sequential_test,
)
from evaluation.stats.srm import SRM_THRESHOLD, srm_test
from evaluation.stats.statistics import Note, VariantStatistics, statistics_from_aggregate

#: Keys of each per-treatment result, in output order (a public contract).
RESULT_KEYS: tuple[str, ...] = (
    "lift",
    "ci_low",
    "ci_high",
    "p_value",
    "adjusted_p_value",
    "abs_diff",
    "abs_ci_low",
    "abs_ci_high",
    "chance_to_win",
    "expected_loss",
    "expected_loss_control",
    "cred_low",
    "cred_high",
    "control_mean",
    "treatment_mean",
    "users_control",
    "users_treatment",
    "significant",
    "guardrail_breach",
)


def _warning(
    code: str, message: str, metric: str | None = None, variant: str | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "metric": metric, "variant": variant}


def _parse_prior(prior: GaussianPrior | Mapping[str, Any] | None) -> GaussianPrior | None:
    if prior is None or isinstance(prior, GaussianPrior):
        return prior
    if not isinstance(prior, Mapping):
        raise StatsInputError("'prior' must be an object with 'mean' and 'variance', or null.")
    unknown = sorted(str(k) for k in prior if k not in ("mean", "variance"))
    if unknown:
        raise StatsInputError(
            f"'prior' has unknown field(s) {', '.join(unknown)}; use 'mean' and 'variance'."
        )
    if "variance" not in prior:
        raise StatsInputError("'prior' needs a 'variance' (of the relative lift).")
    return GaussianPrior(mean=prior.get("mean", 0.0), variance=prior["variance"])


def _parse_correction(correction: str | None) -> str | None:
    if correction is None or correction == "none":
        return None
    if correction not in CORRECTIONS:
        raise StatsInputError(f"'correction' must be null, 'holm' or 'bh', got {correction!r}.")
    return correction


def _parse_users(users: Mapping[str, Any], variants: Sequence[Variant]) -> list[int]:
    keys = [v.key for v in variants]
    if not isinstance(users, Mapping):
        raise StatsInputError("'users' must be an object mapping variant key to user count.")
    unknown = [str(k) for k in users if k not in keys]
    if unknown:
        raise StatsInputError(
            f"'users' has unknown variant key(s) {', '.join(map(repr, unknown))}."
        )
    counts = []
    for key in keys:
        if key not in users:
            raise StatsInputError(f"'users' is missing variant {key!r}.")
        counts.append(parse_count(users[key], field="users", where=f"Variant {key!r}"))
    return counts


def _srm_metric(metrics: Sequence[Metric]) -> Metric:
    # Exposure counts are best read from a primary metric: it is computed on the full
    # experiment population, while secondary metrics may be filtered.
    for metric in metrics:
        if metric.role == "primary":
            return metric
    return metrics[0]


def _cuped_input(aggregate: Aggregate) -> CupedInput:
    assert aggregate.covariate is not None
    return CupedInput(
        n=aggregate.users,
        sum=aggregate.sum,
        sum_squares=aggregate.sum_squares,
        covariate_sum=aggregate.covariate.sum,
        covariate_sum_squares=aggregate.covariate.sum_squares,
        covariate_sum_products=aggregate.covariate.sum_products,
        binomial=isinstance(aggregate, BinomialAggregate),
    )


def _metric_uses_cuped(
    metric: Metric, per_variant: Mapping[str, Aggregate], warnings: list[dict[str, Any]]
) -> bool:
    with_covariate = [k for k, a in per_variant.items() if a.covariate is not None]
    if not with_covariate:
        warnings.append(
            _warning(
                "cuped_unavailable",
                f"CUPED was requested but metric {metric.key!r} has no pre-period covariate; "
                "it was analysed without CUPED.",
                metric=metric.key,
            )
        )
        return False
    without = [k for k, a in per_variant.items() if a.covariate is None]
    if without:
        raise StatsInputError(
            f"Metric {metric.key!r}: a pre-period covariate is given for some variants but "
            f"not for {', '.join(map(repr, without))}; give it for all variants or none."
        )
    return True


def _ratio_plain(aggregate: RatioAggregate) -> VariantStatistics:
    return ratio_statistics(
        users=aggregate.users,
        numerator_sum=aggregate.numerator_sum,
        numerator_sum_squares=aggregate.numerator_sum_squares,
        denominator_sum=aggregate.denominator_sum,
        denominator_sum_squares=aggregate.denominator_sum_squares,
        sum_products=aggregate.sum_products,
    )


def _ratio_cuped_input(aggregate: RatioAggregate) -> RatioCupedInput:
    assert aggregate.covariate is not None
    return RatioCupedInput(
        users=aggregate.users,
        numerator_sum=aggregate.numerator_sum,
        numerator_sum_squares=aggregate.numerator_sum_squares,
        denominator_sum=aggregate.denominator_sum,
        denominator_sum_squares=aggregate.denominator_sum_squares,
        numerator_denominator_sum_products=aggregate.sum_products,
        **aggregate.covariate,
    )


def _plain_statistics(aggregate: Aggregate) -> VariantStatistics:
    if isinstance(aggregate, RatioAggregate):
        return _ratio_plain(aggregate)
    if isinstance(aggregate, QuantileAggregate):
        return quantile_statistics(
            n=aggregate.users,
            n_star=aggregate.n_star,
            nu=aggregate.nu,
            quantile=aggregate.quantile,
            lower=aggregate.lower,
            upper=aggregate.upper,
        )
    return statistics_from_aggregate(aggregate)


def _pair_statistics(
    metric: Metric,
    control: Aggregate,
    treatment: Aggregate,
    use_cuped: bool,
    treatment_key: str,
    warnings: list[dict[str, Any]],
) -> tuple[VariantStatistics, VariantStatistics, float | None]:
    """Both arms' statistics and, for CUPED on a ratio, the relative lift's variance."""
    if not use_cuped:
        return _plain_statistics(control), _plain_statistics(treatment), None
    if isinstance(control, RatioAggregate) and isinstance(treatment, RatioAggregate):
        ratio = ratio_cuped_adjust(
            control=_ratio_cuped_input(control), treatment=_ratio_cuped_input(treatment)
        )
        if ratio.theta == 0:
            warnings.append(
                _warning(
                    "cuped_no_effect",
                    "The pre-period ratio has no variance, so CUPED could not reduce "
                    "variance; results are unadjusted.",
                    metric=metric.key,
                    variant=treatment_key,
                )
            )
        return ratio.control, ratio.treatment, ratio.relative_variance
    adjusted = cuped_adjust(control=_cuped_input(control), treatment=_cuped_input(treatment))
    if adjusted.theta == 0:
        warnings.append(
            _warning(
                "cuped_no_effect",
                "The pre-period covariate (or the metric) has no variance, so CUPED could "
                "not reduce variance; results are unadjusted.",
                metric=metric.key,
                variant=treatment_key,
            )
        )
    return adjusted.control, adjusted.treatment, None


#: Frequentist notes after which a conversion metric falls back to Fisher's exact test.
_FISHER_FALLBACK_CODES = frozenset({"zero_variance", "zero_variance_arm"})


def _fisher_fallback(
    control: Aggregate, treatment: Aggregate, frequentist: FrequentistResult | SequentialResult
) -> float | None:
    """Fisher's exact p-value for a conversion metric the t-test declined, else None."""
    if not isinstance(control, BinomialAggregate) or not isinstance(treatment, BinomialAggregate):
        return None
    if frequentist.relative.p_value is not None:
        return None
    if not _FISHER_FALLBACK_CODES & {n.code for n in frequentist.notes}:
        return None
    return fisher_exact_p_value(
        control_users=control.users,
        control_conversions=control.conversions,
        treatment_users=treatment.users,
        treatment_conversions=treatment.conversions,
    )


def _entry(
    control_stats: VariantStatistics,
    treatment_stats: VariantStatistics,
    frequentist: FrequentistResult | SequentialResult,
    bayesian: BayesianResult,
) -> dict[str, Any]:
    return {
        "lift": frequentist.relative.estimate,
        "ci_low": frequentist.relative.ci_low,
        "ci_high": frequentist.relative.ci_high,
        "p_value": frequentist.relative.p_value,
        "adjusted_p_value": None,
        "abs_diff": frequentist.absolute.estimate,
        "abs_ci_low": frequentist.absolute.ci_low,
        "abs_ci_high": frequentist.absolute.ci_high,
        "chance_to_win": bayesian.chance_to_win,
        "expected_loss": bayesian.expected_loss,
        "expected_loss_control": bayesian.expected_loss_control,
        "cred_low": bayesian.cred_low,
        "cred_high": bayesian.cred_high,
        "control_mean": float(control_stats.unadjusted_mean),
        "treatment_mean": float(treatment_stats.unadjusted_mean),
        "users_control": int(control_stats.n),
        "users_treatment": int(treatment_stats.n),
        "significant": None,
        "guardrail_breach": None,
    }


def analyze(
    *,
    variants: Sequence[Mapping[str, Any]],
    control: str,
    metrics: Sequence[Mapping[str, Any]],
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    alpha: float = 0.05,
    prior: GaussianPrior | Mapping[str, Any] | None = None,
    correction: str | None = None,
    cuped: bool = False,
    users: Mapping[str, Any] | None = None,
    sequential: bool = False,
    sequential_tuning_parameter: float = DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
) -> dict[str, Any]:
    """Analyse an A/B(/n) experiment from per-variant aggregates.

    Args:
        variants: ``[{"key": str, "allocation": float}, ...]``; allocations in (0, 1]
            summing to 1 (±1e-6).
        control: key of the control variant; every other variant is a treatment.
        metrics: ``[{"key", "type": "binomial"|"continuous"|"ratio"|"quantile",
            "quantile_level": ν (quantile metrics only),
            "role": "primary"|"secondary"|"guardrail" (default primary),
            "direction": "increase"|"decrease" (which way is good, default increase)}]``.
        results: ``{metric_key: {variant_key: aggregates}}`` (see `evaluation.stats.inputs`
            for the aggregate fields, including the optional CUPED covariate sums).
        alpha: two-sided significance level; CIs and credible intervals are (1 − alpha).
        prior: None for a flat prior, or ``{"mean", "variance"}`` of a Normal prior on the
            relative lift (e.g. ``{"mean": 0, "variance": 0.09}``).
        correction: None, "holm" or "bh" — adjusts p-values across all metrics × treatments.
        cuped: use each metric's pre-period covariate when given (warns when absent).
        users: optional exposure counts per variant for the SRM check; by default the users
            of the first primary metric (else the first metric) are used.
        sequential: always-valid sequential intervals and p-values instead of the
            fixed-horizon t-test (`evaluation.stats.sequential`), safe under daily peeking.
        sequential_tuning_parameter: the total sample size at which the sequential interval
            is tightest (GrowthBook's name and default, 5000).

    Returns:
        ``{"srm_p_value", "srm_warning", "metrics": {metric: {treatment: {...}}},
        "warnings": [{"code", "message", "metric", "variant"}], "mode": {"sequential",
        "sequential_tuning_parameter"}}``. Each treatment entry has
        exactly the keys in `RESULT_KEYS`. ``lift``/``ci_*``/``p_value`` describe the
        relative lift (the CUPED-adjusted one when CUPED applies); ``abs_*`` the absolute
        difference; ``chance_to_win`` (oriented by ``direction``), the two expected losses
        (in relative-lift units) and ``cred_*`` come from the Bayesian model;
        ``control_mean``/``treatment_mean`` are the observed, unadjusted means.
        When a conversion metric has a variant at 0% or 100% the t-test declines and
        ``p_value`` is Fisher's exact test on the counts (warning ``fisher_exact``).
        ``adjusted_p_value`` equals ``p_value`` without a correction; ``significant`` is
        ``adjusted_p_value < alpha``; ``guardrail_breach`` is set for guardrail metrics only
        (see `evaluation.stats.guardrails`). Undefined numbers are None, never NaN, with a
        warning saying why.

    Raises:
        StatsInputError: for any invalid input, with a user-facing message.
    """
    alpha = check_alpha(alpha)
    parsed_variants = parse_variants(variants, control=control)
    parsed_metrics = parse_metrics(metrics)
    parsed_results = parse_results(
        results, metrics=parsed_metrics, variants=parsed_variants, control=control
    )
    parsed_prior = _parse_prior(prior)
    parsed_correction = _parse_correction(correction)
    if not isinstance(cuped, bool):
        raise StatsInputError(f"'cuped' must be true or false, got {cuped!r}.")
    if not isinstance(sequential, bool):
        raise StatsInputError(f"'sequential' must be true or false, got {sequential!r}.")
    tuning = None
    if sequential:
        # Validated by the sequential test's own rule (a positive number of users).
        from evaluation.stats.sequential import sequential_rho_squared

        sequential_rho_squared(alpha=alpha, sequential_tuning_parameter=sequential_tuning_parameter)
        tuning = float(sequential_tuning_parameter)

    warnings: list[dict[str, Any]] = []

    if users is not None:
        exposure = _parse_users(users, parsed_variants)
    else:
        srm_metric = _srm_metric(parsed_metrics)
        exposure = [parsed_results[srm_metric.key][v.key].users for v in parsed_variants]
    srm = srm_test(users=exposure, allocations=[v.allocation for v in parsed_variants])
    if srm.warning:
        warnings.append(
            _warning(
                "srm",
                f"Sample ratio mismatch: the users per variant ({', '.join(map(str, exposure))}) "
                f"differ from the planned allocation (chi-square p = {srm.p_value:.3g} < "
                f"{SRM_THRESHOLD}). Assignment or tracking may be broken; investigate before "
                "trusting these results.",
            )
        )

    treatments = [v.key for v in parsed_variants if v.key != control]
    output: dict[str, dict[str, dict[str, Any]]] = {}
    family: list[tuple[str, str]] = []
    for metric in parsed_metrics:
        per_variant = parsed_results[metric.key]
        use_cuped = cuped and _metric_uses_cuped(metric, per_variant, warnings)
        output[metric.key] = {}
        for treatment in treatments:
            control_stats, treatment_stats, relative_variance = _pair_statistics(
                metric,
                per_variant[control],
                per_variant[treatment],
                use_cuped,
                treatment,
                warnings,
            )
            frequentist: FrequentistResult | SequentialResult
            if tuning is not None:
                frequentist = sequential_test(
                    control=control_stats,
                    treatment=treatment_stats,
                    alpha=alpha,
                    sequential_tuning_parameter=tuning,
                    relative_variance=relative_variance,
                )
            else:
                frequentist = frequentist_test(
                    control=control_stats,
                    treatment=treatment_stats,
                    alpha=alpha,
                    relative_variance=relative_variance,
                )
            bayesian = bayesian_test(
                control=control_stats,
                treatment=treatment_stats,
                alpha=alpha,
                prior=parsed_prior,
                direction=metric.direction,
                relative_variance=relative_variance,
            )
            seen_codes: set[str] = set()
            note: Note
            for note in (*frequentist.notes, *bayesian.notes):
                if note.code not in seen_codes:
                    seen_codes.add(note.code)
                    warnings.append(_warning(note.code, note.message, metric.key, treatment))
            if control_stats.unadjusted_mean < 0:
                warnings.append(
                    _warning(
                        "negative_baseline",
                        "The control mean is negative; the relative lift is measured against "
                        "its magnitude, so a positive lift means the metric went up.",
                        metric.key,
                        treatment,
                    )
                )
            entry = _entry(control_stats, treatment_stats, frequentist, bayesian)
            exact_p = _fisher_fallback(per_variant[control], per_variant[treatment], frequentist)
            if exact_p is not None:
                entry["p_value"] = exact_p
                warnings.append(
                    _warning(
                        "fisher_exact",
                        f"A variant converts at 0% or 100%, so the t-test cannot be used; the "
                        f"p-value ({exact_p:.3g}) is from Fisher's exact test on the conversion "
                        "counts and has no confidence interval.",
                        metric.key,
                        treatment,
                    )
                )
            output[metric.key][treatment] = entry
            family.append((metric.key, treatment))

    raw = [output[m][t]["p_value"] for m, t in family]
    adjusted = (
        raw
        if parsed_correction is None
        else adjust_p_values(p_values=raw, method=parsed_correction)
    )
    directions = {m.key: m for m in parsed_metrics}
    for (metric_key, treatment), adjusted_p in zip(family, adjusted, strict=True):
        entry = output[metric_key][treatment]
        entry["adjusted_p_value"] = adjusted_p
        entry["significant"] = None if adjusted_p is None else bool(adjusted_p < alpha)
        metric = directions[metric_key]
        if metric.role == "guardrail":
            entry["guardrail_breach"] = guardrail_breach(
                direction=metric.direction,
                lift=entry["lift"],
                p_value=entry["p_value"],
                alpha=alpha,
            )
            if entry["guardrail_breach"]:
                warnings.append(
                    _warning(
                        "guardrail_breach",
                        f"Guardrail {metric_key!r} moved significantly in the bad direction "
                        f"for {treatment!r} (lift {entry['lift']:+.2%}, p = "
                        f"{entry['p_value']:.3g}).",
                        metric_key,
                        treatment,
                    )
                )

    return {
        "srm_p_value": srm.p_value,
        "srm_warning": srm.warning,
        "metrics": output,
        "warnings": warnings,
        "mode": {"sequential": tuning is not None, "sequential_tuning_parameter": tuning},
    }
