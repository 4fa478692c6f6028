"""CUPED variance reduction with a pre-period covariate (gbstats' RegressionAdjustedStatistic).

For one control/treatment pair with per-user in-experiment values y and pre-period values
x:

* θ = cov(x, y)/var(x), both computed over the pooled users of the two variants (sums
  added up, one grand mean, n − 1 denominators), exactly as gbstats' ``compute_theta``;
* adjusted mean per variant  ȳ − θ·x̄;
* adjusted per-user variance per variant  var(y) + θ²·var(x) − 2θ·cov(x, y), each from
  that variant's own sums.

The relative lift divides the adjusted difference by the *unadjusted* control mean (as
gbstats does), and its delta-method variance uses the unadjusted means. If the pooled
var(x) or var(y) is zero, θ is 0 and the statistics fall back to the unadjusted ones,
again as gbstats does. θ depends on the pair, so each treatment gets its own θ.

y's own variance follows the metric type: p(1 − p) for binomial metrics (as gbstats'
ProportionStatistic) and the n − 1 sample variance for continuous ones. The covariate is
always treated as a continuous value (n − 1 sample variance), whatever its type.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.stats.inputs import StatsInputError
from evaluation.stats.statistics import VariantStatistics


@dataclass(frozen=True)
class CupedInput:
    """One variant's sums for CUPED: n, Σy, Σy², Σx, Σx², Σx·y and the metric's kind."""

    n: int
    sum: float
    sum_squares: float
    covariate_sum: float
    covariate_sum_squares: float
    covariate_sum_products: float
    binomial: bool = False


@dataclass(frozen=True)
class CupedResult:
    """Adjusted statistics of both variants and the θ that produced them."""

    control: VariantStatistics
    treatment: VariantStatistics
    theta: float


def _sample_variance(n: int, total: float, total_squares: float) -> float:
    if n <= 1:
        return 0.0
    return (total_squares - total * total / n) / (n - 1)


def _sample_covariance(n: int, x_total: float, y_total: float, xy_total: float) -> float:
    if n <= 1:
        return 0.0
    return (xy_total - x_total * y_total / n) / (n - 1)


def _y_variance(data: CupedInput) -> float:
    if data.binomial:
        p = data.sum / data.n
        return p * (1.0 - p)
    return _sample_variance(data.n, data.sum, data.sum_squares)


def cuped_theta(*, control: CupedInput, treatment: CupedInput) -> float:
    """θ = pooled cov(x, y)/pooled var(x) over both variants; 0 when either pooled
    variance is zero (CUPED then changes nothing)."""
    n = control.n + treatment.n
    x_total = control.covariate_sum + treatment.covariate_sum
    y_total = control.sum + treatment.sum
    pooled_var_x = _sample_variance(
        n, x_total, control.covariate_sum_squares + treatment.covariate_sum_squares
    )
    if control.binomial:
        p = y_total / n
        pooled_var_y = p * (1.0 - p)
    else:
        pooled_var_y = _sample_variance(n, y_total, control.sum_squares + treatment.sum_squares)
    if pooled_var_x <= 0 or pooled_var_y <= 0:
        return 0.0
    covariance = _sample_covariance(
        n, x_total, y_total, control.covariate_sum_products + treatment.covariate_sum_products
    )
    return covariance / pooled_var_x


def _adjusted(data: CupedInput, theta: float) -> VariantStatistics:
    # Products rather than `**`: float ** raises OverflowError where * gives inf.
    mean_y = data.sum / data.n
    mean_x = data.covariate_sum / data.n
    variance = (
        _y_variance(data)
        + theta * theta * _sample_variance(data.n, data.covariate_sum, data.covariate_sum_squares)
        - 2.0
        * theta
        * _sample_covariance(data.n, data.covariate_sum, data.sum, data.covariate_sum_products)
    )
    # Cauchy–Schwarz keeps this ≥ 0 for real data; clamp rounding noise at perfect fits.
    return VariantStatistics(
        n=data.n,
        mean=mean_y - theta * mean_x,
        variance=max(variance, 0.0),
        unadjusted_mean=mean_y,
    )


def cuped_adjust(*, control: CupedInput, treatment: CupedInput) -> CupedResult:
    """CUPED-adjusted statistics for one control/treatment pair (see module docstring)."""
    if control.binomial != treatment.binomial:
        raise StatsInputError("CUPED needs the same metric type in control and treatment.")
    if control.n < 1 or treatment.n < 1:
        raise StatsInputError("CUPED needs at least one user in each variant.")
    theta = cuped_theta(control=control, treatment=treatment)
    return CupedResult(
        control=_adjusted(control, theta), treatment=_adjusted(treatment, theta), theta=theta
    )
