"""The demo's production data (loader registered by `EvaluationConfig`).

Card fraud: the gradient-boosting model is deployed (registered version fraud-gbm/1) and
scores 60 days of payments. Chargebacks, the labels, arrive 30 days late; cardholders
report about half of the frauds within three days. In week 6 a merchant category the
model never saw appears ("crypto exchange"): its feature drifts in every window, the
estimated recall (CBPE, from the scores alone) falls below step 5's minimum before any
chargeback confirms it, and the cardholders' reports show the collapse in the worst
slices. The alerts fire once each; the estimated-performance one is acknowledged and
recorded as a step-9 finding, which is carried into cycle 2 as a hypothesis (and a
cause). A drift report of weeks 1-4 against week 6 raises its own alert.

Restaurant: daily revenue and the second-visit rate of first-time guests against their
targets.

Everything goes through the services and the worker's own functions, synchronously, and
is generated with numpy in a few seconds, so `make run` stays quick."""

from __future__ import annotations

import io
from datetime import timedelta

from django.utils import timezone

from accounts.models import Organization, User
from evaluation.models import Alert, AlertKind, Deployment, MetricValue
from mlprojects.lifecycle.demo import FRAUD, RESTAURANT
from mlprojects.models import Metric, Project, WatchedMetric

DAYS = 60
LABEL_DELAY_DAYS = 30
NEW_CATEGORY_DAY = 35  # week 6
RECALL = "Recall at 1% review rate"
DAILY_REVENUE = "Daily revenue"
#: Step 5's minimum in production: the estimated recall must stay above it.
REQUIRED_RECALL = 0.82
NEW_CATEGORY = "crypto exchange"
CONSECUTIVE_WINDOWS = 3


def _day(start, d: int):
    return start + timedelta(days=d)


def _transactions(rng, rows: int, *, new_category: bool):
    import numpy as np
    import pandas as pd

    categories = ["grocery", "travel", "online", "fuel"]
    weights = [0.4, 0.15, 0.3, 0.15]
    if new_category:
        categories, weights = [*categories, NEW_CATEGORY], [0.32, 0.12, 0.24, 0.12, 0.2]
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
    from mlprojects.lifecycle.services import (
        cycle_start_next,
        finding_decide,
        item_create,
        section_update,
    )

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
    section_update(
        project=project,
        user=owner,
        section="performance",
        values={"required_metric": "recall", "required_minimum": REQUIRED_RECALL},
    )
    # Three windows in a row: a day's noisy estimate pages nobody.
    services.alert_rules_update(
        project=project, user=owner, values={"consecutive_windows": CONSECUTIVE_WINDOWS}
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
    # The estimate fell before the chargebacks came in: someone looks into it, records
    # it as a finding with its suspected cause, and carries it into cycle 2.
    alert = (
        Alert.objects.filter(project=project, kind=AlertKind.ESTIMATED_PERFORMANCE)
        .order_by("breach_started_at")
        .first()
    )
    if alert is None:
        return
    services.alert_acknowledge(alert=alert, user=owner)
    finding = services.finding_record(
        project=project,
        user=owner,
        alert=alert,
        as_cause=True,
        suspected_cause="Payments at crypto exchanges, a merchant category the model never "
        "saw in training, appeared in week 6; the model scores their fraud low.",
    )
    finding_decide(
        project=project,
        user=owner,
        finding=finding,
        decision="carry",
        reason="Retrain with the new category before recall drops further.",
    )
    cycle_start_next(project=project, user=owner)


#: Ingested prediction rows: PREDICTION_ROWS scored payments a day for all DAYS days,
#: fraud in FRAUD_RATE of them (NEW_CATEGORY_FRAUD_RATE at the new category).
PREDICTION_DAYS = DAYS
PREDICTION_ROWS = 400
FRAUD_RATE = 0.05
NEW_CATEGORY_FRAUD_RATE = 0.3
#: Cardholders report this share of the frauds within REPORT_DAYS days.
REPORTED_SHARE = 0.5
REPORT_DAYS = 3


def _predictions(project: Project, start) -> None:
    """Scored payments and their labels through the ingestion layer, with the arrival
    times they would have had; the windows and their alerts computed here and now."""
    import numpy as np
    import pandas as pd

    from evaluation.monitoring import jobs, windows

    rng = np.random.default_rng(17)
    now = timezone.now()
    labels = []
    for d in range(PREDICTION_DAYS):
        frame = _transactions(rng, PREDICTION_ROWS, new_category=d >= NEW_CATEGORY_DAY)
        unseen = (frame["merchant_category"] == NEW_CATEGORY).to_numpy()
        rate = np.where(unseen, NEW_CATEGORY_FRAUD_RATE, FRAUD_RATE)
        fraud = rng.random(PREDICTION_ROWS) < rate
        # The model ranks known fraud well and fraud at the unseen category poorly.
        strong = rng.beta(8, 1.5, PREDICTION_ROWS)
        weak = rng.beta(2, 5, PREDICTION_ROWS)
        legit = rng.beta(0.3, 60, PREDICTION_ROWS)
        score = np.where(fraud, np.where(unseen, weak, strong), legit)
        seconds = rng.integers(0, 86_400, PREDICTION_ROWS)
        frame["prediction_id"] = [f"demo-{d}-{i}" for i in range(PREDICTION_ROWS)]
        frame["timestamp"] = [_day(start, d) + timedelta(seconds=int(s)) for s in seconds]
        frame["model_version"] = "fraud-gbm/1"
        frame["score"] = np.round(score, 4)
        frame["shap_amount"] = np.round(0.02 * np.log(frame["amount"]) * (score - 0.1), 4)
        windows.store_predictions(project, frame)
        stamps = pd.to_datetime(frame["timestamp"], utc=True)
        chargeback = stamps + pd.Timedelta(days=LABEL_DELAY_DAYS)
        report_delay = pd.to_timedelta(rng.uniform(0.1, REPORT_DAYS, PREDICTION_ROWS), unit="D")
        reported = fraud & (rng.random(PREDICTION_ROWS) < REPORTED_SHARE)
        arrived = np.where(reported, stamps + report_delay, chargeback)
        arrived = pd.Series(pd.to_datetime(arrived, utc=True))
        known = (arrived <= now).to_numpy()
        labels.append(
            pd.DataFrame(
                {
                    "prediction_id": frame["prediction_id"][known].to_numpy(),
                    "label": fraud[known].astype(int),
                    "received_at": arrived[known].to_numpy(),
                }
            )
        )
    labels = pd.concat(labels, ignore_index=True).sort_values("received_at")
    windows.store_labels(
        project, labels[["prediction_id", "label"]], received_at=labels["received_at"]
    )
    days = [d.isoformat() for d in windows.partition_days(project)]
    jobs.windows_compute(project_id=project.pk, days=days)


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
