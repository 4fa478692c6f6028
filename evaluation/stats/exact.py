"""Fisher's exact test of two conversion rates.

The t-tests decline a pair in which one variant has a 0% or 100% conversion rate (its
variance is zero, see `evaluation.stats.frequentist`). For conversion metrics the question
"do the two rates differ?" still has an exact answer that needs no variance estimate:
Fisher's test on the 2×2 table of converted/not converted users, two-sided (the p-value
sums the probabilities of every table with the same margins that is no more likely than
the observed one), as ``scipy.stats.fisher_exact``.
"""

from __future__ import annotations

from scipy import stats

from evaluation.stats.inputs import StatsInputError, parse_count


def _arm(users: int, conversions: int, name: str) -> tuple[int, int]:
    users = parse_count(users, field=f"{name}_users")
    conversions = parse_count(conversions, field=f"{name}_conversions")
    if users == 0:
        raise StatsInputError(f"'{name}_users' is 0; each variant needs at least one user.")
    if conversions > users:
        raise StatsInputError(
            f"'{name}_conversions' ({conversions}) cannot exceed '{name}_users' ({users})."
        )
    return conversions, users - conversions


def fisher_exact_p_value(
    *,
    control_users: int,
    control_conversions: int,
    treatment_users: int,
    treatment_conversions: int,
) -> float:
    """Two-sided p-value of Fisher's exact test that both variants convert at one rate."""
    table = [
        _arm(treatment_users, treatment_conversions, "treatment"),
        _arm(control_users, control_conversions, "control"),
    ]
    return min(1.0, float(stats.fisher_exact(table, alternative="two-sided").pvalue))
