"""Gaussian Bayesian model of the relative lift (gbstats' EffectBayesianABTest).

The data likelihood is Normal(L̂, V) with L̂ the observed relative lift and V its
delta-method variance (the same quantities as the frequentist test). With the default flat
prior the posterior is Normal(L̂, V). With a proper Gaussian prior N(μ₀, σ₀²) on the
relative lift the two are combined by precision weighting:

    posterior precision = 1/V + 1/σ₀²,
    posterior mean      = (L̂/V + μ₀/σ₀²) / posterior precision.

From the posterior N(μ, σ²):

* chance to win = P(lift > 0) for metrics where an increase is good, P(lift < 0) for
  metrics where a decrease is good (gbstats' ``inverse`` flag);
* expected loss (gbstats' risk) of choosing control = E[max(lift, 0)] and of choosing
  treatment = E[max(−lift, 0)], swapped for decrease-is-good metrics. Closed forms for a
  Normal: E[max(X, 0)] = μ·Φ(μ/σ) + σ·φ(μ/σ) and E[max(−X, 0)] = −μ·Φ(−μ/σ) + σ·φ(μ/σ),
  equal to gbstats' P(X > 0)·E[X | X > 0] formulation but without the truncated-normal
  moment routine, which loses precision far in the tails;
* credible interval = the α/2 and 1 − α/2 posterior quantiles.

Like gbstats, no posterior is formed when either variant has zero variance: a variant with
a 0% or 100% conversion rate says nothing about its own noise, and the posterior would be
far too confident (note ``zero_variance_arm``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from evaluation.stats.frequentist import (
    NEAR_ZERO_BASELINE,
    check_alpha,
    check_relative_variance,
    relative_lift,
    relative_lift_variance,
    zero_variance_arm_note,
)
from evaluation.stats.inputs import Direction, StatsInputError
from evaluation.stats.statistics import Note, VariantStatistics, finite_or_none


@dataclass(frozen=True)
class GaussianPrior:
    """A proper Normal prior on the relative lift: mean and variance (e.g. 0 and 0.3²)."""

    mean: float = 0.0
    variance: float = 1.0

    def __post_init__(self) -> None:
        for name in ("mean", "variance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise StatsInputError(f"Prior '{name}' must be a number, got {value!r}.")
            if not math.isfinite(value):
                raise StatsInputError(f"Prior '{name}' must be finite, got {value!r}.")
        if self.variance <= 0:
            raise StatsInputError(
                f"Prior 'variance' must be greater than 0, got {self.variance!r}."
            )


@dataclass(frozen=True)
class BayesianResult:
    """Posterior summary of the relative lift of one treatment against control.

    All numeric fields are None when the lift is undefined (``notes`` say why).
    """

    posterior_mean: float | None = None
    posterior_std: float | None = None
    chance_to_win: float | None = None
    chance_to_lose: float | None = None
    expected_loss: float | None = None
    expected_loss_control: float | None = None
    cred_low: float | None = None
    cred_high: float | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (floats or None, notes as {code, message})."""
        data = {k: v for k, v in vars(self).items() if k != "notes"}
        data["notes"] = [vars(n).copy() for n in self.notes]
        return data


def normal_risk(*, mean: float, std: float) -> tuple[float, float]:
    """Expected losses for a Normal(mean, std²) lift: (choosing control, choosing treatment).

    Loss of choosing control is what we forgo if the lift is positive, E[max(X, 0)]; loss
    of choosing treatment is E[max(−X, 0)]. Their difference is always the mean.
    """
    if not std > 0:
        raise StatsInputError(f"'std' must be positive, got {std!r}.")
    z = mean / std
    density = float(stats.norm.pdf(z))
    loss_control = mean * float(stats.norm.cdf(z)) + std * density
    loss_treatment = -mean * float(stats.norm.cdf(-z)) + std * density
    # Both are non-negative mathematically; clamp cancellation noise far in the tails.
    return max(loss_control, 0.0), max(loss_treatment, 0.0)


