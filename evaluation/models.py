"""Every model of the app, for Django's app registry. The models live in their domain
packages: runs, evaluations, abtests, monitoring."""

from evaluation.abtests.models import (
    ABMetric,
    ABRawUpload,
    ABResult,
    ABTest,
    ABTestAnalysis,
    ABTestDecision,
    ABTestStatus,
    ABVariant,
    JobStatus,
    MetricRole,
    MetricType,
    Outcome,
    ResultSource,
)
from evaluation.evaluations.models import (
    Evaluation,
    EvaluationMetric,
    EvaluationStatus,
    EvaluationTask,
)
from evaluation.monitoring.models import (
    Deployment,
    DriftReport,
    DriftReportStatus,
    MetricValue,
)
from evaluation.runs.models import (
    Dataset,
    Experiment,
    Run,
    RunInput,
    RunMetric,
    RunQuerySet,
    RunRole,
    RunStatus,
)

__all__ = [
    "ABMetric",
    "ABRawUpload",
    "ABResult",
    "ABTest",
    "ABTestAnalysis",
    "ABTestDecision",
    "ABTestStatus",
    "ABVariant",
    "Dataset",
    "Deployment",
    "DriftReport",
    "DriftReportStatus",
    "Evaluation",
    "EvaluationMetric",
    "EvaluationStatus",
    "EvaluationTask",
    "Experiment",
    "JobStatus",
    "MetricRole",
    "MetricType",
    "MetricValue",
    "Outcome",
    "ResultSource",
    "Run",
    "RunInput",
    "RunMetric",
    "RunQuerySet",
    "RunRole",
    "RunStatus",
]
