"""The fraud project's demo evaluation (loader registered by `EvaluationConfig`)."""

from accounts.models import Organization, User
from evaluation.models import Evaluation
from mlprojects.lifecycle.demo import FRAUD
from mlprojects.models import Metric, MetricKind, Project

FRAUD_EVALUATION = "Gradient boosting v1 on March transactions"


def _fraud_predictions_csv(rows: int = 20_000, seed: int = 7) -> bytes:
    """Synthetic card transactions with a fraud label (chargeback, ~3%), the model's score
    and three features to slice by — the seed's fraud data, small enough to load fast."""
    import numpy as np

    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(3.5, 1.0, rows), 2)
    hour = rng.integers(0, 24, rows)
    channel = rng.choice(["app", "web", "pos"], size=rows, p=[0.5, 0.3, 0.2])
    logit = -4.2 + 0.55 * np.log1p(amount) / 2 + 0.9 * (hour < 5) + 0.8 * (channel == "web")
    fraud = rng.random(rows) < 1 / (1 + np.exp(-logit))
    # The model sees the same signals, plus noise; it is weaker on night-time web payments.
    noise = rng.normal(0, 0.9 + 0.6 * ((hour < 5) & (channel == "web")), rows)
    score = 1 / (1 + np.exp(-(logit + 1.6 * fraud + noise)))
    lines = ["transaction_id,is_fraud,fraud_score,amount,hour,channel"]
    lines += [
        f"t{i},{int(f)},{s:.6f},{a},{h},{c}"
        for i, (f, s, a, h, c) in enumerate(zip(fraud, score, amount, hour, channel, strict=True))
    ]
    return ("\n".join(lines) + "\n").encode()


def load_evaluation_demo(org: Organization) -> Evaluation | None:
    """The fraud project's first model evaluated on a predictions file: computed here,
    synchronously, through the same function the worker runs, so the demo shows results
    without waiting for a worker. Idempotent by name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evaluation.evaluations.jobs import evaluation_run
    from evaluation.evaluations.services import evaluation_create

    project = Project.objects.filter(organization=org, slug=FRAUD).first()
    if project is None:
        return None
    existing = Evaluation.objects.filter(project=project, name=FRAUD_EVALUATION).first()
    if existing is not None:
        return existing
    target = (
        Metric.objects.filter(
            cycle__project=project, cycle__number=project.cycle, kind=MetricKind.MODEL
        )
        .order_by("id")
        .first()
    )
    owner = User.objects.filter(email="owner@example.com").first()
    upload = SimpleUploadedFile(
        "march-transactions.csv", _fraud_predictions_csv(), content_type="text/csv"
    )
    evaluation = evaluation_create(
        project=project,
        user=owner,
        upload=upload,
        task="binary",
        name=FRAUD_EVALUATION,
        columns={
            "y_true": "is_fraud",
            "y_score": "fraud_score",
            "features": ["amount", "hour", "channel"],
        },
        options={
            "threshold": 0.5,
            "cost_fn": 50,
            "cost_fp": 2,
            "slice_columns": ["channel", "hour"],
        },
        project_rules=True,
        target_metric=target,
        target_metric_key="recall" if target else "",
    )
    evaluation_run(evaluation_id=evaluation.pk)
    return Evaluation.objects.get(pk=evaluation.pk)