def posterior(
    *, data_mean: float, data_variance: float, prior: GaussianPrior | None = None
) -> tuple[float, float]:
    """Posterior (mean, variance) of the lift; a flat prior returns the data unchanged."""
    if prior is None:
        return data_mean, data_variance
    precision = 1.0 / data_variance + 1.0 / prior.variance
    mean = (data_mean / data_variance + prior.mean / prior.variance) / precision
    return mean, 1.0 / precision


def bayesian_test(
    *,
    control: VariantStatistics,
    treatment: VariantStatistics,
    alpha: float = 0.05,
    prior: GaussianPrior | None = None,
    direction: Direction = "increase",
    relative_variance: float | None = None,
) -> BayesianResult:
    """Gaussian Bayesian analysis of the relative lift of ``treatment`` over ``control``.

    ``prior`` None means a flat (improper) prior. ``direction`` says which way is good and
    orients ``chance_to_win`` and the two expected losses. ``relative_variance`` replaces
    the two-means delta-method variance of the lift (see `frequentist_test`). Undefined
    results carry notes ``too_few_users``, ``baseline_zero``, ``zero_variance``,
    ``zero_variance_arm`` or a variant's own note (see `VariantStatistics.notes`).
    """
    alpha = check_alpha(alpha)
    relative_variance = check_relative_variance(relative_variance)
    if direction not in ("increase", "decrease"):
        raise StatsInputError(f"'direction' must be 'increase' or 'decrease', got {direction!r}.")
    if control.n < 2 or treatment.n < 2:
        return BayesianResult(
            notes=(Note("too_few_users", "Each variant needs at least 2 users."),)
        )
    arm_notes = tuple(dict.fromkeys((*control.notes, *treatment.notes)))
    if arm_notes:
        return BayesianResult(notes=arm_notes)
    if control.unadjusted_mean == 0:
        return BayesianResult(
            notes=(
                Note(
                    "baseline_zero",
                    "The control mean is 0, so the relative lift (and its chance to win) "
                    "is undefined.",
                ),
            )
        )
    data_variance = (
        relative_lift_variance(control=control, treatment=treatment)
        if relative_variance is None
        else relative_variance
    )
    data_mean = relative_lift(control=control, treatment=treatment)
    if not (math.isfinite(data_variance) and math.isfinite(data_mean)):
        return BayesianResult(notes=(NEAR_ZERO_BASELINE,))
    if not data_variance > 0:
        return BayesianResult(
            notes=(
                Note(
                    "zero_variance",
                    "The relative lift has zero estimated variance, so no posterior can be formed.",
                ),
            )
        )
    lone = zero_variance_arm_note(control=control, treatment=treatment)
    if lone is not None:
        return BayesianResult(notes=(lone,))
    mean, variance = posterior(data_mean=data_mean, data_variance=data_variance, prior=prior)
    std = math.sqrt(variance)
    p_up = float(stats.norm.sf(0.0, loc=mean, scale=std))
    p_down = float(stats.norm.cdf(0.0, loc=mean, scale=std))
    loss_control, loss_treatment = normal_risk(mean=mean, std=std)
    if direction == "decrease":
        p_up, p_down = p_down, p_up
        loss_control, loss_treatment = loss_treatment, loss_control
    low, high = stats.norm.ppf([alpha / 2.0, 1.0 - alpha / 2.0], loc=mean, scale=std)
    return BayesianResult(
        posterior_mean=finite_or_none(mean),
        posterior_std=finite_or_none(std),
        chance_to_win=finite_or_none(p_up),
        chance_to_lose=finite_or_none(p_down),
        expected_loss=finite_or_none(loss_treatment),
        expected_loss_control=finite_or_none(loss_control),
        cred_low=finite_or_none(low),
        cred_high=finite_or_none(high),
    )
