from .runs import Run, RunMetric, RunQuerySet, RunRole, RunStatus

__all__ = ["Run", "RunMetric", "RunQuerySet", "RunRole", "RunStatus"]
