"""The demo's model registry (loader registered by `EvaluationConfig`, after the runs and
before monitoring): the card-fraud project's gradient boosting model, trained in a run
that logged it, registered as `fraud-gbm` version 1 with the alias `champion`. The
monitoring demo records that this version is what runs in production."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from evaluation.models import LoggedModelStatus, ModelVersion, RegisteredModel
from evaluation.registry import services
from evaluation.runs import services as runs
from mlprojects.lifecycle.demo import FRAUD
from mlprojects.models import Project

MODEL_NAME = "fraud-gbm"
ALIAS = "champion"
PARAMS = {
    "model": "gradient_boosting",
    "n_estimators": "300",
    "max_depth": "4",
    "learning_rate": "0.05",
    "features": "amount, hour, channel, merchant_category",
}
# The held-out scores of the trained model (chargeback-labelled validation month).
SCORES = {"recall_at_1pct": 0.71, "auc": 0.934, "precision_at_1pct": 0.38}


@transaction.atomic
def load_registry_demo(org: Organization) -> ModelVersion | None:
    """Idempotent: an organization that already has the model is left alone."""
    project = Project.objects.filter(organization=org, slug=FRAUD).first()
    if (
        project is None
        or RegisteredModel.objects.filter(organization=org, name=MODEL_NAME).exists()
    ):
        return None
    user = User.objects.filter(email="member@example.com").first()
    started = timezone.now() - timedelta(days=75)
    run = runs.run_create(
        project=project,
        user=user,
        name="fraud-gbm-v1",
        params=PARAMS,
        tags={"team": "risk", "data": "card-transactions-2024q3"},
        started_at=started,
    )
    points = [
        runs.MetricPoint("train_log_loss", round(0.09 * 0.8**i + 0.021, 4), step=i)
        for i in range(10)
    ]
    points += [runs.MetricPoint(key, value, step=0) for key, value in SCORES.items()]
    run = runs.run_log_batch(run=run, metrics=points)
    run = runs.run_update(run=run, status="finished", ended_at=started + timedelta(minutes=40))
    logged = runs.logged_model_create(
        project=project,
        user=user,
        name="model",
        source_run=run,
        model_type="sklearn",
        params=PARAMS,
    )
    logged = runs.logged_model_update(model=logged, status=LoggedModelStatus.READY)
    logged = runs.logged_model_log_metrics(
        model=logged,
        run=run,
        metrics=[
            (runs.MetricPoint(key, value, step=0), "validation-2024-09", "")
            for key, value in SCORES.items()
        ],
    )
    runs.run_log_outputs(run=run, outputs=[(logged, 0)])
    model = services.registered_model_create(
        org=org,
        user=user,
        name=MODEL_NAME,
        description="Scores card payments; the riskiest 1% go to human review.",
        project=project,
    )
    source = f"models:/{logged.pk}"
    version = services.version_create(
        model=model,
        user=user,
        source=services.resolve_source(org=org, source=source),
        source_text=source,
        description="First production model, trained on 2024 Q3 chargebacks.",
    )
    services.alias_set(model=model, alias=ALIAS, version=version)
    return version
