"""Ratio metrics (revenue per order, clicks per session) by the delta method, with CUPED.

A ratio metric divides two per-user quantities summed over a variant's users: R = ΣM/ΣD,
with M the user's numerator (revenue) and D the user's denominator (orders). The user is
the unit of randomisation, so the variance is computed over users, not over orders.

Plain ratios follow gbstats' RatioStatistic (0.8.0). With means m̄ = ΣM/n, d̄ = ΣD/n,
per-user variances v_m, v_d and covariance c (n − 1 denominators, except p(1 − p) for a
0/1 component as gbstats' ProportionStatistic):

* R = ΣM/ΣD, reported as 0 with the note ``denominator_zero`` when ΣD = 0;
* per-user variance v = v_m/d̄² − 2·c·m̄/d̄³ + m̄²·v_d/d̄⁴, so that v/n is the delta-method
  variance of R (0 when d̄ = 0 or n < 2).

CUPED on ratio metrics follows gbstats' RegressionAdjustedRatioStatistic, which GrowthBook
added after the 0.8.0 release on PyPI (it is checked against the values of GrowthBook's own
tests for it). Each user also has pre-period values M′ and D′; per variant the four means
β = (m̄, d̄, m̄′, d̄′) and their 4 × 4 per-user covariance matrix Λ give:

* unadjusted ratio r = m̄/d̄ and pre-period ratio r′ = m̄′/d̄′;
* adjusted ratio R = r − θ·r′ (0, with ``denominator_zero``, when d̄ or d̄′ is 0);
* per-user variance ∇ᵀΛ∇ with ∇ = (1/d̄, −m̄/d̄², −θ/d̄′, θ·m̄′/d̄′²);
* θ = Σ cov(r, r′) / Σ var(r′) over both variants, the per-user delta-method covariance
  and variance summed without weighting by n (as gbstats). When Σ var(r′) = 0, θ = 0 and
  the plain ratios are used;
* relative lift L = (R_t − R_c)/|r_c| with variance ∇_cᵀΛ_c∇_c/n_c + ∇_tᵀΛ_t∇_t/n_t,
  ∇_t = ∇(treatment)/|r_c| and ∇_c the gradient of L in the control's β. This is the one
  quantity the two-means formula of the tests cannot produce, so it is returned as
  `RatioCupedResult.relative_variance` for the tests' ``relative_variance`` argument.
  gbstats writes ∇_c for a positive r_c; we differentiate |r_c| properly, which gives the
  same value whenever r_c > 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evaluation.stats.frequentist import relative_lift_variance
from evaluation.stats.inputs import (
    StatsInputError,
    centered_sum_of_products,
    centered_sum_of_squares,
    parse_count,
)
from evaluation.stats.statistics import Note, VariantStatistics

DENOMINATOR_ZERO = Note(
    "denominator_zero",
    "The ratio's denominator sums to 0 in a variant, so the ratio is undefined there and "
    "cannot be tested.",
)


@dataclass(frozen=True)
class _Component:
    """One per-user quantity of a variant: its sums, mean and gbstats' per-user variance."""

    name: str
    sum: float
    mean: float
    variance: float
    centered: float


def _component(
    *, n: int, name: str, total: float, total_squares: float, binomial: bool
) -> _Component:
    if binomial:
        if not 0 <= total <= n:
            raise StatsInputError(f"'{name}_sum' of a 0/1 component must lie between 0 and {n}.")
        if total_squares != total:
            raise StatsInputError(
                f"'{name}_sum_squares' of a 0/1 component must equal '{name}_sum' (1² = 1)."
            )
    centered = centered_sum_of_squares(
        n=n, sum=total, sum_squares=total_squares, field=f"{name}_sum_squares", where=""
    )
    mean = total / n
    if binomial:
        variance = mean * (1.0 - mean)
    else:
        variance = centered / (n - 1) if n > 1 else 0.0
    return _Component(name=name, sum=total, mean=mean, variance=variance, centered=centered)


def _covariance(n: int, a: _Component, b: _Component, products: float, field: str) -> float:
    centered = centered_sum_of_products(
        n=n,
        x_sum=a.sum,
        x_centered=a.centered,
        y_sum=b.sum,
        y_centered=b.centered,
        xy_sum=products,
        field=field,
        where="",
        meaning=f"{a.name} × {b.name}",
    )
    return centered / (n - 1) if n > 1 else 0.0


