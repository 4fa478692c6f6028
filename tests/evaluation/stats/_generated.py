"""Seeded generators of realistic per-user data for ratio, quantile and CUPED-ratio metrics.

Each generator returns plain arrays or sums, so one case can be fed to our engine, to
gbstats and to an independent computation on the raw data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: The sample sizes at which GrowthBook's queries read the quantile bounds.
N_STAR_GRID = (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class RatioArm:
    """Per-user numerator m and denominator d (e.g. revenue and orders) of one variant."""

    m: np.ndarray
    d: np.ndarray
    m_binomial: bool = False

    def sums(self) -> dict[str, float | int | bool]:
        return {
            "users": int(self.m.size),
            "numerator_sum": float(self.m.sum()),
            "numerator_sum_squares": float((self.m**2).sum()),
            "denominator_sum": float(self.d.sum()),
            "denominator_sum_squares": float((self.d**2).sum()),
            "sum_products": float((self.m * self.d).sum()),
            "numerator_binomial": self.m_binomial,
        }


def ratio_arms(seed: int) -> tuple[RatioArm, RatioArm]:
    """Revenue per order (continuous) or buyers per session (0/1 numerator, every 4th seed)."""
    rng = np.random.default_rng(seed)
    lift = rng.uniform(-0.08, 0.12)
    arms = []
    for shift in (0.0, lift):
        n = int(rng.integers(300, 6_000))
        if seed % 4 == 3:
            d = rng.poisson(rng.uniform(1.0, 4.0), n) + 1.0
            m = (rng.uniform(size=n) < np.minimum(0.9, 0.2 * (1 + shift) + 0.02 * d)).astype(float)
            arms.append(RatioArm(m=m, d=d, m_binomial=True))
            continue
        d = rng.poisson(rng.uniform(0.8, 3.0), n).astype(float)
        price = rng.gamma(2.0, 15.0 * (1 + shift), n)
        m = d * price + rng.normal(0.0, 2.0, n) * (d > 0)
        arms.append(RatioArm(m=m, d=d))
    return arms[0], arms[1]


@dataclass(frozen=True)
class RatioCupedArm:
    """Per-user numerator and denominator in the experiment (m, d) and before it (mp, dp)."""

    m: np.ndarray
    d: np.ndarray
    mp: np.ndarray
    dp: np.ndarray

    def sums(self) -> dict[str, float | int]:
        def total(*arrays: np.ndarray) -> float:
            return float(np.prod(arrays, axis=0).sum())

        m, d, mp, dp = self.m, self.d, self.mp, self.dp
        return {
            "users": int(m.size),
            "numerator_sum": total(m),
            "numerator_sum_squares": total(m, m),
            "denominator_sum": total(d),
            "denominator_sum_squares": total(d, d),
            "pre_numerator_sum": total(mp),
            "pre_numerator_sum_squares": total(mp, mp),
            "pre_denominator_sum": total(dp),
            "pre_denominator_sum_squares": total(dp, dp),
            "numerator_denominator_sum_products": total(m, d),
            "numerator_pre_numerator_sum_products": total(m, mp),
            "numerator_pre_denominator_sum_products": total(m, dp),
            "denominator_pre_numerator_sum_products": total(d, mp),
            "denominator_pre_denominator_sum_products": total(d, dp),
            "pre_numerator_pre_denominator_sum_products": total(mp, dp),
        }


def ratio_cuped_arms(seed: int) -> tuple[RatioCupedArm, RatioCupedArm]:
    """Users whose order rate and basket size persist from the pre-period into the test."""
    rng = np.random.default_rng(seed)
    lift = rng.uniform(-0.05, 0.1)
    arms = []
    for shift in (0.0, lift):
        n = int(rng.integers(300, 5_000))
        rate = rng.gamma(2.0, 1.0, n)
        basket = rng.gamma(4.0, 5.0, n)
        dp = rng.poisson(rate).astype(float)
        d = rng.poisson(rate).astype(float)
        mp = dp * basket * rng.gamma(20.0, 0.05, n)
        m = d * basket * (1 + shift) * rng.gamma(20.0, 0.05, n)
        arms.append(RatioCupedArm(m=m, d=d, mp=mp, dp=dp))
    return arms[0], arms[1]


def quantile_inputs(values: np.ndarray, nu: float) -> dict[str, float | int]:
    """GrowthBook's quantile inputs from raw values: q̂ and the 95% rank-interval bounds
    read at the largest grid n* below n."""
    n = values.size
    below = [g for g in N_STAR_GRID if g < n]
    n_star = below[-1] if below else N_STAR_GRID[0]
    spread = float(stats.norm.ppf(0.975)) * np.sqrt(nu * (1 - nu) / n_star)
    ranks = np.clip([nu - spread, nu + spread], 1e-8, 1 - 1e-8)
    lower, upper = np.quantile(values, ranks)
    return {
        "n": int(n),
        "n_star": n_star,
        "nu": nu,
        "quantile": float(np.quantile(values, nu)),
        "lower": float(lower),
        "upper": float(upper),
    }


def quantile_unit_case(seed: int) -> tuple[dict, dict]:
    """A per-user quantile (e.g. p90 of time on site) in two variants."""
    rng = np.random.default_rng(seed)
    nu = float(rng.choice(QUANTILE_LEVELS))
    shift = rng.uniform(-0.1, 0.15)
    out = []
    for scale in (1.0, 1.0 + shift):
        values = scale * rng.lognormal(1.0, 0.8, int(rng.integers(1_500, 30_000)))
        out.append(quantile_inputs(values, nu))
    return out[0], out[1]


def quantile_event_case(seed: int) -> tuple[dict, dict]:
    """A per-event quantile (e.g. p90 of order values) whose events cluster in users."""
    rng = np.random.default_rng(seed)
    nu = float(rng.choice(QUANTILE_LEVELS[1:-1]))
    shift = rng.uniform(-0.1, 0.15)
    out = []
    for scale in (1.0, 1.0 + shift):
        users = int(rng.integers(400, 6_000))
        events = rng.poisson(rng.uniform(1.0, 4.0), users)
        taste = rng.lognormal(0.0, 0.5, users)
        owner = np.repeat(np.arange(users), events)
        values = scale * taste[owner] * rng.lognormal(2.0, 0.6, owner.size)
        inputs = quantile_inputs(values, nu)
        below = np.bincount(owner, weights=values <= inputs["quantile"], minlength=users)
        counts = events.astype(float)
        inputs.update(
            users=users,
            numerator_sum=float(below.sum()),
            numerator_sum_squares=float((below**2).sum()),
            denominator_sum=float(counts.sum()),
            denominator_sum_squares=float((counts**2).sum()),
            sum_products=float((below * counts).sum()),
        )
        out.append(inputs)
    return out[0], out[1]
