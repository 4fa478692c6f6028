"""Two-sided Welch t-tests on the relative lift and the absolute difference.

Follows gbstats' `TwoSidedTTest` (gbstats/frequentist/tests.py):

* relative lift  L = (m_t − m_c)/|u_c|  (= m_t/m_c − 1 without CUPED when the control mean
  is positive; u_c is the unadjusted control mean), with delta-method variance
  v_t/(n_t·u_c²) + v_c·u_t²/(n_c·u_c⁴);
* absolute difference  D = m_t − m_c  with variance  v_t/n_t + v_c/n_c;
* Welch–Satterthwaite degrees of freedom from the per-user variances (used for both);
* p = 2·P(T_df > |estimate/se|), CI = estimate ± t_{df, 1−α/2}·se.

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

    All fields are None when the effect is undefined (the owning result's notes say why).
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


def frequentist_test(
    *, control: VariantStatistics, treatment: VariantStatistics, alpha: float = 0.05
) -> FrequentistResult:
    """Two-sided Welch t-test of ``treatment`` against ``control``.

    Returns the relative lift (delta method) and the absolute difference, each with its own
    standard error, (1 − ``alpha``) confidence interval and p-value, plus the Welch degrees
    of freedom. Undefined quantities are None and explained in ``notes``:
    ``too_few_users`` (a variant has < 2 users), ``zero_variance`` (no variation to test
    against), ``baseline_zero`` (control mean is 0, so a relative lift does not exist).
    """
    alpha = check_alpha(alpha)
    notes: list[Note] = []
    empty = EffectEstimate()
    dof = welch_dof(control=control, treatment=treatment)
    if control.n < 2 or treatment.n < 2:
        notes.append(Note("too_few_users", "Each variant needs at least 2 users for a t-test."))
        return FrequentistResult(empty, empty, None, alpha, tuple(notes))
    if dof is None:
        notes.append(
            Note(
                "zero_variance",
                "Both variants have zero variance (every user has the same value), so no "
                "test or interval can be computed.",
            )
        )
        return FrequentistResult(empty, empty, None, alpha, tuple(notes))

    absolute_variance = treatment.standard_error_squared + control.standard_error_squared
    absolute = _t_effect(treatment.mean - control.mean, absolute_variance, dof, alpha)

    relative = empty
    if control.unadjusted_mean == 0:
        notes.append(
            Note(
                "baseline_zero",
                "The control mean is 0, so a relative lift is undefined; see the absolute "
                "difference instead.",
            )
        )
    else:
        variance = relative_lift_variance(control=control, treatment=treatment)
        lift = relative_lift(control=control, treatment=treatment)
        if not (math.isfinite(variance) and math.isfinite(lift)):
            notes.append(NEAR_ZERO_BASELINE)
        elif variance > 0:
            relative = _t_effect(lift, variance, dof, alpha)
        else:
            notes.append(
                Note(
                    "zero_variance",
                    "The relative lift has zero estimated variance (the treatment has no "
                    "variation and a treatment mean of 0), so it cannot be tested.",
                )
            )
    return FrequentistResult(relative, absolute, finite_or_none(dof), alpha, tuple(notes))
