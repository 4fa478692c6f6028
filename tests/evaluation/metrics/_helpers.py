"""Shared data builders and hypothesis strategies for the metric-engine tests."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import strategies as st

APPROX = {"rel": 1e-9, "abs": 1e-9}


def approx(value: float) -> object:
    """The tolerance every metric must meet against scikit-learn."""
    return pytest.approx(value, **APPROX)


@cache
def breast_cancer_predictions() -> tuple[np.ndarray, np.ndarray]:
    """(labels, probability of class 1) from a logistic regression on breast_cancer,
    scored on a held-out half so the scores are not perfect."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    model.fit(x_train, y_train)
    return y_test, model.predict_proba(x_test)[:, 1]


@cache
def multiclass_predictions(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, class-probability matrix, classes) on a held-out half of iris or digits."""
    from sklearn.datasets import load_digits, load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    loader = {"iris": load_iris, "digits": load_digits}[dataset]
    x, y = loader(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    model.fit(x_train, y_train)
    return y_test, model.predict_proba(x_test), model.classes_


@cache
def diabetes_predictions() -> tuple[np.ndarray, np.ndarray]:
    """(targets, predictions) of a linear regression on a held-out half of diabetes."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.5, random_state=0)
    return y_test, LinearRegression().fit(x_train, y_train).predict(x_test)


# Scores drawn from a handful of values make ties common; free floats make them rare.
_TIED_SCORES = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])
_FREE_SCORES = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)


@st.composite
def binary_data(draw: st.DrawFn, *, min_size: int = 2, max_size: int = 60) -> tuple:
    """(labels int array with both classes, scores in [0, 1]) — ties, tiny arrays and heavy
    imbalance all occur."""
    n = draw(st.integers(min_size, max_size))
    score_strategy = draw(st.sampled_from([_TIED_SCORES, _FREE_SCORES]))
    scores = np.array(draw(st.lists(score_strategy, min_size=n, max_size=n)), dtype=float)
    if draw(st.booleans()):
        # Heavy imbalance: exactly one row of the minority class.
        labels = np.zeros(n, dtype=int)
        labels[draw(st.integers(0, n - 1))] = 1
        if draw(st.booleans()):
            labels = 1 - labels
    else:
        labels = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
        labels[0], labels[-1] = 0, 1  # both classes present
    return labels, scores


@st.composite
def ranking_data(draw: st.DrawFn, *, max_groups: int = 5, max_size: int = 7) -> tuple:
    """(group, relevance, score) with graded relevance and tied scores, groups >= 2 rows."""
    sizes = draw(st.lists(st.integers(2, max_size), min_size=1, max_size=max_groups))
    group = np.repeat(np.arange(len(sizes)), sizes)
    n = group.size
    relevance = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    score = np.array(draw(st.lists(_TIED_SCORES, min_size=n, max_size=n)), dtype=float)
    return group, relevance, score
