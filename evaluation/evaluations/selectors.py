"""Reads of evaluations, always narrowed to one organization."""

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from evaluation.models import Evaluation, EvaluationMetric
from mlprojects.models import Metric, MetricKind, Project

# The list shows status and headline metrics; the full result (curves, tables) is only
# loaded for a single evaluation.
_LIST_DEFERRED = ("result", "columns", "options", "rule_baselines")


def evaluation_list(*, project: Project) -> QuerySet[Evaluation]:
    model_metrics = EvaluationMetric.objects.filter(source="model").order_by("pk")
    return (
        Evaluation.objects.filter(project=project)
        .select_related("created_by")
        .defer(*_LIST_DEFERRED)
        .prefetch_related(
            Prefetch("metric_values", queryset=model_metrics, to_attr="model_metrics")
        )
    )


def evaluation_get(*, project: Project, evaluation_id: int) -> Evaluation:
    """The evaluation of `project` (itself already fetched through the organization), or
    404 - also for another project's or organization's id."""
    return get_object_or_404(
        Evaluation.objects.select_related("project", "created_by", "target_metric"),
        pk=evaluation_id,
        project=project,
    )


def target_metric_choices(*, project: Project) -> list[Metric]:
    """The metrics an evaluation can update: the model metrics of the current cycle."""
    return list(
        Metric.objects.filter(
            cycle__project=project, cycle__number=project.cycle, kind=MetricKind.MODEL
        )
    )
