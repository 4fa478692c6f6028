"""Quantile metrics (median, p90, p99 …) with GrowthBook's quantile test.

Follows gbstats' QuantileStatistic and QuantileClusteredStatistic (0.8.0). The query that
reads the data supplies, per variant:

* ``n``: the number of values the quantile is taken over: users for a per-user quantile,
  events for a per-event one (e.g. p90 of all order values);
* ``nu``: the quantile level ν in (0, 1), 0.5 for the median, 0.9 for p90;
* ``quantile``: the sample ν-quantile q̂;
* ``lower``/``upper``: the sample quantiles at ranks ν ∓ z·√(ν(1 − ν)/n*) with
  z = Φ⁻¹(0.975), a distribution-free 95% interval for the quantile read at a sample size
  ``n_star`` = n* (GrowthBook reads it on a grid of n* values at or below n).

From these:

* per-value variance v₀ = (n*/n)·(n − 1)·((upper − lower)/(2z))², so that v₀/n estimates the
  squared standard error of q̂ (0 when n ≤ 1);
* per-event quantiles clustered within users (``quantile_clustered_statistics``) scale v₀
  by the design effect v_c/(ν(1 − ν)/n): v_c is the delta-method variance, over users, of
  the share of events at or below q̂ (Σ sᵢ/Σ cᵢ with sᵢ the user's events at or below q̂
  and cᵢ the user's events), ν(1 − ν)/n what it would be if events were independent;
* variance = v₀ below 100 values, max(v₀, 10⁻⁵) from 100 on (gbstats' floor).

The result is a `VariantStatistics` (mean = q̂, n = number of values), so the frequentist,
sequential and Bayesian tests apply unchanged. Like gbstats, a quantile is not tested
(note on the statistic) when n ≤ z²·ν/(1 − ν) or n ≤ z²·(1 − ν)/ν, where the 95% rank
interval would run past the smallest or largest value (``quantile_too_few_values``; p99
needs more than 380 values), or when v₀ is 0, typically because the bounds coincide
(``quantile_zero_variance``). gbstats 0.8.0 declines a zero v₀ only below 1,000 values and
above that tests with the 10⁻⁵ floor as the variance; GrowthBook later made it decline at
any n, and so do we: a floor in squared metric units is no estimate of anything.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from scipy import stats

from evaluation.stats.inputs import StatsInputError, parse_count
from evaluation.stats.ratio import ratio_statistics
from evaluation.stats.statistics import Note, VariantStatistics

#: The 95% multiplier the bounds are computed with (fixed, whatever the test's α).
BOUNDS_Z = float(stats.norm.ppf(0.975))

#: gbstats' variance floor from 100 values on, in squared metric units.
VARIANCE_FLOOR = 1e-5
VARIANCE_FLOOR_MIN_VALUES = 100


def _number(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StatsInputError(f"'{field}' must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise StatsInputError(f"'{field}' must be a finite number, got {value!r}.")
    return float(value)


def _positive_count(value: int, field: str) -> int:
    count = parse_count(value, field=field)
    if count == 0:
        raise StatsInputError(f"'{field}' must be at least 1, got {value!r}.")
    return count


def _iid_variance(n: int, n_star: int, lower: float, upper: float) -> float:
    if n <= 1:
        return 0.0
    half_width = (upper - lower) / (2.0 * BOUNDS_Z)
    return n_star / n * (n - 1) * half_width * half_width


#: The sample sizes n* at which the rank-interval bounds are read (GrowthBook's grid): the
#: largest one below the number of values, so that the bounds come from a fixed set of
#: ranks however many values there are.
N_STAR_GRID: tuple[int, ...] = (
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
)


def quantile_inputs(values: Sequence[float] | np.ndarray, nu: float) -> dict[str, float | int]:
    """The per-variant inputs of `quantile_statistics` from raw values: n, n*, the sample
    ν-quantile and the bounds at ranks ν ∓ z·√(ν(1 − ν)/n*) (linear interpolation between
    order statistics, as ``numpy.quantile``). Keys as a quantile aggregate takes them."""
    data = np.asarray(values, dtype=np.float64)
    nu = _number(nu, "nu")
    if not 0 < nu < 1:
        raise StatsInputError("'nu' (the quantile level) must lie strictly between 0 and 1.")
    if data.size == 0:
        raise StatsInputError("A quantile needs at least one value.")
    below = [g for g in N_STAR_GRID if g < data.size]
    n_star = below[-1] if below else N_STAR_GRID[0]
    spread = BOUNDS_Z * math.sqrt(nu * (1.0 - nu) / n_star)
    ranks = np.clip([nu - spread, nu, nu + spread], 1e-8, 1.0 - 1e-8)
    lower, quantile, upper = (float(q) for q in np.quantile(data, ranks))
    return {
        "users": int(data.size),
        "n_star": n_star,
        "quantile": quantile,
        "lower": lower,
        "upper": upper,
    }


def _untestable(n: int, nu: float, initial_variance: float) -> Note | None:
    z2 = BOUNDS_Z * BOUNDS_Z
    if n <= z2 * nu / (1.0 - nu) or n <= z2 * (1.0 - nu) / nu:
        return Note(
            "quantile_too_few_values",
            f"Only {n} values: too few to estimate the {nu:g} quantile with a confidence "
            "interval, so it cannot be tested.",
        )
    if not initial_variance > 0:
        return Note(
            "quantile_zero_variance",
            "The quantile's estimated variance is 0 (its confidence bounds coincide, e.g. "
            "many equal values at the quantile), so it cannot be tested.",
        )
    return None


def _statistics(
    n: int, nu: float, quantile: float, initial_variance: float, note: Note | None = None
) -> VariantStatistics:
    note = note or _untestable(n, nu, initial_variance)
    variance = initial_variance
    if n >= VARIANCE_FLOOR_MIN_VALUES:
        variance = max(initial_variance, VARIANCE_FLOOR)
    return VariantStatistics(
        n=n,
        mean=quantile,
        variance=variance,
        unadjusted_mean=quantile,
        notes=() if note is None else (note,),
    )


def _check(
    n: int, n_star: int, nu: float, quantile: float, lower: float, upper: float
) -> tuple[int, int, float, float, float, float]:
    n = _positive_count(n, "n")
    n_star = _positive_count(n_star, "n_star")
    nu = _number(nu, "nu")
    if not 0 < nu < 1:
        raise StatsInputError(
            f"'nu' (the quantile level) must lie strictly between 0 and 1, got {nu!r}."
        )
    quantile = _number(quantile, "quantile")
    lower, upper = _number(lower, "lower"), _number(upper, "upper")
    if lower > upper:
        raise StatsInputError(f"'lower' ({lower!r}) cannot exceed 'upper' ({upper!r}).")
    return n, n_star, nu, quantile, lower, upper


def quantile_statistics(
    *, n: int, n_star: int, nu: float, quantile: float, lower: float, upper: float
) -> VariantStatistics:
    """Statistics of a sample quantile over ``n`` independent values (gbstats'
    QuantileStatistic); see the module docstring for the inputs."""
    n, n_star, nu, quantile, lower, upper = _check(n, n_star, nu, quantile, lower, upper)
    return _statistics(n, nu, quantile, _iid_variance(n, n_star, lower, upper))


def quantile_clustered_statistics(
    *,
    n: int,
    n_star: int,
    nu: float,
    quantile: float,
    lower: float,
    upper: float,
    users: int,
    numerator_sum: float,
    numerator_sum_squares: float,
    denominator_sum: float,
    denominator_sum_squares: float,
    sum_products: float,
) -> VariantStatistics:
    """Statistics of a per-event sample quantile whose ``n`` events come from ``users``
    users (gbstats' QuantileClusteredStatistic).

    Per user, the numerator is the number of the user's events at or below ``quantile``
    and the denominator the number of the user's events; the sums are over users
    (``sum_products`` = Σ numerator·denominator).
    """
    n, n_star, nu, quantile, lower, upper = _check(n, n_star, nu, quantile, lower, upper)
    users = _positive_count(users, "users")
    if not denominator_sum > 0:
        raise StatsInputError(
            f"'denominator_sum' (the number of events) must be positive, got {denominator_sum!r}."
        )
    if users < 2:
        note = Note("too_few_users", "A per-event quantile needs events from at least 2 users.")
        return _statistics(n, nu, quantile, 0.0, note)
    share = ratio_statistics(
        users=users,
        numerator_sum=numerator_sum,
        numerator_sum_squares=numerator_sum_squares,
        denominator_sum=denominator_sum,
        denominator_sum_squares=denominator_sum_squares,
        sum_products=sum_products,
    )
    iid = _iid_variance(n, n_star, lower, upper)
    if n <= 1:
        return _statistics(n, nu, quantile, 0.0)
    # The share's variance over users, against ν(1 − ν)/n if the n events were independent.
    design_effect = (share.variance / users) / (nu * (1.0 - nu) / n)
    return _statistics(n, nu, quantile, iid * design_effect)
