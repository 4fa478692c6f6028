"""Sequential testing: confidence intervals and p-values that stay valid under peeking.

A fixed-horizon t-test is only valid if the data are looked at once. Experiments are
watched every day, and stopping the first time p < α inflates false positives far beyond
α. Always-valid (asymptotic confidence sequence) intervals and p-values allow looking at
any time. Follows gbstats' SequentialTwoSidedTTest (0.8.0), after Waudby-Smith et al.,
"Time-uniform central limit theory and asymptotic confidence sequences" (2023, eqs. 9, 155
and 161). With N = n_c + n_t users, the estimate L̂ and its variance V (exactly those of
the fixed-horizon test: relative lift or absolute difference) and the tuning parameter τ
(the sample size at which the interval is tightest, 5000 by default as in GrowthBook):

* ρ² = (−2·ln α + ln(1 − 2·ln α))/τ, and k = N·ρ² + 1;
* interval L̂ ± √V·√(k·(ln k − 2·ln α)/(N·ρ²));
* p = min(1, √k·exp(−ρ²·N·L̂²/(2·k·V))), the reciprocal of the e-value.

The p-value is computed from the log of the e-value, so a very large effect gives p = 0
instead of an overflow. The same pairs are declined as by `frequentist_test` (too few users, zero
variance, a variant's own notes), and a zero-variance variant keeps its estimates only.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from evaluation.stats.frequentist import (
    EffectEstimate,
    check_alpha,
    pair_effects,
    untested_effect,
)
from evaluation.stats.inputs import StatsInputError
from evaluation.stats.statistics import Note, VariantStatistics, finite_or_none

#: GrowthBook's default: the interval is tightest around 5,000 users in total.
DEFAULT_SEQUENTIAL_TUNING_PARAMETER = 5000.0


@dataclass(frozen=True)
class SequentialResult:
    """Always-valid relative-lift and absolute-difference results of one treatment."""

    relative: EffectEstimate
    absolute: EffectEstimate
    alpha: float
    sequential_tuning_parameter: float
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (floats or None, notes as {code, message})."""
        return {
            "relative": vars(self.relative).copy(),
            "absolute": vars(self.absolute).copy(),
            "alpha": self.alpha,
            "sequential_tuning_parameter": self.sequential_tuning_parameter,
            "notes": [vars(n).copy() for n in self.notes],
        }


def _check_tuning(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StatsInputError(f"'sequential_tuning_parameter' must be a number, got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise StatsInputError(
            f"'sequential_tuning_parameter' must be a positive number of users, got {value!r}."
        )
    return float(value)


def sequential_rho_squared(*, alpha: float, sequential_tuning_parameter: float) -> float:
    """ρ² of the confidence sequence, chosen so the interval is tightest at τ users."""
    log_alpha = math.log(check_alpha(alpha))
    tuning = _check_tuning(sequential_tuning_parameter)
    return (-2.0 * log_alpha + math.log(1.0 - 2.0 * log_alpha)) / tuning


def _sequential_effect(
    estimate: float, variance: float, users: int, alpha: float, rho_squared: float
) -> EffectEstimate:
    se = math.sqrt(variance)
    spread = users * rho_squared
    k = spread + 1.0
    half_width = se * math.sqrt(k * (math.log(k) - 2.0 * math.log(alpha)) / spread)
    z = estimate / se
    # z * z, not z ** 2: float ** raises OverflowError where * gives inf (then p = 0).
    log_evalue = rho_squared * users * (z * z) / (2.0 * k) - 0.5 * math.log(k)
    p_value = 1.0 if log_evalue <= 0 else math.exp(-log_evalue)
    return EffectEstimate(
        estimate=finite_or_none(estimate),
        std_error=finite_or_none(se),
        ci_low=finite_or_none(estimate - half_width),
        ci_high=finite_or_none(estimate + half_width),
        p_value=finite_or_none(p_value),
    )


def sequential_test(
    *,
    control: VariantStatistics,
    treatment: VariantStatistics,
    alpha: float = 0.05,
    sequential_tuning_parameter: float = DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
    relative_variance: float | None = None,
) -> SequentialResult:
    """Always-valid two-sided test of ``treatment`` against ``control`` (module docstring).

    Takes the same statistics as `frequentist_test` (means, proportions, ratios, quantiles,
    CUPED-adjusted ones, with ``relative_variance`` for CUPED on ratios) and returns the
    relative lift and absolute difference with always-valid (1 − ``alpha``) intervals and
    p-values. The intervals are wider than fixed-horizon ones: that is the price of being
    allowed to look at any time.
    """
    alpha = check_alpha(alpha)
    tuning = _check_tuning(sequential_tuning_parameter)
    effects = pair_effects(
        control=control, treatment=treatment, relative_variance=relative_variance
    )
    empty = EffectEstimate()
    if effects.declined:
        return SequentialResult(empty, empty, alpha, tuning, effects.notes)
    rho_squared = sequential_rho_squared(alpha=alpha, sequential_tuning_parameter=tuning)
    users = control.n + treatment.n

    def tested(estimate: float | None, variance: float | None) -> EffectEstimate:
        if estimate is None or variance is None:
            return untested_effect(estimate)
        return _sequential_effect(estimate, variance, users, alpha, rho_squared)

    return SequentialResult(
        relative=tested(effects.relative, effects.relative_variance),
        absolute=tested(effects.absolute, effects.absolute_variance),
        alpha=alpha,
        sequential_tuning_parameter=tuning,
        notes=effects.notes,
    )