def _check_users(users: int) -> int:
    count = parse_count(users, field="users")
    if count == 0:
        raise StatsInputError("'users' is 0; a ratio needs at least one user per variant.")
    return count


def _quadratic_form(gradient: Sequence[float], matrix: Sequence[Sequence[float]]) -> float:
    return math.fsum(
        gi * mij * gj
        for gi, row in zip(gradient, matrix, strict=True)
        for mij, gj in zip(row, gradient, strict=True)
    )


def _bilinear_form(
    left: Sequence[float], matrix: Sequence[Sequence[float]], right: Sequence[float]
) -> float:
    return math.fsum(
        li * mij * rj
        for li, row in zip(left, matrix, strict=True)
        for mij, rj in zip(row, right, strict=True)
    )


def ratio_statistics(
    *,
    users: int,
    numerator_sum: float,
    numerator_sum_squares: float,
    denominator_sum: float,
    denominator_sum_squares: float,
    sum_products: float,
    numerator_binomial: bool = False,
    denominator_binomial: bool = False,
) -> VariantStatistics:
    """Ratio ΣM/ΣD of one variant and its per-user delta-method variance (gbstats'
    RatioStatistic).

    ``sum_products`` is Σ M·D over users. A ``*_binomial`` component is a 0/1 value per
    user (its sum of squares equals its sum) whose variance is p(1 − p), as gbstats.
    Raises `StatsInputError` for sums no real data can produce.
    """
    users = _check_users(users)
    numerator = _component(
        n=users,
        name="numerator",
        total=numerator_sum,
        total_squares=numerator_sum_squares,
        binomial=numerator_binomial,
    )
    denominator = _component(
        n=users,
        name="denominator",
        total=denominator_sum,
        total_squares=denominator_sum_squares,
        binomial=denominator_binomial,
    )
    covariance = _covariance(users, numerator, denominator, sum_products, "sum_products")
    if denominator_sum == 0:
        return VariantStatistics(
            n=users, mean=0.0, variance=0.0, unadjusted_mean=0.0, notes=(DENOMINATOR_ZERO,)
        )
    ratio = numerator_sum / denominator_sum
    variance = 0.0
    if users > 1:
        # v_m/d̄² − 2c·m̄/d̄³ + m̄²v_d/d̄⁴ written as Var(M − r·D)/d̄², which is ≥ 0 for any
        # consistent sums; the clamp only removes rounding noise at perfect proportionality.
        d = denominator.mean
        spread = (
            numerator.variance - 2.0 * ratio * covariance + ratio * ratio * denominator.variance
        )
        variance = max(spread, 0.0) / d / d
    return VariantStatistics(n=users, mean=ratio, variance=variance, unadjusted_mean=ratio)


@dataclass(frozen=True)
class RatioCupedInput:
    """One variant's sums for CUPED on a ratio metric.

    ``numerator``/``denominator`` are the in-experiment M and D, ``pre_numerator`` and
    ``pre_denominator`` the same user's pre-period M′ and D′. Each ``*_sum_products`` is
    the sum over users of the product of the two named values. A ``*_binomial``
    component (in both periods) is a 0/1 value per user.
    """

    users: int
    numerator_sum: float
    numerator_sum_squares: float
    denominator_sum: float
    denominator_sum_squares: float
    pre_numerator_sum: float
    pre_numerator_sum_squares: float
    pre_denominator_sum: float
    pre_denominator_sum_squares: float
    numerator_denominator_sum_products: float
    numerator_pre_numerator_sum_products: float
    numerator_pre_denominator_sum_products: float
    denominator_pre_numerator_sum_products: float
    denominator_pre_denominator_sum_products: float
    pre_numerator_pre_denominator_sum_products: float
    numerator_binomial: bool = False
    denominator_binomial: bool = False


