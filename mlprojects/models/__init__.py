from .analyses import BusinessAnalysis, DataSource, Rating
from .projects import Project, ProjectQuerySet, Stage

__all__ = ["BusinessAnalysis", "DataSource", "Project", "ProjectQuerySet", "Rating", "Stage"]
