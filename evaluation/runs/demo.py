"""The restaurant's demo training runs (loader registered by `EvaluationConfig`)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from evaluation.models import Run
from evaluation.runs import services
from mlprojects.lifecycle.demo import RESTAURANT, restaurant_links
from mlprojects.models import Project

# The taste-based recommender's training runs: (name, params, final NDCG@5, epochs, role,
# milliseconds per recommendation on the tablet) — the better two-tower models are slower.
RECOMMENDER_RUNS = [
    ("taste-mf-baseline", {"model": "matrix_factorization", "factors": "16", "lr": "0.05"},
     0.301, 6, "baseline", 4.0),
    ("taste-mf-64", {"model": "matrix_factorization", "factors": "64", "lr": "0.05"},
     0.334, 8, "", 6.5),
    ("taste-two-tower-v1", {"model": "two_tower", "embedding": "32", "lr": "0.01"},
     0.372, 10, "", 31.0),
    ("taste-two-tower-v2", {"model": "two_tower", "embedding": "64", "lr": "0.005"},
     0.418, 12, "candidate", 58.0),
    ("taste-two-tower-v3", {"model": "two_tower", "embedding": "64", "lr": "0.003",
                            "ratings_as_labels": "4-5 stars"}, 0.463, 12, "candidate", 140.0),
    ("taste-two-tower-lr-0.02", {"model": "two_tower", "embedding": "64", "lr": "0.02"},
     0.352, 5, "", 60.0),
]  # fmt: skip


def _curve(final: float, epochs: int, epoch: int) -> float:
    """A learning curve that rises quickly and flattens out at `final`."""
    return round(final * (1 - 0.55 * (1 - epoch / epochs) ** 2), 4)


@transaction.atomic
def load_runs_demo(org: Organization) -> list[Run]:
    """Six runs of the restaurant's taste-based recommender, with params, NDCG@5, NDCG@10
    and precision@10 by epoch and the latency of the final model, linked to its
    recommender objective; the first is the baseline. Runs are keyed by name, so loading
    twice adds nothing."""
    project = Project.objects.filter(organization=org, slug=RESTAURANT).first()
    if project is None:
        return []
    user = User.objects.filter(email="member@example.com").first()
    objective, _ = restaurant_links(project)
    existing = {run.name: run for run in Run.objects.filter(project=project)}
    start = timezone.now() - timedelta(days=len(RECOMMENDER_RUNS) * 3)
    runs = []
    for i, (name, params, final, epochs, role, latency_ms) in enumerate(RECOMMENDER_RUNS):
        run = existing.get(name)
        if run is None:
            started = start + timedelta(days=3 * i)
            run = services.run_create(
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
                    services.MetricPoint("ndcg@5", ndcg5, step=epoch),
                    services.MetricPoint("ndcg@10", round(ndcg5 * 1.12, 4), step=epoch),
                    services.MetricPoint("precision@10", round(ndcg5 * 0.52, 4), step=epoch),
                ]
            points.append(services.MetricPoint("latency_ms", latency_ms, step=epochs))
            run = services.run_log_batch(run=run, metrics=points)
            services.run_update(
                run=run, status="finished", ended_at=started + timedelta(minutes=12 * epochs)
            )
            if role and user is not None:
                services.run_set_role(run=run, role=role, actor=user)
        runs.append(run)
    return runs