@dataclass(frozen=True)
class RatioCupedResult:
    """CUPED-adjusted ratio statistics of a pair, the θ used and the relative-lift variance.

    ``relative_variance`` is None when the relative lift is undefined (control ratio or
    its denominator is 0); pass it to the tests as ``relative_variance``.
    """

    control: VariantStatistics
    treatment: VariantStatistics
    theta: float
    relative_variance: float | None


@dataclass(frozen=True)
class _RatioMoments:
    """β = (m̄, d̄, m̄′, d̄′) and the 4 × 4 per-user covariance matrix Λ of one variant."""

    n: int
    means: tuple[float, float, float, float]
    covariance: tuple[tuple[float, ...], ...]
    plain: VariantStatistics

    @property
    def defined(self) -> bool:
        return self.means[1] != 0 and self.means[3] != 0

    def post_gradient(self) -> tuple[float, float]:
        """Gradient of r = m̄/d̄ in (m̄, d̄)."""
        m, d = self.means[0], self.means[1]
        return 1.0 / d, -m / d / d

    def pre_gradient(self) -> tuple[float, float]:
        """Gradient of r′ = m̄′/d̄′ in (m̄′, d̄′)."""
        m, d = self.means[2], self.means[3]
        return 1.0 / d, -m / d / d

    def block(self, rows: slice, columns: slice) -> list[tuple[float, ...]]:
        return [row[columns] for row in self.covariance[rows]]


def _moments(data: RatioCupedInput) -> _RatioMoments:
    n = _check_users(data.users)
    m = _component(
        n=n,
        name="numerator",
        total=data.numerator_sum,
        total_squares=data.numerator_sum_squares,
        binomial=data.numerator_binomial,
    )
    d = _component(
        n=n,
        name="denominator",
        total=data.denominator_sum,
        total_squares=data.denominator_sum_squares,
        binomial=data.denominator_binomial,
    )
    m_pre = _component(
        n=n,
        name="pre_numerator",
        total=data.pre_numerator_sum,
        total_squares=data.pre_numerator_sum_squares,
        binomial=data.numerator_binomial,
    )
    d_pre = _component(
        n=n,
        name="pre_denominator",
        total=data.pre_denominator_sum,
        total_squares=data.pre_denominator_sum_squares,
        binomial=data.denominator_binomial,
    )
    # Λ in the order (m, d, m′, d′); each cross product is the input field named after
    # its two components, e.g. numerator_pre_denominator_sum_products.
    parts = (m, d, m_pre, d_pre)
    matrix = [[part.variance if i == j else 0.0 for j in range(4)] for i, part in enumerate(parts)]
    for i, a in enumerate(parts):
        for j in range(i + 1, 4):
            field = f"{a.name}_{parts[j].name}_sum_products"
            products = getattr(data, field)
            matrix[i][j] = matrix[j][i] = _covariance(n, a, parts[j], products, field)
    covariance = tuple(tuple(row) for row in matrix)
    plain = ratio_statistics(
        users=n,
        numerator_sum=data.numerator_sum,
        numerator_sum_squares=data.numerator_sum_squares,
        denominator_sum=data.denominator_sum,
        denominator_sum_squares=data.denominator_sum_squares,
        sum_products=data.numerator_denominator_sum_products,
        numerator_binomial=data.numerator_binomial,
        denominator_binomial=data.denominator_binomial,
    )
    return _RatioMoments(
        n=n, means=(m.mean, d.mean, m_pre.mean, d_pre.mean), covariance=covariance, plain=plain
    )


def _theta_parts(moments: _RatioMoments) -> tuple[float, float]:
    """Per-user cov(r, r′) and var(r′) of one variant (both 0 when a denominator is 0)."""
    if not moments.defined:
        return 0.0, 0.0
    post, pre = moments.post_gradient(), moments.pre_gradient()
    covariance = _bilinear_form(pre, moments.block(slice(2, 4), slice(0, 2)), post)
    variance = _quadratic_form(pre, moments.block(slice(2, 4), slice(2, 4)))
    return covariance, variance


def ratio_cuped_theta(*, control: RatioCupedInput, treatment: RatioCupedInput) -> float:
    """θ = Σ cov(r, r′)/Σ var(r′) over both variants; 0 when the pre-period ratio has no
    variance (CUPED then changes nothing)."""
    return _theta(_moments(control), _moments(treatment))


