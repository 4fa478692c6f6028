"""Sample ratio mismatch (SRM): are users split the way the experiment planned?

A chi-square goodness-of-fit test of the observed users per variant against the planned
allocation (identical to ``scipy.stats.chisquare(observed, allocation × total)``). A very
small p-value means the assignment or the logging is broken and the results should not be
trusted until that is explained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from evaluation.stats.inputs import StatsInputError

#: p-values below this flag an SRM. 0.001 is the industry convention (GrowthBook,
#: Optimizely, Microsoft ExP): SRM checks run on every experiment, so a loose threshold
#: would raise false alarms constantly, while real SRMs usually have astronomically small p.
SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    """Chi-square statistic, degrees of freedom, p-value and whether to warn."""

    statistic: float | None
    dof: int
    p_value: float | None
    warning: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return vars(self).copy()


def srm_test(
    *,
    users: Sequence[int],
    allocations: Sequence[float],
    threshold: float = SRM_THRESHOLD,
) -> SrmResult:
    """Chi-square goodness-of-fit of ``users`` against planned ``allocations``.

    ``allocations`` are normalised to sum to 1 (so relative weights work too). With no
    users at all the test is undefined: p-value None and no warning.
    """
    if len(users) != len(allocations) or len(users) < 2:
        raise StatsInputError(
            "SRM check needs one user count and one allocation for each of at least two variants."
        )
    counts = [float(u) for u in users]
    weights = [float(a) for a in allocations]
    if any(not math.isfinite(c) or c < 0 for c in counts):
        raise StatsInputError("User counts for the SRM check must be finite and non-negative.")
    if any(not math.isfinite(w) or w <= 0 for w in weights):
        raise StatsInputError("Allocations for the SRM check must be positive numbers.")
    dof = len(counts) - 1
    total = math.fsum(counts)
    if total == 0:
        return SrmResult(statistic=None, dof=dof, p_value=None, warning=False)
    weight_total = math.fsum(weights)
    statistic = 0.0
    for observed, weight in zip(counts, weights, strict=True):
        expected = weight / weight_total * total
        statistic += (observed - expected) * (observed - expected) / expected
    p_value = float(stats.chi2.sf(statistic, dof))
    return SrmResult(statistic=statistic, dof=dof, p_value=p_value, warning=p_value < threshold)
