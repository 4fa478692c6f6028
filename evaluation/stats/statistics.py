"""Per-variant sample statistics (n, mean, variance) built from aggregates.

The definitions follow GrowthBook's gbstats (`gbstats/models/statistics.py`):

* binomial (ProportionStatistic): mean p = conversions/users, variance p(1 − p);
* continuous (SampleMeanStatistic): mean Σy/n, variance (Σy² − (Σy)²/n)/(n − 1).

Ratio metrics (`evaluation.stats.ratio`) and quantile metrics (`evaluation.stats.quantile`)
produce the same `VariantStatistics`, so every test works on every kind of metric.

`VariantStatistics.mean` is the mean the effect is measured on (CUPED-adjusted when CUPED
is used) while `unadjusted_mean` is the plain observed mean; they are equal without CUPED.
gbstats divides relative effects by the unadjusted control mean, and so do we.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evaluation.stats.inputs import Aggregate, BinomialAggregate, centered_sum_of_squares


@dataclass(frozen=True)
class Note:
    """Why a statistic is undefined or needs care: a stable ``code`` plus a message."""

    code: str
    message: str


@dataclass(frozen=True)
class VariantStatistics:
    """Sample size, mean and per-user variance of one variant for one metric.

    ``notes`` is empty for a usable statistic. A statistic that exists but must not be
    tested (a ratio whose denominator sums to 0, a quantile estimated from too few events)
    carries the reason here, and every test declines with that note instead of producing
    numbers.
    """

    n: int
    mean: float
    variance: float
    unadjusted_mean: float
    notes: tuple[Note, ...] = ()

    @property
    def standard_error_squared(self) -> float:
        """Variance of the sample mean, variance/n."""
        return self.variance / self.n


def binomial_statistics(*, users: int, conversions: int) -> VariantStatistics:
    """Mean p = conversions/users and Bernoulli variance p(1 − p) (as gbstats)."""
    p = conversions / users
    return VariantStatistics(n=users, mean=p, variance=p * (1.0 - p), unadjusted_mean=p)


def continuous_statistics(*, users: int, sum: float, sum_squares: float) -> VariantStatistics:
    """Mean Σy/n and unbiased variance (Σy² − (Σy)²/n)/(n − 1).

    With a single user the variance is undefined; it is reported as 0 here (as gbstats
    does) and the tests refuse to run on fewer than two users per variant.
    """
    mean = sum / users
    if users < 2:
        return VariantStatistics(n=users, mean=mean, variance=0.0, unadjusted_mean=mean)
    centered = centered_sum_of_squares(
        n=users, sum=sum, sum_squares=sum_squares, field="sum_squares", where=""
    )
    variance = centered / (users - 1)
    return VariantStatistics(n=users, mean=mean, variance=variance, unadjusted_mean=mean)


def statistics_from_aggregate(aggregate: Aggregate) -> VariantStatistics:
    """Build `VariantStatistics` from a validated aggregate (ignoring any covariate)."""
    if isinstance(aggregate, BinomialAggregate):
        return binomial_statistics(users=aggregate.users, conversions=aggregate.conversions)
    return continuous_statistics(
        users=aggregate.users, sum=aggregate.sum, sum_squares=aggregate.sum_squares
    )


def finite_or_none(value: float | None) -> float | None:
    """Return a plain Python float, or None for None/NaN/±inf (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
