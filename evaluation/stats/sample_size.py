"""Sample size and duration planning for a two-sided test with equal allocation.

Binomial metrics use Cohen's effect size h = 2·asin(√p₂) − 2·asin(√p₁) with a normal
(z) test, i.e. exactly what

    statsmodels.stats.power.NormalIndPower().solve_power(
        effect_size=proportion_effectsize(p2, p1), alpha=α, power=1 − β, ratio=1,
        alternative="two-sided")

solves: per-variant n such that Φ(h·√(n/2) − z) + Φ(−h·√(n/2) − z) = power, with
z = Φ⁻¹(1 − α/2). Both rejection tails are counted (statsmodels does), so n is found by
root-finding rather than the one-tail closed form 2·((z + z_β)/h)², which it refines.

Continuous metrics use d = (absolute MDE)/σ with, by default, the two-sample t-test
power of ``statsmodels.stats.power.TTestIndPower`` (non-central t, df = 2n − 2), which is
the right choice for small samples; ``method="z"`` gives the NormalIndPower answer instead.

Several treatments: with ``correction="bonferroni"`` each treatment-vs-control comparison
is planned at α/(k − 1), k = number of variants including control, so that the chance of
any false positive across the k − 1 comparisons stays ≤ α. Without it (``"none"``) every
comparison is planned at α. Either way the total is k × per-variant n (equal split), and
the duration is ceil(total / expected daily users).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from scipy import optimize, stats

from evaluation.stats.inputs import StatsInputError

MdeType = Literal["relative", "absolute"]
#: Plans beyond this many users per variant are rejected as a mistyped effect size.
MAX_USERS_PER_VARIANT = 1e12

PowerMethod = Literal["t", "z"]
SampleSizeCorrection = Literal["none", "bonferroni"]


@dataclass(frozen=True)
class SampleSizeResult:
    """Planned users per variant (rounded up), in total, and days to collect them."""

    per_variant: int
    total: int
    days: int | None
    per_variant_exact: float
    effect_size: float
    alpha_per_comparison: float
    power: float
    variants: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return vars(self).copy()


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StatsInputError(f"'{name}' must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise StatsInputError(f"'{name}' must be finite, got {value!r}.")
    return float(value)


def _common(
    *, alpha: Any, power: Any, variants: Any, daily_users: Any, correction: Any
) -> tuple[float, float, int, float | None]:
    alpha = _real(alpha, "alpha")
    if not 0 < alpha < 1:
        raise StatsInputError(f"'alpha' must be strictly between 0 and 1, got {alpha!r}.")
    power = _real(power, "power")
    if not 0 < power < 1:
        raise StatsInputError(f"'power' must be strictly between 0 and 1, got {power!r}.")
    if isinstance(variants, bool) or not isinstance(variants, numbers.Integral) or variants < 2:
        raise StatsInputError(
            f"'variants' (including control) must be a whole number ≥ 2, got {variants!r}."
        )
    if correction not in ("none", "bonferroni"):
        raise StatsInputError(f"'correction' must be 'none' or 'bonferroni', got {correction!r}.")
    per_comparison = alpha / (variants - 1) if correction == "bonferroni" else alpha
    # Power at n → 0 tends to α, so a power at or below α needs no data and means a typo.
    if power <= per_comparison:
        raise StatsInputError(
            f"'power' ({power}) must be greater than the significance level per comparison "
            f"({per_comparison:.6g})."
        )
    daily: float | None = None
    if daily_users is not None:
        daily = _real(daily_users, "daily_users")
        if daily <= 0:
            raise StatsInputError(f"'daily_users' must be greater than 0, got {daily_users!r}.")
    return per_comparison, power, variants, daily


def _mde_type(mde_type: Any) -> str:
    if mde_type not in ("relative", "absolute"):
        raise StatsInputError(f"'mde_type' must be 'relative' or 'absolute', got {mde_type!r}.")
    return mde_type


def normal_power(*, effect_size: float, n_per_variant: float, alpha: float) -> float:
    """Power of a two-sided two-sample z-test with equal groups (statsmodels'
    NormalIndPower.power with ratio=1)."""
    shift = abs(effect_size) * math.sqrt(n_per_variant / 2.0)
    critical = float(stats.norm.isf(alpha / 2.0))
    return float(stats.norm.sf(critical - shift) + stats.norm.cdf(-critical - shift))


def t_power(*, effect_size: float, n_per_variant: float, alpha: float) -> float:
    """Power of a two-sided two-sample t-test with equal groups (statsmodels'
    TTestIndPower.power with ratio=1): non-central t with df = 2n − 2."""
    dof = 2.0 * n_per_variant - 2.0
    noncentrality = abs(effect_size) * math.sqrt(n_per_variant / 2.0)
    critical = float(stats.t.isf(alpha / 2.0, dof))
    # The lower tail P(T ≤ −c) is computed as P(−T ≥ c) with −T ~ nct(df, −nc): scipy's
    # nct.cdf returns NaN there for large df and nc, while this form underflows to 0.
    upper = float(stats.nct.sf(critical, dof, noncentrality))
    lower = float(stats.nct.sf(critical, dof, -noncentrality))
    return upper + lower


def _solve_n(effect_size: float, alpha: float, power: float, method: str) -> float:
    if effect_size == 0:
        raise StatsInputError("The minimum detectable effect must not be zero.")
    z_alpha = float(stats.norm.isf(alpha / 2.0))
    z_beta = float(stats.norm.ppf(power))
    # The one-tail closed form ignores the opposite rejection tail, so at it the z-test's
    # power is at least the target: a valid upper bracket (doubled, plus slack, for t).
    ratio = (z_alpha + z_beta) / effect_size
    closed_form = 2.0 * ratio * ratio
    if not closed_form <= MAX_USERS_PER_VARIANT:
        raise StatsInputError(
            "The minimum detectable effect is too small to plan for: it would need more than "
            f"{MAX_USERS_PER_VARIANT:.0e} users per variant."
        )
    if method == "z":

        def gap(n: float) -> float:
            return normal_power(effect_size=effect_size, n_per_variant=n, alpha=alpha) - power

        low, high = 1e-9, max(closed_form, 1e-6)
    else:

        def gap(n: float) -> float:
            return t_power(effect_size=effect_size, n_per_variant=n, alpha=alpha) - power

        # Below 2 users per arm a two-sample t-test is meaningless (and df = 2n − 2 ≤ 2
        # makes the non-central t numerically fragile), so 2 is the floor of the search.
        low, high = 2.0, 2.0 * closed_form + 10.0
        if gap(low) >= 0:
            return low
        while gap(high) < 0:
            high *= 2.0
    if gap(high) < 0:  # pragma: no cover - guaranteed by the closed form, kept as a guard
        high *= 2.0
    return float(optimize.brentq(gap, low, high, xtol=1e-12, rtol=1e-15, maxiter=500))


def _result(
    *,
    exact: float,
    effect_size: float,
    alpha: float,
    power: float,
    variants: int,
    daily: float | None,
    method: str,
) -> SampleSizeResult:
    # Round down values that are whole up to float noise, so 100.0000000001 stays 100;
    # and never plan fewer than 2 users per arm, the minimum the t-test can run on.
    per_variant = max(math.ceil(exact - 1e-9), 2)
    total = per_variant * variants
    days = math.ceil(total / daily) if daily is not None else None
    return SampleSizeResult(
        per_variant=per_variant,
        total=total,
        days=days,
        per_variant_exact=exact,
        effect_size=effect_size,
        alpha_per_comparison=alpha,
        power=power,
        variants=variants,
        method=method,
    )


def sample_size_binomial(
    *,
    baseline_rate: float,
    mde: float,
    mde_type: MdeType = "relative",
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
    daily_users: float | None = None,
    correction: SampleSizeCorrection = "none",
) -> SampleSizeResult:
    """Users needed to detect a change in a conversion rate.

    ``baseline_rate`` is the control rate p₁ in (0, 1). ``mde`` is the minimum detectable
    effect: relative (p₂ = p₁·(1 + mde), e.g. 0.05 for +5%) or absolute (p₂ = p₁ + mde,
    e.g. 0.01 for +1 percentage point); negative values plan for a decrease. p₂ must stay
    in (0, 1). ``variants`` counts all arms including control; ``daily_users`` is the
    expected number of users entering the experiment per day, all arms together.
    """
    per_comparison, power, variants, daily = _common(
        alpha=alpha,
        power=power,
        variants=variants,
        daily_users=daily_users,
        correction=correction,
    )
    p1 = _real(baseline_rate, "baseline_rate")
    if not 0 < p1 < 1:
        raise StatsInputError(
            f"'baseline_rate' must be strictly between 0 and 1, got {baseline_rate!r}."
        )
    effect = _real(mde, "mde")
    p2 = p1 * (1.0 + effect) if _mde_type(mde_type) == "relative" else p1 + effect
    if not 0 < p2 < 1:
        raise StatsInputError(
            f"With baseline {p1} and a {mde_type} MDE of {effect}, the target rate would be "
            f"{p2:.6g}, outside (0, 1); choose a smaller effect."
        )
    if p2 == p1:
        raise StatsInputError(
            "The minimum detectable effect is zero or too small to change the rate."
        )
    h = 2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1))
    exact = _solve_n(abs(h), per_comparison, power, "z")
    return _result(
        exact=exact,
        effect_size=h,
        alpha=per_comparison,
        power=power,
        variants=variants,
        daily=daily,
        method="z",
    )


def sample_size_continuous(
    *,
    mean: float | None = None,
    std_dev: float,
    mde: float,
    mde_type: MdeType = "relative",
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
    daily_users: float | None = None,
    correction: SampleSizeCorrection = "none",
    method: PowerMethod = "t",
) -> SampleSizeResult:
    """Users needed to detect a change in the mean of a per-user numeric metric.

    ``std_dev`` is the per-user standard deviation σ (> 0). A relative ``mde`` is a share
    of ``mean`` (absolute effect = mean·mde, mean ≠ 0 required); an absolute one is in the
    metric's units. Effect size d = |absolute effect|/σ. ``method="t"`` (default) matches
    statsmodels' TTestIndPower, ``"z"`` its NormalIndPower.
    """
    per_comparison, power, variants, daily = _common(
        alpha=alpha,
        power=power,
        variants=variants,
        daily_users=daily_users,
        correction=correction,
    )
    sigma = _real(std_dev, "std_dev")
    if sigma <= 0:
        raise StatsInputError(f"'std_dev' must be greater than 0, got {std_dev!r}.")
    effect = _real(mde, "mde")
    if _mde_type(mde_type) == "relative":
        if mean is None:
            raise StatsInputError("A relative MDE needs the baseline 'mean'.")
        baseline = _real(mean, "mean")
        if baseline == 0:
            raise StatsInputError("A relative MDE needs a non-zero baseline 'mean'.")
        absolute = abs(baseline) * effect
    else:
        absolute = effect
    if absolute == 0:
        raise StatsInputError("The minimum detectable effect must not be zero.")
    if method not in ("t", "z"):
        raise StatsInputError(f"'method' must be 't' or 'z', got {method!r}.")
    d = absolute / sigma
    exact = _solve_n(abs(d), per_comparison, power, method)
    return _result(
        exact=exact,
        effect_size=d,
        alpha=per_comparison,
        power=power,
        variants=variants,
        daily=daily,
        method=method,
    )