def _theta(control: _RatioMoments, treatment: _RatioMoments) -> float:
    c_cov, c_var = _theta_parts(control)
    t_cov, t_var = _theta_parts(treatment)
    if not c_var + t_var > 0:
        return 0.0
    return (c_cov + t_cov) / (c_var + t_var)


def _gradient(moments: _RatioMoments, theta: float) -> tuple[float, float, float, float]:
    """∇ of R = m̄/d̄ − θ·m̄′/d̄′ in β = (m̄, d̄, m̄′, d̄′)."""
    post, pre = moments.post_gradient(), moments.pre_gradient()
    return post[0], post[1], -theta * pre[0], -theta * pre[1]


def _adjusted(moments: _RatioMoments, theta: float) -> VariantStatistics:
    if not moments.defined:
        return VariantStatistics(
            n=moments.n,
            mean=0.0,
            variance=0.0,
            unadjusted_mean=moments.plain.unadjusted_mean,
            notes=(DENOMINATOR_ZERO,),
        )
    m, d, m_pre, d_pre = moments.means
    ratio = m / d
    variance = _quadratic_form(_gradient(moments, theta), moments.covariance)
    # Λ is positive semi-definite for consistent sums; clamp rounding noise at perfect fits.
    return VariantStatistics(
        n=moments.n,
        mean=ratio - theta * (m_pre / d_pre),
        variance=max(variance, 0.0),
        unadjusted_mean=ratio,
    )


def _relative_variance(
    control: _RatioMoments,
    treatment: _RatioMoments,
    adjusted_control: VariantStatistics,
    adjusted_treatment: VariantStatistics,
    theta: float,
) -> float | None:
    baseline = adjusted_control.unadjusted_mean
    if baseline == 0 or not (control.defined and treatment.defined):
        return None
    m, d = control.means[0], control.means[1]
    scale = abs(baseline)
    sign = math.copysign(1.0, baseline)
    gap = adjusted_treatment.mean - adjusted_control.mean
    # L = (R_t − R_c)/|r_c|: R_c and |r_c| both move with the control's m̄ and d̄.
    control_gradient = _gradient(control, theta)
    gradient_c = (
        -1.0 / d / scale - gap * sign / d / (baseline * baseline),
        m / d / d / scale + gap * sign * m / d / d / (baseline * baseline),
        -control_gradient[2] / scale,
        -control_gradient[3] / scale,
    )
    gradient_t = tuple(g / scale for g in _gradient(treatment, theta))
    return (
        _quadratic_form(gradient_c, control.covariance) / control.n
        + _quadratic_form(gradient_t, treatment.covariance) / treatment.n
    )


def ratio_cuped_adjust(*, control: RatioCupedInput, treatment: RatioCupedInput) -> RatioCupedResult:
    """CUPED-adjusted ratio statistics for one control/treatment pair (module docstring).

    With θ = 0 the statistics are the plain `ratio_statistics` of the experiment period and
    ``relative_variance`` is the tests' usual two-means formula, as gbstats falls back to
    RatioStatistic.
    """
    if (control.numerator_binomial, control.denominator_binomial) != (
        treatment.numerator_binomial,
        treatment.denominator_binomial,
    ):
        raise StatsInputError("CUPED needs the same component types in control and treatment.")
    control_moments, treatment_moments = _moments(control), _moments(treatment)
    theta = _theta(control_moments, treatment_moments)
    if theta == 0:
        plain_control, plain_treatment = control_moments.plain, treatment_moments.plain
        relative = None
        if plain_control.unadjusted_mean != 0 and not (
            plain_control.notes or plain_treatment.notes
        ):
            relative = relative_lift_variance(control=plain_control, treatment=plain_treatment)
        return RatioCupedResult(
            control=plain_control, treatment=plain_treatment, theta=0.0, relative_variance=relative
        )
    adjusted_control = _adjusted(control_moments, theta)
    adjusted_treatment = _adjusted(treatment_moments, theta)
    return RatioCupedResult(
        control=adjusted_control,
        treatment=adjusted_treatment,
        theta=theta,
        relative_variance=_relative_variance(
            control_moments, treatment_moments, adjusted_control, adjusted_treatment, theta
        ),
    )
