"""Guardrail breach rule.

A guardrail is a metric we do not try to move but must not harm (e.g. error rate, page
load time, refunds). The rule used here:

    breach  ⇔  the two-sided (1 − α) confidence interval of the relative lift lies
               entirely on the bad side of zero,

i.e. the *unadjusted* p-value is below α and the lift points the bad way (down for
"increase is good", up for "decrease is good"). Deliberately:

* the p-value is not corrected for multiple comparisons: a guardrail exists to catch
  harm, and a correction would trade missed harm for fewer false alarms, which is the
  wrong trade for a safety check;
* it is a frequentist rule so that it agrees with the confidence interval shown next to
  it: a user who sees the whole interval below zero on a guardrail sees a breach.

When the test is undefined (None p-value or lift) the breach is None: unknown, not "fine".
"""

from __future__ import annotations

from evaluation.stats.inputs import Direction, StatsInputError


def guardrail_breach(
    *,
    direction: Direction,
    lift: float | None,
    p_value: float | None,
    alpha: float = 0.05,
) -> bool | None:
    """True when the lift is significantly (p < ``alpha``) in the bad direction, False when
    not, None when the test is undefined. ``direction`` is the good direction."""
    if direction not in ("increase", "decrease"):
        raise StatsInputError(f"'direction' must be 'increase' or 'decrease', got {direction!r}.")
    if lift is None or p_value is None:
        return None
    harmful = lift < 0 if direction == "increase" else lift > 0
    return bool(harmful and p_value < alpha)
