from .projects import Project, ProjectQuerySet, Stage

__all__ = ["Project", "ProjectQuerySet", "Stage"]
