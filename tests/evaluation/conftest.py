"""Lifecycle objects (objectives, metrics, rule baselines) that runs, A/B tests and
evaluations link to: in the test project's current cycle, and in the other organization."""

from types import SimpleNamespace

import pytest

from mlprojects.lifecycle.selectors import cycle_get
from mlprojects.models import Baseline, Metric, Objective


@pytest.fixture
def lifecycle(project):
    """The project's current cycle with two objectives, a business metric, two model
    metrics (one lower-is-better) and a guardrail."""
    cycle = cycle_get(project=project)
    recommend = Objective.objects.create(cycle=cycle, title="Recommend dishes", kind="rank")
    churn = Objective.objects.create(cycle=cycle, title="Predict churn", kind="classify")
    revisit = Metric.objects.create(
        cycle=cycle, name="Revisit rate", kind="business", unit="%", target=35, current=24
    )
    ndcg = Metric.objects.create(
        cycle=cycle,
        name="NDCG@5 of recommended dishes",
        kind="model",
        objective=recommend,
        parent=revisit,
        target=0.45,
    )
    error = Metric.objects.create(
        cycle=cycle, name="Error rate", kind="model", direction="lower", target=0.1
    )
    recall = Metric.objects.create(
        cycle=cycle, name="Recall", kind="model", objective=churn, target=0.8
    )
    rating = Metric.objects.create(cycle=cycle, name="Dish rating", kind="guardrail")
    return SimpleNamespace(
        cycle=cycle,
        recommend=recommend,
        churn=churn,
        revisit=revisit,
        ndcg=ndcg,
        error=error,
        recall=recall,
        rating=rating,
    )


@pytest.fixture
def foreign_lifecycle(other_project):
    """An objective and metrics of the other organization's project."""
    cycle = cycle_get(project=other_project)
    objective = Objective.objects.create(cycle=cycle, title="Their objective")
    business = Metric.objects.create(cycle=cycle, name="Their revenue", kind="business")
    model = Metric.objects.create(cycle=cycle, name="Their recall", kind="model")
    return SimpleNamespace(objective=objective, business=business, model=model)


@pytest.fixture
def rule_baseline(lifecycle):
    """A rules baseline of the project on the breast-cancer file's `texture` feature."""
    return Baseline.objects.create(
        cycle=lifecycle.cycle,
        name="Texture rule",
        kind="rules",
        rules={
            "rules": [{"when": [{"feature": "texture", "op": ">=", "value": 20}], "then": 0}],
            "default": 1,
        },
    )
