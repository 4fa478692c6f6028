"""The demo's production data (loader registered by `EvaluationConfig`): the fraud model
deployed for 60 days, a new merchant category in week 6 that a drift report flags and an
alert raises (acknowledged, recorded as a step-9 finding), recall known only where the
chargebacks (30 days late) have come in; the restaurant's daily revenue and second-visit
rate against their targets.

Everything goes through the services and the worker's own functions, synchronously, and
is generated with numpy in well under a second, so `make run` stays quick."""

from __future__ import annotations

import io
from datetime import timedelta

from django.utils import timezone

from accounts.models import Organization, User
from evaluation.models import Alert, Deployment, MetricValue
from mlprojects.lifecycle.demo import FRAUD, RESTAURANT
from mlprojects.models import Metric, Project, WatchedMetric

DAYS = 60
LABEL_DELAY_DAYS = 30
NEW_CATEGORY_DAY = 35  # week 6
RECALL = "Recall at 1% review rate"
DAILY_REVENUE = "Daily revenue"


def _day(start, d: int):
    return start + timedelta(days=d)


def _transactions(rng, rows: int, *, new_category: bool):
    import numpy as np
    import pandas as pd

    categories = ["grocery", "travel", "online", "fuel"]
    weights = [0.4, 0.15, 0.3, 0.15]
    if new_category:
        categories, weights = [*categories, "crypto exchange"], [0.32, 0.12, 0.24, 0.12, 0.2]
    return pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3.5 + 0.3 * new_category, 1.0, rows), 2),
            "hour": rng.integers(0, 24, rows),
            "channel": rng.choice(["app", "web", "pos"], size=rows, p=[0.5, 0.3, 0.2]),
            "merchant_category": rng.choice(categories, size=rows, p=weights),
        }
    )


def _fraud(project: Project, owner: User | None, start) -> None:
    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evaluation.monitoring import jobs, services
    from evaluation.registry.demo import MODEL_NAME
    from evaluation.registry.selectors import project_model_version_by_ref
    from mlprojects.lifecycle.services import item_create

    services.deployment_create(
        project=project,
        user=owner,
        what="Gradient boosting v1",
        # The registry demo's version (@champion), when it has been loaded.
        model_version=project_model_version_by_ref(project, f"{MODEL_NAME}/1"),
        environment="production",
        since=start,
        traffic_share=1.0,
        notes="Sends the riskiest 1% of payments to human review.",
    )
    recall = Metric.objects.filter(
        cycle__project=project, cycle__number=project.cycle, name=RECALL
    ).first()
    if recall is not None:
        if not WatchedMetric.objects.filter(metric=recall).exists():
            item_create(
                project=project,
                user=owner,
                model=WatchedMetric,
                values={
                    "metric": recall,
                    "alert_when": "below",
                    "threshold": 0.6,
                    "notes": "Measured on chargebacks, which arrive about 30 days late.",
                },
            )
        # Chargebacks are 30 days late: recall is known for the first 30 days only.
        rng = np.random.default_rng(11)
        services.metric_values_record(
            project=project,
            user=None,
            values=[
                {
                    "metric": recall.pk,
                    "timestamp": _day(start, d),
                    "value": round(float(0.72 + rng.normal(0, 0.02)), 3),
                }
                for d in range(DAYS - LABEL_DELAY_DAYS)
            ],
        )
    # Week 6 against weeks 1–4: a merchant category the model never saw appears.
    rng = np.random.default_rng(5)
    files = {}
    for side, new in (("reference", False), ("current", True)):
        buffer = io.BytesIO()
        _transactions(rng, 4000, new_category=new).to_parquet(buffer, index=False)
        files[side] = SimpleUploadedFile(f"{side}-weeks.parquet", buffer.getvalue())
    report = services.drift_report_create(
        project=project,
        user=owner,
        reference=files["reference"],
        current=files["current"],
    )
    jobs.drift_report_run(report_id=report.pk)  # the worker's function, here and now
    _predictions(project, start)
    alert = Alert.objects.filter(drift_report=report).first()
    if alert is not None:
        services.alert_acknowledge(alert=alert, user=owner)
        services.finding_record(
            project=project,
            user=owner,
            alert=alert,
            suspected_cause="A merchant category the model never saw in training "
            "(crypto exchanges) appeared in week 6; its recall is unknown until the "
            "chargebacks arrive.",
        )


