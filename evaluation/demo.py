"""Demo data of the evaluation app. Each loader is idempotent (keyed on names)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from evaluation.abtests import services
from evaluation.models import (
    ABTest,
    ABTestStatus,
    Evaluation,
    JobStatus,
    Outcome,
    ResultSource,
    Run,
)
from evaluation.runs.services import (
    MetricPoint,
    run_create,
    run_log_batch,
    run_set_role,
    run_update,
)
from mlprojects.models import Metric, MetricKind, Objective, ObjectiveKind, Project

MENU_TEST = "Menu descriptions for first-time guests"
RESTAURANT = "restaurant-revenue"


def _restaurant_links(project: Project) -> tuple[Objective | None, Metric | None]:
    """The restaurant's recommender objective (the current cycle's ranking objective) and
    its revisit-rate business metric, if the lifecycle demo has them."""
    cycle = {"cycle__project": project, "cycle__number": project.cycle}
    objective = Objective.objects.filter(kind=ObjectiveKind.RANK, **cycle).order_by("id").first()
    revisit = (
        Metric.objects.filter(kind=MetricKind.BUSINESS, **cycle)
        .filter(name__icontains="visit")
        .order_by("id")
        .first()
    )
    return objective, revisit


def _continuous(users: int, mean: float, sd: float) -> dict:
    """Σy and Σy² of `users` values with this mean and (sample) standard deviation."""
    return {
        "users": users,
        "sum": round(users * mean, 2),
        "sum_squares": round((users - 1) * sd * sd + users * mean * mean, 2),
    }


# Four weeks of first-time guests, split 50/50 by table at seating.
MENU_RESULTS = {
    "first_visit_return": {
        "control": {"users": 2412, "conversions": 434},
        "descriptions": {"users": 2389, "conversions": 502},
    },
    "revenue_per_guest": {
        "control": _continuous(2412, 24.80, 9.5),
        "descriptions": _continuous(2389, 26.05, 9.9),
    },
    "order_time_minutes": {
        "control": _continuous(2412, 7.9, 3.1),
        "descriptions": _continuous(2389, 8.0, 3.2),
    },
}
MENU_RATIONALE = (
    "Ship. The project's business goal is to win back first-time guests: the rule-based "
    "descriptions raised their return rate (the revisit rate) from 18.0% to 21.0% "
    "(+16.8% relative, 95% CI +3.3% to +30.3%, p = 0.015, 99% chance to win), and revenue "
    "per guest rose about 5% (24.80 → 26.05). The guardrail held: order time moved +1.3%, "
    "not significant. Roll the descriptions out to every table now and keep building the "
    "recommender in parallel, as the next test's challenger."
)


@transaction.atomic
def load_abtest_demo(org: Organization) -> ABTest | None:
    """The restaurant's menu-descriptions test on `restaurant-revenue`: designed, run,
    analysed (synchronously, through the services) and decided "ship"."""
    project = Project.objects.filter(organization=org, slug=RESTAURANT).first()
    if project is None:
        return None
    user = User.objects.filter(email="member@example.com").first()
    objective, revisit = _restaurant_links(project)
    abtest = ABTest.objects.filter(project=project, name=MENU_TEST).first()
    if abtest is not None and abtest.objective_id is None and abtest.business_metric_id is None:
        # A demo test loaded before tests had lifecycle links: link it in place (its design
        # is no longer a draft, so the design service would refuse).
        ABTest.objects.filter(pk=abtest.pk).update(objective=objective, business_metric=revisit)
    if abtest is None:
        abtest = services.abtest_create(
            project=project,
            user=user,
            objective=objective,
            business_metric=revisit,
            name=MENU_TEST,
            hypothesis='We believe that adding rule-based descriptions to the menu ("if you '
            'like X, try Y") will make more first-time guests come back, because a thinner, '
            "clearer menu helps them find a dish they like.",
            variants=[
                {"key": "control", "allocation": 0.5, "description": "The old menu"},
                {
                    "key": "descriptions",
                    "allocation": 0.5,
                    "description": "The menu with rule-based descriptions",
                },
            ],
            metrics=[
                {
                    "key": "first_visit_return",
                    "type": "binomial",
                    "role": "primary",
                    "description": "First-time guests who came back within 30 days",
                },
                {
                    "key": "revenue_per_guest",
                    "type": "continuous",
                    "role": "secondary",
                    "description": "Revenue per guest and visit",
                },
                {
                    "key": "order_time_minutes",
                    "type": "continuous",
                    "role": "guardrail",
                    "direction": "lower",
                    "description": "Minutes from seating to order",
                },
            ],
            planned_users_per_variant=2300,
            planned_days=28,
        )
    if abtest.status == ABTestStatus.DRAFT:
        abtest = services.abtest_start(abtest=abtest, user=user)
    if abtest.status == ABTestStatus.RUNNING:
        services.abtest_results_set(
            abtest=abtest, user=user, results=MENU_RESULTS, source=ResultSource.DEMO
        )
        abtest.refresh_from_db()
        services.abtest_stop(abtest=abtest, user=user)
    abtest.refresh_from_db()
    if abtest.status == ABTestStatus.STOPPED:
        analysis = abtest.analyses.exclude(status=JobStatus.FAILED).order_by("-version").first()
        if analysis is None:
            analysis = services.abtest_analysis_request(abtest=abtest, user=user, enqueue=False)
        services.abtest_analysis_run(analysis_id=analysis.pk)
        abtest.refresh_from_db()
    if abtest.status == ABTestStatus.ANALYZED:
        services.abtest_decide(
            abtest=abtest, user=user, outcome=Outcome.SHIP, rationale=MENU_RATIONALE
        )
        abtest.refresh_from_db()
    return abtest


# The taste-based recommender's training runs: (name, params, final NDCG@5, epochs, role).
RECOMMENDER_RUNS = [
    ("taste-mf-baseline", {"model": "matrix_factorization", "factors": "16", "lr": "0.05"},
     0.301, 6, "baseline"),
    ("taste-mf-64", {"model": "matrix_factorization", "factors": "64", "lr": "0.05"},
     0.334, 8, ""),
    ("taste-two-tower-v1", {"model": "two_tower", "embedding": "32", "lr": "0.01"},
     0.372, 10, ""),
    ("taste-two-tower-v2", {"model": "two_tower", "embedding": "64", "lr": "0.005"},
     0.418, 12, "candidate"),
    ("taste-two-tower-v3", {"model": "two_tower", "embedding": "64", "lr": "0.003",
                            "ratings_as_labels": "4-5 stars"}, 0.463, 12, "candidate"),
    ("taste-two-tower-lr-0.02", {"model": "two_tower", "embedding": "64", "lr": "0.02"},
     0.352, 5, ""),
]  # fmt: skip


def _curve(final: float, epochs: int, epoch: int) -> float:
    """A learning curve that rises quickly and flattens out at `final`."""
    return round(final * (1 - 0.55 * (1 - epoch / epochs) ** 2), 4)


@transaction.atomic
def load_runs_demo(org: Organization) -> list[Run]:
    """Six runs of the restaurant's taste-based recommender, with params and NDCG@5,
    NDCG@10 and precision@10 by epoch, linked to its recommender objective; the first is
    the baseline. Runs are keyed by name, so loading twice adds nothing."""
    project = Project.objects.filter(organization=org, slug=RESTAURANT).first()
    if project is None:
        return []
    user = User.objects.filter(email="member@example.com").first()
    objective, _ = _restaurant_links(project)
    existing = {run.name: run for run in Run.objects.filter(project=project)}
    start = timezone.now() - timedelta(days=len(RECOMMENDER_RUNS) * 3)
    runs = []
    for i, (name, params, final, epochs, role) in enumerate(RECOMMENDER_RUNS):
        run = existing.get(name)
        if run is None:
            started = start + timedelta(days=3 * i)
            run = run_create(
                project=project,
                user=user,
                name=name,
                params={**params, "epochs": str(epochs)},
                tags={"team": "recommendations", "data": "pos-receipts-2024"},
                started_at=started,
                objective=objective,
            )
            points = []
            for epoch in range(1, epochs + 1):
                ndcg5 = _curve(final, epochs, epoch)
                points += [
                    MetricPoint("ndcg@5", ndcg5, step=epoch),
                    MetricPoint("ndcg@10", round(ndcg5 * 1.12, 4), step=epoch),
                    MetricPoint("precision@10", round(ndcg5 * 0.52, 4), step=epoch),
                ]
            run = run_log_batch(run=run, metrics=points)
            run_update(
                run=run, status="finished", ended_at=started + timedelta(minutes=12 * epochs)
            )
            if role and user is not None:
                run_set_role(run=run, role=role, actor=user)
        runs.append(run)
    return runs


FRAUD = "fraud-detection"
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
    synchronously, through the same service the worker runs, so the demo shows results
    without waiting for a worker. Idempotent by name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evaluation.evaluations.services import evaluation_create, evaluation_run

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
