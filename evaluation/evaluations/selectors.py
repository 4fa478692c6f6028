"""Reads of evaluations, always narrowed to one organization."""

from django.db.models import Prefetch, QuerySet
from django.db.models.fields.json import KeyTransform
from django.shortcuts import get_object_or_404

from evaluation.metrics import PRIMARY_METRIC
from evaluation.models import Evaluation, EvaluationMetric, EvaluationStatus
from mlprojects.models import Metric, MetricKind, Project
from mlprojects.templatetags.numbers import metric as metric_text

# The list shows status and headline metrics; the full result (curves, tables) is only
# loaded for a single evaluation.
_LIST_DEFERRED = ("result", "columns", "options", "rule_baselines")


# The headline numbers of each task, in the order they are shown.
HEADLINE_METRICS = {
    "binary": ("roc_auc", "average_precision", "f1", "precision", "recall", "accuracy"),
    "multiclass": ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss"),
    "regression": ("rmse", "mae", "r2", "mape"),
    "ranking": ("ndcg_at_k", "map_at_k", "precision_at_k", "recall_at_k", "hit_rate"),
}
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "specificity": "Specificity",
    "roc_auc": "ROC-AUC",
    "average_precision": "Average precision",
    "log_loss": "Log loss",
    "brier": "Brier score",
    "balanced_accuracy": "Balanced accuracy",
    "f1_macro": "F1 (macro)",
    "f1_micro": "F1 (micro)",
    "f1_weighted": "F1 (weighted)",
    "rmse": "RMSE",
    "mae": "MAE",
    "mape": "MAPE",
    "r2": "R²",
    "precision_at_k": "Precision@k",
    "recall_at_k": "Recall@k",
    "map_at_k": "MAP@k",
    "ndcg_at_k": "NDCG@k",
    "hit_rate": "Hit rate@k",
    "coverage": "Catalogue coverage",
}


def metric_label(name: str, *, k: int | None = None) -> str:
    """The label of a metric; ranking metrics show their cut-off (NDCG@10, not NDCG@k)
    when it is known."""
    label = METRIC_LABELS.get(name, name)
    return label.replace("@k", f"@{k}") if k else label


def evaluation_k(evaluation: Evaluation) -> int | None:
    """The ranking cut-off an evaluation was computed with (None for other tasks). An
    evaluation from `evaluation_list` carries the two values it is read from, so a list
    never loads the deferred result and options for it."""
    if evaluation.task != "ranking":
        return None
    if hasattr(evaluation, "result_k"):
        k = evaluation.result_k or evaluation.options_k
    else:
        info = (evaluation.result or {}).get("info") or {}
        k = info.get("k") or (evaluation.options or {}).get("k")
    return int(k) if isinstance(k, int | float) and not isinstance(k, bool) else None


def evaluation_list(*, project: Project) -> QuerySet[Evaluation]:
    model_metrics = EvaluationMetric.objects.filter(source="model").order_by("pk")
    return (
        Evaluation.objects.filter(project=project)
        .select_related("created_by")
        .defer(*_LIST_DEFERRED)
        .annotate(
            result_k=KeyTransform("k", KeyTransform("info", "result")),
            options_k=KeyTransform("k", "options"),
        )
        .prefetch_related(
            Prefetch("metric_values", queryset=model_metrics, to_attr="model_metrics")
        )
    )


def with_headline(evaluations: list[Evaluation]) -> list[Evaluation]:
    """Set `headline` (the primary metric's value row, or None) and `headline_label` on
    each evaluation of a list from `evaluation_list`."""
    for evaluation in evaluations:
        primary = PRIMARY_METRIC.get(evaluation.task)
        evaluation.headline = next((m for m in evaluation.model_metrics if m.name == primary), None)
        evaluation.headline_label = metric_label(primary, k=evaluation_k(evaluation))
    return evaluations


#: How many evaluations step 7 of the project page lists (the rest: “All evaluations”).
PROJECT_SECTION_SIZE = 5


def project_section(*, project: Project) -> dict:
    """Step 7's "Evaluations" panel: the newest evaluations with status and headline."""
    newest = list(
        evaluation_list(project=project).order_by("-created_at", "-pk")[:PROJECT_SECTION_SIZE]
    )
    return {"evaluations": with_headline(newest)}


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


def evaluation_evidence(*, project: Project) -> list[dict]:
    """The project's finished evaluations as proposal evidence, newest first: task, file,
    the lifecycle metric it measures, the model's headline metrics and each baseline's,
    or why it failed."""
    evaluations = (
        Evaluation.objects.filter(
            project=project, status__in=[EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED]
        )
        .select_related("target_metric")
        .prefetch_related("metric_values")
    )
    entries = []
    for evaluation in evaluations:
        fields = [
            {"label": "Task", "value": evaluation.get_task_display()},
            {"label": "Status", "value": evaluation.get_status_display()},
            {"label": "File", "value": evaluation.original_filename},
            {"label": "Evaluated on", "value": f"{evaluation.created_at:%Y-%m-%d}"},
        ]
        if evaluation.target_metric:
            fields.append({"label": "Measures", "value": evaluation.target_metric.name})
        if evaluation.status == EvaluationStatus.FAILED:
            fields.append({"label": "Error", "value": evaluation.error})
        by_source: dict[str, dict[str, float | None]] = {}
        for value in evaluation.metric_values.all():
            by_source.setdefault(value.source, {})[value.name] = value.value
        headline = HEADLINE_METRICS.get(evaluation.task, ())
        k = evaluation_k(evaluation)
        for source in sorted(by_source, key=lambda s: (s != "model", s)):
            values = by_source[source]
            names = [n for n in headline if n in values] or sorted(values)
            text = ", ".join(f"{metric_label(n, k=k)} {metric_text(values[n])}" for n in names)
            label = "Model" if source == "model" else f"Baseline “{source}”"
            fields.append({"label": label, "value": text})
        entries.append({"title": evaluation.name, "fields": fields})
    return entries
