"""Two-sided Welch t-tests on the relative lift and the absolute difference.

Follows gbstats' `TwoSidedTTest` (gbstats/frequentist/tests.py):

* relative lift  L = (m_t − m_c)/|u_c|  (= m_t/m_c − 1 without CUPED when the control mean
  is positive; u_c is the unadjusted control mean), with delta-method variance
  v_t/(n_t·u_c²) + v_c·u_t²/(n_c·u_c⁴);
* absolute difference  D = m_t − m_c  with variance  v_t/n_t + v_c/n_c;
* Welch–Satterthwaite degrees of freedom from the per-user variances (used for both);
* p = 2·P(T_df > |estimate/se|), CI = estimate ± t_{df, 1−α/2}·se.

When exactly one variant has zero variance (a 0% or 100% conversion rate, or every user
with the same value) the test declines, as gbstats does: the Welch statistic would then
rest on one variant's spread alone and call differences like 400/400 against 396/400
significant (p ≈ 0.045) where Fisher's exact test gives p ≈ 0.124. The point estimates are
kept, the standard errors, intervals and p-values are None, and the result carries the note
``zero_variance_arm``.

Two deliberate differences from gbstats 0.8.0:

* the p-value is computed with the survival function (2·sf) instead of 2·(1 − cdf), so
  very small p-values do not round to 0;
* the lift is divided by |u_c| rather than u_c. They agree whenever the control mean is
  positive (every binomial metric and nearly every continuous one); for a negative control
  mean (e.g. net profit) this keeps the lift's sign equal to the sign of the absolute
  difference, so "chance to win" and guardrails still mean "went up"/"went down".
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from evaluation.stats.inputs import StatsInputError
from evaluation.stats.statistics import Note, VariantStatistics, finite_or_none


@dataclass(frozen=True)
class EffectEstimate:
    """A point estimate with standard error, (1 − α) confidence interval and p-value.

    All fields are None when the effect is undefined, and only ``estimate`` is set when the
    effect exists but cannot be tested (the owning result's notes say why).
    """

    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class FrequentistResult:
    """Relative-lift and absolute-difference tests of one treatment against control."""

    relative: EffectEstimate
    absolute: EffectEstimate
    dof: float | None
    alpha: float
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (floats or None, notes as {code, message})."""
        return {
            "relative": vars(self.relative).copy(),
            "absolute": vars(self.absolute).copy(),
            "dof": self.dof,
            "alpha": self.alpha,
            "notes": [vars(n).copy() for n in self.notes],
        }


def check_alpha(alpha: float) -> float:
    """Validate a significance level: a finite number strictly between 0 and 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise StatsInputError(f"'alpha' must be a number between 0 and 1, got {alpha!r}.")
    if not (math.isfinite(alpha) and 0 < alpha < 1):
        raise StatsInputError(f"'alpha' must be strictly between 0 and 1, got {alpha!r}.")
    return float(alpha)


def welch_dof(*, control: VariantStatistics, treatment: VariantStatistics) -> float | None:
    """Welch–Satterthwaite degrees of freedom, or None when both variances are zero or a
    variant has fewer than two users."""
    if control.n < 2 or treatment.n < 2:
        return None
    a = treatment.variance / treatment.n
    b = control.variance / control.n
    denominator = a * a / (treatment.n - 1) + b * b / (control.n - 1)
    if denominator <= 0:
        return None
    # `x * x`, not `x ** 2`: float ** raises OverflowError on huge inputs where * gives
    # inf, which then surfaces as an undefined (None) statistic instead of a crash.
    return (a + b) * (a + b) / denominator


def relative_lift_variance(*, control: VariantStatistics, treatment: VariantStatistics) -> float:
    """Delta-method variance of (m_t − m_c)/|u_c|, evaluated at the unadjusted means.

    Returns +inf (never raises) when the control mean is so close to zero that the value
    overflows; callers treat a non-finite variance as "relative lift undefined".
    """
    uc = control.unadjusted_mean
    # Written as (v_t/n_t + v_c·(u_t/u_c)²/n_c)/u_c/u_c rather than with u_c⁴, which
    # underflows to 0 for |u_c| < ~1e-77 and would divide by zero.
    ratio = treatment.unadjusted_mean / uc
    scaled = treatment.variance / treatment.n + control.variance * ratio * ratio / control.n
    return scaled / uc / uc


def relative_lift(*, control: VariantStatistics, treatment: VariantStatistics) -> float:
    """Point estimate (m_t − m_c)/|u_c| of the relative lift (inf if it overflows)."""
    return (treatment.mean - control.mean) / abs(control.unadjusted_mean)


NEAR_ZERO_BASELINE = Note(
    "baseline_near_zero",
    "The control mean is too close to 0 for a relative lift to be computed; see the "
    "absolute difference instead.",
)

TOO_FEW_USERS = Note("too_few_users", "Each variant needs at least 2 users for a t-test.")

BASELINE_ZERO = Note(
    "baseline_zero",
    "The control mean is 0, so a relative lift is undefined; see the absolute difference instead.",
)


def zero_variance_arm_note(
    *, control: VariantStatistics, treatment: VariantStatistics
) -> Note | None:
    """The ``zero_variance_arm`` note when exactly one variant has zero variance, else None.

    A variant whose users all have the same value (0% or 100% conversion, a constant
    metric) says nothing about its own sampling noise; a test that used only the other
    variant's spread would be overconfident, so no test is run on such a pair.
    """
    control_flat = not control.variance > 0
    treatment_flat = not treatment.variance > 0
    if control_flat == treatment_flat:
        return None
    which = "control" if control_flat else "treatment"
    return Note(
        "zero_variance_arm",
        f"The {which} has zero variance (every user has the same value, e.g. a 0% or 100% "
        "conversion rate), so a t-test would rest on the other variant's noise alone and "
        "overstate significance; no interval or p-value is given. For conversion metrics "
        "use Fisher's exact test instead.",
    )


def check_relative_variance(value: float | None) -> float | None:
    """Validate an externally computed relative-lift variance (None means "use the
    two-means delta method"): a number ≥ 0, +inf allowed for an overflowed value."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StatsInputError(f"'relative_variance' must be a number, got {value!r}.")
    if math.isnan(value) or value < 0:
        raise StatsInputError(f"'relative_variance' must be at least 0, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class PairEffects:
    """The two effects of a control/treatment pair before any test is applied.

    ``declined`` means nothing can be estimated. Otherwise an effect with an estimate but a
    None variance is reported without inference (``notes`` say why).
    """

    declined: bool
    absolute: float | None = None
    absolute_variance: float | None = None
    relative: float | None = None
    relative_variance: float | None = None
    notes: tuple[Note, ...] = ()


def pair_effects(
    *,
    control: VariantStatistics,
    treatment: VariantStatistics,
    relative_variance: float | None = None,
) -> PairEffects:
    """Estimates and variances of the absolute difference and the relative lift, with the
    rules shared by the fixed-horizon and the sequential tests (see `frequentist_test`)."""
    relative_variance = check_relative_variance(relative_variance)
    if control.n < 2 or treatment.n < 2:
        return PairEffects(declined=True, notes=(TOO_FEW_USERS,))
    arm_notes = tuple(dict.fromkeys((*control.notes, *treatment.notes)))
    if arm_notes:
        return PairEffects(declined=True, notes=arm_notes)
    if welch_dof(control=control, treatment=treatment) is None:
        return PairEffects(
            declined=True,
            notes=(
                Note(
                    "zero_variance",
                    "Both variants have zero variance (every user has the same value), so "
                    "no test or interval can be computed.",
                ),
            ),
        )

    notes: list[Note] = []
    lone = zero_variance_arm_note(control=control, treatment=treatment)
    absolute = treatment.mean - control.mean
    absolute_variance = treatment.standard_error_squared + control.standard_error_squared

    lift: float | None = None
    lift_variance: float | None = None
    if control.unadjusted_mean == 0:
        notes.append(BASELINE_ZERO)
    else:
        variance = (
            relative_lift_variance(control=control, treatment=treatment)
            if relative_variance is None
            else relative_variance
        )
        estimate = relative_lift(control=control, treatment=treatment)
        if not (math.isfinite(variance) and math.isfinite(estimate)):
            notes.append(NEAR_ZERO_BASELINE)
        elif variance > 0:
            lift, lift_variance = estimate, variance
        else:
            notes.append(
                Note(
                    "zero_variance",
                    "The relative lift has zero estimated variance (the treatment has no "
                    "variation and a treatment mean of 0), so it cannot be tested.",
                )
            )
    if lone is not None:
        notes.append(lone)
        absolute_variance = None
        lift_variance = None
    return PairEffects(
        declined=False,
        absolute=absolute,
        absolute_variance=absolute_variance,
        relative=lift,
        relative_variance=lift_variance,
        notes=tuple(notes),
    )


def _t_effect(estimate: float, variance: float, dof: float, alpha: float) -> EffectEstimate:
    se = math.sqrt(variance)
    statistic = estimate / se
    p_value = min(1.0, 2.0 * float(stats.t.sf(abs(statistic), dof)))
    half_width = float(stats.t.ppf(1.0 - alpha / 2.0, dof)) * se
    return EffectEstimate(
        estimate=finite_or_none(estimate),
        std_error=finite_or_none(se),
        ci_low=finite_or_none(estimate - half_width),
        ci_high=finite_or_none(estimate + half_width),
        p_value=finite_or_none(p_value),
    )


def untested_effect(estimate: float | None) -> EffectEstimate:
    """An effect that has a point estimate (or not) but no interval or p-value."""
    return EffectEstimate(estimate=finite_or_none(estimate))


def frequentist_test(
    *,
    control: VariantStatistics,
    treatment: VariantStatistics,
    alpha: float = 0.05,
    relative_variance: float | None = None,
) -> FrequentistResult:
    """Two-sided Welch t-test of ``treatment`` against ``control``.

    Returns the relative lift (delta method) and the absolute difference, each with its own
    standard error, (1 − ``alpha``) confidence interval and p-value, plus the Welch degrees
    of freedom. ``relative_variance`` replaces the two-means delta-method variance of the
    relative lift when the statistics need their own (CUPED on ratio metrics:
    `RatioCupedResult.relative_variance`). Undefined quantities are None and explained in
    ``notes``: ``too_few_users`` (a variant has < 2 users), ``zero_variance`` (no
    variation to test against), ``zero_variance_arm`` (one variant has no variation: the
    estimates are kept but not tested), ``baseline_zero`` (control mean is 0, so a relative
    lift does not exist), or a variant's own note (see `VariantStatistics.notes`).
    """
    alpha = check_alpha(alpha)
    effects = pair_effects(
        control=control, treatment=treatment, relative_variance=relative_variance
    )
    empty = EffectEstimate()
    if effects.declined:
        return FrequentistResult(empty, empty, None, alpha, effects.notes)
    dof = welch_dof(control=control, treatment=treatment)
    assert dof is not None  # pair_effects declines when it is None

    def tested(estimate: float | None, variance: float | None) -> EffectEstimate:
        if estimate is None or variance is None:
            return untested_effect(estimate)
        return _t_effect(estimate, variance, dof, alpha)

    return FrequentistResult(
        relative=tested(effects.relative, effects.relative_variance),
        absolute=tested(effects.absolute, effects.absolute_variance),
        dof=finite_or_none(dof),
        alpha=alpha,
        notes=effects.notes,
    )
