"""Fisher's exact test of two conversion rates, checked against SciPy and the
hypergeometric distribution it is built on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evaluation.stats import StatsInputError, fisher_exact_p_value


def test_400_of_400_against_396_of_400_is_not_significant() -> None:
    p = fisher_exact_p_value(
        control_users=400, control_conversions=400, treatment_users=400, treatment_conversions=396
    )
    assert p == pytest.approx(0.124, abs=5e-4)
    assert p == pytest.approx(stats.fisher_exact([[396, 4], [400, 0]]).pvalue, rel=1e-12)


def test_the_p_value_sums_every_table_no_more_likely_than_the_observed_one() -> None:
    # Independent of scipy.stats.fisher_exact: with the margins fixed, the treatment's
    # conversions follow a hypergeometric law; add up the tables as unlikely as ours.
    total, converted, treatment_users, observed = 800, 796, 400, 396
    law = stats.hypergeom(total, converted, treatment_users)
    support = np.arange(max(0, treatment_users - (total - converted)), treatment_users + 1)
    pmf = law.pmf(support)
    expected = pmf[pmf <= law.pmf(observed) * (1 + 1e-7)].sum()
    p = fisher_exact_p_value(
        control_users=400, control_conversions=400, treatment_users=400, treatment_conversions=396
    )
    assert p == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_random_tables_match_scipy_fisher_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nc, nt = (int(x) for x in rng.integers(2, 3_000, size=2))
    cc = int(rng.choice([0, nc, int(rng.integers(0, nc + 1))]))
    ct = int(rng.integers(0, nt + 1))
    p = fisher_exact_p_value(
        control_users=nc, control_conversions=cc, treatment_users=nt, treatment_conversions=ct
    )
    assert p == pytest.approx(stats.fisher_exact([[ct, nt - ct], [cc, nc - cc]]).pvalue, rel=1e-9)


def test_swapping_the_variants_does_not_change_the_p_value() -> None:
    forward = fisher_exact_p_value(
        control_users=50, control_conversions=0, treatment_users=60, treatment_conversions=5
    )
    backward = fisher_exact_p_value(
        control_users=60, control_conversions=5, treatment_users=50, treatment_conversions=0
    )
    assert forward == pytest.approx(backward, rel=1e-12)


def test_more_conversions_than_users_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'treatment_conversions' \(5\) cannot exceed"):
        fisher_exact_p_value(
            control_users=4, control_conversions=0, treatment_users=4, treatment_conversions=5
        )


def test_a_variant_without_users_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"'control_users' is 0"):
        fisher_exact_p_value(
            control_users=0, control_conversions=0, treatment_users=4, treatment_conversions=1
        )
