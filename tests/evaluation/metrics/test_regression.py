"""Regression metrics against scikit-learn on diabetes, and the residual distribution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from evaluation.metrics import regression_metrics, residual_distribution

from ._helpers import approx, diabetes_predictions


@pytest.fixture(scope="module")
def diabetes():
    y, pred = diabetes_predictions()
    return y, pred, regression_metrics(y_true=y, y_pred=pred)


def test_rmse_matches_sklearn_on_diabetes(diabetes):
    y, pred, report = diabetes
    assert report["metrics"]["rmse"] == approx(skm.root_mean_squared_error(y, pred))


def test_mae_matches_sklearn_on_diabetes(diabetes):
    y, pred, report = diabetes
    assert report["metrics"]["mae"] == approx(skm.mean_absolute_error(y, pred))


def test_mape_matches_sklearn_on_diabetes_which_has_no_zero_target(diabetes):
    y, pred, report = diabetes
    assert report["metrics"]["mape"] == approx(skm.mean_absolute_percentage_error(y, pred))
    assert report["mape_excluded_rows"] == 0


def test_r2_matches_sklearn_on_diabetes(diabetes):
    y, pred, report = diabetes
    assert report["metrics"]["r2"] == approx(skm.r2_score(y, pred))


def test_mape_excludes_and_counts_rows_with_a_zero_target():
    y = np.array([0.0, 2.0, 4.0, 0.0])
    pred = np.array([1.0, 1.0, 5.0, 3.0])
    report = regression_metrics(y_true=y, y_pred=pred)
    assert report["mape_excluded_rows"] == 2
    assert report["metrics"]["mape"] == approx(
        skm.mean_absolute_percentage_error(y[1:3], pred[1:3])
    )


def test_mape_is_none_with_reason_when_every_target_is_zero():
    report = regression_metrics(y_true=np.zeros(3), y_pred=np.ones(3))
    assert report["metrics"]["mape"] is None
    assert "Every target is 0" in report["undefined"]["mape"]


def test_r2_is_none_with_reason_for_a_constant_target():
    report = regression_metrics(y_true=np.full(4, 2.0), y_pred=np.arange(4.0))
    assert report["metrics"]["r2"] is None
    assert "same value" in report["undefined"]["r2"]


# scikit-learn floors MAPE's denominator at machine epsilon; we divide by the true target.
# Both agree unless |target| < 2.2e-16, so such targets are left out of the comparison.
_values = st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_values, _values), min_size=2, max_size=40))
def test_metrics_match_sklearn_on_random_data(pairs):
    y = np.array([p[0] for p in pairs])
    pred = np.array([p[1] for p in pairs])
    m = regression_metrics(y_true=y, y_pred=pred)["metrics"]
    assert m["rmse"] == approx(skm.root_mean_squared_error(y, pred))
    assert m["mae"] == approx(skm.mean_absolute_error(y, pred))
    if np.ptp(y) > 0:
        assert m["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-9, abs=1e-9)
    nonzero = y != 0
    if nonzero.any():
        assert m["mape"] == approx(skm.mean_absolute_percentage_error(y[nonzero], pred[nonzero]))


def test_residual_quantiles_are_those_of_true_minus_predicted():
    y, pred = diabetes_predictions()
    dist = residual_distribution(y_true=y, y_pred=pred)
    median = next(q["value"] for q in dist["quantiles"] if q["q"] == 0.5)
    assert median == approx(float(np.median(y - pred)))


def test_residual_histogram_accounts_for_every_row():
    y, pred = diabetes_predictions()
    hist = residual_distribution(y_true=y, y_pred=pred, bins=20)["histogram"]
    assert sum(hist["counts"]) + hist["below"] + hist["above"] == y.size
    assert len(hist["edges"]) == 21


def test_residual_histogram_of_identical_residuals_has_one_filled_bar():
    hist = residual_distribution(y_true=np.ones(5), y_pred=np.zeros(5), bins=4)["histogram"]
    assert sorted(hist["counts"]) == [0, 0, 0, 5] and hist["below"] == hist["above"] == 0
