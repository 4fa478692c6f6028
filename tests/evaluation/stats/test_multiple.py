"""Holm and Benjamini–Hochberg adjustments, checked against statsmodels' multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from evaluation.stats import StatsInputError, adjust_p_values

P_VALUES = [0.01, 0.04, 0.03, 0.2, 0.001, 0.04, 0.5, 0.049]


def test_holm_matches_statsmodels() -> None:
    expected = multipletests(P_VALUES, method="holm")[1]
    assert adjust_p_values(p_values=P_VALUES, method="holm") == pytest.approx(expected, abs=1e-12)


def test_benjamini_hochberg_matches_statsmodels() -> None:
    expected = multipletests(P_VALUES, method="fdr_bh")[1]
    assert adjust_p_values(p_values=P_VALUES, method="bh") == pytest.approx(expected, abs=1e-12)


def test_random_families_match_statsmodels_for_both_methods() -> None:
    rng = np.random.default_rng(1)
    for size in (1, 2, 5, 17, 40):
        p = list(rng.uniform(0, 0.2, size=size) ** 2)
        for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
            expected = multipletests(p, method=theirs)[1]
            assert adjust_p_values(p_values=p, method=ours) == pytest.approx(expected, abs=1e-12)


def test_undefined_p_values_stay_undefined_and_are_not_counted() -> None:
    adjusted = adjust_p_values(p_values=[0.01, None, 0.04], method="holm")
    expected = multipletests([0.01, 0.04], method="holm")[1]
    assert adjusted[1] is None
    assert [adjusted[0], adjusted[2]] == pytest.approx(expected, abs=1e-12)


def test_an_all_undefined_family_stays_undefined() -> None:
    assert adjust_p_values(p_values=[None, None], method="bh") == [None, None]


def test_adjusted_p_values_are_capped_at_one() -> None:
    assert adjust_p_values(p_values=[0.6, 0.7, 0.9], method="holm") == [1.0, 1.0, 1.0]


def test_an_unknown_method_is_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"Unknown correction 'sidak'"):
        adjust_p_values(p_values=[0.1], method="sidak")  # type: ignore[arg-type]


def test_p_values_outside_zero_and_one_are_rejected() -> None:
    with pytest.raises(StatsInputError, match=r"between 0 and 1"):
        adjust_p_values(p_values=[1.2], method="bh")