#: Ingested prediction rows: PREDICTION_DAYS days of PREDICTION_ROWS payments from
#: FIRST_PREDICTION_DAY on (across the new category's arrival), labelled up to 30 days ago.
FIRST_PREDICTION_DAY = 28
PREDICTION_DAYS = 14
PREDICTION_ROWS = 300


def _predictions(project: Project, start) -> None:
    """Scored payments through the ingestion layer, windows computed here and now."""
    import numpy as np
    import pandas as pd

    from evaluation.monitoring import windows

    rng = np.random.default_rng(17)
    frames = []
    for d in range(FIRST_PREDICTION_DAY, FIRST_PREDICTION_DAY + PREDICTION_DAYS):
        frame = _transactions(rng, PREDICTION_ROWS, new_category=d >= NEW_CATEGORY_DAY)
        fraud = rng.random(PREDICTION_ROWS) < 0.05
        unseen = (frame["merchant_category"] == "crypto exchange").to_numpy()
        # The model ranks known fraud well and fraud at the unseen category poorly.
        strong = rng.beta(5, 2, PREDICTION_ROWS)
        weak = rng.beta(2, 4, PREDICTION_ROWS)
        score = np.where(fraud, np.where(unseen, weak, strong), rng.beta(1, 9, PREDICTION_ROWS))
        seconds = rng.integers(0, 86_400, PREDICTION_ROWS)
        frame["prediction_id"] = [f"demo-{d}-{i}" for i in range(PREDICTION_ROWS)]
        frame["timestamp"] = [_day(start, d) + timedelta(seconds=int(s)) for s in seconds]
        frame["model_version"] = "fraud-gbm/1"
        frame["score"] = np.round(score, 4)
        frame["shap_amount"] = np.round(0.02 * np.log(frame["amount"]) * (score - 0.1), 4)
        frame["label"] = fraud.astype(int)
        frames.append((d, frame))
    for _, frame in frames:
        windows.store_predictions(project, frame.drop(columns=["label"]))
    labelled = [f for d, f in frames if d < DAYS - LABEL_DELAY_DAYS]
    if labelled:
        windows.store_labels(project, pd.concat(labelled)[["prediction_id", "label"]])
    for day in windows.partition_days(project):
        windows.compute_partition(project, day)


def _restaurant(project: Project, owner: User | None, start) -> None:
    import numpy as np

    from evaluation.monitoring import services
    from mlprojects.lifecycle.services import item_create

    metrics = Metric.objects.filter(cycle__project=project, cycle__number=project.cycle)
    revenue = metrics.filter(name=DAILY_REVENUE).first() or item_create(
        project=project,
        user=owner,
        model=Metric,
        values={
            "name": DAILY_REVENUE,
            "kind": "business",
            "unit": "€",
            "target": 9000,
            "description": "Takings per day from the point-of-sale system.",
        },
    )
    revisit = metrics.filter(name__startswith="Second-visit rate").first()
    rng = np.random.default_rng(3)
    days = np.arange(DAYS)
    weekend = np.isin((days + start.weekday()) % 7, (4, 5))
    takings = 7600 + 12 * days + 1800 * weekend + rng.normal(0, 350, DAYS)
    values = [
        {"metric": revenue.pk, "timestamp": _day(start, int(d)), "value": round(float(v))}
        for d, v in zip(days, takings, strict=True)
    ]
    if revisit is not None:
        rate = 24 + 3 * days / DAYS + rng.normal(0, 0.8, DAYS)
        values += [
            {"metric": revisit.pk, "timestamp": _day(start, int(d)), "value": round(float(v), 1)}
            for d, v in zip(days, rate, strict=True)
        ]
    services.metric_values_record(project=project, user=None, values=values)


def load_monitoring_demo(org: Organization) -> None:
    """Idempotent: a project that already has a deployment or metric values is left alone."""
    owner = User.objects.filter(email="owner@example.com").first()
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=DAYS)
    fraud = Project.objects.filter(organization=org, slug=FRAUD).first()
    if fraud is not None and not Deployment.objects.filter(project=fraud).exists():
        _fraud(fraud, owner, start)
    restaurant = Project.objects.filter(organization=org, slug=RESTAURANT).first()
    if restaurant is not None and not MetricValue.objects.filter(project=restaurant).exists():
        _restaurant(restaurant, owner, start)
