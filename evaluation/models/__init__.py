from .evaluations import Evaluation, EvaluationMetric, EvaluationStatus, EvaluationTask

__all__ = ["Evaluation", "EvaluationMetric", "EvaluationStatus", "EvaluationTask"]
