"""Fixtures for evaluations: real prediction files (breast cancer + logistic regression),
uploads, and evaluations in each state."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evaluation.evaluations import services
from evaluation.models import Evaluation, EvaluationStatus

BINARY_COLUMNS = {"y_true": "label", "y_score": "score", "features": ["size", "texture"]}


def _fitted():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    # A weaker second model on two features only, for the trade-off.
    weak = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:, :2], y)
    return X, y, model.predict_proba(X)[:, 1], weak.predict_proba(X[:, :2])[:, 1]


_DATA = _fitted()


@pytest.fixture(scope="session")
def cancer():
    """(X, y, score, second score) of breast_cancer with a fitted logistic regression."""
    return _DATA


def cancer_csv(*, rows: int | None = None) -> bytes:
    X, y, score, weak = _DATA
    size = np.where(X[:, 0] > np.median(X[:, 0]), "large", "small")
    texture = X[:, 1]
    out = io.StringIO()
    out.write("id,label,score,size,texture,score_weak,label_weak\n")
    n = len(y) if rows is None else rows
    for i in range(n):
        j = i % len(y)
        out.write(
            f"{i},{y[j]},{float(score[j])!r},{size[j]},{float(texture[j])!r},"
            f"{float(weak[j])!r},{1 - y[j]}\n"
        )
    return out.getvalue().encode()


@pytest.fixture
def cancer_bytes() -> bytes:
    return cancer_csv()


def upload(content: bytes, name: str = "predictions.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def make_evaluation(project, member, django_capture_on_commit_callbacks):
    """Create an evaluation through the real service; its task runs inline on commit
    (tasks are eager in tests) unless `run=False`."""

    def make(content: bytes | None = None, *, columns=None, options=None, task="binary", **kw):
        run = kw.pop("run", True)
        with django_capture_on_commit_callbacks(execute=run):
            evaluation = services.evaluation_create(
                project=kw.pop("project", project),
                user=kw.pop("user", member),
                upload=upload(
                    cancer_csv() if content is None else content, kw.pop("name", "p.csv")
                ),
                task=task,
                columns=BINARY_COLUMNS if columns is None else columns,
                options=options or {},
                **kw,
            )
        return refresh(evaluation)

    return make


def refresh(evaluation: Evaluation) -> Evaluation:
    evaluation.refresh_from_db()
    return evaluation


__all__ = ["EvaluationStatus", "cancer_csv", "refresh", "upload"]
